// Several sequences through the decoder at once, left-padded as the training batches are: the
// prompts end at the same column, so every later pass (thoughts, eot, answer tokens) is one
// position per row. The decoder contract already carries what padding needs: attention_mask marks
// pads (attention and smeared keys skip them) and position_ids count real tokens only, so a row's
// numbers match its own unbatched run up to float rounding.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { LensError } from './errors';
import { decoderShape, pastKey, pastValue, presentKey, presentValue, type DecoderShape } from './decoder-io';
import type { Manifest } from './manifest';
import type { Probe } from './model-dir';
import { ort } from './session';

/** The last position of each row: logits [B, V] and last_hidden_state [B, D], row-major. */
export interface BatchPass {
  rows: number;
  logits: Float32Array;
  lastHidden: Float32Array;
}

export interface BatchState {
  readonly past: Readonly<Record<string, Tensor>>;
  readonly mask: BigInt64Array;
  readonly nextPos: BigInt64Array;
}

export class BatchDecoder {
  private readonly s: DecoderShape;
  private readonly fetches: string[];
  private past: Readonly<Record<string, Tensor>> = {};
  /** attention_mask of the positions in the cache, [B, T]. */
  private mask: BigInt64Array<ArrayBufferLike> = new BigInt64Array(0);
  /** Per row, the position id its next token gets (its count of real tokens so far). */
  private nextPos = new BigInt64Array(0);
  private B = 0;

  constructor(
    private readonly session: InferenceSession,
    manifest: Manifest,
    private readonly probe: Probe,
  ) {
    this.s = decoderShape(manifest);
    // hidden_states is not needed to score answers: fetching less saves a copy per pass.
    this.fetches = ['logits', 'last_hidden_state'];
    for (let i = 0; i < this.s.L; i++) this.fetches.push(presentKey(i), presentValue(i));
  }

  get rows(): number {
    return this.B;
  }

  /** Prefills every prompt (token ids, already ending in bot), left-padded to the longest. */
  async start(prompts: number[][]): Promise<BatchPass> {
    if (prompts.length === 0) throw new LensError('INTERNAL', 'a batch needs at least one prompt', 'pass one or more prompts');
    const B = prompts.length;
    const S = Math.max(...prompts.map((p) => p.length));
    const embeds = new Float32Array(B * S * this.s.D);
    const mask = new BigInt64Array(B * S);
    const pos = new BigInt64Array(B * S);
    prompts.forEach((ids, b) => {
      const pad = S - ids.length;
      ids.forEach((id, j) => {
        this.copyRow(id, embeds, (b * S + pad + j) * this.s.D);
        mask[b * S + pad + j] = 1n;
        pos[b * S + pad + j] = BigInt(j);
      });
    });
    const { Tensor } = ort();
    this.B = B;
    this.past = this.emptyPast(B);
    this.mask = new BigInt64Array(0);
    this.nextPos = new BigInt64Array(prompts.map((p) => BigInt(p.length)));
    return this.run(new Tensor('float32', embeds, [B, S, this.s.D]), mask, pos, S);
  }

  /** One position per row: `embeds` is [B, D]. */
  async step(embeds: Float32Array): Promise<BatchPass> {
    const { Tensor } = ort();
    const B = this.B;
    if (embeds.length !== B * this.s.D)
      throw new LensError('INTERNAL', `a batch step needs ${B}×${this.s.D} values, got ${embeds.length}`, 'feed one vector per row');
    const mask = new BigInt64Array(B).fill(1n);
    const pos = new BigInt64Array(this.nextPos);
    for (let b = 0; b < B; b++) this.nextPos[b] += 1n;
    return this.run(new Tensor('float32', embeds, [B, 1, this.s.D]), mask, pos, 1);
  }

  /** One token id per row, as [B, D] rows of wte. */
  embed(ids: number[]): Float32Array {
    const out = new Float32Array(ids.length * this.s.D);
    ids.forEach((id, b) => this.copyRow(id, out, b * this.s.D));
    return out;
  }

  snapshot(): BatchState {
    return { past: this.past, mask: this.mask, nextPos: new BigInt64Array(this.nextPos) };
  }

  restore(s: BatchState): void {
    this.past = s.past;
    this.mask = s.mask;
    this.nextPos = new BigInt64Array(s.nextPos);
  }

  private copyRow(id: number, out: Float32Array, at: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.s.V) {
      throw new LensError('INTERNAL', `token id ${id} is outside the embedding matrix (0..${this.s.V - 1})`, 'check that tokenizer.json matches the model');
    }
    out.set(this.probe.wte.subarray(id * this.s.D, (id + 1) * this.s.D), at);
  }

  private emptyPast(B: number): Record<string, Tensor> {
    const { Tensor } = ort();
    const past: Record<string, Tensor> = {};
    const H = this.s.H;
    const Dh = this.s.D / H;
    for (let i = 0; i < this.s.L; i++) {
      past[pastKey(i)] = new Tensor('float32', new Float32Array(0), [B, H, 0, Dh]);
      past[pastValue(i)] = new Tensor('float32', new Float32Array(0), [B, H, 0, Dh]);
    }
    return past;
  }

  /** Appends S new positions (their mask [B, S] and position ids [B, S]) after the cache. */
  private async run(embeds: Tensor, newMask: BigInt64Array, pos: BigInt64Array, S: number): Promise<BatchPass> {
    const { Tensor } = ort();
    const B = this.B;
    const T0 = this.mask.length / B;
    const mask = new BigInt64Array(B * (T0 + S));
    for (let b = 0; b < B; b++) {
      mask.set(this.mask.subarray(b * T0, (b + 1) * T0), b * (T0 + S));
      mask.set(newMask.subarray(b * S, (b + 1) * S), b * (T0 + S) + T0);
    }
    const feeds: Record<string, Tensor> = {
      inputs_embeds: embeds,
      attention_mask: new Tensor('int64', mask, [B, T0 + S]),
      position_ids: new Tensor('int64', pos, [B, S]),
      ...this.past,
    };
    const out = await this.session.run(feeds, this.fetches);
    const next: Record<string, Tensor> = {};
    for (let i = 0; i < this.s.L; i++) {
      next[pastKey(i)] = out[presentKey(i)];
      next[pastValue(i)] = out[presentValue(i)];
    }
    this.past = next;
    this.mask = mask;
    const logits = out.logits.data as Float32Array;
    const last = out.last_hidden_state.data as Float32Array;
    const rowsLogits = new Float32Array(B * this.s.V);
    const rowsHidden = new Float32Array(B * this.s.D);
    for (let b = 0; b < B; b++) {
      const at = b * S + (S - 1);
      rowsLogits.set(logits.subarray(at * this.s.V, (at + 1) * this.s.V), b * this.s.V);
      rowsHidden.set(last.subarray(at * this.s.D, (at + 1) * this.s.D), b * this.s.D);
    }
    return { rows: B, logits: rowsLogits, lastHidden: rowsHidden };
  }
}
