// The seam between the engine and onnxruntime-node: which execution provider runs, and what happens
// when it cannot start. Everything platform- or provider-specific belongs here.
import * as os from 'node:os';
import type { InferenceSession as OrtSession } from 'onnxruntime-node';
import { LensError } from './errors';
import type { ProviderName, ProviderSetting } from './types';

// Loaded lazily so that prompt parsing and the CLI's usage errors never pay for the native binding.
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

export interface SessionOptions {
  provider?: ProviderSetting;
  /** intra-op threads; default leaves one core for the editor (at least 1, at most 4). */
  threads?: number;
}

export interface CreatedSession {
  session: OrtSession;
  provider: ProviderName;
  threads: number;
  /** Set when the requested provider could not start and the CPU ran instead. */
  providerNotice?: string;
}

export const PROVIDERS: readonly ProviderSetting[] = ['auto', 'cpu', 'webgpu', 'cuda'];

export function defaultThreads(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(4, cores - 1));
}

/** 'auto' is the CPU until provider measurements say otherwise (a later issue). */
export function resolveProvider(setting: ProviderSetting): ProviderName {
  return setting === 'auto' ? 'cpu' : setting;
}

export function checkProviderSetting(p: unknown): ProviderSetting {
  if (typeof p === 'string' && (PROVIDERS as readonly string[]).includes(p)) return p as ProviderSetting;
  throw new LensError(
    'PROVIDER_FAILED',
    `unknown execution provider ${JSON.stringify(p)}`,
    `choose one of ${PROVIDERS.join(', ')}`,
  );
}

export async function createSession(modelPath: string, opts: SessionOptions = {}): Promise<CreatedSession> {
  const requested = resolveProvider(checkProviderSetting(opts.provider ?? 'auto'));
  const threads = opts.threads ?? defaultThreads();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new LensError('PROVIDER_FAILED', `threads must be a positive integer, got ${threads}`, 'pass threads ≥ 1 or leave it unset');
  }
  const base: OrtSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  };
  const { InferenceSession } = ort();
  try {
    const session = await InferenceSession.create(modelPath, { ...base, executionProviders: [requested] });
    return { session, provider: requested, threads };
  } catch (first) {
    const cause = first instanceof Error ? first.message : String(first);
    if (requested === 'cpu') {
      throw new LensError(
        'PROVIDER_FAILED',
        `onnxruntime could not load the decoder on the CPU: ${cause}`,
        'check that decoder.onnx is a valid ONNX model (opset ≤ 21) and that onnxruntime-node is installed for this platform',
        { cause: first },
      );
    }
    // onnxruntime-node does not fall back by itself, even with 'cpu' listed after the provider.
    try {
      const session = await InferenceSession.create(modelPath, { ...base, executionProviders: ['cpu'] });
      return {
        session,
        provider: 'cpu',
        threads,
        providerNotice: `the ${requested} execution provider could not start (${firstLine(cause)}); running on the CPU instead`,
      };
    } catch (second) {
      throw new LensError(
        'PROVIDER_FAILED',
        `neither ${requested} nor the CPU could run the decoder: ${firstLine(cause)}; cpu: ${
          second instanceof Error ? second.message : String(second)
        }`,
        'check that decoder.onnx is a valid ONNX model and that onnxruntime-node is installed for this platform',
        { cause: second },
      );
    }
  }
}

function firstLine(s: string): string {
  const line = s.split('\n')[0].trim();
  return line.length > 300 ? line.slice(0, 300) + '…' : line;
}
