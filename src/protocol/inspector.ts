// The one message protocol between the extension host (src/extension) and the inspector webview
// (webview/). Both sides import these types, so a message that one side sends and the other does
// not understand is a compile error, not a silent no-op. Type-only imports keep the webview bundle
// free of engine code.

import type { AnswerToken, InspectResult, LensErrorCode, ProviderName, ProviderSetting, ThoughtTrace } from '../engine/types';

/** viewType of the inspector panel; also named in package.json's onWebviewPanel activation event. */
export const INSPECTOR_VIEW_TYPE = 'coconutLens.inspector';

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
}

/** Errors only the extension host can detect (the engine never sees an editor or workspace trust). */
export type HostErrorCode = 'NO_EDITOR' | 'WORKSPACE_UNTRUSTED' | 'NOTHING_TO_RERUN';
export type ErrorCode = LensErrorCode | HostErrorCode;

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

/** Messages the host posts to the webview. */
export type HostToWebview =
  /** The engine is being (re)loaded before a run can start; the first load takes a moment. */
  | { type: 'loading'; model: string; provider: ProviderSetting }
  | { type: 'runStarted'; run: RunInfo }
  | { type: 'progress'; runId: number; progress: ProgressInfo }
  | { type: 'result'; runId: number; result: InspectResult }
  /** runId is absent for errors that happen before a run has an id (e.g. the model is missing). */
  | { type: 'error'; runId?: number; error: ErrorInfo }
  /** The view is emptied, e.g. because the selected model changed; `reason` is shown to the user. */
  | { type: 'cleared'; reason?: string };

/** Messages the webview posts to the host. */
export type WebviewToHost =
  /** The script has loaded and listens; the host sends nothing before this. */
  | { type: 'ready' }
  /** Run the last question again with another number of thoughts. */
  | { type: 'rerun'; k: number }
  | { type: 'cancel' }
  /** A thought column got focus or was clicked (1-based index, as in ThoughtTrace.index). */
  | { type: 'selectThought'; index: number };

/**
 * What the webview persists with vscode.setState: enough to redraw the panel after it was hidden
 * or after a window reload. The host receives it in WebviewPanelSerializer.deserializeWebviewPanel.
 */
export interface InspectorState {
  version: 1;
  run?: RunInfo;
  result?: InspectResult;
  error?: ErrorInfo;
  /** 1-based index of the selected thought. */
  selected?: number;
  /** Shown when there is nothing else to show. */
  notice?: string;
}

export function isWebviewToHost(value: unknown): value is WebviewToHost {
  if (typeof value !== 'object' || value === null) return false;
  const msg = value as { type?: unknown; k?: unknown; index?: unknown };
  switch (msg.type) {
    case 'ready':
    case 'cancel':
      return true;
    case 'rerun':
      return typeof msg.k === 'number' && Number.isInteger(msg.k);
    case 'selectThought':
      return typeof msg.index === 'number' && Number.isInteger(msg.index);
    default:
      return false;
  }
}

export function isInspectorState(value: unknown): value is InspectorState {
  return typeof value === 'object' && value !== null && (value as { version?: unknown }).version === 1;
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
