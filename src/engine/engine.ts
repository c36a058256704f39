// The engine's public face: load a model folder once, then run inspections and the analyses built
// on them (interventions, k sweep, attribution, dataset evaluation) one at a time.
import { runCoconut, type LoopHooks, type LoopResult } from './coconut';
import { Decoder, RECENT_POSITIONS } from './decoder';
import { decodeThought, l2norm, softmax, topTokens } from './decode';
import { EngineError, toLensError } from './errors';
import { loadModelDirBytes, type ModelDir } from './model-dir';
import { modelInfo } from './model-info';
import { intOption, watchList } from './request-options';
import type { ModelSource } from './session';
import { EngineSessions } from './engine-sessions';
import { checkRunFits } from './run-fits';
import type {
  AnswerToken,
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
  ThoughtNodeValues,
  ThoughtTrace,
} from '../shared/types';
import { extractAnswer, scoreForModel } from './answer';
import { runAttribution } from './analysis/attribution';
import type { RunContext, RunOptions } from './analysis/context';
import { runEvalDataset } from './analysis/dataset';
import { validateGraph } from './analysis/validate-graph';
import { applyIntervention, divergence, interventionRecord, plainInterventions, resolveInterventions, type Applied } from './analysis/interventions';
import { nodeValuesAt, nodeValuesFromThought, planNodeValues } from './analysis/node-values';
import { runSweep } from './analysis/sweep';
import type { ProviderTrial } from './provider-trial';

export interface LoadOptions {
  provider?: ProviderSetting;
  /** Unset: 1 or `threadBudget`, whichever runs this model faster on this machine (measured once, remembered). */
  threads?: number;
  /** The most an unset `threads` may use (default: one core left for the editor, at most 4). */
  threadBudget?: number;
  /** `dir` is the shipped default model: a missing folder says so (not a generic not-found). */
  isDefault?: boolean;
  /** false: a pass per thought even where nothing intervenes (default: one call where the graph can). */
  thoughtsInOneCall?: boolean;
  /** false: the whole cache in the recent tier (as version 2); a number: Decoder.recentPositions. */
  prefixCache?: boolean | number;
  /** Told what the host should log and no run reports (a thought loop session that failed). */
  onNotice?: (message: string) => void;
  /**
   * How a provider other than the CPU is tried before this process uses it (default: in a child
   * process, remembered; provider-trial.ts). false: not tried (the bench's own sessions, tests).
   */
  providerTrial?: ProviderTrial | false;
}

export interface InspectOptions {
  onProgress?: (p: InspectProgress) => void;
}

export type { RunOptions } from './analysis/context';

/** What an inspect leaves behind besides its result: the LM-head logits each thought was decoded with. */
interface InspectCapture {
  thoughtLogits: Float32Array[];
}

const DEFAULT_TOP_K = 10;
const DEFAULT_LENS_TOP_K = 5;
const MAX_TOP_K = 100;

export class CoconutEngine {
  readonly info: ModelInfo;
  private readonly decoder: Decoder;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private runsStarted = 0;

  private constructor(
    readonly model: ModelDir,
    private readonly held: EngineSessions,
  ) {
    this.info = modelInfo(model, held.created);
    if (held.lanes) this.info.batchLanes = held.lanes.lanes;
    if (held.loop) this.info.thoughtLoopSession = true;
    const loop = held.loop;
    this.decoder = new Decoder(held.decoder, model.manifest, model.probe, loop ? () => loop.ready : undefined);
  }

  /** What the decoder's session was created from: the decoder file, or its graph without the thought loop. */
  get source(): ModelSource {
    return this.held.source;
  }

  /** Whether a run with no intervention or branch may run its thoughts in one decoder call. */
  get thoughtsInOneCall(): boolean {
    return this.decoder.usesOneCall;
  }

  /** Whether the next such run will: false until the session with the loop exists (loop-session.ts). */
  get thoughtsInOneCallReady(): boolean {
    return this.decoder.oneCallReady;
  }

  /**
   * Where thoughts in one call run: in the decoder's own session, in the thought loop's session
   * (waiting to be made, being made, ready, failed), or nowhere (no loop, or switched off).
   */
  get thoughtLoop(): 'decoder' | 'waiting' | 'creating' | 'ready' | 'failed' | 'none' {
    if (!this.decoder.usesOneCall) return 'none';
    return this.held.loop ? this.held.loop.state : 'decoder';
  }

