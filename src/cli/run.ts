// The coconut-lens commands, as a function of argv and output streams (main.ts is the entry).
//   coconut-lens inspect FILE [--record N] [--model DIR] [--thoughts K] [--top-k N] [--provider P] [--json]
//                        [--intervene SPEC]... [--export FILE.json|FILE.csv [--force]]
//   coconut-lens sweep FILE [--record N] [--from K] [--to K] [--json]
//   coconut-lens eval DATASET [--model DIR] [--thoughts K | --sweep A..B] [--limit N] [--json]
// Exit codes: 0 ok, 2 bad input or usage (the LensError's message and fix are printed), 1 internal.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DatasetResult, EvalRecord, InterventionResult, ProsQAGraph } from '../shared/types';
import { isCompleteGraph } from '../shared/graph';
import { CoconutEngine } from '../engine/engine';
import { traceToCsv, traceToJson } from '../engine/export';
import { LensError, toLensError } from '../engine/errors';
import { DEFAULT_MODEL_RELATIVE } from '../engine/model-dir';
import { checkProviderSetting } from '../engine/session';
import { benchCommand } from './bench';
import type { InspectResult, ProviderSetting } from '../shared/types';
import { parsePromptFile, selectRecord, type PromptRecord } from '../prompts';
import { intOption, parseArgs, strOption, usageError, type OptionSpec, type ParsedArgs } from './args';
import { checkExportTarget, writeExport } from './export-file';
import { formatDataset, formatInspect, formatIntervention, formatNodeValues, formatSweep } from './format';
import { describeIntervention, parseInterventionSpec } from './interventions';

const USAGE = `coconut-lens: run Coconut (Chain of Continuous Thought) models and decode their thoughts

Usage:
  coconut-lens inspect FILE [--record N] [--model DIR] [--thoughts K] [--top-k N]
                            [--max-new-tokens N] [--provider P] [--threads N] [--json]
                            [--intervene SPEC]... [--export FILE.json|FILE.csv] [--force]
  coconut-lens sweep FILE [--record N] [--from K] [--to K] [--model DIR] [--max-new-tokens N]
                          [--intervene SPEC]... [--provider P] [--threads N] [--json]
  coconut-lens eval DATASET [--model DIR] [--thoughts K | --sweep A..B] [--limit N] [--provider P]
                            [--threads N] [--json]
  coconut-lens bench [--model DIR] [--provider P] [--threads N] [--runs N] [--vs-pytorch] [--growth] [--json]
                     (coconut-lens bench --help for all its options)

FILE / DATASET   a prompt file: .json (one record or an array), .jsonl (one record per line) in the
                 Coconut schema {"question", "steps", "answer", ...}, or plain text (the question)
--record N       which record of FILE to inspect, counted from 0 (default 0)
--model DIR      model folder with coconut.json (default: ${DEFAULT_MODEL_RELATIVE} in the package)
--thoughts K     number of continuous thoughts (default: the model's thoughts.default)
--top-k N        tokens listed per thought (default 10)
--max-new-tokens N  answer length limit (default: the model's generation.max_new_tokens)
--limit N        evaluate only the first N records
--sweep A..B     eval at every k from A to B (or a list: 0,2,4): accuracy per k, and for ProsQA
                 records with a graph the path categories (correct path, longer path,
                 hallucination, wrong target, correct label, incorrect label)
--from K --to K  the range of k of a sweep (default 0 to the model's thoughts.max)
--intervene SPEC change a thought before it is fed back, then rerun the rest (repeatable):
                 N:zero, N:scale=F, N:token=WORD (that token's input embedding),
                 N:vector=FILE.json (a list of n_embd numbers) or N:vector=TRACE.json#J
                 (thought J of an exported trace); thoughts are counted from 1
--export FILE    save the trace: FILE.json (schema coconut-lens/trace@1, docs/trace-schema.md)
                 or FILE.csv (one row per thought and rank); never overwrites without --force
--force          let --export overwrite an existing file
--provider P     auto | cpu | webgpu | cuda (default auto: the fastest, measured once per model and
                 machine and remembered); a provider that cannot start falls back to cpu with a notice
--threads N      onnxruntime intra-op threads
--json           machine-readable output on stdout

Exit codes: 0 success, 2 bad input or usage, 1 internal error.`;

