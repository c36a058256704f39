// The k-branching of sweep.ts (answersAtDepths) for a batch of prompts at once: one prefill, one
// pass per thought and one per answer token for the whole batch, so a dataset evaluation pays the
// fixed cost of a decoder call once per batch instead of once per record.
import { argmax } from '../decode';
import type { BatchDecoder, BatchPass } from '../batch-decoder';
import { throwIfAborted, type Cancellation } from '../errors';
import type { Manifest } from '../manifest';
import type { BatchAnswer, BatchRunner } from './batch-runner';
import { atEachDepth } from './sweep';

/**
 * `prompts`: question + suffix ids per row (without bot). `ks` ascending and distinct; every row
 * must fit the plan of max(ks) thoughts (the caller checks). Thoughts are each row's own
 * last_hidden_state, fed back; no interventions.
 */
export async function batchAnswersAtDepths(
  dec: BatchDecoder,
  m: Manifest,
  prompts: number[][],
  ks: number[],
  maxNewTokens: number,
  signal?: Cancellation,
): Promise<BatchAnswer[]> {
  const { bot, eot, eos } = m.special_tokens;
  throwIfAborted(signal);
  const maxK = ks.length ? ks[ks.length - 1] : 0;
  // room after the prompt: the thoughts, eot, and the answer tokens but the last (never fed)
  let out = await dec.start(
    prompts.map((p) => [...p, bot.id]),
    maxK + maxNewTokens,
    signal,
  );
  const answers: BatchAnswer[] = [];
  await atEachDepth(
    ks,
    async (t) => {
      const state = dec.snapshot();
      throwIfAborted(signal);
      const first = await dec.step(dec.embed(new Array(dec.rows).fill(eot.id)));
      answers.push({ k: t, ...(await greedyBatch(dec, first, eos.id, maxNewTokens, signal)) });
      dec.restore(state);
    },
    async (from, to) => {
      for (let t = from; t < to; t++) {
        throwIfAborted(signal);
        out = await dec.step(out.lastHidden);
      }
    },
  );
  return answers;
}

/** Batches one at a time on `dec`, on the calling thread (the engine's session, or a GPU's). */
export function decoderBatches(dec: BatchDecoder, m: Manifest): BatchRunner {
  return {
    lanes: 1,
    bytesPerRow: (prompt, after) => dec.bytesPerRow(prompt, after),
    answers: (prompts, ks, maxNewTokens, signal) => batchAnswersAtDepths(dec, m, prompts, ks, maxNewTokens, signal),
  };
}

/** Greedy decoding per row until every row has emitted eos or maxNewTokens tokens. */
async function greedyBatch(dec: BatchDecoder, out: BatchPass, eosId: number, maxNewTokens: number, signal?: Cancellation) {
  const B = out.rows;
  const V = out.logits.length / B;
  const ids: number[][] = Array.from({ length: B }, () => []);
  const stoppedBy: ('eos' | 'max_new_tokens')[] = new Array(B).fill('max_new_tokens');
  const done = new Array<boolean>(B).fill(false);
  for (let n = 1; n <= maxNewTokens; n++) {
    // A finished row is fed eos and its outputs ignored: the batch keeps its shape.
    const fed: number[] = [];
    for (let b = 0; b < B; b++) {
      if (done[b]) {
        fed.push(eosId);
        continue;
      }
      const id = argmax(out.logits.subarray(b * V, (b + 1) * V));
      if (id === eosId) {
        done[b] = true;
        stoppedBy[b] = 'eos';
      } else {
        ids[b].push(id);
        if (n === maxNewTokens) done[b] = true;
      }
      fed.push(id);
    }
    if (done.every(Boolean)) break;
    throwIfAborted(signal);
    out = await dec.step(dec.embed(fed));
  }
  return { ids, stoppedBy };
}
