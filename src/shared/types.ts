// The types every layer shares: what the engine is asked and answers, and the results of the
// analyses built on the Coconut loop (interventions, k sweep, attribution, latent-search node
// values, dataset evaluation). The engine, the CLI, the extension host, the protocol and the webview
// all read them from here, so this file holds no runtime code and imports nothing.

export type ProviderName = 'cpu' | 'webgpu' | 'cuda';
export type ProviderSetting = 'auto' | ProviderName;

/** One entry of a top-k list from the LM-head probe or the logit lens. */
export interface TokenProb {
  token: string;
  id: number;
  p: number;
}

/** One entry of the nearest-input-embedding list (cosine similarity to a row of wte). */
export interface TokenCosine {
  token: string;
  id: number;
  cosine: number;
}

/** The logit lens at one layer: ln_f(hidden_states[layer]) · wteᵀ, softmaxed. */
export interface LensCell {
  layer: number; // 1..n_layer (0, the embeddings, is left out)
  top: TokenProb[]; // top few tokens at that layer
}

export interface ThoughtTrace {
  index: number; // 1-based, as in the paper
  topk: TokenProb[]; // softmax(wte · h)
  nearest: TokenCosine[]; // cosine(h, wte rows)
  norm: number; // L2 norm of h
  entropy: number; // of the full softmax distribution, in nats
  lens: LensCell[];
  /** The continuous thought itself (n_embd floats), for interventions and export. */
  vector: number[];
  /**
   * Set when an intervention replaced this thought: topk, nearest, norm, entropy and vector then
   * describe the vector actually fed back; lens stays that of the pass that produced the original.
   */
  intervened?: AppliedIntervention;
  /** The exact probability of each word of InspectRequest.watch under this thought's distribution. */
  watched?: WatchedWord[];
}

export interface WatchedWord {
  word: string;
  id: number | null; // the (first) token id, null when the word is not in the vocabulary
  tokens: number; // how many tokens the word has (p is of the first one)
  p: number | null;
}

export interface AnswerToken extends TokenProb {
  topk: TokenProb[]; // the alternatives at this position
}

export interface InspectRequest {
  question: string;
  thoughts?: number; // k; defaults to the manifest's thoughts.default
  topK?: number; // default 10
  maxNewTokens?: number; // default manifest generation.max_new_tokens
  lensTopK?: number; // tokens per logit-lens cell, default 5
  /** Compute the per-layer logit lens (default true). It costs n_layer × V × D per thought. */
  lens?: boolean;
  /** Applied to the thoughts before they are fed back; at most one per thought, each in 1..k. */
  interventions?: Intervention[];
  /** A ProsQA graph: the result then carries the frontier values of its concept nodes (nodeValues). */
  graph?: ProsQAGraph;
  /**
   * Words whose exact probability each thought's LM-head distribution should report (`watched`),
   * e.g. the words of the reasoning step a thought stands for. A word of several tokens is scored
   * by its first token; an unknown word gets p = null.
   */
  watch?: string[];
  /** The record's answer: the result then says whether the run matches it (answer.correct), scored by the engine in the model's text form. */
  expected?: string;
}

/**
 * Streamed while a run goes on, so a panel can show progress and fill in thoughts as they are
 * computed. `done`/`total` count passes within the stage: prefill 0/1 (sent before the pass),
 * thoughts j/k (after thought j is decoded), answer n/max (after answer token n).
 */
export interface InspectProgress {
  stage: 'prefill' | 'thoughts' | 'answer';
  done: number;
  total: number;
  /** stage 'prefill': number of prompt tokens (question + suffix, without bot). */
  promptTokens?: number;
  /** stage 'thoughts': the thought just decoded. */
  thought?: ThoughtTrace;
  /** stage 'answer': the answer token just chosen (absent for the final eos). */
  token?: AnswerToken;
}

export interface InspectTimings {
  tokenizeMs: number;
  prefillMs: number;
  thoughtsMs: number;
  answerMs: number;
  /** Decoding in JS (softmax, top-k, nearest, lens); the pass timings above exclude it. */
  decodeMs: number;
  totalMs: number;
}