  /** Why the thought loop's session could not be made (thoughtLoop 'failed'); thoughts then step one by one. */
  get thoughtLoopFailure(): string | undefined {
    return this.held.loop?.failure;
  }

  /**
   * Creates the session with the thought loop now rather than at the second run; resolves to whether a
   * plain run's thoughts can run in one call.
   */
  async prepareThoughtLoop(): Promise<boolean> {
    if (!this.decoder.usesOneCall) return false;
    return this.held.loop ? this.held.loop.start() : true;
  }

  /** onnxruntime sessions held (engine-sessions.ts). */
  get sessions(): number {
    return this.held.count;
  }

  static async load(dir: string, opts: LoadOptions = {}): Promise<CoconutEngine> {
    const { model, decoderBytes } = await loadModelDirBytes(dir, { isDefault: opts.isDefault });
    const engine = new CoconutEngine(model, await EngineSessions.open(model, opts, decoderBytes));
    engine.decoder.thoughtsInOneCall = opts.thoughtsInOneCall !== false;
    if (opts.prefixCache !== undefined)
      engine.decoder.recentPositions = opts.prefixCache === false ? Infinity : opts.prefixCache === true ? RECENT_POSITIONS : opts.prefixCache;
    return engine;
  }

  /** The reference scoring of a generated text against the expected answer, in the model's own text form. */
  scoreAnswer(text: string, expected: string): boolean {
    return scoreForModel(this.model, text, expected);
  }

  get tokenizer() {
    return this.model.tokenizer;
  }

  /** Runs are queued: a second call waits for the first, so two runs never share the KV cache. */
  inspect(req: InspectRequest, signal?: AbortSignal, opts: InspectOptions = {}): Promise<InspectResult> {
    return this.serialize(() => this.inspectNow(req, signal, opts));
  }

  /**
   * The run with interventions next to the run without them, and per thought the divergence of
   * the intervened LM-head distribution from the original.
   */
  intervene(req: InspectRequest, opts: RunOptions = {}): Promise<InterventionResult> {
    return this.serialize(async () => {
      if (!Array.isArray(req.interventions) || req.interventions.length === 0) {
        throw new EngineError('BAD_OPTION', 'no interventions were given', 'give at least one intervention, e.g. { thought: 2, kind: "zero" }');
      }
      const total = 2;
      const report = (done: number) => opts.onProgress?.({ task: 'intervene', done, total });
      const a: InspectCapture = { thoughtLogits: [] };
      const b: InspectCapture = { thoughtLogits: [] };
      // The intervened run goes first: a bad intervention fails before any work is done.
      const intervened = await this.inspectNow(req, opts.signal, {}, b);
      report(1);
      const original = await this.inspectNow({ ...req, interventions: undefined }, opts.signal, {}, a);
      report(2);
      const divergences = a.thoughtLogits.map((p, i) => ({ thought: i + 1, ...divergence(p, b.thoughtLogits[i]) }));
      return { interventions: intervened.interventions ?? [], original, intervened, divergence: divergences };
    });
  }

  /** Answers with k = from..to thoughts, branched off one main line (see analysis/sweep.ts). */
  sweep(req: InspectRequest, opts: SweepOptions & RunOptions = {}): Promise<SweepResult> {
    return this.serialize(async () => {
      const maxNewTokens = this.maxNewTokensOf(req);
      await this.prepareThoughtLoop(); // a long job: worth the thought loop's session at once
      return runSweep(this.context(), req.question, { interventions: req.interventions, maxNewTokens }, opts, opts);
    });
  }

  /** Zeroes each thought in turn: the change in the answer's log-probability and whether it changes. */
  attribution(req: InspectRequest, opts: RunOptions = {}): Promise<AttributionEntry[]> {
    return this.serialize(() => {
      const m = this.model.manifest;
      const k = req.thoughts ?? m.thoughts.default;
      const maxNewTokens = this.maxNewTokensOf(req);
      const promptIds = this.encodeQuestion(req.question);
      this.checkPlan(promptIds.length, k, maxNewTokens);
      const baseline = resolveInterventions(req.interventions, {
        k,
        D: m.architecture.n_embd,
        tokenizer: this.model.tokenizer,
        probe: this.model.probe,
      });
      return runAttribution(this.context(), promptIds, k, maxNewTokens, baseline, opts);
    });
  }

