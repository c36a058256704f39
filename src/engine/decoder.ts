// One decoder session and its KV cache: passes over new positions, thoughts run inside the graph,
// snapshots to branch from. The cache is the decoder's own present.* outputs, fed back as
// past_key_values.* without copying; with a version 3 decoder the prompt's cache moves to the
// prefix tier (prefix_key_values.*), which no later pass copies.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { EngineError } from './errors';
import { decoderFeatures, decoderShape, pastKey, pastValue, prefixKey, prefixValue, presentKey, presentValue, type DecoderShape } from './decoder-io';
import { fetchesOf, runPass, type Fetches } from './direct-session';
import { maskedPrefixTier, needsMaskedPrefix } from './empty-tensors';
import type { Manifest } from './manifest';
import type { Probe } from './model-dir';
import { ort } from './ort';
/** What one forward pass leaves behind at its last position, copied to plain CPU arrays. */
export interface PassOutput {
  logits: Float32Array; // [V]
  lastHidden: Float32Array; // [D]
  hiddenStates: Float32Array[]; // L+1 × [D]
}

/** An opaque view of the KV cache at one position (see Decoder.snapshot). */
export interface DecoderState {
  readonly past: Readonly<Record<string, Tensor>>;
  readonly prefix: Readonly<Record<string, Tensor>>;
  readonly pastLen: number;
  readonly prefixLen: number;
}

/**
 * Recent positions kept apart from the prefix tier before they join it. Every pass copies the
 * recent tier into its present.*; joining copies the whole cache once. A run's thoughts and short
 * answers stay below this, so they never copy the prompt's cache.
 */
export const RECENT_POSITIONS = 32;

export class Decoder {
  private readonly s: DecoderShape;
  /** The recent tier (past_key_values.*) and the prefix tier (prefix_key_values.*, version 3). */
  private past: Readonly<Record<string, Tensor>> = {};
  private prefix: Readonly<Record<string, Tensor>> = {};
  private pastLen = 0;
  private prefixLen = 0;
  /** The graph reads a prefix cache (format version 3). */
  readonly hasPrefixCache: boolean;
  /**
   * Recent positions kept before they join the prefix tier (RECENT_POSITIONS). Infinity: nothing
   * joins it, not even the prompt, and the prefix stays empty, as in version 2 (tests, the bench).
   */
  recentPositions = RECENT_POSITIONS;
  /** A snapshot may still use the cache: GPU-resident caches are then left to the GC, not disposed. */
  private pinned = false;
  /**
   * The model can run thoughts itself (its graph's `thought_steps` input), in this session or in
   * `loop`'s; exports before December 2026 cannot.
   */
  readonly hasThoughtLoop: boolean;
  /** This session's graph has the loop (otherwise thoughts in one call run on `loop`'s session). */
  private readonly ownLoop: boolean;
  /**
   * Whether runCoconut may run a plain loop's thoughts in one call. Off: every thought is its own
   * pass, as interventions and branches always are (tests compare the two paths).
   */
  thoughtsInOneCall = true;
  private readonly plainFetches: Fetches;
  private readonly plainTakesThoughtSteps: boolean;

  /**
   * `loop`: where `session` runs the graph without its thought loop (loop-free-graph.ts), the
   * session with it, once there is one (loop-session.ts); until then thoughts step one by one.
   */
  constructor(
    private readonly session: InferenceSession,
    manifest: Manifest,
    private readonly probe: Probe,
    private readonly loop?: () => InferenceSession | undefined,
  ) {
    this.s = decoderShape(manifest);
    const features = decoderFeatures(session);
    // Thoughts in one call on the CPU only, for now (empty-tensors.ts); such a graph still takes thought_steps.
    this.ownLoop = features.thoughtLoop && !needsMaskedPrefix(session);
    this.plainTakesThoughtSteps = features.thoughtLoop;
    this.hasThoughtLoop = this.ownLoop || loop !== undefined;
    this.hasPrefixCache = features.prefixCache;
    const plain = ['logits', 'last_hidden_state', 'hidden_states'];
    for (let i = 0; i < this.s.L; i++) plain.push(presentKey(i), presentValue(i));
    this.plainFetches = fetchesOf(plain);
  }

