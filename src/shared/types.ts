// Public types of the inference engine. The engine never imports `vscode`: the same code runs in
// tests, in the CLI and in a worker thread behind the extension host.
import type { AppliedIntervention, Intervention, ProsQAGraph, ThoughtNodeValues } from './analysis-types';

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
}

/** Every error the engine raises for bad input is a LensError with a stable code and a fix. */
export type LensErrorCode =
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