const COMMON: Record<string, OptionSpec> = {
  model: { value: true },
  thoughts: { value: true },
  provider: { value: true },
  threads: { value: true },
  json: { value: false },
  help: { value: false },
};

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  stderrIsTTY: boolean;
}

/** The package root: where package.json names this package (dist/ or src/cli/ below it). */
export function packageRoot(start = __dirname): string {
  let dir = start;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if (JSON.parse(fs.readFileSync(pj, 'utf-8')).name === 'coconut-lens') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(start, '..');
    dir = up;
  }
}

async function loadEngine(p: ParsedArgs, io: Io): Promise<{ engine: CoconutEngine; loadMs: number }> {
  const modelOpt = strOption(p, 'model');
  const dir = modelOpt ? path.resolve(modelOpt) : path.join(packageRoot(), DEFAULT_MODEL_RELATIVE);
  const provider: ProviderSetting = checkProviderSetting(strOption(p, 'provider') ?? 'auto');
  const threads = intOption(p, 'threads', 1);
  const t0 = performance.now();
  const engine = await CoconutEngine.load(dir, { provider, threads, isDefault: !modelOpt });
  if (engine.info.providerNotice) io.err(`note: ${engine.info.providerNotice}`);
  return { engine, loadMs: performance.now() - t0 };
}

function readPromptFile(file: string | undefined, what: string): { text: string; name: string } {
  if (!file) throw usageError(`missing ${what}`, `give the path of a prompt file, e.g. coconut-lens inspect question.txt`);
  const full = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(full, 'utf-8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LensError(
      'PROMPT_EMPTY',
      code === 'ENOENT' ? `${file} does not exist` : code === 'EISDIR' ? `${file} is a folder, not a file` : `${file} cannot be read (${code})`,
      'give the path of a .json, .jsonl or .txt prompt file',
    );
  }
  return { text, name: full };
}

function thoughtsOption(p: ParsedArgs): number | undefined {
  // No lower bound here: the engine's THOUGHTS_RANGE message states the model's range.
  return intOption(p, 'thoughts', Number.MIN_SAFE_INTEGER);
}

