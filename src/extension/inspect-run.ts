// One inspection as the panel sees it: the RunInfo it announces (model, k, the record's steps and
// graph), the request to the engine worker (with the step words to watch for the hover), progress
// streamed to the panel, the result recorded in the history, and a line in the log per stage.
import type * as vscode from 'vscode';
import { isCompleteGraph } from '../shared/graph';
import { graphMissingReason, type ProgressInfo, type ProsQAGraph, type RunInfo, type TraceResult } from '../protocol/inspector';
import type { LoadedEngine } from './engine-cache';
import type { Job, Report } from './job-queue';
import type { InspectorPanel } from './panel';
import type { Question, RunHistory } from './run-history';
import { readSettings } from './settings';
import { stepWords } from './step-words';

export interface InspectDeps {
  panel: InspectorPanel;
  log: vscode.LogOutputChannel;
  history: RunHistory;
  loadEngine(job: Job, report: Report): Promise<LoadedEngine>;
}

export async function runInspect(
  deps: InspectDeps,
  job: Job,
  question: Question,
  k: number | undefined,
  report: Report,
): Promise<{ run: RunInfo; result: TraceResult }> {
  const { panel, log, history } = deps;
  const settings = readSettings();
  const { client, info } = await deps.loadEngine(job, report);

  const thoughts = k ?? settings.thoughts ?? info.thoughts.default;
  const graphMissing = graphMissingReason(question.graph);
  const runInfo: RunInfo = {
    runId: job.id,
    question: question.text,
    k: thoughts,
    maxK: info.thoughts.max,
    model: info.name,
    provider: info.provider,
    requestedProvider: settings.provider,
    providerNotice: info.providerNotice,
    source: question.source,
    expectedAnswer: question.expectedAnswer,
    perStep: info.thoughts.per_step,
    nEmbd: info.architecture.n_embd,
  };
  if (question.steps) runInfo.steps = question.steps;
  if (question.record) runInfo.record = question.record;
  const graph = completeGraph(question.graph);
  if (graph) runInfo.graph = graph;
  else runInfo.graphMissing = graphMissing ?? 'this record has no ProsQA graph fields (idx_to_symbol, edges, root, target)';

  history.started(question, runInfo);
  panel.post({ type: 'runStarted', run: runInfo });
  log.info(
    `Run ${job.id}: ${info.name} on ${info.provider}, k=${thoughts}, topK=${settings.topK}, ` +
      `question ${question.text.length} chars${question.source ? ` from ${question.source}` : ''}` +
      `${graph ? ', with its ProsQA graph' : ''}.`,
  );

  const request: Parameters<typeof client.inspect>[0] = { question: question.text, thoughts, topK: settings.topK };
  if (graph) request.graph = graph;
  // The engine scores the answer: a compact tokenizer's "Tom lempus." is the record's "Tom is a lempus.".
  if (question.expectedAnswer !== undefined) request.expected = question.expectedAnswer;
  // Exact probabilities of the steps' words under each thought, for the hover on steps.
  if (question.steps?.length) request.watch = [...new Set(question.steps.flatMap(stepWords))].slice(0, 256);
  const result: TraceResult = await client.inspect(request, {
    signal: job.abort.signal,
    onProgress: (p) => {
      report(p);
      const progress: ProgressInfo = { stage: p.stage, done: p.done, total: p.total };
      if (p.thought) progress.thought = p.thought;
      if (p.token) progress.token = p.token;
      panel.post({ type: 'progress', runId: job.id, progress });
    },
  });
  history.finished(question, runInfo, result);
  panel.post({ type: 'result', runId: job.id, result });
  const t = result.timings;
  log.info(
    `Run ${job.id}: answer "${result.answer.extracted}" (${result.answer.stoppedBy}); ` +
      `${result.thoughts.length} thoughts; ms: tokenize ${ms(t.tokenizeMs)}, prefill ${ms(t.prefillMs)}, ` +
      `thoughts ${ms(t.thoughtsMs)}, answer ${ms(t.answerMs)}, total ${ms(t.totalMs)} on ${result.provider}.`,
  );
  return { run: runInfo, result };
}

/** The graph as the engine wants it, or undefined when a required field is missing. */
function completeGraph(g: Question['graph']): ProsQAGraph | undefined {
  return isCompleteGraph(g) ? g : undefined;
}

function ms(v: number): string {
  return v.toFixed(1);
}
