// The Coconut inference loop on the exported decoder, as models/README.md "How a run uses it":
// prefill question + suffix + bot; k single-position passes feeding each thought back as
// inputs_embeds; eot; greedy answer until eos or max_new_tokens.
import { throwIfAborted } from './errors';
import { argmax } from './decode';
import type { Decoder, PassOutput } from './decoder';
import type { Manifest } from './manifest';

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