async function inspectCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(
    argv,
    {
      ...COMMON,
      record: { value: true },
      'top-k': { value: true },
      'max-new-tokens': { value: true },
      intervene: { value: true, repeat: true },
      export: { value: true },
      force: { value: false },
    },
    'inspect',
  );
  if (p.options.has('help')) {
    io.out(USAGE);
    return 0;
  }
  if (p.positionals.length > 1) throw usageError(`inspect takes one FILE, got ${p.positionals.length}`, 'pass one prompt file');
  const { text, name } = readPromptFile(p.positionals[0], 'FILE');
  const file = parsePromptFile(text, name);
  const recordIndex = intOption(p, 'record', Number.MIN_SAFE_INTEGER) ?? 0;
  const record = selectRecord(file, recordIndex);
  if (file.records.length > 1 && !p.options.has('record') && !p.options.has('json')) {
    io.err(`note: ${path.basename(name)} has ${file.records.length} records; inspecting record 0 (choose with --record N)`);
  }
  const thoughts = thoughtsOption(p);
  const topK = intOption(p, 'top-k', 1);
  const maxNewTokens = intOption(p, 'max-new-tokens', 1);
  const interventions = (p.lists.get('intervene') ?? []).map((spec) => parseInterventionSpec(spec));
  const exportFile = strOption(p, 'export');
  const force = p.options.has('force');
  if (force && !exportFile) throw usageError('--force only applies to --export', 'add --export FILE, or leave --force out');
  // Before the model loads: a file in the way should not cost a run.
  if (exportFile) checkExportTarget(exportFile, force);
  const graph = graphOf(record);

  const { engine, loadMs } = await loadEngine(p, io);
  try {
    const req = { question: record.question, thoughts, topK, maxNewTokens, graph, ...(interventions.length ? { interventions } : {}) };
    let intervention: InterventionResult | undefined;
    let r: InspectResult;
    if (interventions.length) {
      intervention = await engine.intervene(req);
      r = intervention.intervened;
    } else {
      r = await engine.inspect(req);
    }
    const correct = record.answer !== undefined ? engine.scoreAnswer(r.answer.text, record.answer) : undefined;
    if (p.options.has('json')) {
      const j: Record<string, unknown> = inspectJson(r, record, correct, loadMs, engine.info.providerNotice);
      if (r.nodeValues) j.nodeValues = r.nodeValues;
      if (intervention) {
        j.interventions = intervention.interventions;
        j.original = { answer: { text: intervention.original.answer.text, extracted: intervention.original.answer.extracted } };
        j.divergence = intervention.divergence;
      }
      io.out(JSON.stringify(j, null, 2));
    } else {
      io.out(formatInspect(r, { record: record.index, expected: record.answer, correct, loadMs, notice: engine.info.providerNotice }));
      if (r.nodeValues) io.out('\n' + formatNodeValues(r.nodeValues));
      if (intervention) io.out('\n' + formatIntervention(intervention, interventions.map(describeIntervention)));
    }
    if (exportFile) {
      const source = intervention ?? r;
      const text = exportFile.toLowerCase().endsWith('.csv')
        ? traceToCsv(source)
        : traceToJson(source, { record: record.index, graph, exported: new Date().toISOString() });
      writeExport(exportFile, text, force);
      io.err(`exported the trace to ${exportFile}`);
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}

/** The record's ProsQA graph, when it has every field the node values need. */
function graphOf(record: PromptRecord): ProsQAGraph | undefined {
  const g = record.graph;
  if (!isCompleteGraph(g)) return undefined;
  return { idx_to_symbol: g.idx_to_symbol, edges: g.edges, root: g.root, target: g.target, neg_target: g.neg_target };
}

function inspectJson(r: InspectResult, record: PromptRecord, correct: boolean | undefined, loadMs: number, notice?: string) {
  return {
    model: r.model,
    modelDir: r.modelDir,
    provider: r.provider,
    ...(notice ? { providerNotice: notice } : {}),
    record: record.index,
    question: r.question,
    promptTokens: r.promptTokens.length,
    thoughts: r.thoughts.map((t) => ({
      index: t.index,
      topk: t.topk.map(({ token, id, p }) => ({ token, id, p })),
      nearest: t.nearest.map(({ token, id, cosine }) => ({ token, id, cosine })),
      norm: t.norm,
      entropy: t.entropy,
      lens: t.lens,
      ...(t.intervened ? { intervened: t.intervened } : {}),
    })),
    answer: {
      text: r.answer.text,
      extracted: r.answer.extracted,
      stoppedBy: r.answer.stoppedBy,
      tokens: r.answer.tokens.map(({ token, id, p }) => ({ token, id, p })),
      ...(record.answer !== undefined ? { expected: record.answer, correct } : {}),
    },
    timings: { loadMs, ...r.timings },
  };
}

async function evalCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, { ...COMMON, limit: { value: true }, sweep: { value: true }, 'max-new-tokens': { value: true } }, 'eval');
  if (p.options.has('help')) {
    io.out(USAGE);
    return 0;
  }
  if (p.positionals.length > 1) throw usageError(`eval takes one DATASET, got ${p.positionals.length}`, 'pass one dataset file');
  const { text, name } = readPromptFile(p.positionals[0], 'DATASET');
  const file = parsePromptFile(text, name);
  const limit = intOption(p, 'limit', 1);
  const records = limit !== undefined ? file.records.slice(0, limit) : file.records;
  const missing = records.find((r) => r.answer === undefined);
  if (missing) {
    throw new LensError(
      'PROMPT_MALFORMED',
      `${path.basename(name)} record ${missing.index} (line ${missing.line}) has no "answer"; eval needs an answer for every record`,
      'add "answer" to every record, or use "coconut-lens inspect" for questions without answers',
    );
  }
  const thoughtsArg = thoughtsOption(p);
  const sweepSpec = strOption(p, 'sweep');
  if (sweepSpec !== undefined) {
    if (thoughtsArg !== undefined) throw usageError('--thoughts and --sweep cannot be combined', 'use --sweep A..B for several k, or --thoughts K for one');
    return evalSweep(p, io, records, parseKList(sweepSpec));
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
        `(${(summary.accuracy * 100).toFixed(1)}%) in ${seconds.toFixed(1)} s`,
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

async function evalSweep(p: ParsedArgs, io: Io, records: PromptRecord[], ks: number[]): Promise<number> {
  const maxNewTokens = intOption(p, 'max-new-tokens', 1);
  const { engine } = await loadEngine(p, io);
  const started = performance.now();
  let result: DatasetResult;
  try {
    result = await engine.evalDataset(evalRecords(records), {
      thoughts: ks,
      maxNewTokens,
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

async function sweepCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(
    argv,
    {
      model: COMMON.model,
      provider: COMMON.provider,
      threads: COMMON.threads,
      json: COMMON.json,
      help: COMMON.help,
      record: { value: true },
      from: { value: true },
      to: { value: true },
      'max-new-tokens': { value: true },
      intervene: { value: true, repeat: true },
    },
    'sweep',
  );
  if (p.options.has('help')) {
    io.out(USAGE);
    return 0;
  }
  if (p.positionals.length > 1) throw usageError(`sweep takes one FILE, got ${p.positionals.length}`, 'pass one prompt file');
  const { text, name } = readPromptFile(p.positionals[0], 'FILE');
  const file = parsePromptFile(text, name);
  const record = selectRecord(file, intOption(p, 'record', Number.MIN_SAFE_INTEGER) ?? 0);
  const from = intOption(p, 'from', Number.MIN_SAFE_INTEGER);
  const to = intOption(p, 'to', Number.MIN_SAFE_INTEGER);
  const maxNewTokens = intOption(p, 'max-new-tokens', 1);
  const interventions = (p.lists.get('intervene') ?? []).map((spec) => parseInterventionSpec(spec));
  const { engine, loadMs } = await loadEngine(p, io);
  try {
    const r = await engine.sweep(
      { question: record.question, maxNewTokens, ...(interventions.length ? { interventions } : {}) },
      { from, to, expected: record.answer },
    );
    if (p.options.has('json')) {
      io.out(
        JSON.stringify(
          {
            model: engine.info.name,
            provider: engine.info.provider,
            record: record.index,
            ...(record.answer !== undefined ? { expected: record.answer } : {}),
            ...(interventions.length ? { interventions } : {}),
            loadMs,
            ...r,
          },
          null,
          2,
        ),
      );
    } else {
      io.out(`Model ${engine.info.name} (${engine.info.dir}) on ${engine.info.provider}, record ${record.index}`);
      if (interventions.length) io.out(`Interventions: ${interventions.map(describeIntervention).join('; ')}`);
      io.out(formatSweep(r, record.answer));
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}

function progress(io: Io, done: number, total: number, correct: number, ms: number): void {
  const line = `[${done}/${total}] ${correct} correct (${((correct / done) * 100).toFixed(1)}%), ${(ms / done).toFixed(0)} ms/record`;
  if (io.stderrIsTTY) {
    process.stderr.write(`\r${line}`);
  } else if (done === total || done % Math.max(1, Math.ceil(total / 20)) === 0) {
    io.err(line);
  }
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  try {
    switch (command) {
      case 'inspect':
        return await inspectCommand(rest, io);
      case 'eval':
        return await evalCommand(rest, io);
      case 'sweep':
        return await sweepCommand(rest, io);
      case 'bench':
        return await benchCommand(rest, io, packageRoot());
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw usageError(`unknown command ${JSON.stringify(command)}`, 'use "coconut-lens inspect FILE", "coconut-lens sweep FILE" or "coconut-lens eval DATASET"');
    }
  } catch (e) {
    const le = toLensError(e);
    io.err(`error: ${le.message}`);
    io.err(`fix: ${le.fix}`);
    if (le.code === 'INTERNAL' && e instanceof Error && e.stack && process.env.COCONUT_LENS_DEBUG) io.err(e.stack);
    if (json) io.out(JSON.stringify({ error: le.toJSON() }, null, 2));
    return le.code === 'INTERNAL' ? 1 : 2;
  }
}
