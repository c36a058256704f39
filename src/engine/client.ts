// The host side of the engine worker. The extension host (and anything else that must stay
// responsive) talks to the engine only through this class: every call is a message, inference runs
// on the worker thread, and engine errors come back as EngineError with code, message and fix intact.
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { cancelledError, EngineError } from './errors';
import type {
  AnalysisProgress,
  AttributionEntry,
  DatasetResult,
  EvalOptions,
  EvalRecord,
  InspectProgress,
  InspectRequest,
  InspectResult,
  InterventionResult,
  ModelInfo,
  ProviderSetting,
  SweepOptions,
  SweepResult,
} from '../shared/types';
import { BUSY_MESSAGE, type HostToWorker, type LoadParams, type RunMessage, type WorkerRequest, type WorkerToHost } from './worker-protocol';

export interface EngineClientOptions {
  /** Absolute path of dist/engine-worker.js (the bundled src/engine/worker.ts). */
  workerPath: string;
  /** What the engine says that no answer carries (a failed thought loop session), for the host's log. */
  onNotice?: (message: string) => void;
}

export interface ClientInspectOptions {
  signal?: AbortSignal;
  onProgress?: (p: InspectProgress) => void;
}

/** Options of the analyses (sweep, intervene, attribution, eval): progress counts their units. */
export interface ClientRunOptions {
  signal?: AbortSignal;
  onProgress?: (p: AnalysisProgress) => void;
}

type Progress = InspectProgress | AnalysisProgress;

export interface ClientLoadOptions {
  threads?: number;
  /** The folder is the shipped default: a missing folder gets the "not shipped yet" message. */
  isDefault?: boolean;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: EngineError): void;
  onProgress?: (p: Progress) => void;
}

