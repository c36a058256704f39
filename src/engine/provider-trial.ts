// A GPU provider is tried in a child process before the engine's own process uses it. A native
// crash cannot be caught in Node: WebGPU once killed the process at a model's first pass
// (empty-tensors.ts), and the engine runs in the extension host's worker, so such a crash took the
// whole extension host with it. The child loads the model, creates a session on the provider and
// runs a prompt's pass, two thoughts and a token, and the same on the CPU (provider-trial-main.ts);
// a provider whose child dies, fails, falls back or disagrees with the CPU is not used here, and
// the user is told why. A run and a crash are remembered per model, machine, provider and driver
// stack (gpu-stack.ts) beside providers.json, so the trial costs one child process once per driver
// (0.3 s for the shipped model, more where a GPU starts); anything else is tried again at the next load.
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProviderName } from '../shared/types';
import { gpuStackFingerprint } from './gpu-stack';
import { cacheDir, cacheKey, readKeyedCache, rememberEntry } from './providers';

export interface TrialOutcome {
  ok: boolean;
  /** Why the provider is not used (ok false). */
  reason?: string;
}

/** Tries a provider for the model being loaded; resolves, never rejects. */
export type ProviderTrial = (provider: ProviderName) => Promise<TrialOutcome>;

export interface TrialOptions {
  /** sha256 of decoder.onnx: with the machine and the provider, the key of a remembered outcome. */
  modelSha256: string;
  threads: number;
  /** The child's script (default: provider-trial.js beside this bundle, or the source through tsx in tests). */
  script?: string;
  timeoutMs?: number;
  cacheFile?: string;
  /** The driver stack an outcome is remembered under (default gpuStackFingerprint(); tests pass their own). */
  gpuStack?: () => string;
}

const TRIAL_FORMAT = 'coconut-lens-provider-trials';

/**
 * How far a provider's numbers may stray from the CPU's, relative to each vector's scale: float32
 * kernels that sum in another order differ by ~1e-6 (WebGPU against PyTorch CUDA on the H200:
 * 1.1e-5 on logits of ~10); a provider past 1e-3 computes something else.
 */
export const TRIAL_TOLERANCE = 1e-3;

/** The largest |a - b| of paired vectors, each over the scale of b (its largest |value|, at least 1). */
export function trialDisagreement(a: Float32Array[], b: Float32Array[]): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  a.forEach((x, i) => {
    const y = b[i];
    if (x.length !== y.length) worst = Infinity;
    let scale = 1;
    let d = 0;
    for (let j = 0; j < y.length; j++) {
      scale = Math.max(scale, Math.abs(y[j]));
      d = Math.max(d, Math.abs(x[j] - y[j]));
    }
    worst = Math.max(worst, Number.isNaN(d) ? Infinity : d / scale);
  });
  return worst;
}

const DEFAULT_TIMEOUT_MS = 120_000;

export function trialCacheFile(): string {
  return path.join(cacheDir(), 'provider-trials.json');
}

/** The child's entry: the bundle beside this one, else (running from the sources) the TypeScript entry. */
function defaultScript(): { script: string; execArgv: string[] } {
  const bundled = path.join(__dirname, 'provider-trial.js');
  if (fs.existsSync(bundled)) return { script: bundled, execArgv: [] };
  return { script: path.join(__dirname, 'provider-trial-main.ts'), execArgv: ['--import', 'tsx'] };
}

/** Trials of the model in `modelDir`, in a child process each, remembered. */
export function childProviderTrial(modelDir: string, o: TrialOptions): ProviderTrial {
  const file = o.cacheFile ?? trialCacheFile();
  return async (provider) => {
    if (provider === 'cpu') return { ok: true };
    // Under the driver stack too: an update may mend a crash, or bring one.
    const key = `${cacheKey(o.modelSha256, o.threads)}:${provider}:${(o.gpuStack ?? gpuStackFingerprint)()}`;
    const known = readKeyedCache<TrialOutcome>(file, TRIAL_FORMAT)[key];
    if (known && typeof known.ok === 'boolean') return known;
    const { outcome, conclusive } = await runTrialProcess(modelDir, provider, o);
    if (conclusive) rememberEntry(file, TRIAL_FORMAT, key, outcome);
    return outcome;
  };
}

/** One trial in a child process, not remembered; `conclusive`: whether the outcome may be. */
export async function runTrialProcess(modelDir: string, provider: ProviderName, o: TrialOptions): Promise<{ outcome: TrialOutcome; conclusive: boolean }> {
  const { script, execArgv } = o.script ? { script: o.script, execArgv: o.script.endsWith('.ts') ? ['--import', 'tsx'] : [] } : defaultScript();
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let child: ReturnType<typeof fork>;
    try {
      // ELECTRON_RUN_AS_NODE: in VS Code, process.execPath is the editor's own binary.
      child = fork(script, [modelDir, provider, String(o.threads)], {
        execArgv,
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
    } catch (e) {
      resolve({
        outcome: { ok: false, reason: `could not be tried: its trial process did not start (${e instanceof Error ? e.message : String(e)})` },
        conclusive: false,
      });
      return;
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ outcome: { ok: false, reason: `could not be tried: its trial process did not start (${e.message})` }, conclusive: false });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const said = lastJsonLine(stdout);
      // Remembered: a provider that ran, and one that crashed. One that could not start or failed
      // cleanly is tried again at the next load (a driver may be installed meanwhile).
      if (said && code === 0)
        return resolve({ outcome: said.ok === true ? { ok: true } : { ok: false, reason: String(said.reason) }, conclusive: said.ok === true });
      if (timedOut) return resolve({ outcome: { ok: false, reason: `did not finish a trial run in ${Math.round(timeoutMs / 1000)} s` }, conclusive: false });
      const why = signal ? `crashed in a trial process (${signal})` : `failed in a trial process (exit code ${code})`;
      const last = stderr.trim().split('\n').filter(Boolean).pop();
      resolve({ outcome: { ok: false, reason: last ? `${why}: ${last.slice(0, 300)}` : why }, conclusive: signal !== null });
    });
  });
}

function lastJsonLine(s: string): { ok?: unknown; reason?: unknown } | undefined {
  const line = s.trim().split('\n').pop();
  try {
    return line ? JSON.parse(line) : undefined;
  } catch {
    return undefined;
  }
}
