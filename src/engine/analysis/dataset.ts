// Dataset evaluation over several values of k: one prefill per record, an answer branched off the
// cache at each k (see sweep.ts), reference scoring, and for ProsQA records the path category.
import type { DatasetKSummary, DatasetRecordResult, DatasetResult, EvalOptions, EvalRecord, PathCategory, ProsQAGraph } from '../../shared/types';
import { extractAnswer, scoreForModel } from '../answer';
import { EngineError, throwIfAborted, toLensError } from '../errors';
import type { RunContext, RunOptions } from './context';
import { isCompleteGraph } from '../../shared/graph';
import { emptyCategoryCounts } from '../../shared/path-categories';
import { classifyPath } from './paths';
import { answersAtDepths, checkThoughtList } from './sweep';

// Errors that concern one record; anything else (cancel, a broken model) stops the whole run.
const PER_RECORD = new Set(['PROMPT_EMPTY', 'PROMPT_OOV', 'PROMPT_TOO_LONG', 'PROMPT_MALFORMED']);

function checkRecords(records: unknown): EvalRecord[] {
  if (!Array.isArray(records) || records.length === 0) {
    throw new EngineError('PROMPT_EMPTY', 'the dataset has no records', 'give a list of records like {"question": "...", "answer": "..."}');
  }
  records.forEach((r, i) => {
    const rec = r as Partial<EvalRecord> | null;
    const where = `record ${rec && Number.isInteger(rec.index) ? rec.index : i}`;
    if (!rec || typeof rec.question !== 'string') {
      throw new EngineError('PROMPT_MALFORMED', `${where} has no "question"`, 'give every record a "question" string');
    }
    if (typeof rec.answer !== 'string') {
      throw new EngineError(
        'PROMPT_MALFORMED',
        `${where} has no "answer"; eval needs an answer for every record`,
        'add "answer" to every record, or inspect questions without answers',
      );
    }
  });
  return records as EvalRecord[];
}

export async function runEvalDataset(
  ctx: RunContext,
  recordsIn: EvalRecord[],
  options: EvalOptions,
  maxNewTokens: number,
  opts: RunOptions,
): Promise<DatasetResult> {
  const m = ctx.model.manifest;
  const started = performance.now();
  const ks = checkThoughtList(options.thoughts ?? [m.thoughts.default], m.thoughts, m.name);
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
    throw new EngineError(
      'BAD_OPTION',
      `limit must be a whole number ≥ 1, got ${JSON.stringify(options.limit)}`,
      'pass limit ≥ 1, or leave it out for every record',
    );
  }
  const records = checkRecords(recordsIn).slice(0, options.limit ?? Infinity);

  const given = checkBatchSize(options.batchSize);
  const prepared = records.map((rec, pos) => prepare(ctx, rec, pos, ks, maxNewTokens));
  let done = 0;
  const finish = (p: Prepared) => {
    p.rows.sort((a, b) => a.k - b.k);
    done++;
    opts.onProgress?.({ task: 'eval', done, total: records.length, records: p.rows });
    // A cancel seen in a progress callback stops the run, as it did between records.
    if (done < records.length) throwIfAborted(opts.signal);
  };
  // Records that fit every k run in batches of similar prompt lengths (less padding); the rest
  // (a prompt too long for the larger k, one that could not be encoded) one by one, in order.
  const batchable = given !== 1 ? prepared.filter((p) => p.promptIds && p.fits.length === ks.length) : [];
  batchable.sort((a, b) => a.promptIds!.length - b.promptIds!.length);
  // One runner for the run: a decoder whose buffers grow to the largest batch and serve every
  // batch, or the engine's lanes (batch-lanes.ts). Only asked for when there is a batch: it may
  // start a second session or the lanes' threads.
  const runner = batchable.length > 0 ? await ctx.batches() : undefined;
  const longest = batchable.length > 0 ? batchable[batchable.length - 1].promptIds!.length + 1 : 0;
  const batchSize =
    given ?? (runner ? laneBatchSize(defaultBatchSize(runner.bytesPerRow(longest, ks[ks.length - 1] + maxNewTokens)), batchable.length, runner.lanes) : 1);
  const batches: Prepared[][] = [];
  for (let from = 0; from < batchable.length; from += batchSize) batches.push(batchable.slice(from, from + batchSize));
  if (runner) {
    await eachAtOnce(batches, runner.lanes, async (batch) => {
      const answers = await runner.answers(
        batch.map((p) => p.promptIds!),
        ks,
        maxNewTokens,
        opts.signal,
      );
      batch.forEach((p, b) => {
        p.rows.push(...answers.map((a) => answerRow(ctx, p, a.k, a.ids[b])));
        finish(p);
      });
    });
  }
  const inBatch = new Set(batchable);
  for (const p of prepared) {
    if (inBatch.has(p)) continue;
    if (p.promptIds && p.fits.length) {
      const run = await answersAtDepths(ctx, p.promptIds, p.fits, maxNewTokens, { signal: opts.signal });
      p.rows.push(...run.answers.map((a) => answerRow(ctx, p, a.k, a.ids)));
    }
    finish(p);
  }
  const results = prepared.flatMap((p) => p.rows);

  const withGraph = records.some((r) => isCompleteGraph(r.graph));
  const perK: DatasetKSummary[] = ks.map((k) => {
    const rows = results.filter((r) => r.k === k);
    const correct = rows.filter((r) => r.correct).length;
    const summary: DatasetKSummary = { k, n: rows.length, correct, accuracy: rows.length ? correct / rows.length : 0 };
    const failed = rows.filter((r) => r.error !== undefined).length;
    if (failed) summary.failed = failed;
    if (withGraph) {
      const counts: Record<PathCategory, number> = emptyCategoryCounts();
      for (const r of rows) if (r.category) counts[r.category]++;
      summary.categories = counts;
    }
    return summary;
  });
  return {
    model: m.name,
    provider: '',
    perK,
    records: results,
    seconds: (performance.now() - started) / 1000,
    thoughts: ks,
    batchRows: batchable.length > 0 ? batchSize : 1,
  };
}

