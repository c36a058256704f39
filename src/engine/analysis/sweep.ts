// The k sweep: answers with k = from..to thoughts from one main line. The prefix up to thought k
// is the same for every larger k, so instead of rerunning it per k the loop branches off the
// cache after each thought: feed eot, decode greedily, return to the snapshot, feed the next
// thought. Passes drop from Σ(1 + k + answer) to 1 + to + Σ answer.
import type { SweepOptions, SweepPoint, SweepResult, TokenProb } from '../../shared/types';
import { greedyFrom } from '../coconut';
import type { PassOutput } from '../decoder';
import { EngineError, throwIfAborted } from '../errors';
import { scoreForModel, extractAnswer } from '../answer';
import { feedWith, type RunContext, type RunOptions } from './context';
import { logProbAt, resolveInterventions } from './interventions';

export interface BranchAnswer {
  k: number;
  ids: number[];
  logProbs: number[]; // per answer token (eos excluded)
  stoppedBy: 'eos' | 'max_new_tokens';
  passes: number; // eot + greedy passes of this branch
}

export interface BranchRun {
  answers: BranchAnswer[];
  passes: number;
  /** Passes that separate runs for each k would have needed. */
  naivePasses: number;
}

/**
 * Runs the main line to max(ks) thoughts and branches an answer off at each k in `ks` (ascending,
 * distinct). `feed` replaces thoughts (interventions); `onAnswer` sees each branch as it ends.
 */
export async function answersAtDepths(
  ctx: RunContext,
  promptIds: number[],
  ks: number[],
  maxNewTokens: number,
  opts: { signal?: AbortSignal; feed?: (j: number, out: PassOutput) => Float32Array; onAnswer?: (a: BranchAnswer) => void } = {},
): Promise<BranchRun> {
  const { dec } = ctx;
  const { bot, eot, eos } = ctx.model.manifest.special_tokens;
  dec.reset();
  throwIfAborted(opts.signal);
  let out = await dec.step(dec.embed([...promptIds, bot.id]));
  let passes = 1;
  let naivePasses = 0;
  const answers: BranchAnswer[] = [];
  await atEachDepth(
    ks,
    async (t) => {
      const state = dec.snapshot();
      throwIfAborted(opts.signal);
      const first = await dec.step(dec.embed([eot.id]));
      const logProbs: number[] = [];
      const g = await greedyFrom(dec, first, eos.id, maxNewTokens, {
        signal: opts.signal,
        onToken: (_n, id, o) => {
          if (id !== eos.id) logProbs.push(logProbAt(o.logits, id));
        },
      });
      dec.restore(state);
      const a: BranchAnswer = { k: t, ids: g.ids, logProbs, stoppedBy: g.stoppedBy, passes: 1 + g.passes };
      passes += a.passes;
      naivePasses += 1 + t + a.passes;
      answers.push(a);
      opts.onAnswer?.(a);
    },
    async (from, to) => {
      throwIfAborted(opts.signal);
      if (!opts.feed && dec.oneCallReady) {
        // nothing intervenes: the stretch of thoughts in one call (models/README.md)
        const outs = await dec.thoughts(out.lastHidden, to - from);
        out = outs[outs.length - 1];
        passes += to - from;
        return;
      }
      for (let t = from; t < to; t++) {
        throwIfAborted(opts.signal);
        out = await dec.step(opts.feed ? opts.feed(t + 1, out) : out.lastHidden);
        passes++;
      }
    },
  );
  return { answers, passes, naivePasses };
}

/**
 * The schedule of a run that answers at several depths from one main line: `branch(t)` at each t
 * in `ks` (ascending, distinct), and between them `advance(from, to)` feeds thoughts from + 1..to,
 * so a stretch without a branch can run in one decoder call.
 */
export async function atEachDepth(ks: number[], branch: (t: number) => Promise<void>, advance: (from: number, to: number) => Promise<void>): Promise<void> {
  let at = 0;
  for (const k of ks) {
    if (k > at) await advance(at, k);
    at = k;
    await branch(k);
  }
}

