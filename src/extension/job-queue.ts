// One job at a time (an inspection or an analysis of it): the busy context key, a cancellable
// notification with progress, and every failure turned into a message with a fix. What a job does
// is the caller's; this file only decides when it may run and how its end is reported.
import * as vscode from 'vscode';
import type { AnalysisKind, ErrorInfo, ProgressInfo } from '../protocol/inspector';
import { CANCELLED, showError, toErrorInfo } from './errors';

export type JobKind = 'inspect' | AnalysisKind;

export interface Job {
  id: number;
  kind: JobKind;
  abort: AbortController;
  done: Promise<void>;
}

export type Report = (p: ProgressInfo) => void;

export interface JobQueueHooks {
  /** A job started: the panel shows. */
  onStart(): void;
  /** The busy state changed (the context key is already set): refresh what shows it. */
  onBusyChange(): void;
  /** A job failed in a way that leaves the worker unusable: the next job starts a fresh one. */
  dropEngine(): void;
}

export class JobQueue {
  private nextId = 1;
  private active?: Job;

  constructor(
    private readonly hooks: JobQueueHooks,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** How many jobs were started in this window; tells whether one started since some moment. */
  get runsStarted(): number {
    return this.nextId - 1;
  }

  get busy(): boolean {
    return this.active !== undefined;
  }

  /** Resolves when no job is running. */
  async whenIdle(): Promise<void> {
    while (this.active) await this.active.done;
  }

  /** Cancels the current job; false when there is none. */
  cancel(): boolean {
    if (!this.active) return false;
    this.log.info(`Run ${this.active.id}: cancel requested.`);
    this.active.abort.abort();
    return true;
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
    this.hooks.onStart();
    try {
      return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
        token.onCancellationRequested(() => this.cancel());
        let lastPct = 0;
        return body(job, (p) => {
          // Notifications take increments; report the fraction done as one.
          const pct = p.total > 0 ? Math.min(100, (100 * p.done) / p.total) : 0;
          const increment = kind === 'inspect' ? undefined : Math.max(0, pct - lastPct);
          lastPct = Math.max(lastPct, pct);
          progress.report({ message: describe(p), increment });
        });
      });
    } catch (err) {
      const info = job.abort.signal.aborted && isCancelledOrUnknown(err) ? CANCELLED : toErrorInfo(err);
      post(info, job);
      // A crashed or emptied worker is not reused: the next run starts a fresh one.
      if (info.code === 'INTERNAL' || info.code === 'NOT_LOADED') this.hooks.dropEngine();
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

  /** Tells the user a run is going on and offers to cancel it (not awaited: it is a notification). */
  offerCancel(): void {
    this.log.info('A run was requested while another is in progress; offered to cancel it.');
    void vscode.window.showWarningMessage('A Coconut Lens run is already in progress.', 'Cancel Current Run').then((picked) => {
      if (picked === 'Cancel Current Run') this.cancel();
    });
  }

  private setBusy(busy: boolean): void {
    void vscode.commands.executeCommand('setContext', 'coconutLens.busy', busy);
    this.hooks.onBusyChange();
  }
}

function describe(p: ProgressInfo): string {
  return p.total > 1 ? `${p.stage} ${p.done}/${p.total}` : p.stage;
}

/** After an abort, an engine error that is not a EngineError is the abort itself. */
function isCancelledOrUnknown(err: unknown): boolean {
  const info = toErrorInfo(err, true);
  return info.code === 'CANCELLED' || info.code === 'INTERNAL';
}
