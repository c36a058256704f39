// What makes an intervention list unusable, found in one place. The protocol guard asks only whether
// a message is well formed (no run to check against); the extension host and the engine also check
// it against the run (thought range, duplicates, finite numbers, vector length). Each caller words
// the problem for its own audience: a panel notice, a EngineError with a fix.
import type { Intervention } from './types';

/** What an intervention does to its thought, e.g. "scaled by 0.5": the one wording of the CLI, the log and the panel. */
export function describeEdit(iv: Pick<Intervention, 'kind'> & { factor?: number; token?: string; label?: string }): string {
  switch (iv.kind) {
    case 'zero':
      return 'zeroed';
    case 'scale':
      return `scaled by ${iv.factor}`;
    case 'token':
      return `replaced by the embedding of "${iv.token}"`;
    case 'vector':
      return `replaced by ${iv.label ? iv.label : 'a given vector'}`;
  }
}

/** "thought 2 scaled by 0.5". */
export function describeIntervention(iv: Intervention): string {
  return `thought ${iv.thought} ${describeEdit(iv)}`;
}

export const INTERVENTION_KINDS: readonly Intervention['kind'][] = ['zero', 'scale', 'token', 'vector'];

/** The first thing wrong with an intervention list; `thought` is the offending item's field as given. */
export type InterventionProblem =
  | { problem: 'not-a-list' }
  | { problem: 'not-an-object'; value: unknown }
  | { problem: 'unknown-kind'; thought: unknown; kind: unknown }
  | { problem: 'no-such-thought'; thought: unknown }
  | { problem: 'duplicate'; thought: number }
  | { problem: 'bad-factor'; thought: number; factor: unknown }
  | { problem: 'no-token'; thought: number }
  | { problem: 'vector-length'; thought: number; length: number | undefined }
  | { problem: 'vector-entry'; thought: number; entry: number }
  | { problem: 'bad-label'; thought: number };

/** The run an intervention list must fit: its number of thoughts and, when known, n_embd. */
export interface InterventionRun {
  k: number;
  nEmbd?: number;
}

/**
 * The first problem of `list`, in the order the checks are listed in InterventionProblem, or
 * undefined. Without `run`, only the form is checked (kinds, integer thoughts, field types), which
 * is what a message from the webview must have before the host acts on it.
 */
export function findInterventionProblem(list: unknown, run?: InterventionRun): InterventionProblem | undefined {
  if (!Array.isArray(list)) return { problem: 'not-a-list' };
  const seen = new Set<number>();
  for (const raw of list as unknown[]) {
    if (typeof raw !== 'object' || raw === null) return { problem: 'not-an-object', value: raw };
    const iv = raw as Record<string, unknown>;
    if (typeof iv.kind !== 'string' || !(INTERVENTION_KINDS as readonly string[]).includes(iv.kind)) {
      return { problem: 'unknown-kind', thought: iv.thought, kind: iv.kind };
    }
    const t = iv.thought;
    if (typeof t !== 'number' || !Number.isInteger(t)) return { problem: 'no-such-thought', thought: t };
    if (run) {
      if (t < 1 || t > run.k) return { problem: 'no-such-thought', thought: t };
      if (seen.has(t)) return { problem: 'duplicate', thought: t };
      seen.add(t);
    }
    const problem = kindProblem(iv, t, run);
    if (problem) return problem;
  }
  return undefined;
}

function kindProblem(iv: Record<string, unknown>, thought: number, run: InterventionRun | undefined): InterventionProblem | undefined {
  switch (iv.kind) {
    case 'scale':
      if (typeof iv.factor !== 'number' || (run && !Number.isFinite(iv.factor))) return { problem: 'bad-factor', thought, factor: iv.factor };
      return undefined;
    case 'token':
      if (typeof iv.token !== 'string' || (run && iv.token.trim() === '')) return { problem: 'no-token', thought };
      return undefined;
    case 'vector': {
      const v = iv.vector;
      // Typed arrays arrive from the engine's own callers; the webview sends plain lists.
      if (!Array.isArray(v) && !ArrayBuffer.isView(v)) return { problem: 'vector-length', thought, length: undefined };
      const arr = v as ArrayLike<unknown>;
      if (run?.nEmbd !== undefined && arr.length !== run.nEmbd) return { problem: 'vector-length', thought, length: arr.length };
      for (let i = 0; i < arr.length; i++) {
        const x = arr[i];
        if (typeof x !== 'number' || (run && !Number.isFinite(x))) return { problem: 'vector-entry', thought, entry: i };
      }
      if (iv.label !== undefined && typeof iv.label !== 'string') return { problem: 'bad-label', thought };
      return undefined;
    }
    default:
      return undefined;
  }
}
