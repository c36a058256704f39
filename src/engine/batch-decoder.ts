// Several sequences through the decoder at once, left-padded as the training batches are: the
// prompts end at the same column, so every later pass (thoughts, eot, answer tokens) is one
// position per row. The decoder contract already carries what padding needs: attention_mask marks
// pads (attention and smeared keys skip them) and position_ids count real tokens only, so a row's
// numbers match its own unbatched run up to float rounding.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { Decoder, embedIds, outputPositions, thoughtStepsTensor } from './decoder';
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
import { ort } from './session';

/** Attention scores of a padded batch prefill (B x H x S x S) past which the CPU prefills row by row. */
export const ROW_PREFILL_SCORES = 2_000_000;

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
  /** Runs one prompt as its own sequence when a batch prefills by row. */
  private single?: Decoder;

  /**
   * `rowPrefillAbove` (ROW_PREFILL_SCORES on the CPU): a batch with more attention scores than
   * this in its padded prefill (B x H x S x S) prefills each prompt in its own pass and writes its
   * cache into the batch's buffers, left-padded. On the CPU one prompt's pass is already
   * compute-bound, and a padded pass adds the pads and score tensors that leave the cache
   * (docs/performance.md: prefill x1.37 / x1.78 in batches of 8 / 16 on a 6 x 512 model, x1.29 in
   * batches of 32 on the shipped one, x0.92 in its batches of 8). On a GPU one padded pass is the
   * cheaper one.
   */
  constructor(
    private readonly session: InferenceSession,
    private readonly manifest: Manifest,
    private readonly probe: Probe,
    private readonly rowPrefillAbove = Infinity,
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
    if (B * H * S * S > this.rowPrefillAbove) return this.prefillRows(prompts, S, mask, signal);
    const embeds = new Float32Array(B * S * D);
    prompts.forEach((ids, b) => embeds.set(embedIds(this.probe, this.s, ids), (b * S + S - ids.length) * D));
    return this.run(embeds, mask, pos, S, this.features.prefixCache);
  }

  /**
   * start() one prompt at a time, each run as a sequence of its own (Decoder): its cache, the
   * prefix tier of a version 3 decoder or the recent one before, lands in the buffer the batch
   * reads, after the row's pads.
   */
  private async prefillRows(prompts: number[][], S: number, mask: BigInt64Array, signal?: Cancellation): Promise<BatchPass> {
    const { D, H, Dh, L, V } = this.s;
    const B = prompts.length;
    const into = this.features.prefixCache ? 3 : 0;
    const logits = new Float32Array(B * V);
    const lastHidden = new Float32Array(B * D);
    const single = (this.single ??= new Decoder(this.session, this.manifest, this.probe));
    for (const [b, ids] of prompts.entries()) {
      // A cancel is seen between rows: 32 prompts of a large model are seconds of passes.
      throwIfAborted(signal);
      single.reset();
      const out = await single.step(single.embed(ids));
      logits.set(out.logits, b * V);
      lastHidden.set(out.lastHidden, b * D);
      // where the sequence keeps its prompt: the prefix tier once it has one, the recent tier before
      const st = single.snapshot();
      const [tier, key, value] = st.prefixLen > 0 ? [st.prefix, prefixKey, prefixValue] : [st.past, pastKey, pastValue];
      // [1, H, n, Dh] into row b of [B, H, S, Dh], after S - n zeroed pads (the buffers are reused)
      const n = ids.length;
      const pad = (S - n) * Dh;
      for (let i = 0; i < L; i++)
        [key(i), value(i)].forEach((name, kv) => {
          const src = tier[name].data as Float32Array;
          const dst = this.bufs[2 * i + kv][into];
          for (let h = 0; h < H; h++) {
            const row = (b * H + h) * S * Dh;
            dst.fill(0, row, row + pad);
            dst.set(src.subarray(h * n * Dh, (h + 1) * n * Dh), row + pad);
          }
        });
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