  /**
   * The cache as it stands, to branch from: onnxruntime tensors are immutable, so the present.*
   * tensors of a pass can serve as the past of any number of later branches without copying.
   */
  snapshot(): DecoderState {
    this.pinned = true;
    return { past: this.past, prefix: this.prefix, pastLen: this.pastLen, prefixLen: this.prefixLen };
  }

  /** Returns to a snapshot; the passes run since then are forgotten. */
  restore(state: DecoderState): void {
    this.past = state.past;
    this.prefix = state.prefix;
    this.pastLen = state.pastLen;
    this.prefixLen = state.prefixLen;
  }

  /** Positions in the cache. */
  get length(): number {
    return this.prefixLen + this.pastLen;
  }

  /** Starts a new sequence: an empty cache (P = 0). */
  reset(): void {
    this.release(this.past);
    this.release(this.prefix);
    this.past = this.emptyTier(pastKey, pastValue);
    this.prefix = this.hasPrefixCache ? this.emptyTier(prefixKey, prefixValue) : {};
    this.pastLen = 0;
    this.prefixLen = 0;
    this.pinned = false;
  }

  private emptyTier(key: (i: number) => string, value: (i: number) => string): Record<string, Tensor> {
    const { Tensor } = ort();
    const tier: Record<string, Tensor> = {};
    for (let i = 0; i < this.s.L; i++) {
      tier[key(i)] = new Tensor('float32', new Float32Array(0), [1, this.s.H, 0, this.s.Dh]);
      tier[value(i)] = new Tensor('float32', new Float32Array(0), [1, this.s.H, 0, this.s.Dh]);
    }
    return tier;
  }

  /** GPU buffers (WebGPU with the cache kept on the GPU) are freed at once; CPU tensors by the GC. */
  private release(tier: Readonly<Record<string, Tensor>>): void {
    if (this.pinned) return;
    for (const t of Object.values(tier)) if (t.location === 'gpu-buffer') t.dispose();
  }

  /** Rows of wte for token ids, laid out as [S, D]. */
  embed(ids: number[]): Float32Array {
    return embedIds(this.probe, this.s, ids);
  }

  /**
   * Whether the next thoughts may run in one call: the graph has the loop, it is not switched off,
   * and the cache is in host memory (a cache kept on the GPU, the bench's --kv-on-gpu, cannot be
   * joined with the positions the loop adds without a round trip, so it steps).
   */
  get oneCallReady(): boolean {
    return this.usesOneCall && this.loopSession() !== undefined && Object.values(this.past).every((t) => t.location === 'cpu');
  }

  private loopSession(): InferenceSession | undefined {
    return this.ownLoop ? this.session : this.loop?.();
  }

  /** The loop exists and is not switched off (whatever the cache's location). */
  get usesOneCall(): boolean {
    return this.hasThoughtLoop && this.thoughtsInOneCall;
  }

  /** Runs S new positions ([S, D] embeddings) after the cache; returns the last position's outputs. */
  async step(embeds: Float32Array): Promise<PassOutput> {
    const out = await this.pass(embeds, 0);
    // Outputs are read on the CPU (the session's default output location).
    const at = outputPositions(out.logits);
    return readPass(this.s, cpuData(out.logits), cpuData(out.last_hidden_state), cpuData(out.hidden_states), at, at - 1);
  }

  /**
   * Thoughts 1..k in one call: thought 1 (`first`, [D]) is fed, and the graph feeds each pass's
   * last_hidden_state back k-1 times itself. Returns the outputs of the k passes, the j-th being
   * those of the pass thought j was fed to, exactly as k calls of step() would.
   */
  async thoughts(first: Float32Array, k: number): Promise<PassOutput[]> {
    if (!Number.isInteger(k) || k < 1) throw new EngineError('INTERNAL', `thoughts in one call need k ≥ 1, got ${k}`, 'pass k ≥ 1');
    const loop = k > 1 ? this.loopSession() : this.session;
    if (!loop) throw new EngineError('INTERNAL', 'this decoder has no thought loop (yet)', 'run the thoughts with step(), or check oneCallReady first');
    const out = await this.pass(first, k - 1, loop);
    const { V, D, L } = this.s;
    const outs = [readPass(this.s, cpuData(out.logits), cpuData(out.last_hidden_state), cpuData(out.hidden_states), 1, 0)];
    if (k === 1) return outs; // a plain pass: the thought_* outputs were not fetched
    const logits = cpuData(out.thought_logits);
    const last = cpuData(out.thought_last_hidden_state);
    const hs = cpuData(out.thought_hidden_states);
    for (let j = 0; j < k - 1; j++) {
      outs.push(
        readPass(this.s, logits.subarray(j * V, (j + 1) * V), last.subarray(j * D, (j + 1) * D), hs.subarray(j * (L + 1) * D, (j + 1) * (L + 1) * D), 1, 0),
      );
    }
    return outs;
  }

