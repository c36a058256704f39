// The trace export formats (docs/trace-schema.md): JSON with a schema tag, and CSV of the thought
// distributions. Pure functions of a result; writing files is the caller's job (CLI, extension).
import type { AttributionEntry, InspectResult, InterventionResult, ProsQAGraph, SweepResult } from '../shared/types';
import { EngineError } from './errors';

export const TRACE_SCHEMA = 'coconut-lens/trace@1';

/** Analyses run on the same prompt, stored next to the trace. */
export interface TraceExtras {
  sweep?: SweepResult;
  attribution?: AttributionEntry[];
  graph?: ProsQAGraph;
  /** Index of the record in its prompt file. */
  record?: number;
  /** When the trace was made (ISO 8601); left out unless given, so the output stays a function of the input. */
  exported?: string;
}

export type TraceSource = InspectResult | InterventionResult;

export function isInterventionResult(r: TraceSource): r is InterventionResult {
  return (r as InterventionResult).intervened !== undefined && (r as InterventionResult).original !== undefined;
}

/** The trace document as an object (what traceToJson serializes). */
export function buildTrace(result: TraceSource, extras: TraceExtras = {}): Record<string, unknown> {
  const run = isInterventionResult(result) ? result.intervened : result;
  const doc: Record<string, unknown> = { schema: TRACE_SCHEMA };
  if (extras.exported !== undefined) doc.exported = extras.exported;
  Object.assign(doc, {
    model: run.model,
    modelDir: run.modelDir,
    provider: run.provider,
    ...(extras.record !== undefined ? { record: extras.record } : {}),
    question: run.question,
    promptTokens: run.promptTokens,
    thoughtsRequested: run.thoughtsRequested,
    thoughts: run.thoughts,
    answer: run.answer,
    timings: run.timings,
  });
  if (run.interventions?.length) doc.interventions = run.interventions;
  else if (isInterventionResult(result)) doc.interventions = result.interventions;
  if (run.nodeValues) doc.nodeValues = run.nodeValues;
  if (isInterventionResult(result)) {
    const o = result.original;
    doc.original = { thoughts: o.thoughts, answer: o.answer, ...(o.nodeValues ? { nodeValues: o.nodeValues } : {}) };
    doc.divergence = result.divergence;
  }
  if (extras.sweep) doc.sweep = extras.sweep;
  if (extras.attribution) doc.attribution = extras.attribution;
  if (extras.graph) doc.graph = extras.graph;
  return doc;
}

export function traceToJson(result: TraceSource, extras: TraceExtras = {}): string {
  return JSON.stringify(buildTrace(result, extras), null, 2) + '\n';
}

export const CSV_COLUMNS = ['thought', 'rank', 'token', 'id', 'p', 'nearest_token', 'nearest_id', 'cosine', 'norm', 'entropy', 'intervened'] as const;

/** RFC 4180 quoting: fields with a comma, quote, CR or LF are quoted, quotes doubled. */
export function csvField(v: string | number | undefined): string {
  if (v === undefined) return '';
  const s = typeof v === 'number' ? String(v) : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * One row per thought × rank: the rank-th LM-head token with its probability, the rank-th nearest
 * input embedding with its cosine, and the thought's norm and entropy. For an intervention result,
 * the intervened run (its `intervened` column names the kind).
 */
export function traceToCsv(result: TraceSource): string {
  const run = isInterventionResult(result) ? result.intervened : result;
  const lines = [CSV_COLUMNS.join(',')];
  for (const t of run.thoughts) {
    const rows = Math.max(t.topk.length, t.nearest.length);
    for (let r = 0; r < rows; r++) {
      const a = t.topk[r];
      const b = t.nearest[r];
      lines.push([t.index, r + 1, a?.token, a?.id, a?.p, b?.token, b?.id, b?.cosine, t.norm, t.entropy, t.intervened?.kind ?? ''].map(csvField).join(','));
    }
  }
  return lines.join('\n') + '\n';
}

/** Reads a trace JSON back (e.g. to feed one of its thoughts into another run). */
export function parseTrace(text: string, name = 'the trace'): Record<string, unknown> & { thoughts: { index: number; vector: number[] }[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new EngineError(
      'PROMPT_MALFORMED',
      `${name} is not valid JSON: ${(e as Error).message}`,
      'export the trace again with coconut-lens inspect --export FILE.json',
    );
  }
  const d = doc as Record<string, unknown> | null;
  if (!d || typeof d !== 'object' || d.schema !== TRACE_SCHEMA) {
    throw new EngineError(
      'PROMPT_MALFORMED',
      `${name} is not a Coconut Lens trace (its "schema" is ${JSON.stringify(d && typeof d === 'object' ? d.schema : undefined)}, expected "${TRACE_SCHEMA}")`,
      "use a file written by coconut-lens inspect --export FILE.json or the panel's JSON export",
    );
  }
  if (!Array.isArray(d.thoughts)) {
    throw new EngineError('PROMPT_MALFORMED', `${name} has no "thoughts" list`, 'export the trace again');
  }
  return d as Record<string, unknown> & { thoughts: { index: number; vector: number[] }[] };
}
