// The session a dataset evaluation's batches run on. A single sequence's passes are too small to
// split across threads (thread-choice.ts keeps one thread for small models); a batch's are not: its
// prompts' passes are compute-bound, and its steps multiply 16 rows by each weight matrix. So
// batches get a second session with more threads: every core up to 4 unless a budget was given
// (defaultBatchThreads), whose pool spins between the ops of a run and sleeps when it returns.
// On the 2-core machine the official set at one k in batches of 16: 1.22 → 0.98 s, where the
// same session without spinning gave 1.08 s; a 6 × 512 model's 32 records 3.89 → 2.39 s
// (docs/performance.md). It holds the weights a second time (+117 MB for 6 × 512), so a model gets
// one only where that copy is a small share of the machine's memory.
import * as os from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';
import { createSession, type CreatedSession, type ModelSource } from './session';

/** decoder.onnx sizes above this keep one session for the engine's whole life (the shipped model is 3.5 MB). */
export const SECOND_SESSION_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The largest decoder.onnx that gets a session for batches: 64 MB, or 1/32 of the machine's memory
 * where that is more (750 MB with 24 GB). Batches gain most on larger models, whose prompts' passes
 * are compute-bound and whose batched steps multiply more rows per weight.
 */
export function batchSessionMaxBytes(totalMemory = os.totalmem()): number {
  return Math.max(SECOND_SESSION_MAX_BYTES, Math.floor(totalMemory / 32));
}

/**
 * The threads a second session for batches would run, or undefined where batches share the
 * engine's session: not on the CPU, no budget (the thread count was given), the engine's session
 * already runs the budget, or the model is too large to hold twice (batchSessionMaxBytes).
 */
export function batchThreads(
  created: Pick<CreatedSession, 'provider' | 'threads'>,
  budget: number | undefined,
  decoderBytes: number,
  maxBytes = batchSessionMaxBytes(),
): number | undefined {
  if (created.provider !== 'cpu' || budget === undefined || created.threads >= budget || decoderBytes > maxBytes) return undefined;
  return budget;
}

/** Created on the first batch that needs it, released with the engine. */
export class BatchSession {
  private created?: Promise<InferenceSession>;

  constructor(
    private readonly source: ModelSource,
    private readonly threads: number,
  ) {}

  get started(): boolean {
    return this.created !== undefined;
  }

  get(): Promise<InferenceSession> {
    this.created ??= createSession(this.source, { provider: 'cpu', threads: this.threads, spinWithinRuns: true }).then((c) => c.session);
    return this.created;
  }

  async release(): Promise<void> {
    if (!this.created) return;
    const s = await this.created.catch(() => undefined);
    await s?.release().catch(() => undefined);
  }
}