/** How long a disposed worker may take to finish its pass and exit before it is terminated. */
const SHUTDOWN_GRACE_MS = 10_000;

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export class EngineClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private runningId: number | undefined;
  private loadingId: number | undefined;
  private disposed = false;
  private modelInfo: ModelInfo | undefined;
  private disposal: Promise<number | undefined> | undefined;

  constructor(private readonly opts: EngineClientOptions) {}

  /** The loaded model, once load() resolved. */
  get info(): ModelInfo | undefined {
    return this.modelInfo;
  }

  /** True while a run (inspect or an analysis) goes on (a second one would be rejected with BUSY). */
  get busy(): boolean {
    return this.runningId !== undefined;
  }

  /** Loads (or replaces) the model in the worker; starts the worker on first use. */
  async load(modelDir: string, provider: ProviderSetting, opts: ClientLoadOptions = {}): Promise<ModelInfo> {
    if (this.runningId !== undefined || this.loadingId !== undefined) {
      throw new EngineError(
        'BUSY',
        this.runningId !== undefined ? BUSY_MESSAGE : 'a model is already loading; wait for it',
        'cancel the current run, or wait for it to finish, then load',
      );
    }
    const params: LoadParams = { modelDir, provider };
    if (opts.threads !== undefined) params.threads = opts.threads;
    if (opts.isDefault) params.isDefault = true;
    const id = this.nextId++;
    this.loadingId = id;
    this.modelInfo = undefined;
    try {
      const info = (await this.request({ kind: 'load', id, params })) as ModelInfo;
      this.modelInfo = info;
      return info;
    } finally {
      this.loadingId = undefined;
    }
  }

  /**
   * Runs one inspection. Rejects at once with BUSY while another runs (the UI offers to cancel it),
   * with NOT_LOADED before a load, and with CANCELLED when `signal` fires or cancel() is called.
   */
  inspect(req: InspectRequest, opts: ClientInspectOptions = {}): Promise<InspectResult> {
    return this.run({ kind: 'inspect', request: req }, opts.signal, opts.onProgress as (p: Progress) => void) as Promise<InspectResult>;
  }

  /** The run with and without `req.interventions`, and the per-thought divergence (CoconutEngine.intervene). */
  intervene(req: InspectRequest, opts: ClientRunOptions = {}): Promise<InterventionResult> {
    return this.run({ kind: 'intervene', request: req }, opts.signal, opts.onProgress as (p: Progress) => void) as Promise<InterventionResult>;
  }

  /** Answers for k = from..to thoughts (CoconutEngine.sweep). */
  sweep(req: InspectRequest, opts: SweepOptions & ClientRunOptions = {}): Promise<SweepResult> {
    const { signal, onProgress, ...options } = opts;
    return this.run({ kind: 'sweep', request: req, options }, signal, onProgress as (p: Progress) => void) as Promise<SweepResult>;
  }

  /** Ablates each thought in turn (CoconutEngine.attribution). */
  attribution(req: InspectRequest, opts: ClientRunOptions = {}): Promise<AttributionEntry[]> {
    return this.run({ kind: 'attribution', request: req }, opts.signal, opts.onProgress as (p: Progress) => void) as Promise<AttributionEntry[]>;
  }

  /** Accuracy per k over records, with path categories (CoconutEngine.evalDataset). */
  evalDataset(records: EvalRecord[], opts: EvalOptions & ClientRunOptions & { maxNewTokens?: number } = {}): Promise<DatasetResult> {
    const { signal, onProgress, ...options } = opts;
    return this.run({ kind: 'eval', records, options }, signal, onProgress as (p: Progress) => void) as Promise<DatasetResult>;
  }

  private async run(msg: WithoutId<RunMessage>, signal: AbortSignal | undefined, onProgress: ((p: Progress) => void) | undefined): Promise<unknown> {
    if (this.disposed) throw disposedError();
    if (this.runningId !== undefined) {
      throw new EngineError('BUSY', BUSY_MESSAGE, 'cancel the current run (Coconut Lens: Cancel Run) or wait for it to finish');
    }
    if (this.loadingId !== undefined) {
      throw new EngineError('BUSY', 'the model is still loading', 'wait for the model to load, then run again');
    }
    if (!this.modelInfo) {
      throw new EngineError('NOT_LOADED', 'no model is loaded', 'load a model (EngineClient.load) before inspecting');
    }
    if (signal?.aborted) throw cancelledError();
    const id = this.nextId++;
    this.runningId = id;
    const onAbort = () => this.post({ kind: 'cancel', id });
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.request({ ...msg, id } as RunMessage, onProgress);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (this.runningId === id) this.runningId = undefined;
    }
  }

  /** Cancels the running run, if any; it rejects with CANCELLED after the current pass. */
  cancel(): void {
    if (this.runningId !== undefined) this.post({ kind: 'cancel', id: this.runningId });
  }

  /**
   * Stops the worker. Pending calls reject with CANCELLED at once; later calls are refused. The
   * worker is asked to stop rather than terminated: terminating a thread while onnxruntime-node
   * runs a pass for it aborts the whole process (its completion callback throws into a dead
   * environment: "terminate called after throwing an instance of 'Napi::Error'"), which in VS Code
   * is the extension host. The worker cancels its run, waits for the pass in flight, releases its
   * sessions and exits; only a worker still there after SHUTDOWN_GRACE_MS is terminated. Resolves
   * with the worker's exit code (0: it stopped by itself), or undefined when there was no worker.
   */
  dispose(): Promise<number | undefined> {
    if (this.disposed) return this.disposal ?? Promise.resolve(undefined);
    this.disposed = true;
    this.modelInfo = undefined;
    const w = this.worker;
    this.worker = undefined;
    this.rejectAll(new EngineError('CANCELLED', 'the engine was shut down while a request was pending', 'run it again'));
    if (!w) return (this.disposal = Promise.resolve(undefined));
    this.disposal = new Promise<number>((resolve) => {
      const grace = setTimeout(() => void w.terminate(), SHUTDOWN_GRACE_MS);
      grace.unref();
      w.once('exit', (code) => {
        clearTimeout(grace);
        resolve(code);
      });
    });
    // Held until it exits, so a CLI that disposes and returns does not tear the thread down mid-pass.
    w.ref();
    w.postMessage({ kind: 'shutdown' } satisfies HostToWorker);
    return this.disposal;
  }

  private request(msg: WorkerRequest, onProgress?: (p: Progress) => void): Promise<unknown> {
    if (this.disposed) return Promise.reject(disposedError());
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject, onProgress });
      try {
        this.ensureWorker().postMessage(msg);
        this.worker?.ref();
      } catch (e) {
        this.pending.delete(msg.id);
        reject(e instanceof EngineError ? e : new EngineError('INTERNAL', `could not reach the engine worker: ${(e as Error).message}`, 'reload the model'));
      }
    });
  }

  private post(msg: HostToWorker): void {
    this.worker?.postMessage(msg);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    if (!fs.existsSync(this.opts.workerPath)) {
      throw new EngineError(
        'INTERNAL',
        `the engine worker script ${this.opts.workerPath} does not exist`,
        'build the extension (npm run build) so dist/engine-worker.js exists',
      );
    }
    const w = new Worker(this.opts.workerPath);
    w.on('message', (m: WorkerToHost) => this.onMessage(m));
    w.on('error', (e) => this.onWorkerGone(w, `the engine worker crashed: ${e.message}`));
    w.on('exit', (code) => this.onWorkerGone(w, `the engine worker exited (code ${code})`));
    w.unref();
    this.worker = w;
    return w;
  }

  private onMessage(m: WorkerToHost): void {
    if (m.kind === 'notice') {
      try {
        this.opts.onNotice?.(m.message);
      } catch {
        // a failing log must not break the runs
      }
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.kind === 'progress') {
      try {
        p.onProgress?.(m.progress);
      } catch {
        // A failing progress callback must not break the run it reports on.
      }
      return;
    }
    this.pending.delete(m.id);
    // Idle workers must not keep a CLI or test process alive.
    if (this.pending.size === 0) this.worker?.unref();
    if (m.kind === 'ok') p.resolve(m.value);
    else p.reject(EngineError.fromData(m.error));
  }

  private onWorkerGone(w: Worker, why: string): void {
    if (this.worker !== w) return; // an old worker, already replaced or disposed
    this.worker = undefined;
    this.modelInfo = undefined;
    this.rejectAll(new EngineError('INTERNAL', why, 'load the model again; if it keeps happening, report it with the model folder'));
  }

  private rejectAll(e: EngineError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    this.runningId = undefined;
    for (const p of all) p.reject(e);
  }
}

function disposedError(): EngineError {
  return new EngineError('NOT_LOADED', 'this engine client was disposed', 'create a new EngineClient and load the model');
}