/** The most rows a batch gets when none is given, and what their cache buffers may take then. */
export const DEFAULT_BATCH_ROWS = 16;
export const DEFAULT_BATCH_BUFFER_BYTES = 256 * 1024 * 1024;

/**
 * Rows per batch when none is given: 16, or fewer where 16 rows' cache buffers would pass 256 MB.
 * More rows share more of each batched pass (kernels and weights read once for all rows), up to
 * ~16: shipped model, official set, Intel machine, best of 3 in one process, one k 1.21 / 1.09 /
 * 1.15 s at 8 / 16 / 32 rows; a random 6 × 512 model, 160 official records, 21.6 / 19.1 s at 8 /
 * 16 rows. A row's buffers grow with the model and the records (BatchDecoder.bytesPerRow): ~9 MB on
 * 6 × 512 with ProsQA prompts, ~30 MB for a GPT-2-small-sized import, ~80 MB for GPT-2 medium, so
 * the budget, not a fixed count, keeps an imported checkpoint's evaluation from taking gigabytes.
 */
export function defaultBatchSize(rowBytes: number): number {
  return Math.max(1, Math.min(DEFAULT_BATCH_ROWS, Math.floor(DEFAULT_BATCH_BUFFER_BYTES / Math.max(1, rowBytes))));
}

/** Fewer rows per batch where that gives every lane a batch: 20 records in 2 lanes run as 10 + 10, not 16 + 4. */
export function laneBatchSize(rows: number, records: number, lanes: number): number {
  return lanes > 1 ? Math.max(1, Math.min(rows, Math.ceil(records / lanes))) : rows;
}

/**
 * `run` on every item, at most `n` at once, in order of start. After a failure no more start; the
 * first error is thrown once the ones running have ended (a lane is never left mid-batch).
 */
async function eachAtOnce<T>(items: T[], n: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try {
        await run(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (failure) throw failure.error;
}

/** The rows per batch given, checked; undefined when none was (the default depends on the records). */
function checkBatchSize(n: unknown): number | undefined {
  if (n === undefined) return undefined;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1024) {
    throw new EngineError(
      'BAD_OPTION',
      `batch size must be a whole number from 1 to 1024, got ${JSON.stringify(n)}`,
      `pass e.g. ${DEFAULT_BATCH_ROWS}, or 1 to run record by record`,
    );
  }
  return n;
}

/** A record made ready to run: its prompt ids, the values of k it fits, and rows for those it does not. */
interface Prepared {
  index: number;
  rec: EvalRecord;
  graph?: ProsQAGraph;
  promptIds?: number[];
  fits: number[];
  rows: DatasetRecordResult[];
}

function prepare(ctx: RunContext, rec: EvalRecord, pos: number, ks: number[], maxNewTokens: number): Prepared {
  const index = Number.isInteger(rec.index) ? rec.index! : pos;
  const p: Prepared = { index, rec, graph: isCompleteGraph(rec.graph) ? rec.graph : undefined, fits: [], rows: [] };
  const failRow = (k: number, e: EngineError): DatasetRecordResult => ({
    index,
    k,
    predicted: '',
    answer: rec.answer,
    correct: false,
    error: e.message,
    errorCode: e.code,
  });
  try {
    p.promptIds = ctx.encode(rec.question);
  } catch (e) {
    const le = toLensError(e);
    if (!PER_RECORD.has(le.code)) throw le;
    p.rows.push(...ks.map((k) => failRow(k, le)));
    return p;
  }
  // Each k gets its own plan check: a long prompt may fit with fewer thoughts only.
  for (const k of ks) {
    try {
      ctx.checkPlan(p.promptIds.length, k, maxNewTokens);
      p.fits.push(k);
    } catch (e) {
      const le = toLensError(e);
      if (!PER_RECORD.has(le.code)) throw le;
      p.rows.push(failRow(k, le));
    }
  }
  return p;
}

function answerRow(ctx: RunContext, p: Prepared, k: number, ids: number[]): DatasetRecordResult {
  const m = ctx.model.manifest;
  const marker = m.prompt.answer_marker;
  const text = ctx.model.tokenizer.decode(ids);
  const row: DatasetRecordResult = {
    index: p.index,
    k,
    predicted: extractAnswer(text, marker),
    answer: p.rec.answer,
    correct: scoreForModel(ctx.model, text, p.rec.answer),
    text,
  };
  if (p.graph) {
    const latentSteps = Math.floor(k / Math.max(1, m.thoughts.per_step));
    row.category = classifyPath(text, p.graph, { marker, latentSteps }).category;
  }
  return row;
}
