// Checks of an inspect request's options that are not the model's business: lists and counts the
// caller chose, each wrong one a BAD_OPTION naming the fix.
import { EngineError } from './errors';

const MAX_WATCH = 256;

/** InspectRequest.watch, checked: at most MAX_WATCH non-empty words of at most 64 characters. */
export function watchList(v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > MAX_WATCH || v.some((w) => typeof w !== 'string' || w.trim() === '' || w.length > 64)) {
    throw new EngineError(
      'BAD_OPTION',
      `watch must be a list of at most ${MAX_WATCH} words (non-empty, at most 64 characters each)`,
      'pass the words whose probability each thought should report',
    );
  }
  return [...new Set(v.map((w: string) => w.trim()))];
}

/** A whole-number request option within [min, max] (BAD_OPTION otherwise). */
export function intOption(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new EngineError('BAD_OPTION', `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`, `pass ${name} between ${min} and ${max}`);
  }
  return v;
}
