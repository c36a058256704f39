// Runs one inspection at a time: resolves the model, loads the engine on demand, reports progress
// (notification + panel), and turns every failure into a message with a fix.

import * as vscode from 'vscode';
import type { InspectResult } from '../engine/types';
import type { ProgressInfo, RunInfo } from '../protocol/inspector';
import type { EngineHost } from './engineHost';
import { CANCELLED, HostError, showError, toErrorInfo } from './errors';
import type { InspectorPanel } from './panel';
import { locateModel, modelLabel, readSettings, resolveModelPath } from './settings';
import type { StatusBar } from './statusBar';

/** A question and where it came from. */
export interface Question {
  text: string;
  /** Shown in the panel header, e.g. "valid.jsonl, record 3". */
  source?: string;
  expectedAnswer?: string;
}

interface ActiveRun {
  id: number;
  abort: AbortController;
  done: Promise<void>;
}

export class InspectRunner implements vscode.Disposable {
  private nextId = 1;
  private active?: ActiveRun;
  private lastQuestion?: Question;
  private last?: InspectResult;

  constructor(
    private readonly extensionPath: string,
    private readonly engine: EngineHost,
    private readonly panel: InspectorPanel,
    private readonly status: StatusBar,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** How many runs were started in this window; tells whether one started since some moment. */
  get runsStarted(): number {
    return this.nextId - 1;
  }

  get busy(): boolean {
    return this.active !== undefined;
  }

  get lastResult(): InspectResult | undefined {
    return this.last;
  }

  /** Resolves when neither a run nor a model load is in flight. */
  async whenIdle(): Promise<void> {
    while (this.active) await this.active.done;
    await this.engine.whenIdle();
  }

  /** Cancels the current run; false when there is none. */
  cancel(): boolean {
    if (!this.active) return false;
    this.log.info(`Run ${this.active.id}: cancel requested.`);
    this.active.abort.abort();
    return true;
  }

  /** Runs the last question again with k thoughts (the panel's rerun control). */
  rerun(k: number): Promise<InspectResult | undefined> {
    const restored = this.panel.lastRun;
    const q: Question | undefined =
      this.lastQuestion ??
      (restored ? { text: restored.question, source: restored.source, expectedAnswer: restored.expectedAnswer } : undefined);
    if (!q) {
      this.fail(
        new HostError('NOTHING_TO_RERUN', 'There is no question to rerun yet.', 'Run "Coconut Lens: Inspect Latent Thoughts" on a prompt first.'),
      );
      return Promise.resolve(undefined);
    }
    return this.inspect(q, k);
  }

  /** Reports a failure that happened before a run could start (e.g. no editor). */
  fail(err: unknown): void {
    const info = toErrorInfo(err);
    this.log.error(`${info.code}: ${info.message}`);
    this.panel.show();
    this.panel.post({ type: 'error', error: info });
    showError(info, this.log);
  }

  /**
   * Resolves with the result, or undefined when the run failed, was cancelled, or could not start
   * because another one is running (the user is offered to cancel that one).
   */
  async inspect(question: Question, k?: number): Promise<InspectResult | undefined> {
    if (this.active) {
      this.offerCancel();
      return undefined;
    }
    let finished!: () => void;
    const run: ActiveRun = {
      id: this.nextId++,
      abort: new AbortController(),
      done: new Promise<void>((resolve) => (finished = resolve)),
    };
    this.active = run;
    this.lastQuestion = question;
    this.setBusy(true);
    this.panel.show();
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Coconut Lens', cancellable: true },
        (progress, token) => {
          token.onCancellationRequested(() => this.cancel());
          return this.execute(run, question, k, (p) => progress.report({ message: describe(p) }));
        },
      );
    } catch (err) {
      const info = run.abort.signal.aborted && isCancelledOrUnknown(err) ? CANCELLED : toErrorInfo(err);
      this.panel.post({ type: 'error', runId: run.id, error: info });
      // A crashed or emptied worker is not reused: the next run starts a fresh one.
      if (info.code === 'INTERNAL' || info.code === 'NOT_LOADED') this.engine.drop();
      if (info.code === 'BUSY') {
        this.offerCancel();
      } else if (info.code === 'CANCELLED') {
        this.log.info(`Run ${run.id}: cancelled.`);
      } else {
        this.log.error(`Run ${run.id}: ${info.code}: ${info.message} | Fix: ${info.fix}`);
        showError(info, this.log);
      }
      return undefined;
    } finally {
      this.active = undefined;
      this.setBusy(false);
      finished();
    }
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
  }

  private async execute(
    run: ActiveRun,
    question: Question,
    k: number | undefined,
    report: (p: ProgressInfo) => void,
  ): Promise<InspectResult> {
    const settings = readSettings();
    const loc = locateModel(settings, this.extensionPath);
    if (this.engine.needsLoad(loc.dir, settings.provider)) {
      this.panel.post({ type: 'loading', model: modelLabel(loc), provider: settings.provider });
      report({ stage: `loading ${modelLabel(loc)}`, done: 0, total: 1 });
    }
    const { client, info } = await this.engine.ensure(loc.dir, settings.provider, loc.isDefault);
    this.refreshStatus();
    if (run.abort.signal.aborted) throw new HostError(CANCELLED.code, CANCELLED.message, CANCELLED.fix);

    const thoughts = k ?? settings.thoughts ?? info.thoughts.default;
    const runInfo: RunInfo = {
      runId: run.id,
      question: question.text,
      k: thoughts,
      maxK: info.thoughts.max,
      model: info.name,
      provider: info.provider,
      requestedProvider: settings.provider,
      providerNotice: info.providerNotice,
      source: question.source,
      expectedAnswer: question.expectedAnswer,
    };
    this.panel.post({ type: 'runStarted', run: runInfo });
    this.log.info(
      `Run ${run.id}: ${info.name} on ${info.provider}, k=${thoughts}, topK=${settings.topK}, ` +
        `question ${question.text.length} chars${question.source ? ` from ${question.source}` : ''}.`,
    );

    const result = await client.inspect(
      { question: question.text, thoughts, topK: settings.topK },
      {
        signal: run.abort.signal,
        onProgress: (p) => {
          report(p);
          const progress: ProgressInfo = { stage: p.stage, done: p.done, total: p.total };
          if (p.thought) progress.thought = p.thought;
          if (p.token) progress.token = p.token;
          this.panel.post({ type: 'progress', runId: run.id, progress });
        },
      },
    );
    this.last = result;
    this.panel.post({ type: 'result', runId: run.id, result });
    const t = result.timings;
    this.log.info(
      `Run ${run.id}: answer "${result.answer.extracted}" (${result.answer.stoppedBy}); ` +
        `${result.thoughts.length} thoughts; ms: tokenize ${ms(t.tokenizeMs)}, prefill ${ms(t.prefillMs)}, ` +
        `thoughts ${ms(t.thoughtsMs)}, answer ${ms(t.answerMs)}, total ${ms(t.totalMs)} on ${result.provider}.`,
    );
    return result;
  }

  private setBusy(busy: boolean): void {
    void vscode.commands.executeCommand('setContext', 'coconutLens.busy', busy);
    this.refreshStatus();
  }

  /** Tells the user a run is going on and offers to cancel it (not awaited: it is a notification). */
  offerCancel(): void {
    this.log.info('Inspect requested while a run is in progress; offered to cancel it.');
    void vscode.window
      .showWarningMessage('A Coconut Lens run is already in progress.', 'Cancel Current Run')
      .then((picked) => {
        if (picked === 'Cancel Current Run') this.cancel();
      });
  }
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
