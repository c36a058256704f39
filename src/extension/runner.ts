// Runs one job at a time (an inspection or an analysis of it): resolves the model, loads the engine
// on demand, reports progress (notification + panel), and turns every failure into a message with a
// fix. The analyses themselves live in analyses.ts and run through exclusive().

import * as vscode from 'vscode';
import { isCompleteGraph } from '../shared/graph';
import type { InspectResult } from '../shared/types';
import type { PromptRecord } from '../prompts';
import {
  graphMissingReason,
  type AnalysisKind,
  type ErrorInfo,
  type PinnedRun,
  type ProgressInfo,
  type ProsQAGraph,
  type RecordRef,
  type RunInfo,
  type TraceResult,
} from '../protocol/inspector';
import type { EngineHost, LoadedEngine } from './engineHost';
import { CANCELLED, HostError, showError, toErrorInfo } from './errors';
import type { InspectorPanel } from './panel';
import { locateModel, modelLabel, readSettings, resolveModelPath } from './settings';
import type { StatusBar } from './statusBar';
import { stepWords } from './hover';

/** A question and where it came from. */
export interface Question {
  text: string;
  /** Shown in the panel header, e.g. "valid.jsonl, record 3". */
  source?: string;
  expectedAnswer?: string;
  steps?: string[];
  /** The record's graph fields as the file has them (possibly incomplete). */
  graph?: PromptRecord['graph'];
  record?: RecordRef;
}

export type JobKind = 'inspect' | AnalysisKind;

export interface Job {
  id: number;
  kind: JobKind;
  abort: AbortController;
  done: Promise<void>;
}

/** The run the panel shows: its question, what was asked, and the result once there is one. */
export interface CurrentRun {
  question: Question;
  run: RunInfo;
  result?: TraceResult;
}

export type Report = (p: ProgressInfo) => void;

export class InspectRunner implements vscode.Disposable {
  private nextId = 1;
  private active?: Job;
  private current?: CurrentRun;
  private last?: TraceResult;
  private pin?: PinnedRun;
  /** The last finished inspect per prompt record (uri#index), for the editor hover. */
  private readonly byRecord = new Map<string, { run: RunInfo; result: TraceResult }>();
  private readonly finished = new vscode.EventEmitter<CurrentRun>();
  /** Fires when an inspect run has a result (not for analyses). */
  readonly onDidFinishInspect = this.finished.event;

