// The Coconut inference loop on the exported decoder, as models/README.md "How a run uses it":
// prefill question + suffix + bot; k single-position passes feeding each thought back as
// inputs_embeds; eot; greedy answer until eos or max_new_tokens. The KV cache is the decoder's own
// present.* outputs, fed back as past_key_values.* without copying.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { EngineError, throwIfAborted } from './errors';
import { argmax } from './decode';
import { decoderShape, pastKey, pastValue, presentKey, presentValue, THOUGHT_STEPS, type DecoderShape } from './decoder-io';
import type { Manifest } from './manifest';
import type { Probe } from './model-dir';
import { ort } from './session';

/** What one forward pass leaves behind at its last position, copied to plain CPU arrays. */
export interface PassOutput {
  logits: Float32Array; // [V]
  lastHidden: Float32Array; // [D]
  hiddenStates: Float32Array[]; // L+1 × [D]
}

/** An opaque view of the KV cache at one position (see Decoder.snapshot). */
export interface DecoderState {
  readonly past: Readonly<Record<string, Tensor>>;
  readonly pastLen: number;
}

export class Decoder {
  private readonly s: DecoderShape;
  private past: Readonly<Record<string, Tensor>> = {};
  private pastLen = 0;
  /** A snapshot may still use the cache: GPU-resident caches are then left to the GC, not disposed. */
  private pinned = false;
  /** The graph can run thoughts itself (its `thought_steps` input); exports before December 2026 cannot. */
  readonly hasThoughtLoop: boolean;
  /**
   * Whether runCoconut may run a plain loop's thoughts in one call. Off: every thought is its own
   * pass, as interventions and branches always are (tests compare the two paths).
   */
  thoughtsInOneCall = true;
  private readonly plainOutputs: string[];

  constructor(
    private readonly session: InferenceSession,
    manifest: Manifest,
    private readonly probe: Probe,
  ) {
    this.s = decoderShape(manifest);
    this.hasThoughtLoop = session.inputNames.includes(THOUGHT_STEPS);
    this.plainOutputs = ['logits', 'last_hidden_state', 'hidden_states'];
    for (let i = 0; i < this.s.L; i++) this.plainOutputs.push(presentKey(i), presentValue(i));
  }

  /**
   * The cache as it stands, to branch from: onnxruntime tensors are immutable, so the present.*
   * tensors of a pass can serve as the past of any number of later branches without copying.
   */
  snapshot(): DecoderState {
    this.pinned = true;
    return { past: this.past, pastLen: this.pastLen };
  }

  /** Returns to a snapshot; the passes run since then are forgotten. */
  restore(state: DecoderState): void {
    this.past = state.past;
    this.pastLen = state.pastLen;
  }

  /** Positions in the cache. */
  get length(): number {
    return this.pastLen;
  }

  /** Starts a new sequence: an empty cache (P = 0). */
  reset(): void {
    const { Tensor } = ort();
    const empty = new Float32Array(0);
    const past: Record<string, Tensor> = {};
    for (let i = 0; i < this.s.L; i++) {
      past[pastKey(i)] = new Tensor('float32', empty, [1, this.s.H, 0, this.s.Dh]);
      past[pastValue(i)] = new Tensor('float32', empty, [1, this.s.H, 0, this.s.Dh]);
    }
    this.releasePast();
    this.past = past;
    this.pastLen = 0;
    this.pinned = false;
  }

  /** GPU buffers (WebGPU with the cache kept on the GPU) are freed at once; CPU tensors by the GC. */
  private releasePast(): void {
    if (this.pinned) return;
    for (const t of Object.values(this.past)) if (t.location === 'gpu-buffer') t.dispose();
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
    return this.usesOneCall && Object.values(this.past).every((t) => t.location === 'cpu');
  }

  /** The loop exists and is not switched off (whatever the cache's location). */
  get usesOneCall(): boolean {
    return this.hasThoughtLoop && this.thoughtsInOneCall;
  }

  /** Runs S new positions ([S, D] embeddings) after the cache; returns the last position's outputs. */
  async step(embeds: Float32Array): Promise<PassOutput> {
    const out = await this.pass(embeds, 0);
    // Outputs are read on the CPU (the session's default output location); copies detach them from
    // onnxruntime's buffers so the traces outlive the tensors.
    const at = outputPositions(out.logits);
    return readPass(this.s, cpuData(out.logits), cpuData(out.last_hidden_state), cpuData(out.hidden_states), at, at - 1);
  }

