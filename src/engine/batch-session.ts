// The session a dataset evaluation's batches run on. Where the thread choice (thread-choice.ts)
// kept one thread, it did so because a single sequence's passes are too small to split. A batch's
// passes are not: its prompts' passes are compute-bound, and more threads make them faster (the
// official set at one k, batches of 8: 1.12 → 0.86 s on 2 threads; every k, equal). So batches get
// a second session with the whole budget. It holds the weights a second time, so only models
// small enough for that to be cheap get one; larger models chose the budget anyway.
import type { InferenceSession } from 'onnxruntime-node';
import { createSession, type CreatedSession, type ModelSource } from './session';

/** decoder.onnx sizes above this keep one session (the shipped model is 3.5 MB). */
export const SECOND_SESSION_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The threads a second session for batches would run (the budget the engine's count was chosen
 * within), or undefined where batches share the engine's session.
 */
export function batchThreads(created: Pick<CreatedSession, 'provider' | 'threads' | 'threadChoice'>, decoderBytes: number): number | undefined {
  const budget = created.threadChoice?.budget;
  if (created.provider !== 'cpu' || budget === undefined || created.threads >= budget || decoderBytes > SECOND_SESSION_MAX_BYTES) return undefined;
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
    this.created ??= createSession(this.source, { provider: 'cpu', threads: this.threads }).then((c) => c.session);
    return this.created;
  }

  async release(): Promise<void> {
    if (!this.created) return;
    const s = await this.created.catch(() => undefined);
    await s?.release().catch(() => undefined);
  }
}
