// coconut-lens eval: accuracy over a dataset at one k, or at several (--sweep) with the ProsQA path
// categories. Both run the engine's dataset evaluation; this file only shapes what it prints.
import * as path from 'node:path';
import { EngineError } from '../engine/errors';
import type { PromptRecord } from '../prompts';
import type { DatasetResult, EvalRecord } from '../shared/types';
import { intOption, parseArgs, strOption, usageError, type ParsedArgs } from './args';
import { COMMON, loadEngine, progress, promptFileArg, thoughtsOption, type Io } from './common';
import { formatDataset } from './format';
import { USAGE } from './usage';

export async function evalCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, { ...COMMON, limit: { value: true }, batch: { value: true }, sweep: { value: true }, 'max-new-tokens': { value: true } }, 'eval');
  if (p.options.has('help')) {
    io.out(USAGE);
    return 0;
  }
  const { file, name } = promptFileArg(p, 'eval', 'DATASET');
  const limit = intOption(p, 'limit', 1);
  const batchSize = intOption(p, 'batch', 1);
  const records = limit !== undefined ? file.records.slice(0, limit) : file.records;
  const missing = records.find((r) => r.answer === undefined);
  if (missing) {
    throw new EngineError(
      'PROMPT_MALFORMED',
      `${path.basename(name)} record ${missing.index} (line ${missing.line}) has no "answer"; eval needs an answer for every record`,
      'add "answer" to every record, or use "coconut-lens inspect" for questions without answers',
    );
  }
  const thoughtsArg = thoughtsOption(p);
  const sweepSpec = strOption(p, 'sweep');
  if (sweepSpec !== undefined) {
    if (thoughtsArg !== undefined) throw usageError('--thoughts and --sweep cannot be combined', 'use --sweep A..B for several k, or --thoughts K for one');
    return evalSweep(p, io, records, parseKList(sweepSpec), batchSize);
  }
  if (p.options.has('max-new-tokens')) throw usageError('--max-new-tokens applies to eval --sweep only', 'add --sweep A..B, or leave it out');
  const { engine } = await loadEngine(p, io);
  const thoughts = thoughtsArg ?? engine.info.thoughts.default;
  const started = performance.now();
  let correctSoFar = 0;
  let result: DatasetResult;
  try {
    result = await engine.evalDataset(evalRecords(records), {
      thoughts: [thoughts],
      batchSize,
      onProgress: (pr) => {
        if (pr.task !== 'eval') return;
        correctSoFar += pr.records?.filter((r) => r.correct).length ?? 0;
        progress(io, pr.done, pr.total, correctSoFar, performance.now() - started);
      },
    });
    // Every record failed alike (an unknown word in each, a model that cannot run them): running the
    // first one again raises its error with the fix, as a single inspect would.
    if (result.records.length > 0 && result.records.every((r) => r.error !== undefined)) {
      const first = records.find((r) => r.index === result.records[0]?.index) ?? records[0];
      await engine.inspect({ question: first.question, thoughts, topK: 1, lens: false });
    }
  } finally {
    await engine.dispose();
  }
  if (io.stderrIsTTY) io.err('');
  const rows = result.records.map((r) => ({
    index: r.index,
    predicted: r.error === undefined ? r.predicted : null,
    answer: r.answer,
    correct: r.correct,
    ...(r.error !== undefined ? { error: { code: r.errorCode ?? 'INTERNAL', message: r.error } } : {}),
  }));
  const correct = rows.filter((r) => r.correct).length;
  const failed = rows.filter((r) => r.error).length;
  const firstError = rows.find((r) => r.error)?.error;
  const seconds = (performance.now() - started) / 1000;
  const summary = {
    n: rows.length,
    correct,
    accuracy: rows.length ? correct / rows.length : 0,
    thoughts,
    model: engine.info.name,
    provider: engine.info.provider,
    seconds,
    ...(failed ? { failed } : {}),
    records: rows,
  };
  if (p.options.has('json')) {
    io.out(JSON.stringify(summary, null, 2));
  } else {
    io.out(
      `${engine.info.name} on ${engine.info.provider}, k=${thoughts}: ${correct}/${rows.length} correct ` +
        `(${(summary.accuracy * 100).toFixed(1)}%) in ${seconds.toFixed(1)} s` +
        ((result.batchRows ?? 1) > 1 ? `, batches of ${result.batchRows}${engine.info.batchLanes ? ` in ${engine.info.batchLanes} lanes` : ''}` : ''),
    );
    if (failed) io.out(`${failed} record(s) could not be run; first: ${firstError!.message}`);
  }
  return 0;
}

/** Prompt records (every one with an answer, checked before) as the engine evaluates them. */
function evalRecords(records: PromptRecord[]): EvalRecord[] {
  return records.map((r) => ({ index: r.index, question: r.question, answer: r.answer!, ...(r.graph ? { graph: r.graph } : {}) }));
}

/** "0..6", "3", "0,2,4" → the list of k (range checks are the engine's). */
export function parseKList(spec: string): number[] {
  const range = /^\s*(\d+)\s*\.\.\s*(\d+)\s*$/.exec(spec);
  if (range) {
    const a = Number(range[1]);
    const b = Number(range[2]);
    if (a > b) throw usageError(`--sweep ${spec}: the range goes down`, `write A..B with A ≤ B, e.g. 0..6`);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  if (/^\s*\d+(\s*,\s*\d+)*\s*$/.test(spec)) return spec.split(',').map((x) => Number(x.trim()));
  throw usageError(`--sweep ${JSON.stringify(spec)} is not a range or list of k`, 'write e.g. --sweep 0..6 or --sweep 0,2,4');
}

async function evalSweep(p: ParsedArgs, io: Io, records: PromptRecord[], ks: number[], batchSize: number | undefined): Promise<number> {
  const maxNewTokens = intOption(p, 'max-new-tokens', 1);
  const { engine } = await loadEngine(p, io);
  const started = performance.now();
  let result: DatasetResult;
  try {
    result = await engine.evalDataset(evalRecords(records), {
      thoughts: ks,
      maxNewTokens,
      batchSize,
      onProgress: (pr) => {
        if (pr.task !== 'eval') return;
        const line = `[${pr.done}/${pr.total}] records, ${((performance.now() - started) / pr.done).toFixed(0)} ms/record`;
        if (io.stderrIsTTY) process.stderr.write(`\r${line}`);
        else if (pr.done === pr.total || pr.done % Math.max(1, Math.ceil(pr.total / 20)) === 0) io.err(line);
      },
    });
  } finally {
    await engine.dispose();
  }
  if (io.stderrIsTTY) io.err('');
  io.out(p.options.has('json') ? JSON.stringify(result, null, 2) : formatDataset(result));
  return 0;
}