  /**
   * Thoughts 1..k in one call: thought 1 (`first`, [D]) is fed, and the graph feeds each pass's
   * last_hidden_state back k-1 times itself. Returns the outputs of the k passes, the j-th being
   * those of the pass thought j was fed to, exactly as k calls of step() would.
   */
  async thoughts(first: Float32Array, k: number): Promise<PassOutput[]> {
    if (!this.hasThoughtLoop) throw new EngineError('INTERNAL', 'this decoder has no thought loop', 'run the thoughts with step()');
    if (!Number.isInteger(k) || k < 1) throw new EngineError('INTERNAL', `thoughts in one call need k ≥ 1, got ${k}`, 'pass k ≥ 1');
    const out = await this.pass(first, k - 1);
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
  private async pass(embeds: Float32Array, thoughtSteps: number): Promise<InferenceSession.OnnxValueMapType> {
    const { Tensor } = ort();
    const S = embeds.length / this.s.D;
    const P = this.pastLen;
    const mask = new BigInt64Array(P + S).fill(1n);
    const pos = new BigInt64Array(S);
    for (let s = 0; s < S; s++) pos[s] = BigInt(P + s);
    const feeds: Record<string, Tensor> = {
      inputs_embeds: new Tensor('float32', embeds, [1, S, this.s.D]),
      attention_mask: new Tensor('int64', mask, [1, P + S]),
      position_ids: new Tensor('int64', pos, [1, S]),
      ...this.past,
    };
    if (this.hasThoughtLoop) feeds[THOUGHT_STEPS] = thoughtStepsTensor(thoughtSteps);
    // A plain pass asks only for what it reads: every output fetched is a tensor wrapped for JS.
    const out = thoughtSteps > 0 ? await this.session.run(feeds) : await this.session.run(feeds, this.plainOutputs);
    const next: Record<string, Tensor> = {};
    for (let i = 0; i < this.s.L; i++) {
      // After thoughts in the graph, the cache is present.* followed by the positions they added
      // (kept apart in the graph so that a plain pass never copies its cache).
      next[pastKey(i)] = thoughtSteps > 0 ? appendPositions(out[presentKey(i)], out[`thought_${presentKey(i)}`]) : out[presentKey(i)];
      next[pastValue(i)] = thoughtSteps > 0 ? appendPositions(out[presentValue(i)], out[`thought_${presentValue(i)}`]) : out[presentValue(i)];
    }
    this.releasePast();
    this.past = next;
    this.pastLen = P + S + thoughtSteps;
    return out;
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

/** The thought_steps feed; the 0 of every plain pass is made once (tensors are immutable). */
export function thoughtStepsTensor(n: number): Tensor {
  const { Tensor } = ort();
  if (n === 0) return (noThoughts ??= new Tensor('int64', BigInt64Array.of(0n), []));
  return new Tensor('int64', BigInt64Array.of(BigInt(n)), []);
}

/**
 * Position `row` of a pass's outputs (`positions` of them per batch row; one batch row here),
 * copied so the traces outlive onnxruntime's buffers.
 */
function readPass(s: DecoderShape, logits: Float32Array, last: Float32Array, hs: Float32Array, positions: number, row: number): PassOutput {
  const hiddenStates: Float32Array[] = [];
  for (let l = 0; l <= s.L; l++) {
    const i = (l * positions + row) * s.D;
    hiddenStates.push(hs.slice(i, i + s.D));
  }
  return {
    logits: logits.slice(row * s.V, (row + 1) * s.V),
    lastHidden: last.slice(row * s.D, (row + 1) * s.D),
    hiddenStates,
  };
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

export interface LoopHooks {
  signal?: AbortSignal;
  /**
   * Thought j (1-based) with the outputs of the pass that produced it, and the vector that will be
   * fed back (`out.lastHidden` unless `feed` replaced it).
   */
  onThought?(index: number, out: PassOutput, fed: Float32Array): void;
  /** The n-th answer token (1-based), chosen greedily from `out.logits`. */
  onAnswerToken?(n: number, id: number, out: PassOutput): void;
  /** Interventions: the vector to feed back as thought j instead of `out.lastHidden`. */
  feed?(index: number, out: PassOutput): Float32Array;
  /**
   * Called with bot and t thoughts in the cache (t = 0..k), before thought t+1 is fed (or eot, at
   * t = k). It may run branches on `dec`; the loop restores the cache afterwards.
   */
  atDepth?(t: number, dec: Decoder): Promise<void>;
}

export interface LoopResult {
  answerIds: number[];
  stoppedBy: 'eos' | 'max_new_tokens';
  prefillMs: number;
  thoughtsMs: number;
  answerMs: number;
}

/**
 * Runs one Coconut inference. `promptIds` are the tokens of question + question_suffix (without
 * bot). Between passes the signal is checked, so a cancel takes effect within one pass.
 */
export async function runCoconut(dec: Decoder, m: Manifest, promptIds: number[], k: number, maxNewTokens: number, hooks: LoopHooks = {}): Promise<LoopResult> {
  const { bot, eot, eos } = m.special_tokens;
  const now = () => performance.now();
  dec.reset();
  throwIfAborted(hooks.signal);

  let t0 = now();
  let out = await dec.step(dec.embed([...promptIds, bot.id]));
  const prefillMs = now() - t0;

  const branchAt = async (t: number) => {
    if (!hooks.atDepth) return;
    const state = dec.snapshot();
    try {
      await hooks.atDepth(t, dec);
    } finally {
      dec.restore(state);
    }
    throwIfAborted(hooks.signal);
  };

  let thoughtsMs = 0;
  if (k > 0 && dec.oneCallReady && !hooks.feed && !hooks.atDepth) {
    // Nothing intervenes between thoughts: the graph feeds them back itself, in one call.
    throwIfAborted(hooks.signal);
    t0 = now();
    const outs = await dec.thoughts(out.lastHidden, k);
    thoughtsMs = now() - t0;
    for (let j = 1; j <= k; j++) {
      hooks.onThought?.(j, out, out.lastHidden);
      // a cancel seen while thought j is reported stops the run there, as between passes
      throwIfAborted(hooks.signal);
      out = outs[j - 1];
    }
  } else {
    for (let j = 1; j <= k; j++) {
      await branchAt(j - 1);
      // Thought j is the last_hidden_state of the previous position, decoded with that position's logits.
      const fed = hooks.feed ? hooks.feed(j, out) : out.lastHidden;
      hooks.onThought?.(j, out, fed);
      throwIfAborted(hooks.signal);
      t0 = now();
      out = await dec.step(fed);
      thoughtsMs += now() - t0;
    }
  }
  await branchAt(k);

  throwIfAborted(hooks.signal);
  t0 = now();
  out = await dec.step(dec.embed([eot.id]));
  const first = now() - t0;
  const answer = await greedyFrom(dec, out, eos.id, maxNewTokens, { signal: hooks.signal, onToken: hooks.onAnswerToken });
  return { answerIds: answer.ids, stoppedBy: answer.stoppedBy, prefillMs, thoughtsMs, answerMs: first + answer.passMs };
}

export interface GreedyResult {
  ids: number[];
  stoppedBy: 'eos' | 'max_new_tokens';
  /** Forward passes run, and the time spent in them. */
  passes: number;
  passMs: number;
}

/**
 * Greedy decoding from `out`, the outputs of the position before the next answer token (eot, or
 * the last token of `prefix`). `prefix` are answer tokens already chosen: decoding goes on until
 * eos or until prefix + new tokens reach `maxNewTokens`.
 */
export async function greedyFrom(
  dec: Decoder,
  out: PassOutput,
  eosId: number,
  maxNewTokens: number,
  opts: { signal?: AbortSignal; prefix?: number[]; onToken?(n: number, id: number, out: PassOutput): void } = {},
): Promise<GreedyResult> {
  const ids = [...(opts.prefix ?? [])];
  let stoppedBy: GreedyResult['stoppedBy'] = 'max_new_tokens';
  let passMs = 0;
  let passes = 0;
  for (let n = ids.length + 1; n <= maxNewTokens; n++) {
    const id = argmax(out.logits);
    opts.onToken?.(n, id, out);
    if (id === eosId) {
      stoppedBy = 'eos';
      break;
    }
    ids.push(id);
    if (n === maxNewTokens) break;
    throwIfAborted(opts.signal);
    const t0 = performance.now();
    out = await dec.step(dec.embed([id]));
    passMs += performance.now() - t0;
    passes++;
  }
  return { ids, stoppedBy, passes, passMs };
}
/**
 * Positions a run may need, counted as the reference loop does: prompt (with bot) + k thoughts +
 * eot + max_new_tokens (one more than strictly fed, which keeps the check identical to PyTorch's).
 */
export function positionsNeeded(promptWithBot: number, k: number, maxNewTokens: number): number {
  return promptWithBot + k + 1 + maxNewTokens;
}
