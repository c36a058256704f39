// The session that runs a plain inspect's thoughts in one call, where plain passes run on the
// decoder without its loop (loop-free-graph.ts). It is not created at load: a first inspect steps
// its thoughts one by one (0.1 ms a thought more on the shipped model) rather than wait for a
// second session (35-45 ms). It is created at the start of the engine's second run (so a CLI's one
// inspect never makes it), or at once for the long jobs (dataset evaluation, k sweep), and
// released with the engine. Never in the background: a worker thread terminated while onnxruntime
// creates a session for it aborts the whole process (client.ts), so the engine makes sessions
// only inside the runs its host waits for.
import type { InferenceSession } from 'onnxruntime-node';

export class LoopSession {
  private session?: InferenceSession;
  private creating?: Promise<boolean>;
  private released = false;
  /** Why the session could not be created; thoughts then step one by one for good. */
  failure?: string;

  /**
   * `make`: creates the session and checks it is the decoder with the loop (engine-sessions.ts).
   * `onFailure`: told once why it could not be made; nothing else would show it, as thoughts then
   * step one by one with the same results, only slower.
   */
  constructor(
    private readonly make: () => Promise<InferenceSession>,
    private readonly onFailure?: (why: string) => void,
  ) {}

  /** The session once created; until then (or after a failure) thoughts step one by one. */
  get ready(): InferenceSession | undefined {
    return this.session;
  }

  /** waiting: not asked for yet; then being created, ready, or failed. */
  get state(): 'waiting' | 'creating' | 'ready' | 'failed' {
    if (this.session) return 'ready';
    if (this.failure !== undefined) return 'failed';
    return this.creating ? 'creating' : 'waiting';
  }

  /** Creates the session now (once); resolves to whether thoughts can run in one call. */
  start(): Promise<boolean> {
    this.creating ??= this.create();
    return this.creating;
  }

  async release(): Promise<void> {
    this.released = true;
    await this.creating;
    const s = this.session;
    this.session = undefined;
    await s?.release().catch(() => undefined);
  }

  private async create(): Promise<boolean> {
    if (this.released) return false;
    try {
      const session = await this.make();
      if (this.released) {
        await session.release().catch(() => undefined);
        return false;
      }
      this.session = session;
      return true;
    } catch (e) {
      this.failure = e instanceof Error ? e.message : String(e);
      try {
        this.onFailure?.(
          `thoughts in one call are off for this model: the session with the thought loop could not be made (${this.failure}); thoughts step one by one, with the same results`,
        );
      } catch {
        // a failing listener must not turn a slower run into a failed one
      }
      return false;
    }
  }
}
