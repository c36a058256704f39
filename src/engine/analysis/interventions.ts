// Interventions on continuous thoughts: checking a request's list against the run, and replacing a
// thought before it is fed back. Also the divergence between two runs' thought distributions.
import { EngineError } from '../errors';
import type { AppliedIntervention, Intervention } from '../../shared/types';
import { findInterventionProblem, INTERVENTION_KINDS, type InterventionProblem } from '../../shared/interventions';
import type { PassOutput } from '../decoder';
import { project } from '../decode';
import type { Probe } from '../model-dir';
import type { ModelTokenizer } from '../tokenizer';

/** An intervention checked against the model and the run, ready to apply. */
export interface ResolvedIntervention {
  thought: number;
  kind: Intervention['kind'];
  factor?: number;
  token?: string;
  tokenId?: number;
  label?: string;
  /** kind 'token' and 'vector': the replacement. */
  vector?: Float32Array;
}

export interface InterventionContext {
  k: number; // thoughts in this run
  D: number; // n_embd
  tokenizer: ModelTokenizer;
  probe: Probe;
}

function badOption(message: string, fix: string): EngineError {
  return new EngineError('BAD_OPTION', message, fix);
}

/** The engine's wording of a problem found by findInterventionProblem: what is wrong and the fix. */
function interventionError(p: InterventionProblem, k: number, D: number): EngineError {
  const where = `intervention on thought ${JSON.stringify('thought' in p ? p.thought : undefined)}`;
  switch (p.problem) {
    case 'not-a-list':
      return badOption('interventions must be a list', 'pass interventions as [{ thought, kind, ... }, ...]');
    case 'not-an-object':
      return badOption(`an intervention must be an object, got ${JSON.stringify(p.value)}`, 'pass { thought, kind, ... }');
    case 'unknown-kind':
      return badOption(`${where}: unknown kind ${JSON.stringify(p.kind)}`, `use one of ${INTERVENTION_KINDS.join(', ')}`);
    case 'no-such-thought': {
      const has = k === 0 ? 'this run has no thoughts' : `this run has ${k} thought${k === 1 ? '' : 's'}`;
      return new EngineError(
        'THOUGHTS_RANGE',
        `thought ${JSON.stringify(p.thought)} does not exist: ${has}`,
        k === 0
          ? 'run with at least one thought before intervening on one'
          : `intervene on a thought from 1 to ${k} (thoughts are counted from 1), or run with more thoughts`,
        { details: { thought: p.thought, thoughts: k } },
      );
    }
    case 'duplicate':
      return badOption(`thought ${p.thought} has more than one intervention`, 'give at most one intervention per thought');
    case 'bad-factor':
      return badOption(`${where}: the scale factor must be a finite number, got ${JSON.stringify(p.factor)}`, 'pass factor, e.g. 0.5 or 2');
    case 'no-token':
      return badOption(`${where}: "token" must be the text of a vocabulary token`, 'pass token, e.g. "lempus"');
    case 'vector-length':
      return badOption(
        `${where}: the vector has ${p.length ?? 'no'} entries, but the model's thoughts have n_embd = ${D}`,
        `pass a list of ${D} numbers (e.g. the "vector" of a thought from a run of the same model)`,
      );
    case 'vector-entry':
      return badOption(`${where}: entry ${p.entry} of the vector is not a finite number`, 'pass finite numbers only');
    case 'bad-label':
      return badOption(`${where}: the label must be text`, 'pass label as a string, or leave it out');
  }
}

/**
 * Checks every intervention (src/shared/interventions.ts) and returns them by thought index, token
 * replacements resolved against the vocabulary. Errors name the intervention and say what to change.
 */
export function resolveInterventions(list: unknown, ctx: InterventionContext): Map<number, ResolvedIntervention> {
  const out = new Map<number, ResolvedIntervention>();
  if (list === undefined) return out;
  const problem = findInterventionProblem(list, { k: ctx.k, nEmbd: ctx.D });
  if (problem) throw interventionError(problem, ctx.k, ctx.D);
  for (const iv of list as Intervention[]) {
    const r: ResolvedIntervention = { thought: iv.thought, kind: iv.kind };
    switch (iv.kind) {
      case 'zero':
        break;
      case 'scale':
        r.factor = iv.factor;
        break;
      case 'token': {
        const id = ctx.tokenizer.idOf(iv.token);
        if (id === undefined || id >= ctx.probe.wteNorms.length) {
          const hint = ctx.tokenizer.unknownWords(iv.token)[0]?.suggestion;
          throw new EngineError(
            'PROMPT_OOV',
            `intervention on thought ${iv.thought}: ${JSON.stringify(iv.token)} is not a token of the model's vocabulary${hint ? ` (did you mean "${hint}"?)` : ''}`,
            `replace the thought with a single token the model knows (it has ${ctx.tokenizer.vocabSize}); tokens are case-sensitive`,
            { details: { token: iv.token, ...(hint ? { suggestion: hint } : {}) } },
          );
        }
        r.token = iv.token;
        r.tokenId = id;
        r.vector = ctx.probe.wte.slice(id * ctx.D, (id + 1) * ctx.D);
        break;
      }
      case 'vector':
        r.vector = Float32Array.from(iv.vector);
        if (typeof iv.label === 'string') r.label = iv.label;
        break;
    }
    out.set(iv.thought, r);
  }
  return out;
}