export interface InspectResult {
  model: string; // manifest name
  modelDir: string;
  provider: ProviderName; // the provider that actually ran
  question: string;
  promptTokens: { token: string; id: number }[];
  thoughtsRequested: number;
  thoughts: ThoughtTrace[];
  answer: {
    text: string; // the whole generated text (decoded)
    extracted: string; // text after the last answer marker, stripped (reference scoring)
    tokens: AnswerToken[];
    stoppedBy: 'eos' | 'max_new_tokens';
    /** Only when the request gave `expected`: the reference scoring after the tokenizer's normalizer. */
    correct?: boolean;
  };
  timings: InspectTimings;
  /** The interventions of the request, when it had any. */
  interventions?: Intervention[];
  /** With request.graph: for t = 0..k thoughts, the value of each concept node. */
  nodeValues?: ThoughtNodeValues[];
}

export interface ModelInfo {
  name: string;
  dir: string;
  architecture: {
    family: string;
    n_layer: number;
    n_head: number;
    n_embd: number;
    vocab_size: number;
    n_positions: number;
  };
  thoughts: { default: number; max: number; per_step: number };
  maxNewTokens: number; // generation.max_new_tokens
  answerMarker: string; // prompt.answer_marker
  provider: ProviderName;
  providerNotice?: string; // e.g. why a requested provider fell back to CPU
  threads: number; // onnxruntime intra-op threads
  /** With provider setting 'auto': how the provider was chosen (measured now or remembered). */
  providerChoice?: {
    source: 'measured' | 'cache';
    measuredMs: Partial<Record<ProviderName, number>>; // median thought step of each provider that ran
    failed: Partial<Record<ProviderName, string>>; // why the others could not start
  };
  /** With threads unset and more than one core to spare: how the count was chosen (a short inspect's ms per count tried). */
  threadChoice?: { source: 'measured' | 'cache'; measuredMs: Record<string, number> };
  /** Lanes a dataset's batches run in at once, a thread and a one-thread session each (batch-lanes.ts); unset: on the engine's session. */
  batchLanes?: number;
  /**
   * Plain passes run the decoder without its thought loop, and thoughts in one call a second
   * session made at the engine's second run (loop-free-graph.ts, loop-session.ts).
   */
  thoughtLoopSession?: boolean;
}

/** Every error the engine raises for bad input is a EngineError with a stable code and a fix. */
export type EngineErrorCode =
  | 'MODEL_NOT_FOUND'
  | 'MODEL_FILE_MISSING'
  | 'MODEL_CHECKSUM'
  | 'MODEL_MANIFEST'
  | 'MODEL_ONNX_IO'
  | 'MODEL_ONNX_INVALID' // decoder.onnx matches its checksum but onnxruntime cannot load it
  | 'MODEL_TOKENIZER'
  | 'MODEL_PROBE'
  | 'PROVIDER_FAILED'
  | 'PROMPT_EMPTY'
  | 'PROMPT_MALFORMED'
  | 'PROMPT_RECORD_RANGE'
  | 'PROMPT_OOV'
  | 'PROMPT_TOO_LONG'
  | 'THOUGHTS_RANGE'
  | 'CANCELLED'
  | 'BUSY'
  | 'BAD_OPTION' // an option outside its range (top-k, max new tokens, threads)
  | 'NOT_LOADED' // a run was asked for before a model was loaded (EngineClient)
  | 'EXPORT_EXISTS' // an export would overwrite an existing file
  | 'EXPORT_FAILED' // an export could not be written (read-only folder, missing folder, …)
  | 'INTERNAL';

// --- Analyses (issue 3) ---

/** A ProsQA graph as the official records carry it. */
export interface ProsQAGraph {
  idx_to_symbol: string[];
  edges: [number, number][];
  root: number;
  target: number;
  neg_target: number;
}

/** Applied to continuous thought `thought` (1-based) before it is fed back as the next input. */
export type Intervention =
  | { thought: number; kind: 'zero' }
  | { thought: number; kind: 'scale'; factor: number }
  | { thought: number; kind: 'token'; token: string } // replace by that token's input embedding
  | { thought: number; kind: 'vector'; vector: number[]; label?: string }; // e.g. a thought of another run

/** What an intervention did to a thought, recorded on its ThoughtTrace (`intervened`). */
export interface AppliedIntervention {
  kind: Intervention['kind'];
  factor?: number; // kind 'scale'
  token?: string; // kind 'token'
  tokenId?: number; // kind 'token'
  label?: string; // kind 'vector'
  /** The thought the model produced, before the intervention. */
  originalNorm: number;
  originalTopk: TokenProb[];
}

