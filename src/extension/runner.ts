// The extension's entry to running things: one job at a time (job-queue.ts), the engine loaded on
// demand for the current settings, what has run (run-history.ts), pinning for the Compare tab, and
// the status bar kept in line. An inspection itself is inspect-run.ts; the analyses are analyses.ts
// and run through exclusive().

import * as vscode from 'vscode';
import type { InspectResult } from '../shared/types';
import type { ErrorInfo, PinnedRun, RecordRef, RunInfo, TraceResult } from '../protocol/inspector';
import type { EngineCache, LoadedEngine } from './engine-cache';
import { CANCELLED, HostError, showError, toErrorInfo } from './errors';
import { runInspect } from './inspect-run';
import { JobQueue, type Job, type JobKind, type Report } from './job-queue';
import type { InspectorPanel } from './panel';
import { RunHistory, runLabel, type CurrentRun, type FinishedRun, type Question } from './run-history';
import { locateModel, modelLabel, readSettings, resolveModelPath } from './settings';
import type { StatusBar } from './status-bar';

export class InspectRunner implements vscode.Disposable {
  private readonly jobs: JobQueue;
  private readonly history = new RunHistory();
  private readonly finished = new vscode.EventEmitter<CurrentRun>();
  /** Fires when an inspect run has a result (not for analyses). */
  readonly onDidFinishInspect = this.finished.event;
  private readonly runsChanged = new vscode.EventEmitter<void>();
  /** Fires when the finished runs or the pin change (the side bar's Runs view). */
  readonly onDidChangeRuns = this.runsChanged.event;

  constructor(
    private readonly extensionPath: string,
    private readonly engine: EngineCache,
    private readonly panel: InspectorPanel,
    private readonly status: StatusBar,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.jobs = new JobQueue(
      {
        onStart: () => this.panel.show(),
        onBusyChange: () => this.refreshStatus(),
        dropEngine: () => this.engine.drop(),
      },
      log,
    );
  }

  /** How many jobs were started in this window; tells whether one started since some moment. */
  get runsStarted(): number {
    return this.jobs.runsStarted;
  }

  get busy(): boolean {
    return this.jobs.busy;
  }

  get lastResult(): InspectResult | undefined {
    return this.history.last;
  }

  get pinned(): PinnedRun | undefined {
    return this.history.pin;
  }

  /** This window's finished inspect runs, newest first. */
  get runs(): readonly FinishedRun[] {
    return this.history.runs;
  }

  /**
   * Shows a finished run (listed or pinned) in the panel again, as it was: its question, thoughts
   * and answer; it becomes the current run. False when a job is running (the user is offered to
   * cancel it) or the run is no longer kept.
   */
  reopen(runId: number): boolean {
    if (this.busy) {
      this.offerCancel();
      return false;
    }
    const entry = this.history.find(runId);
    if (!entry) {
      throw new HostError(
        'NOTHING_TO_RERUN',
        `Run ${runId} is no longer kept in this window.`,
        'Inspect the question again; the Runs view lists the runs kept.',
      );
    }
    this.history.reopened(entry);
    this.panel.show();
    this.panel.post({ type: 'runStarted', run: entry.run });
    this.panel.post({ type: 'result', runId: entry.run.runId, result: entry.result });
    this.log.info(`Reopened run ${runId} (${runLabel(entry.run, entry.result)}).`);
    return true;
  }

  /** Forgets the listed runs; the pin (the Compare tab's) stays. */
  clearRuns(): void {
    this.history.clearRuns();
    this.runsChanged.fire();
  }

  /**
   * The run the panel shows: the last one started in this window, else the one the panel was
   * restored with after a reload (its result is then only in the webview).
   */
  currentRun(): CurrentRun | undefined {
    return this.history.currentRun(this.panel.lastRun);
  }

  /** The last finished inspect of a prompt record, when its question is still `question`. */
  traceOf(record: RecordRef, question: string): { run: RunInfo; result: TraceResult } | undefined {
    return this.history.traceOf(record, question);
  }

  /** Resolves when neither a job nor a model load is in flight. */
  async whenIdle(): Promise<void> {
    await this.jobs.whenIdle();
    await this.engine.whenIdle();
  }

  /** Cancels the current job; false when there is none. */
  cancel(): boolean {
    return this.jobs.cancel();
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
    const last = this.history.last;
    const result = cur?.result ?? (cur && last?.question === cur.run.question ? last : undefined);
    if (!cur || !result) throw nothingYet('pin');
    const pin: PinnedRun = { label: runLabel(cur.run, result), run: cur.run, result };
    this.history.pin = pin;
    void vscode.commands.executeCommand('setContext', 'coconutLens.pinned', true);
    this.panel.show();
    this.panel.post({ type: 'pinned', pin });
    this.log.info(`Pinned run ${cur.run.runId} (${pin.label}) for comparison.`);
    this.runsChanged.fire();
    return pin;
  }

  unpin(): void {
    this.history.pin = undefined;
    void vscode.commands.executeCommand('setContext', 'coconutLens.pinned', false);
    this.panel.post({ type: 'pinned' });
    this.runsChanged.fire();
  }

  /**
   * Resolves with the result, or undefined when the run failed, was cancelled, or could not start
   * because another one is running (the user is offered to cancel that one).
   */
  inspect(question: Question, k?: number): Promise<InspectResult | undefined> {
    return this.exclusive(
      'inspect',
      async (job, report) => {
        const { run, result } = await runInspect(
          { panel: this.panel, log: this.log, history: this.history, loadEngine: (j, r) => this.loadEngine(j, r) },
          job,
          question,
          k,
          report,
        );
        this.finished.fire({ question, run, result });
        this.runsChanged.fire();
        return result;
      },
      (info, job) => this.panel.post({ type: 'error', runId: job.id, error: info }),
    );
  }

  /**
   * Runs `body` as the one active job (job-queue.ts): resolves with undefined when it failed, was
   * cancelled or another job was running.
   */
  exclusive<T>(
    kind: JobKind,
    body: (job: Job, report: Report) => Promise<T>,
    post: (info: ErrorInfo, job: Job) => void,
    title?: string,
  ): Promise<T | undefined> {
    return this.jobs.exclusive(kind, body, post, title);
  }

  /** The engine for the current settings, loaded when needed (the panel shows the load). */
  async loadEngine(job: Job, report: Report): Promise<LoadedEngine> {
    const settings = readSettings();
    const loc = locateModel(settings, this.extensionPath);
    const loaded = await this.engine.ensure(loc.dir, settings.provider, loc.isDefault, () => {
      this.panel.post({ type: 'loading', model: modelLabel(loc), provider: settings.provider });
      report({ stage: `loading ${modelLabel(loc)}`, done: 0, total: 1 });
    });
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
    if (this.jobs.busy) return;
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
    this.runsChanged.dispose();
  }

  /** Tells the user a run is going on and offers to cancel it. */
  offerCancel(): void {
    this.jobs.offerCancel();
  }
}

/** The error for actions that need a run first. */
export function nothingYet(what = 'rerun'): HostError {
  return new HostError('NOTHING_TO_RERUN', `There is no inspected question to ${what} yet.`, 'Run "Coconut Lens: Inspect Latent Thoughts" on a prompt first.');
}
