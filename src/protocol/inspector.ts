// The one message protocol between the extension host (src/extension) and the inspector webview
// (webview/). Both sides import these types, so a message that one side sends and the other does
// not understand is a compile error, not a silent no-op. It imports only src/shared (types and pure
// functions), so the webview never pulls in engine code; eslint.config.mjs enforces that.

import type {
  AnswerToken,
  AttributionEntry,
  DatasetRecordResult,
  DatasetResult,
  InspectResult,
  Intervention,
  InterventionResult,
  EngineErrorCode,
  ProsQAGraph,
  ProviderName,
  ProviderSetting,
  SweepPoint,
  SweepResult,
  ThoughtNodeValues,
  ThoughtTrace,
} from '../shared/types';
import { findInterventionProblem } from '../shared/interventions';

export type { AttributionEntry, DatasetResult, Intervention, InterventionResult, ProsQAGraph, SweepResult, ThoughtNodeValues };

/** viewType of the inspector panel; also named in package.json's onWebviewPanel activation event. */
export const INSPECTOR_VIEW_TYPE = 'coconutLens.inspector';

/** A trace as the panel receives it: with node values when the run carried a ProsQA graph. */
export type TraceResult = InspectResult & { nodeValues?: ThoughtNodeValues[] };

/** Which prompt record a run came from, so the panel and the editor can point at its steps. */
export interface RecordRef {
  /** The document's URI (string form). */
  uri: string;
  /** 0-based record index in the file. */
  index: number;
}

/** What a run was asked to do, known before the engine answers. */
export interface RunInfo {
  /** Increases with every run of this extension host; stale messages of older runs are ignored. */
  runId: number;
  question: string;
  /** Number of continuous thoughts requested (k). */
  k: number;
  /** Largest k the loaded model accepts (its manifest's thoughts.max). */
  maxK: number;
  model: string;
  /** The provider the loaded engine actually uses. */
  provider: ProviderName;
  /** The provider setting the user asked for; differs from `provider` after a fallback. */
  requestedProvider: ProviderSetting;
  /** Why the requested provider was not used, when it was not. */
  providerNotice?: string;
  /** Where the question came from, for the header: "valid.jsonl, record 3", "notes.md (selection)". */
  source?: string;
  /** The record's reference answer, when the prompt file has one. */
  expectedAnswer?: string;
  /** The record's reference steps (language reasoning steps), when it has them. */
  steps?: string[];
  /** Thoughts per reasoning step (the manifest's thoughts.per_step, c in the paper). */
  perStep?: number;
  /** The record's ProsQA graph; absent when the record has none (see graphMissing). */
  graph?: ProsQAGraph;
  /** Why there is no latent-search view for this run, shown in its place. */
  graphMissing?: string;
  /** The prompt record, when the question came from one. */
  record?: RecordRef;
  /** Embedding width of the model, for thought vectors handed back in interventions. */
  nEmbd?: number;
}

/** Errors only the extension host can detect (the engine never sees an editor or workspace trust). */
export type HostErrorCode =
  | 'NO_EDITOR'
  | 'WORKSPACE_UNTRUSTED'
  | 'NOTHING_TO_RERUN'
  | 'INTERVENTION_INVALID'
  | 'EXPORT_FAILED'
  | 'EXPORT_NOTHING'
  | 'DATASET_INVALID'
  | 'ANALYSIS_UNAVAILABLE';
export type ErrorCode = EngineErrorCode | HostErrorCode;

export interface ErrorInfo {
  code: ErrorCode;
  /** What went wrong, naming the thing (file, setting, token) that was wrong. */
  message: string;
  /** What the user can do about it. */
  fix: string;
}

export interface ProgressInfo {
  /** 'loading', 'prefill', 'thoughts' or 'answer'. */
  stage: string;
  done: number;
  total: number;
  /** Stage 'thoughts': the thought just decoded, so columns fill in while the run goes on. */
  thought?: ThoughtTrace;
  /** Stage 'answer': the answer token just chosen. */
  token?: AnswerToken;
}

/** The longer analyses that run on the current question (one at a time, like runs). */
export type AnalysisKind = 'sweep' | 'intervention' | 'attribution' | 'dataset';

/** What a dataset evaluation runs on, known before the first record is done. */
export interface DatasetInfo {
  /** File name for the header. */
  file: string;
  uri: string;
  /** Records that will be run (each at every k). */
  records: number;
  ks: number[];
  model: string;
  /** True when the records carry ProsQA graphs (path categories are computed). */
  prosqa: boolean;
}

/** The charts the panel can export as SVG or PNG. */
export type ChartId = 'heatmap' | 'graph' | 'sweep' | 'intervention' | 'attribution' | 'compare' | 'dataset-accuracy' | 'dataset-categories';
export const CHART_IDS: readonly ChartId[] = ['heatmap', 'graph', 'sweep', 'intervention', 'attribution', 'compare', 'dataset-accuracy', 'dataset-categories'];
export type ImageFormat = 'svg' | 'png';