/** Sorted distinct values of k, each checked against the model's range. */
/** THOUGHTS_RANGE for one number of thoughts, as inspect and a single-k eval report it. */
export function thoughtsRangeError(k: unknown, name: string, thoughts: { max: number; default: number }): EngineError {
  return new EngineError(
    'THOUGHTS_RANGE',
    `${typeof k === 'number' ? k : JSON.stringify(k)} thoughts is out of range: ${name} allows 0 to ${thoughts.max} continuous thoughts`,
    `choose a number of thoughts between 0 and ${thoughts.max} (the model's default is ${thoughts.default})`,
  );
}

export function checkThoughtList(ks: unknown, thoughts: { max: number; default: number }, name: string): number[] {
  const max = thoughts.max;
  if (!Array.isArray(ks) || ks.length === 0) {
    throw new EngineError('BAD_OPTION', 'thoughts must be a non-empty list of numbers of thoughts', `pass e.g. [0, 1, 2] (0 to ${max})`);
  }
  const inRange = (k: unknown) => typeof k === 'number' && Number.isInteger(k) && k >= 0 && k <= max;
  // One k is the eval of a single depth: the same error as inspect gives for it.
  if (ks.length === 1 && !inRange(ks[0])) throw thoughtsRangeError(ks[0], name, thoughts);
  for (const k of ks) {
    if (!inRange(k)) {
      throw new EngineError(
        'THOUGHTS_RANGE',
        `${JSON.stringify(k)} thoughts is out of range: ${name} allows 0 to ${max} continuous thoughts`,
        `choose numbers of thoughts between 0 and ${max}`,
      );
    }
  }
  return [...new Set(ks as number[])].sort((a, b) => a - b);
}

export async function runSweep(
  ctx: RunContext,
  question: string,
  req: { interventions?: unknown; maxNewTokens: number },
  sweep: SweepOptions,
  opts: RunOptions,
): Promise<SweepResult> {
  const m = ctx.model.manifest;
  const tok = ctx.model.tokenizer;
  const started = performance.now();
  const max = m.thoughts.max;
  const from = sweep.from ?? 0;
  const to = sweep.to ?? max;
  for (const [name, v] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new EngineError(
        'THOUGHTS_RANGE',
        `sweep ${name} = ${JSON.stringify(v)} is out of range: ${m.name} allows 0 to ${max} continuous thoughts`,
        `sweep k from 0 to at most ${max}`,
      );
    }
  }
  if (from > to) {
    throw new EngineError('BAD_OPTION', `the sweep goes from ${from} to ${to}: "from" is larger than "to"`, 'give from ≤ to, e.g. from 0 to 6');
  }
  if (sweep.expected !== undefined && typeof sweep.expected !== 'string') {
    throw new EngineError('BAD_OPTION', 'the expected answer must be text', 'pass expected as a string, e.g. "Tom is a lempus."');
  }
  const promptIds = ctx.encode(question);
  ctx.checkPlan(promptIds.length, to, req.maxNewTokens);
  const interventions = resolveInterventions(req.interventions, {
    k: to,
    D: m.architecture.n_embd,
    tokenizer: tok,
    probe: ctx.model.probe,
  });
  const ks = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const points: SweepPoint[] = [];
  const run = await answersAtDepths(ctx, promptIds, ks, req.maxNewTokens, {
    signal: opts.signal,
    feed: interventions.size ? feedWith(ctx, interventions) : undefined,
    onAnswer: (a) => {
      const point = toPoint(ctx, a, sweep.expected);
      points.push(point);
      opts.onProgress?.({ task: 'sweep', done: points.length, total: ks.length, point });
    },
  });
  return { question, points, passes: run.passes, naivePasses: run.naivePasses, totalMs: performance.now() - started };
}

function toPoint(ctx: RunContext, a: BranchAnswer, expected: string | undefined): SweepPoint {
  const tok = ctx.model.tokenizer;
  const marker = ctx.model.manifest.prompt.answer_marker;
  const text = tok.decode(a.ids);
  const answerLogProb = a.logProbs.reduce((s, x) => s + x, 0);
  const tokens: TokenProb[] = a.ids.map((id, i) => ({ token: tok.tokenOf(id), id, p: Math.exp(a.logProbs[i]) }));
  const point: SweepPoint = {
    k: a.k,
    answerText: text,
    extracted: extractAnswer(text, marker),
    answerLogProb,
    answerProb: Math.exp(answerLogProb),
    tokens,
    stoppedBy: a.stoppedBy,
  };
  if (expected !== undefined) point.correct = scoreForModel(ctx.model, text, expected);
  return point;
}
