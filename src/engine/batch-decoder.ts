// Several sequences through the decoder at once, left-padded as the training batches are: the
// prompts end at the same column, so every later pass (thoughts, eot, answer tokens) is one
// position per row. The decoder contract already carries what padding needs: attention_mask marks
// pads (attention and smeared keys skip them) and position_ids count real tokens only, so a row's
// numbers match its own unbatched run up to float rounding.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { embedIds, outputPositions, thoughtStepsTensor } from './decoder';
import { maskedPrefixTier, needsMaskedPrefix, prependMaskedColumn } from './empty-tensors';
import { EngineError, throwIfAborted, type Cancellation } from './errors';
import {
  decoderFeatures,
  decoderShape,
  pastKey,
  pastValue,
  prefixKey,
  prefixValue,
  presentKey,
  presentValue,
  type DecoderFeatures,
  type DecoderShape,
} from './decoder-io';
import type { Manifest } from './manifest';
import type { Probe } from './model-dir';
import { ort } from './ort';

/**
 * Attention scores (rows x H x S x S) one prefill pass may hold on the CPU: a batch past it
 * prefills its prompts in groups of consecutive rows that stay under it, each group padded to its
 * own longest prompt. On one thread the score tensors of a pass then stay in L2 (their pipeline
 * is ~8 copies of rows x H x 2S x S floats): the official set's 300 prompts, sorted by length,
 * prefill in 650 ms in passes of 16 rows, 606 of 8, 570 of 4, 554 of 2, 581 of 1
 * (docs/performance.md). A prompt past it on its own is one group.
 */
export const PREFILL_PASS_SCORES = 256_000;

/**
 * The same limit where a session's pass runs on several threads: their pool splits one large
 * padded pass better than several small ones. The shipped model's official set in batches of 16 on
 * the engine's 2-thread session: 821-824 ms with 2 M, 857-884 ms with 256 K (one thread: 995-1016
 * against 910-912).
 */
export const PREFILL_PASS_SCORES_THREADED = 2_000_000;

/** The limit for a CPU session of `threads` intra-op threads. */
export function prefillPassScoresFor(threads: number): number {
  return threads > 1 ? PREFILL_PASS_SCORES_THREADED : PREFILL_PASS_SCORES;
}

/** The last position of each row: logits [B, V] and last_hidden_state [B, D], row-major. */
export interface BatchPass {
  rows: number;
  logits: Float32Array;
  lastHidden: Float32Array;
}

/** Where the cache stood at a snapshot; valid until the next snapshot (one branch at a time). */
export interface BatchState {
  /** Recent positions (the prefix does not change after start()). */
  readonly T: number;
  readonly mask: BigInt64Array;
  readonly nextPos: BigInt64Array;
}

/**
 * The KV cache lives in buffers allocated once per batch, sized for the whole run: onnxruntime
 * writes each pass's present.* straight into one of two ping-pong buffers (pre-allocated outputs)
 * and the next pass reads them as past_key_values. Without this every pass allocated, zeroed and
 * copied the whole cache into fresh JS buffers, which for 8 rows of a 6 × 512 model is ~50 MB a
 * pass. A snapshot copies the cache once into a third buffer, so a branch can run and return.
 * With a version 3 decoder the prompts' cache goes to a fourth buffer, read as the prefix tier:
 * the ping-pong buffers then hold only the positions after the prompts, and no pass copies the
 * prompts' cache (it was half of a batched step).
 */
export class BatchDecoder {
  private readonly s: DecoderShape;
  private B = 0;
  /** Positions in the recent tier (past_key_values.*) and in the prefix tier (the prompts, version 3). */
  private T = 0;
  private P = 0;
  private capacity = 0;
  /** Per cache tensor (2 per layer): two ping-pong buffers, a snapshot buffer and the prefix buffer. */
  private bufs: Float32Array[][] = [];
  /** Which buffer holds the cache now: 0 or 1 (ping-pong), 2 (the snapshot). */
  private at = 0;
  /** attention_mask of the positions in the cache, [B, P + T]. */
  private mask: BigInt64Array<ArrayBufferLike> = new BigInt64Array(0);
  /** Per row, the position id its next token gets (its count of real tokens so far). */
  private nextPos = new BigInt64Array(0);
  /** The thought loop (its thought_steps input a plain pass feeds as 0) and the prefix cache. */
  private readonly features: DecoderFeatures;
  /** Runs a group of the prompts when a batch prefills in groups. */
  private group?: BatchDecoder;

