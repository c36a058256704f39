// The analyses of the current question, each one job on the runner: the k sweep, interventions,
// the attribution pass and dataset evaluation. Inputs are checked here first, so a bad request
// (a thought that does not exist, a file without answers) gets a message that names the fix
// before the engine is asked.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { isCompleteGraph } from '../shared/graph';
import { describeIntervention, findInterventionProblem } from '../shared/interventions';
import type { AttributionEntry, DatasetResult, EvalRecord, InspectRequest, InterventionResult, ModelInfo, SweepResult } from '../shared/types';
import type { PromptRecord } from '../prompts';
import type { AnalysisKind, DatasetInfo, ErrorInfo, Intervention, RecordRef } from '../protocol/inspector';
import { docLabel, PromptDocuments, toRange } from './documents';
import { HostError, showError, toErrorInfo } from './errors';
import type { InspectorPanel } from './panel';
import { fromRecord } from './questions';
import type { Job, Report } from './job-queue';
import type { CurrentRun } from './run-history';
import { nothingYet, type InspectRunner } from './runner';
import { readSettings } from './settings';

export class Analyses {
  private lastSweep?: SweepResult;
  private lastAttribution?: { question: string; k: number; entries: AttributionEntry[] };
  private lastIntervention?: InterventionResult;
  private lastDataset?: DatasetResult;

