// The Coconut inference loop on the exported decoder, as models/README.md "How a run uses it":
// prefill question + suffix + bot; k single-position passes feeding each thought back as
// inputs_embeds; eot; greedy answer until eos or max_new_tokens. The KV cache is the decoder's own
// present.* outputs, fed back as past_key_values.* without copying.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { LensError, throwIfAborted } from './errors';
import { argmax } from './decode';
import { pastKey, pastValue, presentKey, presentValue } from './decoder-io';
import type { Manifest } from './manifest';
import type { Probe } from './model-dir';
import { ort } from './session';

/** What one forward pass leaves behind at its last position, copied to plain CPU arrays. */
export interface PassOutput {
  logits: Float32Array; // [V]
  lastHidden: Float32Array; // [D]
  hiddenStates: Float32Array[]; // L+1 × [D]
}

export class Decoder {
  private readonly L: number;
  private readonly H: number;
  private readonly D: number;
  private readonly Dh: number;
  private readonly V: number;
  private past: Record<string, Tensor> = {};
  private pastLen = 0;

  constructor(
    private readonly session: InferenceSession,
    manifest: Manifest,
    private readonly probe: Probe,
  ) {
    const a = manifest.architecture;
    this.L = a.n_layer;
    this.H = a.n_head;
    this.D = a.n_embd;
    this.Dh = a.n_embd / a.n_head;
    this.V = a.vocab_size;
  }

  /** Starts a new sequence: an empty cache (P = 0). */
  reset(): void {
    const { Tensor } = ort();
    const empty = new Float32Array(0);
    this.past = {};
    for (let i = 0; i < this.L; i++) {
      this.past[pastKey(i)] = new Tensor('float32', empty, [1, this.H, 0, this.Dh]);
      this.past[pastValue(i)] = new Tensor('float32', empty, [1, this.H, 0, this.Dh]);
    }
    this.pastLen = 0;
  }

  /** Rows of wte for token ids, laid out as [S, D]. */
  embed(ids: number[]): Float32Array {
    const out = new Float32Array(ids.length * this.D);
    ids.forEach((id, s) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.V) {
        throw new LensError('INTERNAL', `token id ${id} is outside the embedding matrix (0..${this.V - 1})`, 'check that tokenizer.json matches the model');
      }
      out.set(this.probe.wte.subarray(id * this.D, (id + 1) * this.D), s * this.D);
    });
    return out;
  }

  /** Runs S new positions ([S, D] embeddings) after the cache; returns the last position's outputs. */
  async step(embeds: Float32Array): Promise<PassOutput> {
    const { Tensor } = ort();
    const S = embeds.length / this.D;
    const P = this.pastLen;
    const mask = new BigInt64Array(P + S).fill(1n);
    const pos = new BigInt64Array(S);
    for (let s = 0; s < S; s++) pos[s] = BigInt(P + s);
    const feeds: Record<string, Tensor> = {
      inputs_embeds: new Tensor('float32', embeds, [1, S, this.D]),
      attention_mask: new Tensor('int64', mask, [1, P + S]),
      position_ids: new Tensor('int64', pos, [1, S]),
      ...this.past,
    };
    const out = await this.session.run(feeds);
    const next: Record<string, Tensor> = {};
    for (let i = 0; i < this.L; i++) {
      next[pastKey(i)] = out[presentKey(i)];
      next[pastValue(i)] = out[presentValue(i)];
    }
    this.past = next;
    this.pastLen = P + S;
    // Outputs are read on the CPU (the session's default output location); copies detach them from
    // onnxruntime's buffers so the traces outlive the tensors.
    const logits = cpuData(out.logits);
    const last = cpuData(out.last_hidden_state);
    const hs = cpuData(out.hidden_states);
    const hiddenStates: Float32Array[] = [];
    for (let l = 0; l <= this.L; l++) {
      const at = (l * S + (S - 1)) * this.D;
      hiddenStates.push(hs.slice(at, at + this.D));
    }
    return {
      logits: logits.slice((S - 1) * this.V, S * this.V),
      lastHidden: last.slice((S - 1) * this.D, S * this.D),
      hiddenStates,
    };
  }
}

function cpuData(t: Tensor): Float32Array {
  if (t.location !== 'cpu') {
    // getData() on a GPU-resident tensor kills the process in onnxruntime-node; never go there.
    throw new LensError('INTERNAL', `decoder output is on ${t.location}, not the CPU`, 'run on the CPU provider');
  }
  return t.data as Float32Array;
}

export interface LoopHooks {
  signal?: AbortSignal;
  /** Thought j (1-based) with the outputs of the pass that produced it. */
  onThought?(index: number, out: PassOutput): void;
  /** The n-th answer token (1-based), chosen greedily from `out.logits`. */
  onAnswerToken?(n: number, id: number, out: PassOutput): void;
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
export async function runCoconut(
  dec: Decoder,
  m: Manifest,
  promptIds: number[],
  k: number,
  maxNewTokens: number,
  hooks: LoopHooks = {},
): Promise<LoopResult> {
  const { bot, eot, eos } = m.special_tokens;
  const now = () => performance.now();
  dec.reset();
  throwIfAborted(hooks.signal);

  let t0 = now();
  let out = await dec.step(dec.embed([...promptIds, bot.id]));
  const prefillMs = now() - t0;

  let thoughtsMs = 0;
  for (let j = 1; j <= k; j++) {
    // Thought j is the last_hidden_state of the previous position, decoded with that position's logits.
    hooks.onThought?.(j, out);
    throwIfAborted(hooks.signal);
    t0 = now();
    out = await dec.step(out.lastHidden);
    thoughtsMs += now() - t0;
  }

  throwIfAborted(hooks.signal);
  const answerIds: number[] = [];
  let stoppedBy: LoopResult['stoppedBy'] = 'max_new_tokens';
  let answerMs = 0;
  t0 = now();
  out = await dec.step(dec.embed([eot.id]));
  answerMs += now() - t0;
  for (let n = 1; n <= maxNewTokens; n++) {
    const id = argmax(out.logits);
    hooks.onAnswerToken?.(n, id, out);
    if (id === eos.id) {
      stoppedBy = 'eos';
      break;
    }
    answerIds.push(id);
    if (n === maxNewTokens) break;
    throwIfAborted(hooks.signal);
    t0 = now();
    out = await dec.step(dec.embed([id]));
    answerMs += now() - t0;
  }
  return { answerIds, stoppedBy, prefillMs, thoughtsMs, answerMs };
}

/**
 * Positions a run may need, counted as the reference loop does: prompt (with bot) + k thoughts +
 * eot + max_new_tokens (one more than strictly fed, which keeps the check identical to PyTorch's).
 */
export function positionsNeeded(promptWithBot: number, k: number, maxNewTokens: number): number {
  return promptWithBot + k + 1 + maxNewTokens;
}