  /** Accuracy per k over records, with ProsQA path categories where records carry a graph. */
  evalDataset(records: EvalRecord[], opts: EvalOptions & RunOptions & { maxNewTokens?: number } = {}): Promise<DatasetResult> {
    return this.serialize(async () => {
      const maxNewTokens = this.maxNewTokensOf({ maxNewTokens: opts.maxNewTokens });
      if (opts.batchSize !== 1 && records.length > 1) this.held.startLanes();
      await this.prepareThoughtLoop();
      const r = await runEvalDataset(this.context(), records, opts, maxNewTokens, opts);
      return { ...r, provider: this.info.provider };
    });
  }

  /**
   * The bare loop with raw per-position outputs, for tests and research scripts (parity against the
   * PyTorch reference compares logits, which InspectResult does not carry).
   */
  runRaw(question: string, k: number, maxNewTokens: number, hooks: LoopHooks = {}): Promise<LoopResult & { promptIds: number[] }> {
    return this.serialize(async () => {
      const promptIds = this.encodeQuestion(question);
      this.checkPlan(promptIds.length, k, maxNewTokens);
      return { ...(await runCoconut(this.decoder, this.model.manifest, promptIds, k, maxNewTokens, hooks)), promptIds };
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue.catch(() => undefined);
    await this.held.release();
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    if (this.disposed) {
      return Promise.reject(new EngineError('NOT_LOADED', 'the engine was disposed', 'load the model again'));
    }
    const withLoop = async () => {
      // The first run steps its thoughts; from the second on, runs make and use the loop's session.
      if (this.runsStarted++ > 0) await this.prepareThoughtLoop();
      return fn();
    };
    const run = this.queue.then(withLoop, withLoop);
    this.queue = run.catch(() => undefined);
    return run.catch((e) => {
      throw toLensError(e);
    });
  }

  private context(): RunContext {
    return {
      dec: this.decoder,
      batches: () => this.held.batches(),
      model: this.model,
      encode: (q) => this.encodeQuestion(q),
      checkPlan: (n, k, max) => this.checkPlan(n, k, max),
    };
  }

  private maxNewTokensOf(req: { maxNewTokens?: number }): number {
    const m = this.model.manifest;
    return intOption('maxNewTokens', req.maxNewTokens ?? m.generation.max_new_tokens, 1, m.architecture.n_positions);
  }

  private encodeQuestion(question: string): number[] {
    if (typeof question !== 'string' || question.trim().length === 0) {
      throw new EngineError('PROMPT_EMPTY', 'the question is empty', 'give the model a question to answer');
    }
    return this.model.tokenizer.encode(question + this.model.manifest.prompt.question_suffix).ids;
  }

  private checkPlan(promptTokens: number, k: number, maxNewTokens: number): void {
    checkRunFits(this.model.manifest, promptTokens, k, maxNewTokens);
  }

  private async inspectNow(req: InspectRequest, signal: AbortSignal | undefined, opts: InspectOptions, capture?: InspectCapture): Promise<InspectResult> {
    const m = this.model.manifest;
    const tok = this.model.tokenizer;
    const V = m.architecture.vocab_size;
    const D = m.architecture.n_embd;
    const eps = m.architecture.layer_norm_epsilon;
    const k = req.thoughts ?? m.thoughts.default;
    const topK = intOption('topK', req.topK ?? DEFAULT_TOP_K, 1, Math.min(MAX_TOP_K, V));
    const lensTopK = intOption('lensTopK', req.lensTopK ?? DEFAULT_LENS_TOP_K, 1, Math.min(MAX_TOP_K, V));
    const maxNewTokens = intOption('maxNewTokens', req.maxNewTokens ?? m.generation.max_new_tokens, 1, m.architecture.n_positions);
    const progress = opts.onProgress ?? (() => undefined);

    const tStart = performance.now();
    const promptIds = this.encodeQuestion(req.question);
    const tokenizeMs = performance.now() - tStart;
    this.checkPlan(promptIds.length, k, maxNewTokens);
    const interventions = resolveInterventions(req.interventions, { k, D, tokenizer: tok, probe: this.model.probe });
    const graph = req.graph === undefined ? undefined : validateGraph(req.graph);
    const plan = graph ? planNodeValues(graph, tok, m.node_values) : undefined;
    const watch = watchList(req.watch).map((word) => ({ word, ids: tok.wordIds(word) }));
    progress({ stage: 'prefill', done: 0, total: 1, promptTokens: promptIds.length });

    let decodeMs = 0;
    const thoughts: ThoughtTrace[] = [];
    const tokens: AnswerToken[] = [];
    const nodeValues: ThoughtNodeValues[] = [];
    let applied: Applied | undefined;
    const loop = await runCoconut(this.decoder, m, promptIds, k, maxNewTokens, {
      signal,
      // Without interventions the thoughts may run in one call (runCoconut).
      feed:
        interventions.size > 0
          ? (index, out) => {
              const iv = interventions.get(index);
              applied = iv ? applyIntervention(iv, out, this.model.probe, D) : undefined;
              return applied ? applied.fed : out.lastHidden;
            }
          : undefined,
      atDepth: plan?.source === 'cue' ? async (t, dec) => void nodeValues.push(await nodeValuesAt(dec, plan, t, m.special_tokens.eot.id, signal)) : undefined,
      onThought: (index, out, fed) => {
        const t0 = performance.now();
        // An intervened thought is decoded as the vector fed back; the lens keeps the layers that produced the original.
        const logits = applied ? applied.logits : out.logits;
        const trace = decodeThought(
          { index, h: fed, logits, hiddenStates: out.hiddenStates },
          this.model.probe,
          D,
          eps,
          { topK, lensTopK, lens: req.lens !== false },
          tok,
        );
        if (watch.length > 0) {
          const probs = softmax(logits).probs;
          trace.watched = watch.map(({ word, ids }) => ({ word, id: ids?.[0] ?? null, tokens: ids?.length ?? 0, p: ids ? probs[ids[0]] : null }));
        }
        const iv = interventions.get(index);
        if (iv) trace.intervened = interventionRecord(iv, topTokens(softmax(out.logits), topK, tok), l2norm(out.lastHidden));
        if (plan?.source === 'thought') nodeValues.push(nodeValuesFromThought(plan, index, logits));
        capture?.thoughtLogits.push(logits);
        thoughts.push(trace);
        decodeMs += performance.now() - t0;
        progress({ stage: 'thoughts', done: index, total: k, thought: trace });
      },
      onAnswerToken: (n, id, out) => {
        if (id === m.special_tokens.eos.id) {
          progress({ stage: 'answer', done: n, total: maxNewTokens });
          return;
        }
        const t0 = performance.now();
        const dist = softmax(out.logits);
        const token: AnswerToken = { token: tok.tokenOf(id), id, p: dist.probs[id], topk: topTokens(dist, topK, tok) };
        tokens.push(token);
        decodeMs += performance.now() - t0;
        progress({ stage: 'answer', done: n, total: maxNewTokens, token });
      },
    });

    const text = tok.decode(loop.answerIds);
    const result: InspectResult = {
      model: m.name,
      modelDir: this.model.dir,
      provider: this.info.provider,
      question: req.question,
      promptTokens: promptIds.map((id) => ({ token: tok.tokenOf(id), id })),
      thoughtsRequested: k,
      thoughts,
      answer: { text, extracted: extractAnswer(text, m.prompt.answer_marker), tokens, stoppedBy: loop.stoppedBy },
      timings: {
        tokenizeMs,
        prefillMs: loop.prefillMs,
        thoughtsMs: loop.thoughtsMs,
        answerMs: loop.answerMs,
        decodeMs,
        totalMs: performance.now() - tStart,
      },
    };
    if (interventions.size) result.interventions = plainInterventions(req.interventions!, interventions);
    if (plan) result.nodeValues = nodeValues;
    if (typeof req.expected === 'string') result.answer.correct = this.scoreAnswer(text, req.expected);
    return result;
  }
}

export { answersMatch, extractAnswer, scoreText } from './answer';