  constructor(
    private readonly runner: InspectRunner,
    private readonly panel: InspectorPanel,
    private readonly documents: PromptDocuments,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** The sweep of the current question, if one finished. */
  sweepOf(question: string): SweepResult | undefined {
    return this.lastSweep?.question === question ? this.lastSweep : undefined;
  }

  attributionOf(question: string, k: number): AttributionEntry[] | undefined {
    const a = this.lastAttribution;
    return a && a.question === question && a.k === k ? a.entries : undefined;
  }

  /** The last intervention result, when it was made on this question. */
  interventionOf(question: string): InterventionResult | undefined {
    return this.lastIntervention?.original.question === question ? this.lastIntervention : undefined;
  }

  get lastDatasetResult(): DatasetResult | undefined {
    return this.lastDataset;
  }

  /** Reruns the current question with k = 0..to (default: the model's maximum). */
  sweep(to?: number): Promise<SweepResult | undefined> {
    const cur = this.requireRun('sweep');
    if (!cur) return Promise.resolve(undefined);
    return this.run('sweep', 'Coconut Lens: k sweep', async (job) => {
      const { client, info } = await this.runner.loadEngine(job, () => undefined);
      const last = largestK(to, info, (k) => `A sweep to k = ${k}`);
      this.panel.post({ type: 'analysisStarted', analysis: 'sweep', runId: job.id, text: `k sweep 0…${last}`, total: last + 1 });
      this.log.info(`Run ${job.id}: k sweep 0..${last} of "${clip(cur.question.text)}".`);
      const result = await client.sweep(this.request(cur, 0), {
        from: 0,
        to: last,
        expected: cur.question.expectedAnswer,
        signal: job.abort.signal,
        onProgress: (p) => {
          if (p.point) this.panel.post({ type: 'sweepPoint', runId: job.id, point: p.point });
          this.panel.post({ type: 'analysisProgress', analysis: 'sweep', runId: job.id, done: p.done, total: p.total, text: 'k sweep' });
        },
      });
      this.lastSweep = result;
      this.panel.post({ type: 'sweepResult', runId: job.id, result });
      this.log.info(`Run ${job.id}: sweep done: ${result.points.map((p) => `k=${p.k} "${p.extracted}" ${p.answerProb.toFixed(3)}`).join('; ')}.`);
      return result;
    });
  }

  /** Reruns the current run with its thoughts edited; the panel shows it against the original. */
  intervene(interventions: Intervention[]): Promise<InterventionResult | undefined> {
    const cur = this.requireRun('intervene on');
    if (!cur) return Promise.resolve(undefined);
    try {
      checkInterventions(interventions, cur.run.k, cur.run.nEmbd);
    } catch (err) {
      this.report('intervention', err);
      return Promise.resolve(undefined);
    }
    return this.run('intervention', 'Coconut Lens: intervention', async (job) => {
      const { client } = await this.runner.loadEngine(job, () => undefined);
      this.panel.post({ type: 'analysisStarted', analysis: 'intervention', runId: job.id, text: 'Rerunning with the interventions', total: 2 });
      this.log.info(`Run ${job.id}: intervention ${interventions.map(describeIntervention).join(', ')} at k=${cur.run.k}.`);
      const result = await client.intervene(
        { ...this.request(cur, cur.run.k), interventions },
        {
          signal: job.abort.signal,
          onProgress: (p) =>
            this.panel.post({ type: 'analysisProgress', analysis: 'intervention', runId: job.id, done: p.done, total: p.total, text: 'Intervention' }),
        },
      );
      this.lastIntervention = result;
      this.panel.post({ type: 'interventionResult', runId: job.id, result });
      const changed = result.original.answer.extracted !== result.intervened.answer.extracted;
      this.log.info(
        `Run ${job.id}: intervened answer "${result.intervened.answer.extracted}"${changed ? ` (was "${result.original.answer.extracted}")` : ' (unchanged)'}; ` +
          `JS per thought ${result.divergence.map((d) => d.js.toFixed(3)).join(', ')}.`,
      );
      return result;
    });
  }

  /** Zeroes each thought of the current run in turn and measures the answer's log-probability. */
  attribution(): Promise<AttributionEntry[] | undefined> {
    const cur = this.requireRun('attribute');
    if (!cur) return Promise.resolve(undefined);
    if (cur.run.k === 0) {
      this.report(
        'attribution',
        new HostError(
          'INTERVENTION_INVALID',
          'The current run has no thoughts to ablate (k = 0).',
          'Rerun with at least one thought, then run the attribution pass.',
        ),
      );
      return Promise.resolve(undefined);
    }
    return this.run('attribution', 'Coconut Lens: attribution', async (job) => {
      const { client } = await this.runner.loadEngine(job, () => undefined);
      this.panel.post({ type: 'analysisStarted', analysis: 'attribution', runId: job.id, text: 'Ablating each thought', total: cur.run.k });
      const entries = await client.attribution(this.request(cur, cur.run.k), {
        signal: job.abort.signal,
        onProgress: (p) =>
          this.panel.post({ type: 'analysisProgress', analysis: 'attribution', runId: job.id, done: p.done, total: p.total, text: 'Ablating thoughts' }),
      });
      this.lastAttribution = { question: cur.question.text, k: cur.run.k, entries };
      this.panel.post({ type: 'attributionResult', runId: job.id, question: cur.question.text, k: cur.run.k, entries });
      this.log.info(`Run ${job.id}: attribution Δ log p per thought: ${entries.map((e) => `${e.thought}: ${e.delta.toFixed(3)}`).join(', ')}.`);
      return entries;
    });
  }

  /**
   * Evaluates a JSON/JSONL file at k = 0..to: `uri`, else the active editor's file when it holds
   * records, else one the user picks.
   */
  async evalDataset(uri?: vscode.Uri, to?: number): Promise<DatasetResult | undefined> {
    let target: vscode.Uri | undefined = uri;
    try {
      target ??= activeRecordFile(this.documents) ?? (await pickDatasetFile());
    } catch (err) {
      this.report('dataset', err);
      return undefined;
    }
    if (!target) return undefined;
    let loaded: { file: string; records: PromptRecord[] };
    try {
      loaded = await this.loadDataset(target);
    } catch (err) {
      this.report('dataset', err);
      return undefined;
    }
    return this.run('dataset', `Coconut Lens: evaluating ${loaded.file}`, async (job, report) => {
      const { client, info } = await this.runner.loadEngine(job, report);
      const last = largestK(to, info, (k) => `Evaluating up to k = ${k}`);
      const ks = Array.from({ length: last + 1 }, (_, i) => i);
      const records: EvalRecord[] = loaded.records.map((r) => {
        const e: EvalRecord = { index: r.index, question: r.question, answer: r.answer! };
        if (r.steps) e.steps = r.steps;
        if (r.graph) e.graph = r.graph;
        return e;
      });
      const dsInfo: DatasetInfo = {
        file: loaded.file,
        uri: target.toString(),
        records: records.length,
        ks,
        model: info.name,
        prosqa: records.some((r) => r.graph && r.graph.root !== undefined && r.graph.target !== undefined),
      };
      const total = records.length * ks.length;
      this.panel.post({ type: 'analysisStarted', analysis: 'dataset', runId: job.id, text: `Evaluating ${loaded.file}`, total });
      this.panel.post({ type: 'datasetStarted', runId: job.id, info: dsInfo });
      this.log.info(`Run ${job.id}: evaluating ${records.length} records of ${loaded.file} at k = 0..${last} (${total} runs).`);
      let done = 0;
      const result = await client.evalDataset(records, {
        thoughts: ks,
        signal: job.abort.signal,
        onProgress: (p) => {
          for (const r of p.records ?? []) {
            done++;
            this.panel.post({ type: 'datasetRecord', runId: job.id, record: r });
          }
          const d = p.records ? done : p.done;
          report({ stage: 'evaluating', done: d, total });
          this.panel.post({ type: 'analysisProgress', analysis: 'dataset', runId: job.id, done: d, total, text: `Evaluating ${loaded.file}` });
        },
      });
      this.lastDataset = result;
      this.panel.post({ type: 'datasetResult', runId: job.id, result });
      this.log.info(
        `Run ${job.id}: ${loaded.file}: accuracy ${result.perK.map((s) => `k=${s.k} ${(s.accuracy * 100).toFixed(1)}%`).join(', ')} in ${result.seconds.toFixed(1)} s.`,
      );
      return result;
    });
  }

  /** Reveals a record in its file and inspects it (the dataset view's links). */
  async openRecord(ref: RecordRef, k?: number): Promise<unknown> {
    const found = await this.documents.record(ref.uri, ref.index);
    if (!found) {
      throw new HostError(
        'PROMPT_RECORD_RANGE',
        `Record ${ref.index} is not in ${path.basename(vscode.Uri.parse(ref.uri).fsPath)} any more.`,
        'Evaluate the file again; it changed since the evaluation.',
      );
    }
    const { doc, file, record } = found;
    const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preserveFocus: false, preview: false });
    const range = toRange(doc, record.range);
    editor.selection = new vscode.Selection(range.start, range.start);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    return this.runner.inspect(fromRecord(file, record, doc), k);
  }

  private async loadDataset(uri: vscode.Uri): Promise<{ file: string; records: PromptRecord[] }> {
    const doc = await vscode.workspace.openTextDocument(uri);
    const name = docLabel(doc);
    const parsed = this.documents.parse(doc);
    if (parsed.format === 'text') {
      throw new HostError(
        'DATASET_INVALID',
        `${name} is not a dataset: it is plain text, one question without an answer.`,
        'Evaluate a JSON or JSONL file of records with "question" and "answer" fields.',
      );
    }
    const missing = parsed.records.filter((r) => r.answer === undefined);
    if (missing.length === parsed.records.length) {
      throw new HostError(
        'DATASET_INVALID',
        `${name} has no record with an "answer", so there is nothing to score.`,
        'Add the reference "answer" to each record (as in the official ProsQA files), then evaluate again.',
      );
    }
    if (missing.length) {
      const first = missing[0]!;
      throw new HostError(
        'DATASET_INVALID',
        `${name} record ${first.index} (line ${first.line}) has no "answer"; ${missing.length} of ${parsed.records.length} records lack one.`,
        'Give every record a reference "answer", or evaluate a file of complete records.',
      );
    }
    return { file: name, records: parsed.records };
  }

  private request(cur: CurrentRun, k: number): InspectRequest {
    const req: InspectRequest = { question: cur.question.text, thoughts: k, topK: readSettings().topK };
    if (isCompleteGraph(cur.question.graph)) req.graph = cur.question.graph;
    return req;
  }

  private requireRun(what: string): CurrentRun | undefined {
    const cur = this.runner.currentRun();
    if (!cur) this.runner.fail(nothingYet(what));
    return cur;
  }

  private run<T>(kind: AnalysisKind, title: string, body: (job: Job, report: Report) => Promise<T>): Promise<T | undefined> {
    return this.runner.exclusive<T>(kind, body, (info, job) => this.panel.post({ type: 'analysisError', analysis: kind, runId: job.id, error: info }), title);
  }

  /** A failure before the job started: shown in the panel's tab and as a notification. */
  private report(kind: AnalysisKind, err: unknown): void {
    const info: ErrorInfo = toErrorInfo(err);
    this.log.error(`${kind}: ${info.code}: ${info.message}`);
    this.panel.show();
    this.panel.post({ type: 'analysisError', analysis: kind, error: info });
    showError(info, this.log);
  }
}

