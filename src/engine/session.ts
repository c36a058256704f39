// The seam between the engine and onnxruntime-node: which execution provider runs, and what happens
// when it cannot start. Everything platform- or provider-specific belongs here.
import * as os from 'node:os';
import * as path from 'node:path';
import type { InferenceSession as OrtSession } from 'onnxruntime-node';
import { createDirect } from './direct-session';
import { markNoEmptyTensors } from './empty-tensors';
import { ort } from './ort';
import { EngineError } from './errors';
import type { ProviderTrial, TrialOutcome } from './provider-trial';
import { cachedChoice, cacheKey, candidateProviders, checkCuda, providerCacheFile, rememberChoice, type AutoChoice } from './providers';
import type { ProviderName, ProviderSetting } from '../shared/types';
import { chooseThreads, type ThreadChoice, type ThreadMeasure } from './thread-choice';

type Ort = typeof import('onnxruntime-node');

export interface SessionOptions {
  provider?: ProviderSetting;
  /**
   * intra-op threads. Unset: with `threadMeasure` on the CPU, 1 or the budget, whichever runs this
   * model faster here (thread-choice.ts); without it, the budget.
   */
  threads?: number;
  /** What an unset `threads` may use at most (default defaultThreads(): one core left for the editor, at most 4). */
  threadBudget?: number;
  /** What choosing an unset thread count needs. */
  threadMeasure?: ThreadMeasure;
  /** What `auto` needs to measure providers; without it `auto` means the CPU. */
  auto?: AutoMeasure;
  /**
   * WebGPU only: keep the present.* outputs (the KV cache) in GPU buffers so each step feeds them
   * back without a round trip through host memory. Needs n_layer to name the outputs. Opt-in until
   * measured on a GPU (docs/performance.md): the bench's --kv-on-gpu.
   */
  kvOnGpuLayers?: number;
  /**
   * Tries a provider other than the CPU in a child process before this one creates a session on it
   * (provider-trial.ts): a native crash there loses nothing here. Unset: no trial (the trial's own
   * child, tests, the bench's sessions made after the engine's).
   */
  trial?: ProviderTrial;
}

/**
 * What a session is created from: the decoder file, or bytes derived from it (loop-free-graph.ts)
 * with the file they came from, which names it in errors.
 */
export type ModelSource = string | { readonly path: string; bytes(): Promise<Uint8Array> };

function sourcePath(source: ModelSource): string {
  return typeof source === 'string' ? source : source.path;
}

export interface AutoMeasure {
  /** sha256 of decoder.onnx: with the machine, the key of the remembered choice. */
  modelSha256: string;
  /** Median milliseconds of a few thought steps on `session`; throws if it cannot run the model. */
  measure(session: OrtSession): Promise<number>;
  /** The cache file (default: providers.json under cacheDir()). */
  cacheFile?: string;
}

export interface CreatedSession {
  session: OrtSession;
  provider: ProviderName;
  threads: number;
  /** Set when the requested provider could not start and the CPU ran instead. */
  providerNotice?: string;
  /** Then: why it could not start, as the notice quotes it (the provider trial's child reports it). */
  providerFailure?: string;
  /** How `auto` chose: measured now, or remembered from an earlier measurement. */
  choice?: AutoChoice & { source: 'measured' | 'cache' };
  /** How an unset thread count was chosen within `budget` (absent when given, or when the budget is one thread). */
  threadChoice?: ThreadChoice & { source: 'measured' | 'cache'; budget: number };
}

export const PROVIDERS: readonly ProviderSetting[] = ['auto', 'cpu', 'webgpu', 'cuda'];

function cores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

export function defaultThreads(): number {
  return Math.max(1, Math.min(4, cores() - 1));
}

/**
 * The lanes a dataset's batches may run in when nobody says (batch-lanes.ts): every core, at most
 * 4. An evaluation is a job the user waits for; the runs a user reads one by one keep
 * defaultThreads(), which leaves the editor a core.
 */
export function defaultBatchLanes(): number {
  return Math.max(1, Math.min(4, cores()));
}

/** The provider a setting names when nothing is measured ('auto' without measurements is the CPU). */
export function resolveProvider(setting: ProviderSetting): ProviderName {
  return setting === 'auto' ? 'cpu' : setting;
}

export function checkProviderSetting(p: unknown): ProviderSetting {
  if (typeof p === 'string' && (PROVIDERS as readonly string[]).includes(p)) return p as ProviderSetting;
  throw new EngineError('PROVIDER_FAILED', `unknown execution provider ${JSON.stringify(p)}`, `choose one of ${PROVIDERS.join(', ')}`);
}