/**
 * The request's interventions as plain data (vectors as number arrays, in the order given), for
 * results and exports: a typed array from a caller would not survive JSON.
 */
export function plainInterventions(list: Intervention[], resolved: Map<number, ResolvedIntervention>): Intervention[] {
  return list.map((iv) => {
    const r = resolved.get(iv.thought)!;
    switch (r.kind) {
      case 'zero':
        return { thought: r.thought, kind: 'zero' };
      case 'scale':
        return { thought: r.thought, kind: 'scale', factor: r.factor! };
      case 'token':
        return { thought: r.thought, kind: 'token', token: r.token! };
      case 'vector':
        return { thought: r.thought, kind: 'vector', vector: Array.from(r.vector!), ...(r.label !== undefined ? { label: r.label } : {}) };
    }
  });
}

/** What an intervention feeds back, and the LM-head logits of that vector (for its decode). */
export interface Applied {
  fed: Float32Array;
  logits: Float32Array;
}

/**
 * Replaces the thought in `out`. The tied LM head is linear in the vector, so a scaled thought's
 * logits are the scaled logits (exact for a factor of 1); replacements are projected afresh.
 */
export function applyIntervention(iv: ResolvedIntervention, out: PassOutput, probe: Probe, D: number): Applied {
  let fed: Float32Array;
  let logits: Float32Array;
  switch (iv.kind) {
    case 'zero':
      fed = new Float32Array(D);
      logits = new Float32Array(out.logits.length);
      break;
    case 'scale':
      fed = out.lastHidden.map((x) => x * iv.factor!);
      logits = out.logits.map((x) => x * iv.factor!);
      break;
    case 'token':
    case 'vector':
      fed = Float32Array.from(iv.vector!);
      logits = Float32Array.from(project(fed, probe, D));
      break;
  }
  return { fed, logits };
}

/** The record a ThoughtTrace carries of what was done to it. */
export function interventionRecord(iv: ResolvedIntervention, originalTopk: AppliedIntervention['originalTopk'], originalNorm: number): AppliedIntervention {
  const record: AppliedIntervention = { kind: iv.kind, originalNorm, originalTopk };
  if (iv.factor !== undefined) record.factor = iv.factor;
  if (iv.token !== undefined) record.token = iv.token;
  if (iv.tokenId !== undefined) record.tokenId = iv.tokenId;
  if (iv.label !== undefined) record.label = iv.label;
  return record;
}

/** log softmax of logits, float64. */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += Math.exp(logits[i] - max);
  const lz = max + Math.log(z);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - lz;
  return out;
}

/** log p(id) under softmax(logits). */
export function logProbAt(logits: ArrayLike<number>, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += Math.exp(logits[i] - max);
  return logits[id] - max - Math.log(z);
}

/** KL(P || Q) and the Jensen-Shannon divergence, in nats, of softmax(p) and softmax(q). */
export function divergence(pLogits: ArrayLike<number>, qLogits: ArrayLike<number>): { kl: number; js: number } {
  const lp = logSoftmax(pLogits);
  const lq = logSoftmax(qLogits);
  let kl = 0;
  let js = 0;
  for (let i = 0; i < lp.length; i++) {
    const p = Math.exp(lp[i]);
    const q = Math.exp(lq[i]);
    if (p > 0) kl += p * (lp[i] - lq[i]);
    const mix = 0.5 * (p + q);
    if (mix > 0) {
      const lm = Math.log(mix);
      if (p > 0) js += 0.5 * p * (lp[i] - lm);
      if (q > 0) js += 0.5 * q * (lq[i] - lm);
    }
  }
  // Rounding can leave tiny negatives for identical distributions.
  return { kl: Math.max(0, kl), js: Math.max(0, js) };
}