  /** One call: the fed positions, then `thoughtSteps` thoughts inside the graph; the cache moves on past both. */
  private async pass(embeds: Float32Array, thoughtSteps: number, session = this.session): Promise<InferenceSession.OnnxValueMapType> {
    const { Tensor } = ort();
    const S = embeds.length / this.s.D;
    const P = this.prefixLen + this.pastLen;
    // An empty prefix tier becomes one masked position where the provider cannot take it (empty-tensors.ts).
    const masked = this.hasPrefixCache && this.prefixLen === 0 && needsMaskedPrefix(session) ? 1 : 0;
    const mask = masked ? new BigInt64Array(masked + P + S).fill(1n, masked) : ones(P + S);
    const pos = new BigInt64Array(S);
    for (let s = 0; s < S; s++) pos[s] = BigInt(P + s);
    const feeds: Record<string, Tensor> = {
      inputs_embeds: new Tensor('float32', embeds, [1, S, this.s.D]),
      attention_mask: new Tensor('int64', mask, [1, masked + P + S]),
      position_ids: new Tensor('int64', pos, [1, S]),
    };
    // Plain loops, not spreads: this runs once a thought, and the JS around a step is ~5 % of it.
    for (const name in this.past) feeds[name] = this.past[name];
    const prefix = masked ? maskedPrefixTier(Tensor, this.s, 1) : this.prefix;
    for (const name in prefix) feeds[name] = prefix[name];
    // Whatever runs the loop or not: a graph with the input needs it, even where its loop goes unused.
    if (session !== this.session || this.plainTakesThoughtSteps) feeds.thought_steps = thoughtStepsTensor(thoughtSteps);
    // A plain pass asks only for what it reads: every output fetched is a tensor wrapped for JS.
    const out = thoughtSteps > 0 ? await session.run(feeds) : await runPass(session, feeds, this.plainFetches);
    const next: Record<string, Tensor> = {};
    for (let i = 0; i < this.s.L; i++) {
      // After thoughts in the graph, the cache is present.* followed by the positions they added
      // (kept apart in the graph so that a plain pass never copies its cache).
      next[pastKey(i)] = thoughtSteps > 0 ? appendPositions(out[presentKey(i)], out[`thought_${presentKey(i)}`]) : out[presentKey(i)];
      next[pastValue(i)] = thoughtSteps > 0 ? appendPositions(out[presentValue(i)], out[`thought_${presentValue(i)}`]) : out[presentValue(i)];
    }
    this.release(this.past);
    this.settle(next, this.pastLen + S + thoughtSteps);
    return out;
  }

  /**
   * Keeps `recent` (the cache after the prefix, `n` positions) as the recent tier, or moves it to
   * the prefix tier: at once while the prefix is empty (the prompt's pass: nothing to copy), and
   * once it holds recentPositions (one copy of the cache). A GPU-resident cache never joins a
   * non-empty prefix (that would be a round trip through host memory); it grows as in version 2.
   */
  private settle(recent: Record<string, Tensor>, n: number): void {
    const onCpu = Object.values(recent).every((t) => t.location === 'cpu');
    const stays = this.prefixLen > 0 && (n < this.recentPositions || !onCpu);
    if (!this.hasPrefixCache || this.recentPositions === Infinity || stays) {
      this.past = recent;
      this.pastLen = n;
      return;
    }
    const prefix: Record<string, Tensor> = {};
    for (let i = 0; i < this.s.L; i++) {
      for (const [from, to] of [
        [pastKey(i), prefixKey(i)],
        [pastValue(i), prefixValue(i)],
      ]) {
        prefix[to] = this.prefixLen === 0 ? recent[from] : appendPositions(this.prefix[to], recent[from]);
      }
    }
    this.prefix = prefix;
    this.prefixLen += n;
    this.past = this.emptyTier(pastKey, pastValue);
    this.pastLen = 0;
  }
}

