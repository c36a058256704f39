// The inspector panel's script: keeps the view state, persists it with vscode.setState so the
// panel survives being hidden and window reloads, and talks to the host only through the protocol.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { InspectResult, ThoughtTrace } from '../src/engine/types';
import {
  isInspectorState,
  type ErrorInfo,
  type HostToWebview,
  type InspectorState,
  type RunInfo,
  type WebviewToHost,
} from '../src/protocol/inspector';
import { h } from './dom';
import {
  renderAnswer,
  renderBusy,
  renderEmpty,
  renderError,
  renderFooter,
  renderHeader,
  renderNotice,
  renderThoughts,
} from './render';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: InspectorState & ViewPrefs): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

interface ViewPrefs {
  showLens?: boolean;
}

/** Persisted state plus what only lives while the script runs. */
interface ViewState extends InspectorState, ViewPrefs {
  busy?: { text: string; done?: number; total?: number };
  /** Thoughts of the running run, streamed before its result arrives. */
  partial?: ThoughtTrace[];
}

const vscode = acquireVsCodeApi();
const saved = vscode.getState();
let state: ViewState = isInspectorState(saved) ? { ...(saved as ViewState), busy: undefined, partial: undefined } : { version: 1 };

const app = document.getElementById('app') ?? document.body;
const headerSlot = h('div', { class: 'header-slot' });
const statusSlot = h('div', { class: 'status-slot' });
const messageSlot = h('div', { class: 'message-slot' });
const resultSlot = h('div', { class: 'result-slot' });

// Controls are built once and updated in place, so typing a k is never interrupted by progress.
const kField = h('vscode-textfield', { type: 'number', min: 0, class: 'k-field', 'data-testid': 'k-input' });
// The component puts `label` on its inner <input>; a <label for> cannot reach into its shadow root.
kField.label = 'Number of continuous thoughts (k)';
const rerunButton = h('vscode-button', { 'data-testid': 'rerun' }, 'Rerun');
const cancelButton = h('vscode-button', { secondary: true, 'data-testid': 'cancel' }, 'Cancel');
const lensButton = h('vscode-button', { secondary: true, 'data-testid': 'toggle-lens' }, 'Show layers');
const kHint = h('span', { class: 'muted small k-hint', 'aria-live': 'polite' });
const controls = h(
  'div',
  { class: 'controls', role: 'group', 'aria-label': 'Rerun with another number of thoughts' },
  h('span', { class: 'k-label', 'aria-hidden': 'true' }, 'Thoughts (k)'),
  kField,
  rerunButton,
  cancelButton,
  lensButton,
  kHint,
);

app.append(headerSlot, controls, statusSlot, messageSlot, resultSlot);

function post(message: WebviewToHost): void {
  vscode.postMessage(message);
}

function persist(): void {
  const { busy: _busy, partial: _partial, ...keep } = state;
  vscode.setState(keep);
}

// ---- rendering --------------------------------------------------------------------------------

function maxK(): number | undefined {
  return state.run?.maxK;
}

function updateControls(): void {
  const run = state.run;
  const busy = Boolean(state.busy);
  controls.hidden = !run;
  if (!run) return;
  const max = maxK();
  if (max !== undefined) kField.setAttribute('max', String(max));
  if (document.activeElement !== kField && !kField.dataset.edited) kField.value = String(run.k);
  kHint.textContent = max !== undefined ? `0 to ${max}; Enter reruns` : 'Enter reruns';
  rerunButton.toggleAttribute('disabled', busy);
  cancelButton.hidden = !busy;
  lensButton.hidden = !state.result?.thoughts.some((t) => t.lens.length);
  lensButton.textContent = state.showLens ? 'Hide layers' : 'Show layers';
  lensButton.setAttribute('aria-pressed', state.showLens ? 'true' : 'false');
}