/** Frontier value of one graph node after a thought (the paper's latent-search analysis):
 *  the probability of the node's concept name after forcing `eot` then "Every" (product over its tokens). */
export interface NodeValue {
  node: number;
  symbol: string;
  p: number;
  /** BFS distance from the root (edges), null when the root cannot reach the node. */
  depth?: number | null;
  /** depth == the thought index: the node is on the search frontier at that thought. */
  frontier?: boolean;
}

export interface ThoughtNodeValues {
  thought: number; // 1-based; 0 = no thought yet (eot right after bot)
  /** How the values were read: "cue" = eot then the cue word, "thought" = thought t's own decoded distribution. */
  source?: 'cue' | 'thought';
  values: NodeValue[]; // one per concept node of the graph
}

export interface SweepPoint {
  k: number;
  answerText: string;
  extracted: string;
  correct?: boolean; // when the expected answer is known
  answerLogProb: number; // log-probability of the generated answer tokens (sum)
  answerProb: number; // exp of the above
  tokens: TokenProb[];
  stoppedBy?: 'eos' | 'max_new_tokens';
}

export interface SweepOptions {
  from?: number; // default 0
  to?: number; // default the model's thoughts.max
  expected?: string; // the reference answer, to score each k
}

export interface SweepResult {
  question: string;
  points: SweepPoint[]; // k = from..to
  /** Forward passes run, and what k+1 separate runs would have needed (the cache-reuse saving). */
  passes?: number;
  naivePasses?: number;
  totalMs?: number;
}

export interface AttributionEntry {
  thought: number;
  ablated: 'zero';
  baseLogProb: number; // log p(original answer) with no ablation
  ablatedLogProb: number; // log p(original answer tokens, teacher-forced) with this thought zeroed
  delta: number; // ablated - base
  answerChanged: boolean; // greedy answer differs when this thought is zeroed
  ablatedAnswer: string;
  ablatedExtracted?: string; // the ablated answer after the answer marker
}

export type PathCategory = 'correct_path' | 'longer_path' | 'hallucination' | 'wrong_target' | 'correct_label' | 'incorrect_label';

export interface DatasetRecordResult {
  index: number;
  k: number;
  predicted: string;
  answer: string;
  correct: boolean;
  category?: PathCategory; // ProsQA records only
  error?: string;
  text?: string; // the whole generated text (category is judged on it)
  errorCode?: string; // the EngineError code when error is set
}

/** One record to evaluate (PromptRecord of src/prompts fits). */
export interface EvalRecord {
  index?: number; // default: position in the list
  question: string;
  answer: string;
  steps?: string[];
  /** ProsQA graph fields; categories are computed when root and target are present. */
  graph?: { idx_to_symbol: string[]; edges: [number, number][]; root?: number; target?: number; neg_target?: number };
}

export interface EvalOptions {
  thoughts?: number[]; // values of k, default [the model's thoughts.default]
  limit?: number; // the first N records only
  /** Records per decoder call (left-padded); 1 runs record by record. Answers are the same either way. */
  batchSize?: number;
}

export interface DatasetKSummary {
  k: number;
  n: number;
  correct: number;
  accuracy: number;
  categories?: Record<PathCategory, number>;
  failed?: number; // records that could not be run at this k (counted in n, not correct)
}

export interface DatasetResult {
  model: string;
  provider: string;
  perK: DatasetKSummary[];
  records: DatasetRecordResult[];
  seconds: number;
  thoughts?: number[]; // the values of k, ascending
  /** Rows per batch the records ran in: the one given, else chosen by the buffers' size (dataset.ts); 1 = record by record. */
  batchRows?: number;
}

/** Progress of the analyses (sweep, attribution, intervene, eval); done/total count units of `task`. */
export interface AnalysisProgress {
  task: 'sweep' | 'attribution' | 'intervene' | 'eval';
  done: number;
  total: number;
  point?: SweepPoint; // sweep: the point just computed
  entry?: AttributionEntry; // attribution: the entry just computed
  records?: DatasetRecordResult[]; // eval: the results (one per k) of the record just run
}

/** An inspect with optional interventions; `original` is the run without them when interventions were given. */
export interface InterventionResult {
  interventions: Intervention[];
  original: InspectResult;
  intervened: InspectResult;
  /** Per thought: KL(original || intervened) of the LM-head distributions. */
  divergence: { thought: number; kl: number; js: number }[];
}