  /**
   * `prefillPassScores` (on the CPU, prefillPassScoresFor the session's threads): a batch with more
   * attention scores than this in its padded prefill (B x H x S x S) prefills its prompts in groups
   * of rows that stay under it, and writes their caches into the batch's buffers, left-padded. On the CPU a prompt's
   * pass is already compute-bound, and a large padded pass adds the pads and score tensors that
   * leave the cache (docs/performance.md: prefill x1.37 / x1.78 in batches of 8 / 16 on a 6 x 512
   * model by row). On a GPU one padded pass is the cheaper one (Infinity).
   */
  constructor(
    private readonly session: InferenceSession,
    private readonly manifest: Manifest,
    private readonly probe: Probe,
    private readonly prefillPassScores = Infinity,
  ) {
    this.s = decoderShape(manifest);
    this.features = decoderFeatures(session);
  }

  /**
   * Bytes of cache buffers one row takes in a batch whose longest prompt has `prompt` positions
   * (bot included) with room for `after` more: what start() allocates per row (the ping-pong pair
   * and the snapshot for each layer's keys and values, and the prompts' prefix where the graph has one).
   */
  bytesPerRow(prompt: number, after: number): number {
    const { D, L } = this.s;
    const positions = this.features.prefixCache ? 3 * after + prompt : 3 * (prompt + after);
    return 2 * L * positions * D * Float32Array.BYTES_PER_ELEMENT;
  }

  get rows(): number {
    return this.B;
  }

  /**
   * Prefills every prompt (token ids, already ending in bot), left-padded to the longest, with
   * room for `after` more positions (thoughts, eot, answer tokens).
   */
  async start(prompts: number[][], after: number, signal?: Cancellation): Promise<BatchPass> {
    if (prompts.length === 0) throw new EngineError('INTERNAL', 'a batch needs at least one prompt', 'pass one or more prompts');
    const { D, H, Dh, L } = this.s;
    const B = prompts.length;
    const S = Math.max(...prompts.map((p) => p.length));
    const mask = new BigInt64Array(B * S);
    const pos = new BigInt64Array(B * S);
    prompts.forEach((ids, b) => {
      const pad = S - ids.length;
      ids.forEach((_, j) => {
        mask[b * S + pad + j] = 1n;
        pos[b * S + pad + j] = BigInt(j);
      });
    });
    this.B = B;
    this.T = 0;
    this.P = 0;
    this.capacity = this.features.prefixCache ? after : S + after;
    const size = B * H * this.capacity * Dh;
    const prefixSize = this.features.prefixCache ? B * H * S * Dh : 0;
    // Kept from batch to batch while large enough: a dataset's batches are alike, and fresh
    // buffers per batch (~12 MB for 8 rows of the shipped model) kept the garbage collector busy.
    // Every pass writes the positions it later reads, so old contents never leak into a batch.
    if (this.bufs.length !== 2 * L || this.bufs[0][0].length < size || this.bufs[0][3].length < prefixSize) {
      const [n, m] = [Math.max(size, this.bufs[0]?.[0].length ?? 0), Math.max(prefixSize, this.bufs[0]?.[3].length ?? 0)];
      this.bufs = Array.from({ length: 2 * L }, () => [new Float32Array(n), new Float32Array(n), new Float32Array(n), new Float32Array(m)]);
    }
    this.at = 0;
    this.mask = new BigInt64Array(0);
    this.nextPos = new BigInt64Array(prompts.map((p) => BigInt(p.length)));
    if (B * H * S * S > this.prefillPassScores) return this.startInGroups(prompts, S, mask, signal);
    const embeds = new Float32Array(B * S * D);
    prompts.forEach((ids, b) => embeds.set(embedIds(this.probe, this.s, ids), (b * S + S - ids.length) * D));
    return this.run(embeds, mask, pos, S, this.features.prefixCache);
  }