export function sessionOptions(threads: number): OrtSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    // No busy-waiting: the editor shares these cores, and on a loaded 2-core machine spinning
    // intra-op threads made a 5-layer d256 thought step 2x slower (docs/performance.md). Left
    // spinning, a pool thread also burns ~40 ms of a core after every run (measured here).
    // Denormals flushed to zero: a trained model's sharp attention leaves probabilities below 1e-38,
    // and x86 arithmetic on them is slow. On the shipped model this cut the 6 thought steps of a
    // warm inspect by a third (docs/performance.md); nothing that size changes a logit.
    extra: { session: { 'intra_op.allow_spinning': '0', 'inter_op.allow_spinning': '0', set_denormal_as_zero: '1' } },
  };
}

function loadOrt(): Ort {
  try {
    return ort();
  } catch (e) {
    throw new EngineError(
      'PROVIDER_FAILED',
      `onnxruntime-node could not be loaded: ${firstLine(e instanceof Error ? e.message : String(e))}`,
      'reinstall the extension (or run npm install) so onnxruntime-node matches this platform',
      { cause: e },
    );
  }
}

/** Our own reason, complete with its fix: reported whole, not cut like onnxruntime's messages. */
class KnownUnavailable extends Error {}

/** Why `provider` cannot start here, known before trying (only CUDA's missing libraries so far). */
function knownUnavailable(provider: ProviderName): string | undefined {
  if (provider !== 'cuda') return undefined;
  const c = checkCuda();
  return c.present ? undefined : c.reason;
}

/**
 * The CPU provider is built into onnxruntime-node, so a decoder.onnx that it cannot load (after the
 * manifest's checksum matched) is a broken model, not a provider problem.
 */
async function createOnCpu(source: ModelSource, threads: number): Promise<OrtSession> {
  try {
    return await createFrom(source, { ...sessionOptions(threads), executionProviders: ['cpu'] });
  } catch (e) {
    if (e instanceof EngineError) throw e; // the source's own (decoder-reread.ts: the file changed since the load)
    const cause = e instanceof Error ? e.message : String(e);
    throw new EngineError(
      'MODEL_ONNX_INVALID',
      `${path.basename(sourcePath(source))} matches its checksum but onnxruntime cannot load it: ${firstLine(cause)}`,
      'the model folder was exported wrongly or its manifest was updated for a broken file: export the model again (training/export.py) and check it with onnx.checker',
      { cause: e },
    );
  }
}

async function createOn(source: ModelSource, provider: ProviderName, threads: number, kvOnGpuLayers?: number): Promise<OrtSession> {
  if (provider === 'cpu') return createOnCpu(source, threads);
  const unavailable = knownUnavailable(provider);
  if (unavailable) throw new KnownUnavailable(unavailable);
  const options: OrtSession.SessionOptions = { ...sessionOptions(threads), executionProviders: [provider] };
  if (provider === 'webgpu' && kvOnGpuLayers) {
    const where: Record<string, 'gpu-buffer'> = {};
    for (let i = 0; i < kvOnGpuLayers; i++) where[`present.${i}.key`] = where[`present.${i}.value`] = 'gpu-buffer';
    options.preferredOutputLocation = where;
  }
  return markNoEmptyTensors(await createFrom(source, options));
}

async function createFrom(source: ModelSource, options: OrtSession.SessionOptions): Promise<OrtSession> {
  const { InferenceSession } = loadOrt();
  const model = typeof source === 'string' ? source : await source.bytes();
  // The CPU's runs skip onnxruntime-node's event-loop hop where its binding can be reached (direct-session.ts).
  const onCpu = options.executionProviders?.length === 1 && options.executionProviders[0] === 'cpu';
  return (
    (onCpu ? createDirect(model, options) : undefined) ??
    (typeof model === 'string' ? InferenceSession.create(model, options) : InferenceSession.create(model, options))
  );
}

export async function createSession(source: ModelSource, opts: SessionOptions = {}): Promise<CreatedSession> {
  const setting = checkProviderSetting(opts.provider ?? 'auto');
  let threads = opts.threads ?? opts.threadBudget ?? defaultThreads();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new EngineError('PROVIDER_FAILED', `threads must be a positive integer, got ${threads}`, 'pass threads ≥ 1 or leave it unset');
  }
  // Threads only matter to the CPU provider; a GPU named outright keeps the budget for its fallback.
  let threadChoice: CreatedSession['threadChoice'];
  if (opts.threads === undefined && threads > 1 && opts.threadMeasure && resolveProvider(setting) === 'cpu') {
    threadChoice = { ...(await chooseThreads(threads, opts.threadMeasure, (t) => createOnCpu(source, t))), budget: threads };
    threads = threadChoice.threads;
  }
  const created =
    setting === 'auto' && opts.auto
      ? await createAuto(source, threads, opts.auto, opts.trial)
      : await createWithFallback(source, resolveProvider(setting), threads, opts);
  return threadChoice ? { ...created, threadChoice } : created;
}

