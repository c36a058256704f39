// A dataset's batches on every core at once: one lane per core (up to 4), each a worker thread with
// a one-thread session of its own, each running whole batches. onnxruntime-node runs a session on
// the thread that calls it, so lanes are how passes run side by side.
//
// Why lanes and not one session with a thread per core (what stop 23 had): a batch's passes are a
// hundred ops, over half of their time in small ones (adds, splits, concats, layer norms over
// [16, 120, 192]); split across threads those cost more than they save, and only the weight
// products scale. Lanes split whole batches instead, and every op runs whole on one core. The
// official set at one k on the 2-core machine, one process, alternating: record by record 1.99 s,
// batches on one 2-thread spinning session 0.84 s (x2.37), in 2 lanes 0.57 s (x3.49), the same
// rows (docs/performance.md). Each lane holds the weights once more, so a model gets as many lanes
// as fit in its share of memory.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BatchAnswer, BatchRunner } from './analysis/batch-runner';
import type { LaneReply, LaneRequest, LaneSetup } from './batch-lane-protocol';
import { EngineError, throwIfAborted } from './errors';

/** decoder.onnx sizes the lanes may hold together without asking: the shipped model is 3.5 MB. */
export const LANES_MIN_BYTES = 64 * 1024 * 1024;

/** What the lanes' copies of the weights may take together: 64 MB, or 1/16 of the memory where that is more. */
export function lanesMaxBytes(totalMemory = os.totalmem()): number {
  return Math.max(LANES_MIN_BYTES, Math.floor(totalMemory / 16));
}

/**
 * How many lanes a dataset's batches get, or undefined where they run on the engine's own session:
 * not on the CPU (a GPU runs one padded batch best), no budget (a thread count was given, and is
 * kept), or fewer than two copies of the model fit (lanesMaxBytes).
 */
export function laneCount(provider: string, budget: number | undefined, decoderBytes: number, maxBytes = lanesMaxBytes()): number | undefined {
  if (provider !== 'cpu' || budget === undefined) return undefined;
  const n = Math.min(budget, Math.floor(maxBytes / Math.max(1, decoderBytes)));
  return n >= 2 ? n : undefined;
}

/** The lane's entry: the bundle beside this one, else (running from the sources, in tests) the TypeScript one through tsx. */
function laneWorker(setup: LaneSetup): Worker {
  const bundled = path.join(__dirname, 'batch-lane.js');
  if (fs.existsSync(bundled)) return new Worker(bundled, { workerData: setup });
  // A worker cannot take --import tsx (Node 20), so it registers tsx itself before the entry.
  const tsx = require.resolve('tsx/cjs/api');
  const entry = path.join(__dirname, 'batch-lane-main.ts');
  return new Worker(`require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(entry)});`, { eval: true, workerData: setup });
}

interface Pending {
  id: number;
  resolve(a: BatchAnswer[]): void;
  reject(e: Error): void;
}

class Lane {
  private readonly flag: Int32Array;
  private pending?: Pending;
  private gone?: string;
  private nextId = 0;

  private constructor(
    private readonly worker: Worker,
    cancel: SharedArrayBuffer,
  ) {
    this.flag = new Int32Array(cancel);
    worker.on('message', (m: LaneReply) => {
      const p = this.pending;
      if (!p || (m.kind !== 'answers' && m.kind !== 'error') || m.id !== p.id) return;
      this.pending = undefined;
      this.idle();
      if (m.kind === 'answers') p.resolve(m.answers);
      else p.reject(EngineError.fromData(m.error));
    });
    const stop = (why: string) => {
      this.gone ??= why;
      const p = this.pending;
      this.pending = undefined;
      p?.reject(new EngineError('INTERNAL', `a batch lane stopped: ${why}`, 'run the evaluation again, or with batch size 1 to run record by record'));
    };
    worker.on('error', (e) => stop(e.message));
    worker.on('exit', (code) => stop(`its thread exited (code ${code})`));
  }

  /** A lane whose session is made; rejects with the lane's own error where it could not be. */
  static start(setup: Omit<LaneSetup, 'cancel'>): Promise<Lane> {
    const cancel = new SharedArrayBuffer(4);
    const worker = laneWorker({ ...setup, cancel });
    return new Promise((resolve, reject) => {
      const exited = (code: number) => fail(new EngineError('INTERNAL', `a batch lane exited while starting (code ${code})`, 'run the evaluation again'));
      const fail = (e: Error) => {
        worker.off('error', fail).off('exit', exited);
        void worker.terminate();
        reject(e);
      };
      worker.once('error', fail).once('exit', exited);
      worker.once('message', (m: LaneReply) => {
        if (m.kind === 'failed') return fail(EngineError.fromData(m.error));
        worker.off('error', fail).off('exit', exited);
        const lane = new Lane(worker, cancel);
        lane.idle();
        resolve(lane);
      });
    });
  }