  /**
   * start() a group of prompts at a time (prefillGroups), each a padded batch of its own: its
   * cache, the prefix tier of a version 3 decoder or the recent one before, lands in the buffer
   * the batch reads, after the row's extra pads.
   */
  private async startInGroups(prompts: number[][], S: number, mask: BigInt64Array, signal?: Cancellation): Promise<BatchPass> {
    const { D, H, Dh, L, V } = this.s;
    const B = prompts.length;
    const into = this.features.prefixCache ? 3 : 0;
    const logits = new Float32Array(B * V);
    const lastHidden = new Float32Array(B * D);
    const group = (this.group ??= new BatchDecoder(this.session, this.manifest, this.probe));
    for (const [from, to] of prefillGroups(
      prompts.map((p) => p.length),
      H,
      this.prefillPassScores,
    )) {
      // A cancel is seen between groups: 32 prompts of a large model are seconds of passes.
      throwIfAborted(signal);
      const rows = prompts.slice(from, to);
      const out = await group.start(rows, 0);
      logits.set(out.logits, from * V);
      lastHidden.set(out.lastHidden, from * D);
      // [g, H, Sg, Dh] of the group (its own pads first) into rows from.. of [B, H, S, Dh], after S - Sg zeroed pads
      const Sg = Math.max(...rows.map((p) => p.length));
      const pad = (S - Sg) * Dh;
      const at = this.features.prefixCache ? 3 : group.at;
      for (let k = 0; k < 2 * L; k++) {
        const src = group.bufs[k][at];
        const dst = this.bufs[k][into];
        for (let r = 0; r < rows.length; r++)
          for (let h = 0; h < H; h++) {
            const row = ((from + r) * H + h) * S * Dh;
            const own = (r * H + h) * Sg * Dh;
            dst.fill(0, row, row + pad);
            dst.set(src.subarray(own, own + Sg * Dh), row + pad);
          }
      }
    }
    [this.P, this.T, this.at] = this.features.prefixCache ? [S, 0, 0] : [0, S, 0];
    this.mask = mask;
    return { rows: B, logits, lastHidden };
  }

  /** One position per row: `embeds` is [B, D]. */
  async step(embeds: Float32Array): Promise<BatchPass> {
    const B = this.B;
    if (embeds.length !== B * this.s.D)
      throw new EngineError('INTERNAL', `a batch step needs ${B}×${this.s.D} values, got ${embeds.length}`, 'feed one vector per row');
    const mask = new BigInt64Array(B).fill(1n);
    const pos = new BigInt64Array(this.nextPos);
    for (let b = 0; b < B; b++) this.nextPos[b] += 1n;
    return this.run(embeds, mask, pos, 1, false);
  }

  /** One token id per row, as [B, D] rows of wte. */
  embed(ids: number[]): Float32Array {
    return embedIds(this.probe, this.s, ids);
  }

  snapshot(): BatchState {
    if (this.at !== 2) {
      const n = this.B * this.s.H * this.T * this.s.Dh;
      for (const b of this.bufs) b[2].set(b[this.at].subarray(0, n));
    }
    return { T: this.T, mask: this.mask, nextPos: new BigInt64Array(this.nextPos) };
  }

  restore(st: BatchState): void {
    this.T = st.T;
    this.at = 2;
    this.mask = st.mask;
    this.nextPos = new BigInt64Array(st.nextPos);
  }

  /** The cache tensors (inputs) or the next pass's outputs: views of buffer `which` (3: the prefix), T positions. */
  private cacheTensors(which: number, T: number, names: (i: number) => [string, string]): Record<string, Tensor> {
    const { Tensor } = ort();
    const { H, Dh, L } = this.s;
    const n = this.B * H * T * Dh;
    const out: Record<string, Tensor> = {};
    for (let i = 0; i < L; i++) {
      const [k, v] = names(i);
      out[k] = new Tensor('float32', this.bufs[2 * i][which].subarray(0, n), [this.B, H, T, Dh]);
      out[v] = new Tensor('float32', this.bufs[2 * i + 1][which].subarray(0, n), [this.B, H, T, Dh]);
    }
    return out;
  }