/** One entry of the panel's model picker (the host's modelChoices(), plus whether it may be chosen). */
export interface ModelOption {
  /** Absolute folder; what selectModel sends back. */
  dir: string;
  label: string;
  /** The shipped default (the only one Restricted Mode runs). */
  shipped: boolean;
  /** The folder holds a coconut.json; a missing one is listed as "(missing)" and cannot be chosen. */
  present: boolean;
  /** The model the inspect commands run now. */
  current: boolean;
  /** present, and the workspace is trusted or this is the shipped model. */
  selectable: boolean;
}

/** Messages the host posts to the webview. */
export type HostToWebview =
  /** The models the picker offers; sent on ready and whenever the list, the selection or trust change. */
  | { type: 'models'; models: ModelOption[]; restricted: boolean }
  /** The engine is being (re)loaded before a run can start; the first load takes a moment. */
  | { type: 'loading'; model: string; provider: ProviderSetting }
  | { type: 'runStarted'; run: RunInfo }
  | { type: 'progress'; runId: number; progress: ProgressInfo }
  | { type: 'result'; runId: number; result: TraceResult }
  /** runId is absent for errors that happen before a run has an id (e.g. the model is missing). */
  | { type: 'error'; runId?: number; error: ErrorInfo }
  /** The view is emptied, e.g. because the selected model changed; `reason` is shown to the user. */
  | { type: 'cleared'; reason?: string }
  /** An analysis of the current run started; `runId` is its own id (analyses count as runs). */
  | { type: 'analysisStarted'; analysis: AnalysisKind; runId: number; text: string; total?: number }
  | { type: 'analysisProgress'; analysis: AnalysisKind; runId: number; done: number; total: number; text?: string }
  | { type: 'analysisError'; analysis: AnalysisKind; runId?: number; error: ErrorInfo }
  /** k sweep finished; `point` messages stream before it (analysisProgress carries the count). */
  | { type: 'sweepPoint'; runId: number; point: SweepPoint }
  | { type: 'sweepResult'; runId: number; result: SweepResult }
  | { type: 'interventionResult'; runId: number; result: InterventionResult }
  | { type: 'attributionResult'; runId: number; question: string; k: number; entries: AttributionEntry[] }
  | { type: 'datasetStarted'; runId: number; info: DatasetInfo }
  | { type: 'datasetRecord'; runId: number; record: DatasetRecordResult }
  | { type: 'datasetResult'; runId: number; result: DatasetResult }
  /** The editor's cursor or mouse is on reasoning step(s) that these thoughts stand for ([] = none). */
  | { type: 'highlightThoughts'; indices: number[] }
  /** The host (a palette command) asks for a chart's image; answered with chartImage or chartUnavailable. */
  | { type: 'chartRequest'; requestId: number; chart: ChartId | 'visible'; format: ImageFormat }
  /** An export finished; shown as a notice in the panel. */
  | { type: 'exported'; path: string; what: string }
  /** The run pinned for the Compare tab (undefined: unpinned). */
  | { type: 'pinned'; pin?: PinnedRun };

/** Messages the webview posts to the host. */
export type WebviewToHost =
  /** The script has loaded and listens; the host sends nothing before this. */
  | { type: 'ready' }
  /** Run the last question again with another number of thoughts. */
  | { type: 'rerun'; k: number }
  | { type: 'cancel' }
  /** A thought column got focus or was clicked (1-based index, as in ThoughtTrace.index). */
  | { type: 'selectThought'; index: number }
  /** The pointer or focus is on a thought (highlight its step in the editor); null when it left. */
  | { type: 'hoverThought'; index: number | null }
  /** Run the question with k = 0..to thoughts. */
  | { type: 'sweep'; to: number }
  /** Rerun the current question with these thoughts edited. */
  | { type: 'intervene'; interventions: Intervention[] }
  /** Ablate each thought of the current run in turn. */
  | { type: 'attribution' }
  /** Evaluate a dataset file (the active JSON/JSONL editor, or one the user picks). */
  | { type: 'evalDataset'; to?: number }
  /** Reveal a dataset record in its file and inspect it. */
  | { type: 'openRecord'; uri: string; index: number; k?: number }
  /** Save the trace; `intervened`: the intervention result on view rather than the plain run. */
  | { type: 'exportTrace'; format: 'json' | 'csv'; intervened?: boolean }
  /** A chart's image: SVG text, or a PNG as base64 (no data: prefix). */
  | { type: 'chartImage'; chart: ChartId; format: ImageFormat; data: string; requestId?: number }
  | { type: 'chartUnavailable'; requestId: number; reason: string }
  /** Pin the current run for the Compare tab, or drop the pin. */
  | { type: 'pin' }
  | { type: 'unpin' }
  /** Run this model from now on (a `dir` of the last 'models' list; the host checks it is one). */
  | { type: 'selectModel'; dir: string };