function renderStatus(): void {
  statusSlot.replaceChildren();
  if (state.busy) statusSlot.append(renderBusy(state.busy.text, state.busy.done, state.busy.total));
}

function renderAll(): void {
  const focused = focusedThought();
  const { run, result, error } = state;
  headerSlot.replaceChildren();
  if (run || result) headerSlot.append(renderHeader(run, result, Boolean(result || error || state.busy)));

  messageSlot.replaceChildren();
  const notice = result || error || state.busy ? providerNotice(run, result) : undefined;
  if (notice) messageSlot.append(renderNotice(notice, 'warning'));
  if (state.notice && (run || result || error)) messageSlot.append(renderNotice(state.notice));
  if (error) messageSlot.append(renderError(error));

  resultSlot.replaceChildren();
  resultSlot.classList.toggle('stale', Boolean(state.busy));
  if (state.busy && state.partial?.length && run) {
    resultSlot.classList.remove('stale');
    resultSlot.append(renderThoughts(state.partial, run.k, clampSelected(run.k), Boolean(state.showLens)));
  } else if (result) {
    const selected = clampSelected(result.thoughts.length);
    resultSlot.append(
      renderThoughts(result.thoughts, result.thoughts.length, selected, Boolean(state.showLens)),
      renderAnswer(result, run?.question === result.question ? run?.expectedAnswer : undefined),
      renderFooter(result),
    );
  } else if (!run && !error && !state.busy) {
    resultSlot.append(renderEmpty(state.notice));
  }
  renderStatus();
  updateControls();
  if (focused !== undefined) focusThought(focused);
}

function providerNotice(run: RunInfo | undefined, result: InspectResult | undefined): string | undefined {
  if (!run?.providerNotice) return undefined;
  const ran = result?.provider ?? run.provider;
  return `Requested provider “${run.requestedProvider}”, ran on ${ran}: ${run.providerNotice}`;
}

function clampSelected(n: number): number {
  const s = state.selected ?? 1;
  return n === 0 ? 0 : Math.min(Math.max(1, s), n);
}

// ---- thoughts: selection and keyboard -------------------------------------------------------

function thoughtColumns(): HTMLElement[] {
  return Array.from(resultSlot.querySelectorAll<HTMLElement>('[data-testid="thought"]'));
}

function focusedThought(): number | undefined {
  const el = document.activeElement as HTMLElement | null;
  return el?.dataset.testid === 'thought' ? Number(el.dataset.index) : undefined;
}

function focusThought(index: number): void {
  thoughtColumns()
    .find((c) => Number(c.dataset.index) === index)
    ?.focus();
}

/** Roving tabindex: one column is in the tab order; arrows move within the list. */
function selectThought(index: number, focus: boolean): void {
  if (state.selected !== index) {
    state.selected = index;
    persist();
    post({ type: 'selectThought', index });
  }
  for (const col of thoughtColumns()) {
    const on = Number(col.dataset.index) === index;
    col.classList.toggle('selected', on);
    col.setAttribute('aria-selected', on ? 'true' : 'false');
    col.tabIndex = on ? 0 : -1;
    if (on && focus) col.focus();
  }
}

resultSlot.addEventListener('click', (e) => {
  const col = (e.target as HTMLElement).closest<HTMLElement>('[data-testid="thought"]');
  if (col) selectThought(Number(col.dataset.index), true);
});

resultSlot.addEventListener('focusin', (e) => {
  const col = e.target as HTMLElement;
  if (col.dataset?.testid === 'thought') selectThought(Number(col.dataset.index), false);
});

resultSlot.addEventListener('keydown', (e) => {
  const col = e.target as HTMLElement;
  if (col.dataset?.testid !== 'thought') return;
  const n = thoughtColumns().length;
  const i = Number(col.dataset.index);
  let next: number | undefined;
  switch (e.key) {
    case 'ArrowRight':
    case 'ArrowDown':
      next = Math.min(n, i + 1);
      break;
    case 'ArrowLeft':
    case 'ArrowUp':
      next = Math.max(1, i - 1);
      break;
    case 'Home':
      next = 1;
      break;
    case 'End':
      next = n;
      break;
  }
  if (next === undefined) return;
  e.preventDefault();
  selectThought(next, true);
});

