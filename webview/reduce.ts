// What a message from the host does to the panel's state, as a pure function: the new state and
// the effects main.ts then performs (persist, redraw, focus the linked thoughts, draw a chart for
// an export). Kept free of the DOM so every message can be unit-tested (test/unit/webview-reduce).
import type { ChartId, ErrorInfo, HostToWebview, ImageFormat } from '../src/protocol/inspector';
import type { ViewState } from './state';

export type Effect =
  /** vscode.setState now. */
  | { type: 'persist' }
  /** vscode.setState within half a second (records stream faster than that). */
  | { type: 'persistSoon' }
  /** Redraw everything. */
  | { type: 'render' }
  /** Redraw only the progress line (progress arrives often; the rest has not changed). */
  | { type: 'renderStatus' }
  /** A new run started: the k field follows the run again, even if the user had typed in it. */
  | { type: 'releaseKField' }
  /** Mark the thoughts the editor's cursor points at, and scroll the first into view. */
  | { type: 'highlight'; indices: number[] }
  /** The host wants a chart as an image (an export command). */
  | { type: 'answerChart'; requestId: number; chart: ChartId | 'visible'; format: ImageFormat }
  /** A message type this panel does not know (a host from another build): logged, never dropped silently. */
  | { type: 'unknownMessage'; message: unknown };

export interface Reduced {
  state: ViewState;
  effects: Effect[];
}

/** Most messages change what is shown and what is kept. */
const SHOW_AND_KEEP: Effect[] = [{ type: 'persist' }, { type: 'render' }];