  get alive(): boolean {
    return this.gone === undefined;
  }

  /** Runs one batch; `signal` cancels it between passes. */
  answers(prompts: number[][], ks: number[], maxNewTokens: number, signal?: AbortSignal): Promise<BatchAnswer[]> {
    if (this.gone) return Promise.reject(new EngineError('INTERNAL', `a batch lane stopped: ${this.gone}`, 'run the evaluation again'));
    Atomics.store(this.flag, 0, 0);
    const onAbort = () => Atomics.store(this.flag, 0, 1);
    signal?.addEventListener('abort', onAbort);
    this.worker.ref();
    const id = this.nextId++;
    const done = new Promise<BatchAnswer[]>((resolve, reject) => (this.pending = { id, resolve, reject }));
    this.worker.postMessage({ id, prompts, ks, maxNewTokens } satisfies LaneRequest);
    return done.finally(() => signal?.removeEventListener('abort', onAbort));
  }

  /** An idle lane does not keep the process alive. */
  private idle(): void {
    this.worker.unref();
  }

  async stop(): Promise<void> {
    this.gone ??= 'the engine was disposed';
    await this.worker.terminate().catch(() => undefined);
  }
}

/** How long lanes wait, idle, before they stop and give their sessions' memory back. */
export const LANES_IDLE_MS = 60_000;

/**
 * The lanes of one loaded model, started at the first batch, stopped after LANES_IDLE_MS without a
 * batch (starting them again costs 0.2-0.8 s) and with the engine. Batches wait for a free lane; a
 * lane that stopped is started again for the next batch.
 */
export class BatchLanes implements BatchRunner {
  private started?: Promise<void>;
  /** Bumped by release(): lanes a start made for an earlier generation are stopped, not kept. */
  private generation = 0;
  private readonly all = new Set<Lane>();
  private free: Lane[] = [];
  private waiting: ((l: Lane) => void)[] = [];
  private busy = 0;
  private idleTimer?: NodeJS.Timeout;

  constructor(
    readonly lanes: number,
    private readonly setup: () => Promise<Omit<LaneSetup, 'cancel'>>,
    /** Bytes of cache buffers per row (BatchDecoder.bytesPerRow), as a lane's decoder allocates them. */
    readonly bytesPerRow: (prompt: number, after: number) => number,
    private readonly idleMs = LANES_IDLE_MS,
  ) {}

  /** Sessions the lanes hold now. */
  get sessions(): number {
    return this.all.size;
  }

  /** Starts every lane (once); rejects, with every lane stopped, where one could not start. */
  start(): Promise<void> {
    const generation = this.generation;
    this.started ??= this.setup().then(async (s) => {
      const tries = await Promise.allSettled(Array.from({ length: this.lanes }, () => Lane.start(s)));
      const lanes = tries.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failed = tries.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed || generation !== this.generation) {
        await Promise.all(lanes.map((l) => l.stop()));
        if (failed) throw failed.reason;
        return;
      }
      for (const l of lanes) this.all.add(l);
      this.free = lanes;
      this.idleLater();
    });
    this.started.catch(() => (this.started = undefined));
    return this.started;
  }

  async answers(prompts: number[][], ks: number[], maxNewTokens: number, signal?: AbortSignal): Promise<BatchAnswer[]> {
    clearTimeout(this.idleTimer);
    this.busy++;
    try {
      await this.start();
      let lane = this.free.pop() ?? (await new Promise<Lane>((r) => this.waiting.push(r)));
      try {
        throwIfAborted(signal);
        if (!lane.alive) {
          this.all.delete(lane);
          lane = await Lane.start(await this.setup());
          this.all.add(lane);
        }
        return await lane.answers(prompts, ks, maxNewTokens, signal);
      } finally {
        const next = this.waiting.shift();
        if (next) next(lane);
        else this.free.push(lane);
      }
    } finally {
      this.busy--;
      this.idleLater();
    }
  }

  private idleLater(): void {
    clearTimeout(this.idleTimer);
    if (this.busy > 0 || this.all.size === 0) return;
    this.idleTimer = setTimeout(() => void this.release(), this.idleMs);
    this.idleTimer.unref();
  }

  async release(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.generation++;
    const lanes = [...this.all];
    this.all.clear();
    this.free = [];
    this.started = undefined;
    await Promise.all(lanes.map((l) => l.stop()));
  }
}
