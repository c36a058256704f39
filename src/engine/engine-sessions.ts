// The onnxruntime sessions one loaded model holds: the decoder's, which runs every plain pass (on
// the graph without its thought loop where that can be had, loop-free-graph.ts); the thought
// loop's, made at the engine's second run (loop-session.ts); and on the CPU a dataset's batch
// lanes, a one-thread session each in a thread of its own (batch-lanes.ts).
import type { InferenceSession } from 'onnxruntime-node';
import { decoderBatches } from './analysis/batch-answers';
import type { BatchRunner } from './analysis/batch-runner';
import { BatchDecoder, prefillPassScoresFor } from './batch-decoder';
import { BatchLanes, laneCount } from './batch-lanes';
import { quickInspectMs, quickThoughtStepMs } from './bench/steps';
import { checkDecoderIO, decoderFeatures } from './decoder-io';
import { loadedDecoder } from './decoder-reread';
import { EngineError } from './errors';
import { plainPassSource } from './loop-free-graph';
import { thoughtLoopRunsOn } from './empty-tensors';
import { LoopSession } from './loop-session';
import { childProviderTrial, type ProviderTrial } from './provider-trial';
import { fileForRole } from './manifest';
import type { ModelDir } from './model-dir';
import { createSession, defaultBatchLanes, type CreatedSession, type ModelSource, type SessionOptions } from './session';

export class EngineSessions {
  private constructor(
    readonly created: CreatedSession,
    /** What the decoder's session was created from: the file, or its graph without the thought loop. */
    readonly source: ModelSource,
    /** The session with the thought loop, where the decoder's has none. */
    readonly loop: LoopSession | undefined,
    readonly model: ModelDir,
    /** A dataset's batch lanes, where the CPU has cores and memory for them. */
    readonly lanes: BatchLanes | undefined,
    private readonly onNotice?: (message: string) => void,
  ) {}

  /**
   * `opts.onNotice`: what the host should log and nothing else reports (LoadOptions.onNotice).
   * `decoderBytes`: decoder.onnx as the load verified it (model-dir.ts), for the first session.
   */
  static async open(
    model: ModelDir,
    opts: Pick<SessionOptions, 'provider' | 'threads' | 'threadBudget'> & { onNotice?: (message: string) => void; providerTrial?: ProviderTrial | false },
    decoderBytes?: Uint8Array,
  ): Promise<EngineSessions> {
    const decoderFile = fileForRole(model.manifest, 'decoder');
    // Both measurements check the decoder's inputs first: a mismatched model fails with its own error.
    const checked = (time: typeof quickInspectMs) => async (session: InferenceSession) => {
      checkDecoderIO(session, model.manifest, decoderFile.path);
      return time(session, model.manifest, model.probe);
    };
    const source = (await plainPassSource(model.decoderPath, decoderFile, decoderBytes)) ?? model.decoderPath;
    const io = (s: InferenceSession) => checkDecoderIO(s, model.manifest, decoderFile.path);
    const created = await createChecked(
      source,
      {
        ...opts,
        // Once per model and machine (remembered): an unset thread count is chosen by a short inspect,
        // and 'auto' times a few thought steps per provider.
        threadMeasure: { modelSha256: decoderFile.sha256, measure: checked(quickInspectMs) },
        auto: { modelSha256: decoderFile.sha256, measure: checked(quickThoughtStepMs) },
        // A GPU provider runs the model in a child process first: a native crash there loses nothing here.
        trial:
          opts.providerTrial === false ? undefined : (opts.providerTrial ?? childProviderTrial(model.dir, { modelSha256: decoderFile.sha256, threads: 1 })),
      },
      io,
    );
    const withLoop = (s: InferenceSession) => {
      io(s);
      if (!decoderFeatures(s).thoughtLoop) throw new EngineError('INTERNAL', `${decoderFile.path} has no thought loop`, 'run the thoughts one by one');
    };
    // Sessions made after the load read the file again, and only if it is still the one loaded.
    const whole = loadedDecoder(model.decoderPath, decoderFile.sha256);
    // Thoughts in one call on the CPU only until a GPU session checks them through the engine (empty-tensors.ts).
    const loop =
      typeof source === 'string' || !thoughtLoopRunsOn(created.provider)
        ? undefined
        : new LoopSession(async () => (await createChecked(whole, { provider: created.provider, threads: created.threads }, withLoop)).session, opts.onNotice);
    // A count given is kept for batches too (they run on the engine's session); a budget given bounds the lanes.
    const batchBudget = opts.threads !== undefined ? undefined : (opts.threadBudget ?? defaultBatchLanes());
    const n = laneCount(created.provider, batchBudget, decoderFile.bytes ?? Infinity); // unknown size: treated as large
    const src: Exclude<ModelSource, string> = typeof source === 'string' ? whole : source;
    const lanes =
      n === undefined
        ? undefined
        : new BatchLanes(
            n,
            async () => ({
              decoder: { path: decoderFile.path, bytes: await src.bytes() },
              manifest: model.manifest,
              probe: model.probe,
              prefillPassScores: prefillPassScoresFor(1), // a lane's session runs one thread
            }),
            (prompt, after) => new BatchDecoder(created.session, model.manifest, model.probe).bytesPerRow(prompt, after),
          );
    return new EngineSessions(created, source, loop, model, lanes, opts.onNotice);
  }

  get decoder(): InferenceSession {
    return this.created.session;
  }

  /**
   * Starts the lanes without waiting, for an evaluation about to batch: their threads and sessions
   * come up while the records are tokenized. A failure is reported by batches(), which waits for it.
   */
  startLanes(): void {
    this.lanes?.start().catch(() => undefined);
  }

  /**
   * What runs a dataset's batches: the lanes, or where there are none or they could not start, a
   * decoder on the engine's session (on the CPU it prefills large batches in groups of rows, larger
   * groups where the session has several threads).
   */
  async batches(): Promise<BatchRunner> {
    if (this.lanes) {
      try {
        await this.lanes.start();
        return this.lanes;
      } catch (e) {
        // The decoder file's own errors (changed since the load) are the evaluation's; a lane's thread
        // that cannot start leaves the batches to the engine's session.
        if (e instanceof EngineError && e.code === 'MODEL_CHECKSUM') throw e;
        this.onNotice?.(`batches run on the engine's thread: their lanes could not start (${e instanceof Error ? e.message : String(e)})`);
      }
    }
    const groups = this.created.provider === 'cpu' ? prefillPassScoresFor(this.created.threads) : Infinity;
    return decoderBatches(new BatchDecoder(this.decoder, this.model.manifest, this.model.probe, groups), this.model.manifest);
  }

  /** Sessions held: the decoder's, the thought loop's once made, the batch lanes' once started. */
  get count(): number {
    return 1 + (this.loop?.ready ? 1 : 0) + (this.lanes?.sessions ?? 0);
  }

  async release(): Promise<void> {
    await this.lanes?.release();
    await this.loop?.release();
    await this.decoder.release();
  }
}

/** A session that passed `check`; one that did not is released before the error goes on. */
async function createChecked(source: ModelSource, opts: SessionOptions, check: (s: InferenceSession) => void): Promise<CreatedSession> {
  const created = await createSession(source, opts);
  try {
    check(created.session);
  } catch (e) {
    await created.session.release().catch(() => undefined);
    throw e;
  }
  return created;
}
