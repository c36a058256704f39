// Turning vectors into tokens: softmax/top-k of logits, nearest input embeddings by cosine, norms,
// entropy and the per-layer logit lens. Accumulation is float64 and the softmax subtracts the max,
// so results match PyTorch's float32 reference to well below the parity tolerance.
import type { Probe } from './model-dir';
import type { LensCell, ThoughtTrace, TokenCosine, TokenProb } from '../shared/types';

export interface Distribution {
  /** Probabilities, float64, summing to 1. */
  probs: Float64Array;
  /** Shannon entropy in nats. */
  entropy: number;
}

export function softmax(logits: ArrayLike<number>): Distribution {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  const probs = new Float64Array(n);
  let z = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(logits[i] - max);
    probs[i] = e;
    z += e;
  }
  // H = log Z - Σ p (l - max), with Z the sum of the shifted exponentials: no log(0) for tiny p.
  let weighted = 0;
  for (let i = 0; i < n; i++) {
    probs[i] /= z;
    weighted += probs[i] * (logits[i] - max);
  }
  return { probs, entropy: Math.log(z) - weighted };
}

/**
 * Indices of the k largest values, largest first; ties go to the lower index (as torch.topk and
 * argmax do on CPU in practice). One pass with a small sorted buffer: O(V) plus rare insertions.
 */
export function topKIndices(values: ArrayLike<number>, k: number): number[] {
  const n = values.length;
  k = Math.min(k, n);
  if (k <= 0) return [];
  const idx: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (idx.length === k && !(v > values[idx[k - 1]])) continue;
    // Insert after every element >= v, so equal values keep index order.
    let lo = 0;
    let hi = idx.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (values[idx[mid]] >= v) lo = mid + 1;
      else hi = mid;
    }
    idx.splice(lo, 0, i);
    if (idx.length > k) idx.pop();
  }
  return idx;
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

export function l2norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** Cosine similarity of h to every wte row; rows or h with zero norm give 0. */
export function cosines(h: ArrayLike<number>, probe: Probe, D: number): Float64Array {
  const V = probe.wteNorms.length;
  const out = new Float64Array(V);
  const hn = l2norm(h);
  if (hn === 0) return out;
  const w = probe.wte;
  for (let v = 0; v < V; v++) {
    const rn = probe.wteNorms[v];
    if (rn === 0) continue;
    let dot = 0;
    const row = v * D;
    for (let d = 0; d < D; d++) dot += h[d] * w[row + d];
    out[v] = dot / (hn * rn);
  }
  return out;
}

/** LayerNorm with the probe's ln_f (biased variance, eps inside the square root, as torch). */
export function layerNorm(x: ArrayLike<number>, probe: Probe, eps: number): Float64Array {
  const D = x.length;
  let mean = 0;
  for (let i = 0; i < D; i++) mean += x[i];
  mean /= D;
  let variance = 0;
  for (let i = 0; i < D; i++) variance += (x[i] - mean) * (x[i] - mean);
  variance /= D;
  const inv = 1 / Math.sqrt(variance + eps);
  const out = new Float64Array(D);
  for (let i = 0; i < D; i++) out[i] = (x[i] - mean) * inv * probe.lnWeight[i] + probe.lnBias[i];
  return out;
}

/** wte · x: the tied LM head. */
export function project(x: ArrayLike<number>, probe: Probe, D: number): Float64Array {
  const V = probe.wteNorms.length;
  const out = new Float64Array(V);
  const w = probe.wte;
  for (let v = 0; v < V; v++) {
    let dot = 0;
    const row = v * D;
    for (let d = 0; d < D; d++) dot += x[d] * w[row + d];
    out[v] = dot;
  }
  return out;
}

export interface Vocab {
  tokenOf(id: number): string;
}

export function topTokens(dist: Distribution, k: number, vocab: Vocab): TokenProb[] {
  return topKIndices(dist.probs, k).map((id) => ({ token: vocab.tokenOf(id), id, p: dist.probs[id] }));
}

export function nearestTokens(h: ArrayLike<number>, probe: Probe, D: number, k: number, vocab: Vocab): TokenCosine[] {
  const cos = cosines(h, probe, D);
  return topKIndices(cos, k).map((id) => ({ token: vocab.tokenOf(id), id, cosine: cos[id] }));
}

/** hiddenStates[l] for l = 0..L at one position; layer 0 (the embeddings) is left out. */
export function logitLens(hiddenStates: ArrayLike<number>[], probe: Probe, D: number, eps: number, k: number, vocab: Vocab): LensCell[] {
  const cells: LensCell[] = [];
  for (let l = 1; l < hiddenStates.length; l++) {
    const dist = softmax(project(layerNorm(hiddenStates[l], probe, eps), probe, D));
    cells.push({ layer: l, top: topTokens(dist, k, vocab) });
  }
  return cells;
}

export interface ThoughtInputs {
  index: number;
  /** The continuous thought: last_hidden_state at the producing position. */
  h: Float32Array;
  /** Logits at the producing position. */
  logits: Float32Array;
  /** hidden_states[0..L] at the producing position. */
  hiddenStates: Float32Array[];
}

export function decodeThought(
  t: ThoughtInputs,
  probe: Probe,
  D: number,
  eps: number,
  opts: { topK: number; lensTopK: number; lens?: boolean },
  vocab: Vocab,
): ThoughtTrace {
  const dist = softmax(t.logits);
  return {
    index: t.index,
    topk: topTokens(dist, opts.topK, vocab),
    nearest: nearestTokens(t.h, probe, D, opts.topK, vocab),
    norm: l2norm(t.h),
    entropy: dist.entropy,
    lens: opts.lens === false ? [] : logitLens(t.hiddenStates, probe, D, eps, opts.lensTopK, vocab),
    vector: Array.from(t.h),
  };
}