async function createWithFallback(
  source: ModelSource,
  requested: ProviderName,
  threads: number,
  { kvOnGpuLayers, trial }: Pick<SessionOptions, 'kvOnGpuLayers' | 'trial'> = {},
): Promise<CreatedSession> {
  if (requested === 'cpu') return { session: await createOnCpu(source, threads), provider: 'cpu', threads };
  const tried = await trialOutcome(requested, trial);
  if (!tried.ok)
    return {
      session: await createOnCpu(source, threads),
      provider: 'cpu',
      threads,
      providerNotice: `the ${requested} execution provider ${tried.reason}; running on the CPU instead`,
    };
  try {
    return { session: await createOn(source, requested, threads, kvOnGpuLayers), provider: requested, threads };
  } catch (first) {
    // onnxruntime-node does not fall back by itself, even with 'cpu' listed after the provider.
    const cause = first instanceof Error ? first.message : String(first);
    const session = await createOnCpu(source, threads);
    const failure = first instanceof KnownUnavailable ? cause : firstLine(cause);
    return {
      session,
      provider: 'cpu',
      threads,
      providerNotice: `the ${requested} execution provider could not start (${failure}); running on the CPU instead`,
      providerFailure: failure,
    };
  }
}

/** What a provider's trial process said; no trial for the CPU, without one, or where the provider is known not to start. */
async function trialOutcome(provider: ProviderName, trial: ProviderTrial | undefined): Promise<TrialOutcome> {
  return provider !== 'cpu' && trial && !knownUnavailable(provider) ? trial(provider) : { ok: true };
}

/**
 * `auto`: the remembered choice for this model and machine, else every available provider measured
 * on a few thought steps, the fastest kept (its session is the one returned) and remembered.
 */
async function createAuto(source: ModelSource, threads: number, auto: AutoMeasure, trial?: ProviderTrial): Promise<CreatedSession> {
  const key = cacheKey(auto.modelSha256, threads);
  const file = auto.cacheFile ?? providerCacheFile();
  const cached = cachedChoice(key, file);
  if (cached) {
    const created = await createWithFallback(source, cached.provider, threads, { trial });
    return { ...created, choice: { ...cached, source: 'cache' } };
  }
  const measuredMs: AutoChoice['measuredMs'] = {};
  const failed: AutoChoice['failed'] = {};
  let best: { provider: ProviderName; session: OrtSession; ms: number } | undefined;
  for (const provider of candidateProviders()) {
    const tried = await trialOutcome(provider, trial);
    if (!tried.ok) {
      failed[provider] = tried.reason ?? 'failed its trial run';
      continue;
    }
    let session: OrtSession;
    try {
      session = await createOn(source, provider, threads);
    } catch (e) {
      if (provider === 'cpu') throw e; // the model itself is broken (MODEL_ONNX_INVALID)
      failed[provider] = e instanceof KnownUnavailable ? e.message : firstLine(e instanceof Error ? e.message : String(e));
      continue;
    }
    let ms: number;
    try {
      ms = await auto.measure(session);
    } catch (e) {
      await session.release().catch(() => undefined);
      if (provider === 'cpu') throw e;
      failed[provider] = `started but could not run the decoder: ${firstLine(e instanceof Error ? e.message : String(e))}`;
      continue;
    }
    measuredMs[provider] = ms;
    if (!best || ms < best.ms) {
      if (best) await best.session.release().catch(() => undefined);
      best = { provider, session, ms };
    } else {
      await session.release().catch(() => undefined);
    }
  }
  // The CPU is always a candidate and rethrows its failures, so best is set.
  const choice: AutoChoice = { provider: best!.provider, measuredMs, failed, decidedAt: new Date().toISOString() };
  rememberChoice(key, choice, file);
  return { session: best!.session, provider: best!.provider, threads, choice: { ...choice, source: 'measured' } };
}

function firstLine(s: string): string {
  const line = s.split('\n')[0].trim();
  return line.length > 300 ? line.slice(0, 300) + '…' : line;
}