  /**
   * Appends S new positions (embeddings [B, S, D], mask [B, S], position ids [B, S]) after the
   * cache; `toPrefix`: the prompts' pass of a version 3 decoder, whose cache becomes the prefix.
   */
  private async run(embeds: Float32Array, newMask: BigInt64Array, pos: BigInt64Array, S: number, toPrefix: boolean): Promise<BatchPass> {
    const { Tensor } = ort();
    const { B, T: T0, P } = this;
    const T = T0 + S;
    if (!toPrefix && T > this.capacity)
      throw new EngineError('INTERNAL', `the batch cache holds ${this.capacity} positions, a pass needs ${T}`, 'start the batch with more room');
    const [M0, M] = [P + T0, P + T];
    const mask = new BigInt64Array(B * M);
    for (let b = 0; b < B; b++) {
      mask.set(this.mask.subarray(b * M0, (b + 1) * M0), b * M);
      mask.set(newMask.subarray(b * S, (b + 1) * S), b * M + M0);
    }
    // An empty prefix tier becomes one masked position per row where the provider cannot take it (empty-tensors.ts).
    const masked = this.features.prefixCache && P === 0 && needsMaskedPrefix(this.session);
    // Outputs go to the ping-pong buffer the inputs are not in (or to the prefix buffer).
    const into = toPrefix ? 3 : this.at === 0 ? 1 : 0;
    const fetches: Record<string, Tensor | null> = {
      logits: null,
      last_hidden_state: null,
      ...this.cacheTensors(into, T, (i) => [presentKey(i), presentValue(i)]),
    };
    const feeds: Record<string, Tensor> = {
      inputs_embeds: new Tensor('float32', embeds, [B, S, this.s.D]),
      attention_mask: masked ? new Tensor('int64', prependMaskedColumn(mask, B, M), [B, M + 1]) : new Tensor('int64', mask, [B, M]),
      position_ids: new Tensor('int64', pos, [B, S]),
      ...this.cacheTensors(this.at, T0, (i) => [pastKey(i), pastValue(i)]),
    };
    if (this.features.prefixCache)
      Object.assign(feeds, masked ? maskedPrefixTier(Tensor, this.s, B) : this.cacheTensors(3, P, (i) => [prefixKey(i), prefixValue(i)]));
    if (this.features.thoughtLoop) feeds.thought_steps = thoughtStepsTensor(0);
    const out = await this.session.run(feeds, fetches);
    if (toPrefix) {
      this.P = T;
      this.T = 0;
    } else {
      this.at = into;
      this.T = T;
    }
    this.mask = mask;
    const { V, D } = this.s;
    const logits = out.logits.data as Float32Array;
    const last = out.last_hidden_state.data as Float32Array;
    const rowsLogits = new Float32Array(B * V);
    const rowsHidden = new Float32Array(B * D);
    const at = outputPositions(out.logits);
    for (let b = 0; b < B; b++) {
      const row = b * at + (at - 1);
      rowsLogits.set(logits.subarray(row * V, (row + 1) * V), b * V);
      rowsHidden.set(last.subarray(row * D, (row + 1) * D), b * D);
    }
    return { rows: B, logits: rowsLogits, lastHidden: rowsHidden };
  }
}

/**
 * Consecutive rows [from, to) that prefill together: each group as many rows as keep
 * rows x H x (its longest prompt)² within `maxScores`, and at least one.
 */
export function prefillGroups(lengths: number[], H: number, maxScores: number): [number, number][] {
  const groups: [number, number][] = [];
  let from = 0;
  let longest = 0;
  lengths.forEach((n, i) => {
    const S = Math.max(longest, n);
    if (i > from && (i - from + 1) * H * S * S > maxScores) {
      groups.push([from, i]);
      from = i;
      longest = n;
    } else longest = S;
  });
  if (lengths.length > from) groups.push([from, lengths.length]);
  return groups;
}
