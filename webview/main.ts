// The inspector panel's script: wires the parts together. Host messages go through reduce()
// (reduce.ts, pure and unit-tested) and the effects it returns; each tab draws itself from the
// state (*Tab.ts); the state persists with vscode.setState so the panel survives being hidden and
// window reloads. The host is reached only through the protocol.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { HostToWebview, InspectorState, RunInfo, TraceResult, WebviewToHost } from '../src/protocol/inspector';
import { renderCompareTab } from './compare-tab';
import { createControls } from './controls';
import { renderDatasetTab } from './dataset-tab';
import { h } from './dom';
import { answerChartRequest } from './figures';
import { reduce, type Effect } from './reduce';
import { renderBusy, renderError, renderHeader, renderNotice } from './render';
import { renderSearchTab } from './search-tab';
import { currentTab, modelChipRepeatsPicker, persistedPart, restoreState, type ViewPrefs, type ViewState } from './state';
import { renderSweepTab } from './sweep-tab';
import { createTabs } from './tabs';
import { applyLinked, focusedKey, restoreFocus, thoughtColumns, wireThoughts } from './thought-links';
import { renderThoughtsTab } from './thoughts-tab';
import type { View } from './view';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: InspectorState & ViewPrefs): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
let state: ViewState = restoreState(vscode.getState());

const view: View = {
  get state() {
    return state;
  },
  post: (message) => vscode.postMessage(message),
  persist,
  render: renderAll,
  panel: (id) => tabs.panels[id],
};

const tabs = createTabs(view);
const controls = createControls(view);
const app = document.getElementById('app') ?? document.body;
const headerSlot = h('div', { class: 'header-slot' });
const statusSlot = h('div', { class: 'status-slot' });
const messageSlot = h('div', { class: 'message-slot' });
app.append(headerSlot, controls.element, tabs.list, statusSlot, messageSlot, ...Object.values(tabs.panels));
wireThoughts(view);

function persist(): void {
  vscode.setState(persistedPart(state));
}

let persistTimer: ReturnType<typeof setTimeout> | undefined;
function persistSoon(): void {
  if (persistTimer) return;
  persistTimer = setTimeout(() => {
    persistTimer = undefined;
    persist();
  }, 500);
}

// ---- rendering --------------------------------------------------------------------------------

function renderStatus(): void {
  const b = state.busy;
  if (b?.analysis && b.total) {
    // Updated in place while it runs: progress arrives often, and a rebuilt Cancel button could
    // lose a click between mousedown and mouseup.
    let box = statusSlot.querySelector<HTMLElement>('[data-testid="busy"][data-analysis]');
    if (!box || box.dataset.analysis !== b.analysis) {
      const bar = h('progress', { class: 'progress', 'data-testid': 'progress' });
      // Its own Cancel: a dataset may be evaluated before anything was inspected (no run controls yet).
      const cancel = h('vscode-button', { secondary: true, 'data-testid': 'progress-cancel' }, 'Cancel');
      cancel.addEventListener('click', () => view.post({ type: 'cancel' }));
      box = h(
        'div',
        { class: 'busy', role: 'status', 'aria-live': 'polite', 'data-testid': 'busy', 'data-analysis': b.analysis },
        bar,
        h('span', { class: 'busy-text' }),
        cancel,
      );
      statusSlot.replaceChildren(box);
    }
    const bar = box.querySelector('progress')!;
    bar.max = b.total;
    bar.value = b.done ?? 0;
    bar.setAttribute('aria-label', b.text);
    box.querySelector('.busy-text')!.textContent = `${b.text} ${b.done ?? 0}/${b.total}`;
    return;
  }
  statusSlot.replaceChildren();
  if (b) statusSlot.append(renderBusy(b.text, b.done, b.total));
}

/** Re-renders everything, keeping keyboard focus on the same control when it still exists. */
function renderAll(): void {
  const focusKey = focusedKey(controls.kField);
  const { run, result, error } = state;
  headerSlot.replaceChildren();
  if (run || result) {
    const question = {
      expanded: Boolean(state.questionExpanded),
      onToggle: (open: boolean) => {
        state.questionExpanded = open;
        persist();
      },
    };
    headerSlot.append(renderHeader(run, result, Boolean(result || error || state.busy), question));
  }
  // Next to the model chip when there is a header, else on its own at the top.
  controls.updateModelPicker();
  (headerSlot.querySelector('.meta') ?? headerSlot).prepend(controls.modelPicker);
  headerSlot.querySelector('[data-tag="model"]')?.classList.toggle('repeats-picker', !controls.modelPicker.hidden && modelChipRepeatsPicker(state));

  messageSlot.replaceChildren();
  const notice = result || error || state.busy ? providerNotice(run, result) : undefined;
  if (notice) messageSlot.append(renderNotice(notice, 'warning'));
  if (state.notice && (run || result || error)) messageSlot.append(renderNotice(state.notice));
  if (error) messageSlot.append(renderError(error));

  renderThoughtsTab(view);
  renderSearchTab(view);
  renderSweepTab(view);
  renderCompareTab(view);
  renderDatasetTab(view);
  renderStatus();
  controls.update();
  tabs.update();
  applyLinked(view);
  if (focusKey) restoreFocus(focusKey);
}

function providerNotice(run: RunInfo | undefined, result: TraceResult | undefined): string | undefined {
  if (!run?.providerNotice) return undefined;
  const ran = result?.provider ?? run.provider;
  return `Requested provider “${run.requestedProvider}”, ran on ${ran}: ${run.providerNotice}`;
}

// ---- host messages ----------------------------------------------------------------------------

function onMessage(msg: HostToWebview): void {
  const reduced = reduce(state, msg);
  state = reduced.state;
  for (const effect of reduced.effects) perform(effect);
}

function perform(effect: Effect): void {
  switch (effect.type) {
    case 'persist':
      persist();
      return;
    case 'persistSoon':
      persistSoon();
      return;
    case 'render':
      renderAll();
      return;
    case 'renderStatus':
      renderStatus();
      return;
    case 'releaseKField':
      controls.releaseKField();
      return;
    case 'highlight':
      applyLinked(view);
      if (effect.indices.length && currentTab(state) === 'thoughts') {
        thoughtColumns(view)
          .find((c) => Number(c.dataset.index) === effect.indices[0])
          ?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
      }
      return;
    case 'answerChart':
      void answerChartRequest(view, effect.requestId, effect.chart, effect.format);
      return;
    case 'unknownMessage':
      console.error('Coconut Lens panel: a message type this panel does not know', effect.message);
      return;
  }
}

window.addEventListener('message', (event: MessageEvent<HostToWebview>) => {
  const msg = event.data;
  if (msg && typeof msg === 'object' && typeof msg.type === 'string') onMessage(msg);
});

renderAll();
view.post({ type: 'ready' });