/** What a pinned run holds for the Compare tab. */
export interface PinnedRun {
  label: string;
  run?: RunInfo;
  result: TraceResult;
}

/** Tabs of the panel. */
export type TabId = 'thoughts' | 'search' | 'sweep' | 'compare' | 'dataset';
export const TAB_IDS: readonly TabId[] = ['thoughts', 'search', 'sweep', 'compare', 'dataset'];

/**
 * What the webview persists with vscode.setState: enough to redraw the panel after it was hidden
 * or after a window reload. The host receives it in WebviewPanelSerializer.deserializeWebviewPanel.
 */
export interface InspectorState {
  version: 1;
  run?: RunInfo;
  result?: TraceResult;
  error?: ErrorInfo;
  /** 1-based index of the selected thought. */
  selected?: number;
  /** Shown when there is nothing else to show. */
  notice?: string;
  tab?: TabId;
  /** The thought the latent-search view shows (0 = before any thought). */
  searchThought?: number;
  sweep?: SweepResult;
  intervention?: InterventionResult;
  attribution?: { question: string; k: number; entries: AttributionEntry[] };
  pinned?: PinnedRun;
  /** The run before the current one, whose thoughts can replace the current run's. */
  previous?: PinnedRun;
  dataset?: { info: DatasetInfo; result?: DatasetResult; records: DatasetRecordResult[] };
}

const int = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v);

export function isWebviewToHost(value: unknown): value is WebviewToHost {
  if (typeof value !== 'object' || value === null) return false;
  const msg = value as Record<string, unknown>;
  switch (msg.type) {
    case 'ready':
    case 'cancel':
    case 'attribution':
    case 'pin':
    case 'unpin':
      return true;
    case 'rerun':
      return int(msg.k);
    case 'selectThought':
      return int(msg.index);
    case 'hoverThought':
      return msg.index === null || int(msg.index);
    case 'sweep':
      return int(msg.to);
    case 'intervene':
      return findInterventionProblem(msg.interventions) === undefined;
    case 'evalDataset':
      return msg.to === undefined || int(msg.to);
    case 'openRecord':
      return typeof msg.uri === 'string' && int(msg.index) && (msg.k === undefined || int(msg.k));
    case 'exportTrace':
      return (msg.format === 'json' || msg.format === 'csv') && (msg.intervened === undefined || typeof msg.intervened === 'boolean');
    case 'chartImage':
      return (
        typeof msg.chart === 'string' &&
        (CHART_IDS as readonly string[]).includes(msg.chart) &&
        (msg.format === 'svg' || msg.format === 'png') &&
        typeof msg.data === 'string' &&
        (msg.requestId === undefined || int(msg.requestId))
      );
    case 'chartUnavailable':
      return int(msg.requestId) && typeof msg.reason === 'string';
    case 'selectModel':
      return typeof msg.dir === 'string' && msg.dir.length > 0;
    default:
      return false;
  }
}

export function isInspectorState(value: unknown): value is InspectorState {
  return typeof value === 'object' && value !== null && (value as { version?: unknown }).version === 1;
}

/** Thoughts that stand for reasoning step `step` (0-based): c per step, 1-based thought indices. */
export function thoughtsOfStep(step: number, perStep: number, k: number): number[] {
  const c = Math.max(1, perStep);
  const out: number[] = [];
  for (let i = step * c + 1; i <= Math.min(k, (step + 1) * c); i++) out.push(i);
  return out;
}

/** The reasoning step (0-based) that thought `index` (1-based) stands for. */
export function stepOfThought(index: number, perStep: number): number {
  return Math.floor((index - 1) / Math.max(1, perStep));
}

/** Why a record opens without the latent-search view; undefined when it has a usable graph. */
export function graphMissingReason(graph: Partial<ProsQAGraph> | undefined): string | undefined {
  if (!graph || (graph.idx_to_symbol === undefined && graph.edges === undefined)) {
    return 'this record has no ProsQA graph fields (idx_to_symbol, edges, root, target)';
  }
  const missing = (['idx_to_symbol', 'edges', 'root', 'target', 'neg_target'] as const).filter((k) => graph[k] === undefined);
  if (missing.length === 0) return undefined;
  return `this record's ProsQA graph lacks ${missing.join(', ')} (the latent-search view needs idx_to_symbol, edges, root, target and neg_target)`;
}

/**
 * Engine messages are sentence fragments ("the run was cancelled"); UIs show them as sentences.
 * Only a plain lowercase first word is capitalised: "empty.json is empty" must keep its file name.
 */
export function asSentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  const capital = /^[a-z]+(?=[\s,;:]|$)/.test(t) ? t[0]!.toUpperCase() + t.slice(1) : t;
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`;
}
