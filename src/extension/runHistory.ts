// What has run in this window: the run the panel shows, the last result, the run pinned for the
// Compare tab, and the last finished inspect of each prompt record (for the editor hover).
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

export class RunHistory {
  private current?: CurrentRun;
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
    const question: Question = { text: restored.question, source: restored.source, expectedAnswer: restored.expectedAnswer };
    if (restored.steps) question.steps = restored.steps;
    if (restored.graph) question.graph = restored.graph;
    if (restored.record) question.record = restored.record;
    return { question, run: restored };
  }

  started(question: Question, run: RunInfo): void {
    this.current = { question, run };
  }

  finished(question: Question, run: RunInfo, result: TraceResult): void {
    this.last = result;
    if (this.current?.run === run) this.current.result = result;
    if (question.record) this.byRecord.set(recordKey(question.record), { run, result });
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

function recordKey(r: RecordRef): string {
  return `${r.uri}#${r.index}`;
}
