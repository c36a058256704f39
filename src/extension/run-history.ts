// What has run in this window: the run the panel shows, the last result, the run pinned for the
// Compare tab, the last finished inspect of each prompt record (for the editor hover), and the
// finished inspect runs the side bar's Runs view lists and reopens.
import type { PromptRecord } from '../prompts';
import type { PinnedRun, RecordRef, RunInfo, TraceResult } from '../protocol/inspector';

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

/** The run the panel shows: its question, what was asked, and the result once there is one. */
export interface CurrentRun {
  question: Question;
  run: RunInfo;
  result?: TraceResult;
}

/** A finished inspect run of this window. */
export interface FinishedRun {
  question: Question;
  run: RunInfo;
  result: TraceResult;
  /** Epoch ms. */
  finishedAt: number;
}

/** Runs kept for the Runs view; each holds a full trace, so the list is bounded. */
export const MAX_RUNS = 50;

export class RunHistory {
  private current?: CurrentRun;
  private finishedRuns: FinishedRun[] = [];
  /** The last inspect result of this window. */
  last?: TraceResult;
  pin?: PinnedRun;
  private readonly byRecord = new Map<string, { run: RunInfo; result: TraceResult }>();

  /**
   * The run the panel shows: the last one started in this window, else `restored`, the one the
   * panel was restored with after a reload (its result is then only in the webview).
   */
  currentRun(restored: RunInfo | undefined): CurrentRun | undefined {
    if (this.current) return this.current;
    if (!restored) return undefined;
    return { question: questionOf(restored), run: restored };
  }

  started(question: Question, run: RunInfo): void {
    this.current = { question, run };
  }

  finished(question: Question, run: RunInfo, result: TraceResult): void {
    this.last = result;
    if (this.current?.run === run) this.current.result = result;
    if (question.record) this.byRecord.set(recordKey(question.record), { run, result });
    this.finishedRuns = [{ question, run, result, finishedAt: Date.now() }, ...this.finishedRuns].slice(0, MAX_RUNS);
  }

  /** This window's finished inspect runs, newest first. */
  get runs(): readonly FinishedRun[] {
    return this.finishedRuns;
  }

  /** A listed run, or the pinned one (which outlives clearRuns()). */
  find(runId: number): FinishedRun | undefined {
    const hit = this.finishedRuns.find((r) => r.run.runId === runId);
    if (hit) return hit;
    const run = this.pin?.run;
    if (!this.pin || run?.runId !== runId) return undefined;
    return { question: questionOf(run), run, result: this.pin.result, finishedAt: 0 };
  }

  /** Makes a finished run the one the panel shows again (rerun, pin and the hover then use it). */
  reopened(entry: FinishedRun): void {
    this.current = { question: entry.question, run: entry.run, result: entry.result };
    this.last = entry.result;
    if (entry.question.record) this.byRecord.set(recordKey(entry.question.record), { run: entry.run, result: entry.result });
  }

  clearRuns(): void {
    this.finishedRuns = [];
  }

  /** The last finished inspect of a prompt record, when its question is still `question`. */
  traceOf(record: RecordRef, question: string): { run: RunInfo; result: TraceResult } | undefined {
    const hit = this.byRecord.get(recordKey(record));
    return hit && hit.result.question === question ? hit : undefined;
  }
}

/** A short name for a run in the Compare tab: "tiny-random · k=3 · Tom is a lempus." */
export function runLabel(run: RunInfo | undefined, result: TraceResult): string {
  const parts = [result.model, `k=${result.thoughtsRequested}`];
  if (result.interventions?.length) parts.push(`${result.interventions.length} intervention${result.interventions.length > 1 ? 's' : ''}`);
  if (run?.source) parts.push(run.source);
  return parts.join(' · ');
}

/** The question a run was asked, rebuilt from what the run announced. */
function questionOf(run: RunInfo): Question {
  const question: Question = { text: run.question, source: run.source, expectedAnswer: run.expectedAnswer };
  if (run.steps) question.steps = run.steps;
  if (run.graph) question.graph = run.graph;
  if (run.record) question.record = run.record;
  return question;
}

function recordKey(r: RecordRef): string {
  return `${r.uri}#${r.index}`;
}