/** [1, H, Ta, Dh] then [1, H, Tb, Dh] along the positions: [1, H, Ta + Tb, Dh], on the CPU. */
function appendPositions(a: Tensor, b: Tensor): Tensor {
  const [, H, Ta, Dh] = a.dims;
  const Tb = b.dims[2];
  const x = cpuData(a);
  const y = cpuData(b);
  const out = new Float32Array(H * (Ta + Tb) * Dh);
  for (let h = 0; h < H; h++) {
    out.set(x.subarray(h * Ta * Dh, (h + 1) * Ta * Dh), h * (Ta + Tb) * Dh);
    out.set(y.subarray(h * Tb * Dh, (h + 1) * Tb * Dh), (h * (Ta + Tb) + Ta) * Dh);
  }
  const { Tensor } = ort();
  return new Tensor('float32', out, [1, H, Ta + Tb, Dh]);
}

let noThoughts: Tensor | undefined;
let allOnes = new BigInt64Array(0);

/**
 * An attention mask of n ones (one sequence, nothing padded): a view of one array that only grows,
 * never written after it is filled. onnxruntime only reads its inputs.
 */
function ones(n: number): BigInt64Array {
  if (allOnes.length < n) allOnes = new BigInt64Array(Math.max(n, 2 * allOnes.length, 1024)).fill(1n);
  return allOnes.subarray(0, n);
}

/** The thought_steps feed; the 0 of every plain pass is made once (tensors are immutable). */
export function thoughtStepsTensor(n: number): Tensor {
  const { Tensor } = ort();
  if (n === 0) return (noThoughts ??= new Tensor('int64', BigInt64Array.of(0n), []));
  return new Tensor('int64', BigInt64Array.of(BigInt(n)), []);
}

/** Position `row` of a pass's outputs (`positions` of them per batch row; one batch row here). */
function readPass(s: DecoderShape, logits: Float32Array, last: Float32Array, hs: Float32Array, positions: number, row: number): PassOutput {
  // One position: views of the outputs' own JS buffers, which nothing else holds or writes (2 % of a
  // thought step against copies); several: copies, so a trace does not keep a whole pass alive.
  const take = positions === 1 ? (a: Float32Array, i: number, n: number) => a.subarray(i, i + n) : (a: Float32Array, i: number, n: number) => a.slice(i, i + n);
  const hiddenStates: Float32Array[] = [];
  for (let l = 0; l <= s.L; l++) hiddenStates.push(take(hs, (l * positions + row) * s.D, s.D));
  return { logits: take(logits, row * s.V, s.V), lastHidden: take(last, row * s.D, s.D), hiddenStates };
}

/** Rows of wte for token ids, laid out as [ids.length, D]; an id outside the matrix is an error. */
export function embedIds(probe: Probe, s: DecoderShape, ids: number[]): Float32Array {
  const out = new Float32Array(ids.length * s.D);
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= s.V) {
      throw new EngineError('INTERNAL', `token id ${id} is outside the embedding matrix (0..${s.V - 1})`, 'check that tokenizer.json matches the model');
    }
    out.set(probe.wte.subarray(id * s.D, (id + 1) * s.D), i * s.D);
  });
  return out;
}

/**
 * Positions in a pass's logits: 1 for decoders that return the last position only (training/export.py
 * since December 2026), S for older exports that return every position. Either way the engine
 * reads the last one.
 */
export function outputPositions(logits: Tensor): number {
  return logits.dims[1];
}

function cpuData(t: Tensor): Float32Array {
  if (t.location !== 'cpu') {
    // getData() on a GPU-resident tensor kills the process in onnxruntime-node; never go there.
    throw new EngineError('INTERNAL', `decoder output is on ${t.location}, not the CPU`, 'run on the CPU provider');
  }
  return t.data as Float32Array;
}
