// Dataset evaluation over several values of k: one prefill per record, an answer branched off the
// cache at each k (see sweep.ts), reference scoring, and for ProsQA records the path category.
import type { DatasetKSummary, DatasetRecordResult, DatasetResult, EvalOptions, EvalRecord, PathCategory } from '../../shared/types';
import { extractAnswer, scoreForModel } from '../answer';
import { LensError, toLensError } from '../errors';
import type { RunContext, RunOptions } from './context';
import { isCompleteGraph } from '../../shared/graph';
import { emptyCategoryCounts } from '../../shared/path-categories';
import { classifyPath } from './paths';
import { answersAtDepths, checkThoughtList } from './sweep';

// Errors that concern one record; anything else (cancel, a broken model) stops the whole run.
const PER_RECORD = new Set(['PROMPT_EMPTY', 'PROMPT_OOV', 'PROMPT_TOO_LONG', 'PROMPT_MALFORMED']);

function checkRecords(records: unknown): EvalRecord[] {
  if (!Array.isArray(records) || records.length === 0) {
    throw new LensError('PROMPT_EMPTY', 'the dataset has no records', 'give a list of records like {"question": "...", "answer": "..."}');
  }
  records.forEach((r, i) => {
    const rec = r as Partial<EvalRecord> | null;
    const where = `record ${rec && Number.isInteger(rec.index) ? rec.index : i}`;
    if (!rec || typeof rec.question !== 'string') {
      throw new LensError('PROMPT_MALFORMED', `${where} has no "question"`, 'give every record a "question" string');
    }
    if (typeof rec.answer !== 'string') {
      throw new LensError(
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
  const tok = ctx.model.tokenizer;
  const marker = m.prompt.answer_marker;
  const started = performance.now();
  const ks = checkThoughtList(options.thoughts ?? [m.thoughts.default], m.thoughts, m.name);
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
    throw new LensError(
      'BAD_OPTION',
      `limit must be a whole number ≥ 1, got ${JSON.stringify(options.limit)}`,
      'pass limit ≥ 1, or leave it out for every record',
    );
  }
  const records = checkRecords(recordsIn).slice(0, options.limit ?? Infinity);

  const results: DatasetRecordResult[] = [];
  for (const [pos, rec] of records.entries()) {
    const index = Number.isInteger(rec.index) ? rec.index! : pos;
    const graph = isCompleteGraph(rec.graph) ? rec.graph : undefined;
    const rows: DatasetRecordResult[] = [];
    const failRow = (k: number, e: LensError): DatasetRecordResult => ({
      index,
      k,
      predicted: '',
      answer: rec.answer,
      correct: false,
      error: e.message,
      errorCode: e.code,
    });
    try {
      const promptIds = ctx.encode(rec.question);
      // Each k gets its own plan check: a long prompt may fit with fewer thoughts only.
      const fits: number[] = [];
      for (const k of ks) {
        try {
          ctx.checkPlan(promptIds.length, k, maxNewTokens);
          fits.push(k);
        } catch (e) {
          const le = toLensError(e);
          if (!PER_RECORD.has(le.code)) throw le;
          rows.push(failRow(k, le));
        }
      }
      if (fits.length) {
        const run = await answersAtDepths(ctx, promptIds, fits, maxNewTokens, { signal: opts.signal });
        for (const a of run.answers) {
          const text = tok.decode(a.ids);
          const row: DatasetRecordResult = {
            index,
            k: a.k,
            predicted: extractAnswer(text, marker),
            answer: rec.answer,
            correct: scoreForModel(ctx.model, text, rec.answer),
            text,
          };
          if (graph) {
            const latentSteps = Math.floor(a.k / Math.max(1, m.thoughts.per_step));
            row.category = classifyPath(text, graph, { marker, latentSteps }).category;
          }
          rows.push(row);
        }
      }
    } catch (e) {
      const le = toLensError(e);
      if (!PER_RECORD.has(le.code)) throw le;
      for (const k of ks) if (!rows.some((r) => r.k === k)) rows.push(failRow(k, le));
    }
    rows.sort((a, b) => a.k - b.k);
    results.push(...rows);
    opts.onProgress?.({ task: 'eval', done: pos + 1, total: records.length, records: rows });
  }

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
  };
}
