// The panel's state: what vscode.setState keeps across hides and reloads (InspectorState, plus the
// view preferences) and what lives only while the script runs. Pure: no DOM here.
import type { AnalysisKind, ErrorInfo, InspectorState, ModelOption, RunInfo, TabId, TraceResult } from '../src/protocol/inspector';
import { isInspectorState } from '../src/protocol/inspector';
import type { SweepPoint, ThoughtTrace } from '../src/shared/types';
import type { Draft } from './intervention-view';

export interface ViewPrefs {
  showLens?: boolean;
  /** Intervention edits being prepared, per thought. */
  drafts?: Record<number, Draft>;
  /** The question shows in full rather than in two lines; a new question starts folded again. */
  questionExpanded?: boolean;
}

/** Persisted state plus what only lives while the script runs. */
export interface ViewState extends InspectorState, ViewPrefs {
  busy?: { text: string; done?: number; total?: number; analysis?: AnalysisKind };
  /** Thoughts of the running run, streamed before its result arrives. */
  partial?: ThoughtTrace[];
  /** Points of a running sweep. */
  sweepPartial?: SweepPoint[];
  /** The run and result on view when the current run started: becomes `previous` at its result. */
  pendingPrevious?: { run?: RunInfo; result: TraceResult };
  /** Thoughts the editor's cursor points at. */
  linked?: number[];
  /** Last analysis failure, shown in its tab. */
  analysisError?: { analysis: AnalysisKind; error: ErrorInfo };
  interventionProblem?: string;
  /** The model picker's entries, as the host last sent them (re-sent on every 'ready'). */
  models?: { list: ModelOption[]; restricted: boolean };
}

/** The state to start from: what was saved, without a run that cannot still be going. */
export function restoreState(saved: unknown): ViewState {
  return isInspectorState(saved) ? { ...(saved as ViewState), busy: undefined, partial: undefined } : { version: 1 };
}

/** What vscode.setState keeps: the transient fields are dropped. */
export function persistedPart(state: ViewState): InspectorState & ViewPrefs {
  const { busy: _b, partial: _p, sweepPartial: _s, pendingPrevious: _pp, linked: _l, analysisError: _e, interventionProblem: _ip, models: _m, ...keep } = state;
  return keep;
}

export function currentTab(state: ViewState): TabId {
  return state.tab ?? 'thoughts';
}

/** The selected thought, kept within 1..n (0 when there are no thoughts). */
export function clampSelected(state: ViewState, n: number): number {
  const s = state.selected ?? 1;
  return n === 0 ? 0 : Math.min(Math.max(1, s), n);
}

/** The thought the latent-search view shows, kept within 0..k. */
export function searchThought(state: ViewState, k: number): number {
  const t = state.searchThought ?? k;
  return Math.max(0, Math.min(k, t));
}

/** The intervention on view: only while it belongs to the question of the result on view. */
export function interventionOnView(state: ViewState) {
  return state.intervention && state.result && state.intervention.original.question === state.result.question ? state.intervention : undefined;
}

/**
 * True when the model picker already names the model of the run on view: a narrow panel then drops
 * the Model chip beside it. They differ after another model was picked and before it ran.
 */
export function modelChipRepeatsPicker(state: ViewState): boolean {
  const shown = state.result?.model ?? state.run?.model;
  const current = state.models?.list.find((m) => m.current);
  return shown !== undefined && current !== undefined && current.label === shown;
}