/** The largest k of a sweep or an evaluation: `to`, else the model's maximum; THOUGHTS_RANGE when out of range. */
function largestK(to: number | undefined, info: ModelInfo, what: (k: number) => string): number {
  const max = info.thoughts.max;
  const last = to ?? max;
  if (!Number.isInteger(last) || last < 0 || last > max) {
    throw new HostError('THOUGHTS_RANGE', `${what(last)} is out of range: ${info.name} allows 0 to ${max} thoughts.`, `Choose a largest k from 0 to ${max}.`);
  }
  return last;
}

/** Throws INTERVENTION_INVALID naming the first intervention that cannot apply to a run of k thoughts. */
export function checkInterventions(list: Intervention[], k: number, nEmbd: number | undefined): void {
  if (list.length === 0) {
    throw new HostError(
      'INTERVENTION_INVALID',
      'No intervention was given.',
      'Choose an edit (zero, scale, token or a previous thought) for at least one thought.',
    );
  }
  const p = findInterventionProblem(list, { k, nEmbd });
  if (!p) return;
  const invalid = (message: string, fix: string) => new HostError('INTERVENTION_INVALID', message, fix);
  switch (p.problem) {
    case 'no-such-thought': {
      const range = k === 0 ? 'the current run has no thoughts (k = 0)' : `the current run has ${k} thought${k === 1 ? '' : 's'} (1 to ${k})`;
      throw invalid(
        `Thought ${p.thought} does not exist: ${range}.`,
        k === 0 ? 'Rerun with more thoughts, then intervene on one of them.' : `Intervene on a thought from 1 to ${k}, or rerun with more thoughts first.`,
      );
    }
    case 'duplicate':
      throw invalid(`Thought ${p.thought} has more than one intervention.`, 'Give each thought at most one edit.');
    case 'bad-factor':
      throw invalid(`The scale factor for thought ${p.thought} is not a number.`, 'Type a factor such as 0.5 or 2.');
    case 'no-token':
      throw invalid(`No token was given to replace thought ${p.thought}.`, 'Type a token of the model’s vocabulary, e.g. a concept name.');
    case 'vector-length':
      throw invalid(
        `The replacement for thought ${p.thought} has ${p.length ?? 'no'} numbers; this model's thoughts have ${nEmbd}.`,
        'Replace it with a thought of a run of the same model.',
      );
    case 'vector-entry':
      throw invalid(`The replacement for thought ${p.thought} holds a value that is not a finite number.`, 'Use a thought vector from a finished run.');
    default:
      // The protocol guard lets only well-formed lists through, so this is a bug, not a user error.
      throw invalid(`The panel sent a malformed intervention (${p.problem}).`, 'Reload the panel; if it happens again, report it.');
  }
}

/** The active editor's file when it is a JSON/JSONL prompt file with records. */
function activeRecordFile(documents: PromptDocuments): vscode.Uri | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  if (!doc) return undefined;
  const file = documents.tryParse(doc);
  return file && (file.format === 'json' || file.format === 'jsonl' || file.format === 'coconut') ? doc.uri : undefined;
}

async function pickDatasetFile(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    openLabel: 'Evaluate',
    title: 'Coconut Lens: choose a dataset (JSON or JSONL records with answers)',
    filters: { 'Coconut datasets': ['json', 'jsonl', 'ndjson', 'coconut'] },
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  return picked?.[0];
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}
