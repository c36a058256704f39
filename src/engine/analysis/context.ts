// What the analyses need from a loaded engine: its decoder (one KV cache, used by one run at a
// time), the model folder, and the engine's own prompt checks so errors read the same everywhere.
import type { AnalysisProgress } from '../../shared/types';
import type { BatchRunner } from './batch-runner';
import type { Decoder, PassOutput } from '../decoder';
import type { ModelDir } from '../model-dir';
import type { ResolvedIntervention } from './interventions';
import { applyIntervention } from './interventions';

export interface RunContext {
  dec: Decoder;
  /** What runs a dataset's batches: a decoder on the engine's session, or lanes of their own (batch-lanes.ts). */
  batches(): Promise<BatchRunner>;
  model: ModelDir;
  /** question + suffix → ids; PROMPT_EMPTY / PROMPT_OOV. */
  encode(question: string): number[];
  /** THOUGHTS_RANGE / PROMPT_TOO_LONG for a plan of k thoughts. */
  checkPlan(promptTokens: number, k: number, maxNewTokens: number): void;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (p: AnalysisProgress) => void;
}

/** The vector fed back as thought j: the model's own, or what an intervention puts there. */
export function feedWith(ctx: RunContext, interventions: Map<number, ResolvedIntervention>) {
  const D = ctx.model.manifest.architecture.n_embd;
  return (j: number, out: PassOutput): Float32Array => {
    const iv = interventions.get(j);
    return iv ? applyIntervention(iv, out, ctx.model.probe, D).fed : out.lastHidden;
  };
}
