// Divergence between two decoded thoughts when only their top-k lists are known (two runs, maybe of
// two models): tokens are matched by text, and the mass outside each top-k is pooled into one
// "other" bucket. Exact divergences need the full distributions; the engine reports those for
// interventions, where both runs share a model.
import type { TokenProb } from '../src/shared/types';

export interface TopkDivergence {
  /** Jensen-Shannon divergence in nats (0 … ln 2). */
  js: number;
  /** Tokens the two top-k lists share. */
  shared: number;
}

export function topkDivergence(a: TokenProb[], b: TokenProb[]): TopkDivergence {
  const pa = new Map<string, number>();
  const pb = new Map<string, number>();
  for (const x of a) pa.set(x.token, (pa.get(x.token) ?? 0) + x.p);
  for (const x of b) pb.set(x.token, (pb.get(x.token) ?? 0) + x.p);
  const keys = new Set([...pa.keys(), ...pb.keys()]);
  const P: number[] = [];
  const Q: number[] = [];
  for (const k of keys) {
    P.push(pa.get(k) ?? 0);
    Q.push(pb.get(k) ?? 0);
  }
  const rest = (v: number[]) => Math.max(0, 1 - v.reduce((s, x) => s + x, 0));
  P.push(rest(P));
  Q.push(rest(Q));
  let js = 0;
  for (let i = 0; i < P.length; i++) {
    const m = (P[i]! + Q[i]!) / 2;
    if (P[i]! > 0) js += 0.5 * P[i]! * Math.log(P[i]! / m);
    if (Q[i]! > 0) js += 0.5 * Q[i]! * Math.log(Q[i]! / m);
  }
  let shared = 0;
  for (const k of pa.keys()) if (pb.has(k)) shared++;
  return { js: Math.max(0, js), shared };
}
