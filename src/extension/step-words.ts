// The words of a reasoning step and the probability a thought puts on them: what the hover shows,
// and which words the runner asks the engine to watch. No vscode here, so it stays testable.
import type { ThoughtTrace } from '../shared/types';

export interface WordMass {
  /** Step words with the probability the thought gives each. */
  found: { word: string; p: number }[];
  /** Exact: words not in the vocabulary. Top-k fallback: words outside the top-k (each < floor). */
  missing: string[];
  /** Sum of `found`: exact when the run watched the step's words, else a lower bound. */
  total: number;
  /** True when the engine reported each word's probability (InspectRequest.watch). */
  exact: boolean;
  /** The smallest probability in the top-k (the bound for the missing words of the fallback). */
  floor: number;
}

/** The distinct words of a reasoning step, as the hover scores them and the runner asks the engine to watch. */
export function stepWords(step: string): string[] {
  return [...new Set(step.split(/[^\p{L}\p{N}_'-]+/u).filter(Boolean))];
}

/** The probability a thought puts on the words of `step` (whole words). */
export function stepWordMass(t: ThoughtTrace, step: string): WordMass {
  const words = stepWords(step);
  const floor = t.topk[t.topk.length - 1]?.p ?? 0;
  const watched = new Map((t.watched ?? []).map((w) => [w.word, w]));
  if (words.length > 0 && words.every((w) => watched.has(w))) {
    const found = words.flatMap((word) => {
      const p = watched.get(word)!.p;
      return p === null ? [] : [{ word, p }];
    });
    const missing = words.filter((w) => watched.get(w)!.p === null);
    found.sort((a, b) => b.p - a.p);
    return { found, missing, total: found.reduce((s, f) => s + f.p, 0), exact: true, floor };
  }
  // A run from before the engine watched step words: only the top-k is known.
  const found: { word: string; p: number }[] = [];
  const missing: string[] = [];
  for (const w of words) {
    const lw = w.toLowerCase();
    const p = t.topk.filter((x) => x.token.trim().toLowerCase() === lw).reduce((s, x) => s + x.p, 0);
    if (p > 0) found.push({ word: w, p });
    else missing.push(w);
  }
  found.sort((a, b) => b.p - a.p);
  return { found, missing, total: found.reduce((s, f) => s + f.p, 0), exact: false, floor };
}