  constructor(
    private readonly extensionPath: string,
    private readonly engine: EngineHost,
    private readonly panel: InspectorPanel,
    private readonly status: StatusBar,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** How many jobs were started in this window; tells whether one started since some moment. */
  get runsStarted(): number {
    return this.nextId - 1;
  }

  get busy(): boolean {
    return this.active !== undefined;
  }

  get lastResult(): InspectResult | undefined {
    return this.last;
  }

  get pinned(): PinnedRun | undefined {
    return this.pin;
  }

  /**
   * The run the panel shows: the last one started in this window, else the one the panel was
   * restored with after a reload (its result is then only in the webview).
   */
  currentRun(): CurrentRun | undefined {
    if (this.current) return this.current;
    const restored = this.panel.lastRun;
    if (!restored) return undefined;
    const question: Question = { text: restored.question, source: restored.source, expectedAnswer: restored.expectedAnswer };
    if (restored.steps) question.steps = restored.steps;
    if (restored.graph) question.graph = restored.graph;
    if (restored.record) question.record = restored.record;
    return { question, run: restored };
  }

  /** The last finished inspect of a prompt record, when its question is still `question`. */
  traceOf(record: RecordRef, question: string): { run: RunInfo; result: TraceResult } | undefined {
    const hit = this.byRecord.get(recordKey(record));
    return hit && hit.result.question === question ? hit : undefined;
  }

  /** Resolves when neither a job nor a model load is in flight. */
  async whenIdle(): Promise<void> {
    while (this.active) await this.active.done;
    await this.engine.whenIdle();
  }

  /** Cancels the current job; false when there is none. */
  cancel(): boolean {
    if (!this.active) return false;
    this.log.info(`Run ${this.active.id}: cancel requested.`);
    this.active.abort.abort();
    return true;
  }

  /** Runs the last question again with k thoughts (the panel's rerun control). */
  rerun(k: number): Promise<InspectResult | undefined> {
    const cur = this.currentRun();
    if (!cur) {
      this.fail(nothingYet());
      return Promise.resolve(undefined);
    }
    return this.inspect(cur.question, k);
  }

  /** Reports a failure that happened before a run could start (e.g. no editor). */
  fail(err: unknown): void {
    const info = toErrorInfo(err);
    this.log.error(`${info.code}: ${info.message}`);
    this.panel.show();
    this.panel.post({ type: 'error', error: info });
    showError(info, this.log);
  }

  /** Pins the current run for the Compare tab. */
  pinCurrent(): PinnedRun {
    const cur = this.currentRun();
    const result = cur?.result ?? (cur && this.last?.question === cur.run.question ? this.last : undefined);
    if (!cur || !result) throw nothingYet('pin');
    this.pin = { label: runLabel(cur.run, result), run: cur.run, result };
    void vscode.commands.executeCommand('setContext', 'coconutLens.pinned', true);
    this.panel.show();
    this.panel.post({ type: 'pinned', pin: this.pin });
    this.log.info(`Pinned run ${cur.run.runId} (${this.pin.label}) for comparison.`);
    return this.pin;
  }

  unpin(): void {
    this.pin = undefined;
    void vscode.commands.executeCommand('setContext', 'coconutLens.pinned', false);
    this.panel.post({ type: 'pinned' });
  }

  /**
   * Resolves with the result, or undefined when the run failed, was cancelled, or could not start
   * because another one is running (the user is offered to cancel that one).
   */
  inspect(question: Question, k?: number): Promise<InspectResult | undefined> {
    return this.exclusive(
      'inspect',
      (job, report) => this.execute(job, question, k, report),
      (info, job) => this.panel.post({ type: 'error', runId: job.id, error: info }),
    );
  }

  /**
   * Runs `body` as the one active job: the busy context, a cancellable notification, and every
   * failure reported (`post` tells the panel; the notification and the log are handled here).
   * Resolves with undefined when it failed, was cancelled or another job was running.
   */
  async exclusive<T>(
    kind: JobKind,
    body: (job: Job, report: Report) => Promise<T>,
    post: (info: ErrorInfo, job: Job) => void,
    title = 'Coconut Lens',
  ): Promise<T | undefined> {
    if (this.active) {
      this.offerCancel();
      return undefined;
    }
    let finished!: () => void;
    const job: Job = {
      id: this.nextId++,
      kind,
      abort: new AbortController(),
      done: new Promise<void>((resolve) => (finished = resolve)),
    };
    this.active = job;
    this.setBusy(true);
    this.panel.show();
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title, cancellable: true },
        (progress, token) => {
          token.onCancellationRequested(() => this.cancel());
          let lastPct = 0;
          return body(job, (p) => {
            // Notifications take increments; report the fraction done as one.
            const pct = p.total > 0 ? Math.min(100, (100 * p.done) / p.total) : 0;
            const increment = kind === 'inspect' ? undefined : Math.max(0, pct - lastPct);
            lastPct = Math.max(lastPct, pct);
            progress.report({ message: describe(p), increment });
          });
        },
      );
    } catch (err) {
      const info = job.abort.signal.aborted && isCancelledOrUnknown(err) ? CANCELLED : toErrorInfo(err);
      post(info, job);
      // A crashed or emptied worker is not reused: the next run starts a fresh one.
      if (info.code === 'INTERNAL' || info.code === 'NOT_LOADED') this.engine.drop();
      if (info.code === 'BUSY') {
        this.offerCancel();
      } else if (info.code === 'CANCELLED') {
        this.log.info(`Run ${job.id}: cancelled.`);
      } else {
        this.log.error(`Run ${job.id} (${kind}): ${info.code}: ${info.message} | Fix: ${info.fix}`);
        showError(info, this.log);
      }
      return undefined;
    } finally {
      this.active = undefined;
      this.setBusy(false);
      finished();
    }
  }

  /** The engine for the current settings, loaded when needed (the panel shows the load). */
  async loadEngine(job: Job, report: Report): Promise<LoadedEngine> {
    const settings = readSettings();
    const loc = locateModel(settings, this.extensionPath);
    if (this.engine.needsLoad(loc.dir, settings.provider)) {
      this.panel.post({ type: 'loading', model: modelLabel(loc), provider: settings.provider });
      report({ stage: `loading ${modelLabel(loc)}`, done: 0, total: 1 });
    }
    const loaded = await this.engine.ensure(loc.dir, settings.provider, loc.isDefault);
    this.refreshStatus();
    if (job.abort.signal.aborted) throw new HostError(CANCELLED.code, CANCELLED.message, CANCELLED.fix);
    return loaded;
  }

  /**
   * Loads the configured model ahead of a run (after a settings change), so a provider fallback
   * shows in the status bar at once. Failures are only logged: the next inspect reports them, and
   * a setting still being edited must not raise notifications.
   */
  async preload(): Promise<void> {
    if (this.active) return;
    const settings = readSettings();
    try {
      const loc = locateModel(settings, this.extensionPath);
      await this.engine.ensure(loc.dir, settings.provider, loc.isDefault);
    } catch (err) {
      const info = toErrorInfo(err);
      this.log.warn(`Preloading the model failed (reported again on the next inspect): ${info.code}: ${info.message}`);
    } finally {
      this.refreshStatus();
    }
  }

  /** True when the loaded engine (if any) is the one the current settings ask for. */
  engineMatchesSettings(): boolean {
    const loaded = this.engine.loaded;
    if (!loaded) return false;
    const settings = readSettings();
    return loaded.dir === resolveModelPath(settings.modelPath, this.extensionPath).dir && loaded.requested === settings.provider;
  }

  refreshStatus(): void {
    const settings = readSettings();
    const loc = resolveModelPath(settings.modelPath, this.extensionPath);
    const loaded = this.engine.loaded;
    const current = loaded && loaded.dir === loc.dir && loaded.requested === settings.provider ? loaded : undefined;
    this.status.update({
      model: current?.info.name ?? modelLabel(loc),
      modelDir: loc.dir,
      requested: settings.provider,
      info: current?.info,
      busy: this.busy,
    });
  }

  dispose(): void {
    this.cancel();
    this.finished.dispose();
  }

  private async execute(job: Job, question: Question, k: number | undefined, report: Report): Promise<InspectResult> {
    const settings = readSettings();
    const { client, info } = await this.loadEngine(job, report);

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

    this.current = { question, run: runInfo };
    this.panel.post({ type: 'runStarted', run: runInfo });
    this.log.info(
      `Run ${job.id}: ${info.name} on ${info.provider}, k=${thoughts}, topK=${settings.topK}, ` +
        `question ${question.text.length} chars${question.source ? ` from ${question.source}` : ''}` +
        `${graph ? ', with its ProsQA graph' : ''}.`,
    );

    const request: Parameters<typeof client.inspect>[0] = { question: question.text, thoughts, topK: settings.topK };
    if (graph) request.graph = graph;
    // Exact probabilities of the steps' words under each thought, for the hover on steps.
    if (question.steps?.length) request.watch = [...new Set(question.steps.flatMap(stepWords))].slice(0, 256);
    const result: TraceResult = await client.inspect(request, {
      signal: job.abort.signal,
      onProgress: (p) => {
        report(p);
        const progress: ProgressInfo = { stage: p.stage, done: p.done, total: p.total };
        if (p.thought) progress.thought = p.thought;
        if (p.token) progress.token = p.token;
        this.panel.post({ type: 'progress', runId: job.id, progress });
      },
    });
    this.last = result;
    if (this.current?.run === runInfo) this.current.result = result;
    if (question.record) this.byRecord.set(recordKey(question.record), { run: runInfo, result });
    this.panel.post({ type: 'result', runId: job.id, result });
    const t = result.timings;
    this.log.info(
      `Run ${job.id}: answer "${result.answer.extracted}" (${result.answer.stoppedBy}); ` +
        `${result.thoughts.length} thoughts; ms: tokenize ${ms(t.tokenizeMs)}, prefill ${ms(t.prefillMs)}, ` +
        `thoughts ${ms(t.thoughtsMs)}, answer ${ms(t.answerMs)}, total ${ms(t.totalMs)} on ${result.provider}.`,
    );
    this.finished.fire({ question, run: runInfo, result });
    return result;
  }

  private setBusy(busy: boolean): void {
    void vscode.commands.executeCommand('setContext', 'coconutLens.busy', busy);
    this.refreshStatus();
  }

  /** Tells the user a run is going on and offers to cancel it (not awaited: it is a notification). */
  offerCancel(): void {
    this.log.info('A run was requested while another is in progress; offered to cancel it.');
    void vscode.window
      .showWarningMessage('A Coconut Lens run is already in progress.', 'Cancel Current Run')
      .then((picked) => {
        if (picked === 'Cancel Current Run') this.cancel();
      });
  }
}

