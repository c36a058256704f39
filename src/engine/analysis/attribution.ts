// Attribution by ablation: zero each thought in turn, teacher-force the original answer to get the
// change in its log-probability, and decode greedily to see whether the answer changes. Each
// ablation branches from the cached prefix before its thought, and the greedy check reuses the
// teacher-forced passes up to the first token where the argmax leaves the original answer.
import type { AttributionEntry } from '../../shared/types';
import { argmax } from '../decode';
import { greedyFrom } from '../coconut';
import type { Decoder, DecoderState, PassOutput } from '../decoder';
import { throwIfAborted } from '../errors';
import { extractAnswer } from '../answer';
import { feedWith, type RunContext, type RunOptions } from './context';
import { logProbAt, type ResolvedIntervention } from './interventions';

interface Forced {
  logProb: number;
  ids: number[];
  stoppedBy: 'eos' | 'max_new_tokens';
}

/**
 * From `out` (the outputs of eot), scores `answer` teacher-forced and finds the greedy answer.
 * Greedy decoding follows the forced tokens while the argmax agrees; at the first disagreement it
 * branches from the cache there and decodes on its own.
 */
async function forceAndDecode(
  dec: Decoder,
  out: PassOutput,
  answer: { ids: number[]; stoppedBy: 'eos' | 'max_new_tokens' },
  eosId: number,
  maxNewTokens: number,
  signal?: AbortSignal,
): Promise<Forced> {
  const ids = answer.ids;
  let logProb = 0;
  let diverged: { at: number; state: DecoderState; out: PassOutput } | undefined;
  let cur = out;
  for (let n = 0; n < ids.length; n++) {
    logProb += logProbAt(cur.logits, ids[n]);
    if (!diverged && argmax(cur.logits) !== ids[n]) diverged = { at: n, state: dec.snapshot(), out: cur };
    // The last token is fed only to see whether greedy decoding would stop there, as the original did.
    const last = n === ids.length - 1;
    if (!last || (answer.stoppedBy === 'eos' && !diverged)) {
      throwIfAborted(signal);
      cur = await dec.step(dec.embed([ids[n]]));
    }
  }
  if (!diverged && answer.stoppedBy === 'eos' && argmax(cur.logits) !== eosId) {
    diverged = { at: ids.length, state: dec.snapshot(), out: cur };
  }
  if (!diverged) return { logProb, ids: [...ids], stoppedBy: answer.stoppedBy };
  dec.restore(diverged.state);
  const g = await greedyFrom(dec, diverged.out, eosId, maxNewTokens, { signal, prefix: ids.slice(0, diverged.at) });
  return { logProb, ids: g.ids, stoppedBy: g.stoppedBy };
}

export async function runAttribution(
  ctx: RunContext,
  promptIds: number[],
  k: number,
  maxNewTokens: number,
  baseline: Map<number, ResolvedIntervention>,
  opts: RunOptions,
): Promise<AttributionEntry[]> {
  const { dec } = ctx;
  const m = ctx.model.manifest;
  const tok = ctx.model.tokenizer;
  const { bot, eot, eos } = m.special_tokens;
  const feed = feedWith(ctx, baseline);
  const D = m.architecture.n_embd;

  dec.reset();
  throwIfAborted(opts.signal);
  let out = await dec.step(dec.embed([...promptIds, bot.id]));
  // before[j-1]: the cache holding bot and thoughts 1..j-1, where thought j is about to be fed.
  const before: DecoderState[] = [];
  for (let j = 1; j <= k; j++) {
    before.push(dec.snapshot());
    throwIfAborted(opts.signal);
    out = await dec.step(feed(j, out));
  }
  throwIfAborted(opts.signal);
  const logProbs: number[] = [];
  const base = await greedyFrom(dec, await dec.step(dec.embed([eot.id])), eos.id, maxNewTokens, {
    signal: opts.signal,
    onToken: (_n, id, o) => {
      if (id !== eos.id) logProbs.push(logProbAt(o.logits, id));
    },
  });
  const baseLogProb = logProbs.reduce((s, x) => s + x, 0);
  const marker = m.prompt.answer_marker;

  const entries: AttributionEntry[] = [];
  for (let i = 1; i <= k; i++) {
    dec.restore(before[i - 1]);
    throwIfAborted(opts.signal);
    let o = await dec.step(new Float32Array(D));
    for (let j = i + 1; j <= k; j++) {
      throwIfAborted(opts.signal);
      o = await dec.step(feed(j, o));
    }
    throwIfAborted(opts.signal);
    o = await dec.step(dec.embed([eot.id]));
    const forced = await forceAndDecode(dec, o, base, eos.id, maxNewTokens, opts.signal);
    const text = tok.decode(forced.ids);
    const changed = forced.stoppedBy !== base.stoppedBy || forced.ids.length !== base.ids.length || forced.ids.some((id, n) => id !== base.ids[n]);
    const entry: AttributionEntry = {
      thought: i,
      ablated: 'zero',
      baseLogProb,
      ablatedLogProb: forced.logProb,
      delta: forced.logProb - baseLogProb,
      answerChanged: changed,
      ablatedAnswer: text,
      ablatedExtracted: extractAnswer(text, marker),
    };
    entries.push(entry);
    opts.onProgress?.({ task: 'attribution', done: i, total: k, entry });
  }
  return entries;
}