// ---- controls ----------------------------------------------------------------------------------

function requestedK(): number | undefined {
  const raw = kField.value.trim();
  const k = Number(raw);
  const max = maxK();
  const ok = raw !== '' && Number.isInteger(k) && k >= 0 && (max === undefined || k <= max);
  kField.invalid = !ok;
  if (!ok) kHint.textContent = `k must be a whole number from 0 to ${max ?? 'the model maximum'}.`;
  return ok ? k : undefined;
}

function rerun(): void {
  if (state.busy || !state.run) return;
  const k = requestedK();
  if (k === undefined) return;
  delete kField.dataset.edited;
  post({ type: 'rerun', k });
}

rerunButton.addEventListener('click', rerun);
kField.addEventListener('input', () => {
  kField.dataset.edited = '1';
  kField.invalid = false;
});
kField.addEventListener('keydown', (e) => {
  if ((e as KeyboardEvent).key === 'Enter') rerun();
});
cancelButton.addEventListener('click', () => post({ type: 'cancel' }));
lensButton.addEventListener('click', () => {
  state.showLens = !state.showLens;
  persist();
  renderAll();
});

// ---- host messages ----------------------------------------------------------------------------

function onMessage(msg: HostToWebview): void {
  switch (msg.type) {
    case 'loading':
      state.error = undefined;
      state.busy = { text: `Loading model ${msg.model} (provider: ${msg.provider})…` };
      break;
    case 'runStarted': {
      const sameQuestion = state.result?.question === msg.run.question;
      state = {
        ...state,
        run: msg.run,
        error: undefined,
        notice: undefined,
        result: sameQuestion ? state.result : undefined,
        busy: { text: 'Starting…' },
        partial: undefined,
      };
      delete kField.dataset.edited;
      break;
    }
    case 'progress': {
      if (msg.runId !== state.run?.runId) return;
      const p = msg.progress;
      state.busy = { text: stageText(p.stage), done: p.done, total: p.total };
      if (!p.thought) {
        renderStatus();
        return;
      }
      const th = p.thought;
      state.partial = [...(state.partial ?? []).filter((t) => t.index !== th.index), th].sort((a, b) => a.index - b.index);
      renderAll();
      return;
    }
    case 'result':
      if (msg.runId !== state.run?.runId) return;
      state = { ...state, result: msg.result, error: undefined, busy: undefined, partial: undefined, notice: undefined };
      break;
    case 'error':
      if (msg.runId !== undefined && msg.runId !== state.run?.runId) return;
      applyError(msg.error);
      break;
    case 'cleared':
      state = { ...state, result: undefined, error: undefined, busy: undefined, partial: undefined, notice: msg.reason };
      break;
  }
  persist();
  renderAll();
}

/**
 * A failed run leaves the previous result on view: runStarted already dropped it when the question
 * changed, so what remains belongs to the same question (e.g. a rerun with an invalid k).
 */
function applyError(error: ErrorInfo): void {
  state.busy = undefined;
  state.partial = undefined;
  if (error.code === 'CANCELLED') {
    state.notice = 'Run cancelled.';
    state.error = undefined;
  } else {
    state.error = error;
  }
}

function stageText(stage: string): string {
  const s = stage.trim();
  return s ? s[0]!.toUpperCase() + s.slice(1) : 'Running';
}

window.addEventListener('message', (event: MessageEvent<HostToWebview>) => {
  const msg = event.data;
  if (msg && typeof msg === 'object' && typeof msg.type === 'string') onMessage(msg);
});

renderAll();
post({ type: 'ready' });