/** The error for actions that need a run first. */
export function nothingYet(what = 'rerun'): HostError {
  return new HostError(
    'NOTHING_TO_RERUN',
    `There is no inspected question to ${what} yet.`,
    'Run "Coconut Lens: Inspect Latent Thoughts" on a prompt first.',
  );
}

/** A short name for a run in the Compare tab: "tiny-random · k=3 · Tom is a lempus." */
export function runLabel(run: RunInfo | undefined, result: TraceResult): string {
  const parts = [result.model, `k=${result.thoughtsRequested}`];
  if (result.interventions?.length) parts.push(`${result.interventions.length} intervention${result.interventions.length > 1 ? 's' : ''}`);
  if (run?.source) parts.push(run.source);
  return parts.join(' · ');
}

/** The graph as the engine wants it, or undefined when a required field is missing. */
function completeGraph(g: Question['graph']): ProsQAGraph | undefined {
  return isCompleteGraph(g) ? g : undefined;
}

function recordKey(r: RecordRef): string {
  return `${r.uri}#${r.index}`;
}

function describe(p: ProgressInfo): string {
  return p.total > 1 ? `${p.stage} ${p.done}/${p.total}` : p.stage;
}

function ms(v: number): string {
  return v.toFixed(1);
}

/** After an abort, an engine error that is not a LensError is the abort itself. */
function isCancelledOrUnknown(err: unknown): boolean {
  const info = toErrorInfo(err, true);
  return info.code === 'CANCELLED' || info.code === 'INTERNAL';
}
