// Types of the analyses built on the Coconut loop (issue 3): interventions, k sweep, attribution,
// latent-search node values, dataset evaluation with ProsQA path categories. Shared by the engine,
// the worker protocol, the CLI and the webview protocol. No runtime code here.
import type { InspectResult, TokenProb } from './types';

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

export type PathCategory =
  | 'correct_path'
  | 'longer_path'
  | 'hallucination'
  | 'wrong_target'
  | 'correct_label'
  | 'incorrect_label';

export interface DatasetRecordResult {
  index: number;
  k: number;
  predicted: string;
  answer: string;
  correct: boolean;
  category?: PathCategory; // ProsQA records only
  error?: string;
  text?: string; // the whole generated text (category is judged on it)
  errorCode?: string; // the LensError code when error is set
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
