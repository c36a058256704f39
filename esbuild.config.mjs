// The one description of the bundles: esbuild.mjs builds them, the unit tests rebuild the worker and
// CLI from it, the no-network test scans them, and test/vscode/build.mjs compiles the extension-host
// suites with the same Node settings.

/** Bundles that run under Node (extension host, worker, CLI, test drivers). */
export const nodeOptions = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // onnxruntime-node carries native binaries per platform; it is shipped beside the bundles.
  external: ['onnxruntime-node'],
  logLevel: 'warning',
};

/**
 * The engine layer runs in the CLI and a worker thread, where there is no `vscode` to require: an
 * import of it fails the build here, with the reason, instead of crashing the worker at run time.
 */
export const noVscode = {
  name: 'no-vscode-in-the-engine',
  setup(build) {
    build.onResolve({ filter: /^vscode$/ }, (args) => ({
      errors: [{ text: `${args.importer} imports "vscode": the engine and the CLI run outside VS Code (docs/architecture.md)` }],
    }));
  },
};

/** The extension host: `vscode` is provided by the host. */
const extensionOptions = { ...nodeOptions, external: [...nodeOptions.external, 'vscode'] };
// tsx: only the sources start a batch lane through it (src/engine/batch-lanes.ts); a bundle starts batch-lane.js.
const engineOptions = { ...nodeOptions, external: [...nodeOptions.external, 'tsx'], plugins: [noVscode] };
const webviewOptions = { bundle: true, platform: 'browser', format: 'iife', target: 'es2022', logLevel: 'warning' };

/** Every bundle the extension ships, by name. */
export const bundles = {
  extension: { ...extensionOptions, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  worker: { ...engineOptions, entryPoints: ['src/engine/worker.ts'], outfile: 'dist/engine-worker.js' },
  cli: { ...engineOptions, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' },
  // The child process a GPU provider is tried in first (src/engine/provider-trial.ts).
  providerTrial: { ...engineOptions, entryPoints: ['src/engine/provider-trial-main.ts'], outfile: 'dist/provider-trial.js' },
  // A dataset's batch lanes, a worker thread each (src/engine/batch-lanes.ts).
  batchLane: { ...engineOptions, entryPoints: ['src/engine/batch-lane-main.ts'], outfile: 'dist/batch-lane.js' },
  webview: { ...webviewOptions, entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js' },
};