export function reduce(state: ViewState, msg: HostToWebview): Reduced {
  const keep = (next: ViewState): Reduced => ({ state: next, effects: SHOW_AND_KEEP });
  switch (msg.type) {
    case 'loading':
      return keep({
        ...state,
        error: undefined,
        busy: {
          text: `Loading model ${msg.model} (provider: ${msg.provider})…`,
          analysis: state.busy?.analysis,
          done: state.busy?.done,
          total: state.busy?.total,
        },
      });
    case 'runStarted': {
      let next = { ...state };
      const sameQuestion = state.result?.question === msg.run.question;
      if (msg.run.runId !== state.run?.runId) {
        next.pendingPrevious = state.result ? { run: state.run, result: state.result } : undefined;
        next = { ...next, intervention: undefined, attribution: undefined, drafts: undefined, interventionProblem: undefined, analysisError: undefined };
        if (!sameQuestion) next = { ...next, searchThought: undefined, sweep: undefined, questionExpanded: undefined };
      }
      next = {
        ...next,
        run: msg.run,
        error: undefined,
        notice: undefined,
        result: sameQuestion ? state.result : undefined,
        busy: { text: 'Starting…' },
        partial: undefined,
      };
      return { state: next, effects: [{ type: 'releaseKField' }, ...SHOW_AND_KEEP] };
    }
    case 'progress': {
      if (msg.runId !== state.run?.runId) return { state, effects: [] };
      const p = msg.progress;
      const busy = { text: stageText(p.stage), done: p.done, total: p.total };
      if (!p.thought) return { state: { ...state, busy }, effects: [{ type: 'renderStatus' }] };
      const th = p.thought;
      const partial = [...(state.partial ?? []).filter((t) => t.index !== th.index), th].sort((a, b) => a.index - b.index);
      return { state: { ...state, busy, partial }, effects: [{ type: 'render' }] };
    }
    case 'result': {
      if (msg.runId !== state.run?.runId) return { state, effects: [] };
      let next = { ...state };
      if (state.pendingPrevious && state.pendingPrevious.result !== msg.result) {
        const p = state.pendingPrevious;
        next.previous = {
          label: `${p.result.model} · k=${p.result.thoughtsRequested}${p.run?.source ? ` · ${p.run.source}` : ''}`,
          run: p.run,
          result: p.result,
        };
      }
      next = { ...next, result: msg.result, error: undefined, busy: undefined, partial: undefined, notice: undefined, pendingPrevious: undefined };
      if (next.searchThought === undefined || next.searchThought > msg.result.thoughts.length) next.searchThought = msg.result.thoughts.length;
      return keep(next);
    }
    case 'error':
      if (msg.runId !== undefined && msg.runId !== state.run?.runId) return { state, effects: [] };
      return keep(withError(state, msg.error));
    case 'cleared':
      return keep({
        ...state,
        result: undefined,
        error: undefined,
        busy: undefined,
        partial: undefined,
        notice: msg.reason,
        intervention: undefined,
        attribution: undefined,
        sweep: undefined,
      });
    case 'analysisStarted': {
      const next: ViewState = { ...state, busy: { text: msg.text, analysis: msg.analysis, done: 0, total: msg.total }, analysisError: undefined };
      if (msg.analysis === 'sweep') next.sweepPartial = [];
      if (msg.analysis === 'sweep' || msg.analysis === 'dataset') next.tab = msg.analysis;
      if (msg.analysis === 'intervention' || msg.analysis === 'attribution') next.tab = 'thoughts';
      return keep(next);
    }
    case 'analysisProgress': {
      const base = !state.busy || state.busy.analysis !== msg.analysis ? { text: msg.text ?? 'Running', analysis: msg.analysis } : state.busy;
      const busy = { ...base, done: msg.done, total: msg.total, ...(msg.text ? { text: msg.text } : {}) };
      return { state: { ...state, busy }, effects: [{ type: 'renderStatus' }] };
    }
    case 'analysisError':
      return keep({
        ...state,
        busy: undefined,
        sweepPartial: undefined,
        ...(msg.error.code === 'CANCELLED' ? { notice: 'Cancelled.' } : { analysisError: { analysis: msg.analysis, error: msg.error } }),
      });
    case 'sweepPoint':
      return keep({ ...state, sweepPartial: [...(state.sweepPartial ?? []).filter((p) => p.k !== msg.point.k), msg.point].sort((a, b) => a.k - b.k) });
    case 'sweepResult':
      return keep({ ...state, sweep: msg.result, sweepPartial: undefined, busy: state.busy?.analysis === 'sweep' ? undefined : state.busy });
    case 'interventionResult':
      return keep({ ...state, intervention: msg.result, busy: state.busy?.analysis === 'intervention' ? undefined : state.busy });
    case 'attributionResult':
      return keep({
        ...state,
        attribution: { question: msg.question, k: msg.k, entries: msg.entries },
        busy: state.busy?.analysis === 'attribution' ? undefined : state.busy,
      });
    case 'datasetStarted':
      return keep({ ...state, dataset: { info: msg.info, records: [] }, tab: 'dataset' });
    case 'datasetRecord': {
      if (!state.dataset) return { state, effects: [] };
      const next = { ...state, dataset: { ...state.dataset, records: [...state.dataset.records, msg.record] } };
      // Redraw at most every few records: a 300-record file streams 2000 results.
      if (next.dataset.records.length % 10 !== 0) return { state: next, effects: [{ type: 'persistSoon' }] };
      return keep(next);
    }
    case 'datasetResult':
      return keep({
        ...state,
        dataset: state.dataset ? { ...state.dataset, result: msg.result, records: msg.result.records } : state.dataset,
        busy: state.busy?.analysis === 'dataset' ? undefined : state.busy,
      });
    case 'highlightThoughts':
      return { state: { ...state, linked: msg.indices }, effects: [{ type: 'highlight', indices: msg.indices }] };
    case 'chartRequest':
      return { state, effects: [{ type: 'answerChart', requestId: msg.requestId, chart: msg.chart, format: msg.format }] };
    case 'exported':
      return keep({ ...state, notice: `Saved ${msg.what} to ${msg.path}` });
    case 'models':
      return keep({ ...state, models: { list: msg.models, restricted: msg.restricted } });
    case 'pinned':
      return keep({ ...state, pinned: msg.pin, ...(msg.pin ? { tab: 'compare' as const } : {}) });
    default:
      return { state, effects: [{ type: 'unknownMessage', message: msg }, ...SHOW_AND_KEEP] };
  }
}

/**
 * A failed run leaves the previous result on view: runStarted already dropped it when the question
 * changed, so what remains belongs to the same question (e.g. a rerun with an invalid k).
 */
function withError(state: ViewState, error: ErrorInfo): ViewState {
  const next = { ...state, busy: undefined, partial: undefined };
  if (error.code === 'CANCELLED') return { ...next, notice: 'Run cancelled.', error: undefined };
  return { ...next, error };
}

/** "loading model" → "Loading model"; an empty stage reads "Running". */
export function stageText(stage: string): string {
  const s = stage.trim();
  return s ? s[0]!.toUpperCase() + s.slice(1) : 'Running';
}
