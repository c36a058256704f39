// onnxruntime-node, loaded on first use so that prompt parsing and the CLI's usage errors never pay
// for the native binding.
type Ort = typeof import('onnxruntime-node');
let ortModule: Ort | undefined;

export function ort(): Ort {
  if (!ortModule) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ortModule = require('onnxruntime-node') as Ort;
    // A provider that cannot start is reported through the exception (and our providerNotice);
    // onnxruntime would also print it in red on stderr. COCONUT_LENS_ORT_LOG=warning shows its logs.
    const level = process.env.COCONUT_LENS_ORT_LOG;
    ortModule.env.logLevel = (['verbose', 'info', 'warning', 'error', 'fatal'] as const).find((l) => l === level) ?? 'fatal';
  }
  return ortModule;
}
