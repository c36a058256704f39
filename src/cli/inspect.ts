// coconut-lens inspect: one record through the model, its thoughts decoded, optionally with
// interventions and an exported trace.
import * as path from 'node:path';
import { traceToCsv, traceToJson } from '../engine/export';
import { selectRecord, type PromptRecord } from '../prompts';
import { isCompleteGraph } from '../shared/graph';
import type { InspectResult, InterventionResult, ProsQAGraph } from '../shared/types';
import { intOption, parseArgs, strOption, usageError } from './args';
import { COMMON, loadEngine, promptFileArg, thoughtsOption, type Io } from './common';
import { checkExportTarget, writeExport } from './export-file';
import { formatInspect, formatIntervention, formatNodeValues } from './format';
import { describeIntervention } from '../shared/interventions';
import { parseInterventionSpec } from './interventions';
import { USAGE } from './usage';

export async function inspectCommand(argv: string[], io: Io): Promise<number> {
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
  const { file, name } = promptFileArg(p, 'inspect', 'FILE');
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
