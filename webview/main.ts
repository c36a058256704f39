// The inspector panel's script: keeps the view state, persists it with vscode.setState so the
// panel survives being hidden and window reloads, and talks to the host only through the protocol.
// Each tab's markup is built by its own module; this file owns state, events and messages.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { SweepPoint } from '../src/shared/types';
import type { ThoughtTrace } from '../src/shared/types';
import {
  isInspectorState,
  TAB_IDS,
  type AnalysisKind,
  type ChartId,
  type ErrorInfo,
  type HostToWebview,
  type ImageFormat,
  type InspectorState,
  type ModelOption,
  type RunInfo,
  type TabId,
  type TraceResult,
  type WebviewToHost,
} from '../src/protocol/inspector';
import { renderCompare } from './compareView';
import { datasetHeadline, renderDatasetCharts, renderDatasetTable, summarise } from './datasetView';
import { h } from './dom';
import { serializeSvg, svgSize, svgToPngBase64 } from './exportImage';
import { graphLegend, renderGraphSvg, renderValueTable, whenLayoutReady } from './graphView';
import { renderHeatmap } from './heatmap';
import {
  attributionSummary,
  buildInterventions,
  diffOf,
  renderAttributionChart,
  renderDivergenceChart,
  renderInterventionEditor,
  type Draft,
} from './interventionView';
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
import { renderSweepChart, renderSweepTable, sweepSummary } from './sweepView';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: InspectorState & ViewPrefs): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

interface ViewPrefs {
  showLens?: boolean;
  /** Intervention edits being prepared, per thought. */
  drafts?: Record<number, Draft>;
}

/** Persisted state plus what only lives while the script runs. */
interface ViewState extends InspectorState, ViewPrefs {
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

const TAB_TEXT: Record<TabId, string> = {
  thoughts: 'Thoughts',
  search: 'Latent search',
  sweep: 'k sweep',
  compare: 'Compare',
  dataset: 'Dataset',
};

const vscode = acquireVsCodeApi();
const saved = vscode.getState();
let state: ViewState = isInspectorState(saved) ? { ...(saved as ViewState), busy: undefined, partial: undefined } : { version: 1 };

const app = document.getElementById('app') ?? document.body;
const headerSlot = h('div', { class: 'header-slot' });
const statusSlot = h('div', { class: 'status-slot' });
const messageSlot = h('div', { class: 'message-slot' });

// Controls are built once and updated in place, so typing a k is never interrupted by progress.
const kField = h('vscode-textfield', { type: 'number', min: 0, class: 'k-field', 'data-testid': 'k-input' });
// The component puts `label` on its inner <input>; a <label for> cannot reach into its shadow root.
kField.label = 'Number of continuous thoughts (k)';
const rerunButton = h('vscode-button', { 'data-testid': 'rerun' }, 'Rerun');
const cancelButton = h('vscode-button', { secondary: true, 'data-testid': 'cancel' }, 'Cancel');
const lensButton = h('vscode-button', { secondary: true, 'data-testid': 'toggle-lens' }, 'Show layers');
const pinButton = h('vscode-button', { secondary: true, 'data-testid': 'pin' }, 'Pin for compare');
const exportJson = h('vscode-button', { secondary: true, 'data-testid': 'export-json' }, 'Export JSON');
const exportCsv = h('vscode-button', { secondary: true, 'data-testid': 'export-csv' }, 'Export CSV');
exportJson.title = 'Save the trace (thoughts, answer, timings) as JSON';
exportCsv.title = 'Save the decoded distributions as CSV';
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
  h('span', { class: 'spacer' }),
  pinButton,
  exportJson,
  exportCsv,
);

// The model picker: built once and moved into the header next to the model chip on each render.
// A native <select>: keyboard-usable as is, and disabled options (missing folders, models Restricted
// Mode does not run) are announced as unavailable.
const modelSelect = h('select', { class: 'field model-picker', id: 'model-picker', 'data-testid': 'model-picker', 'aria-label': 'Model to run' });
modelSelect.addEventListener('change', () => {
  const chosen = state.models?.list.find((m) => m.dir === modelSelect.value);
  if (chosen && !chosen.current) post({ type: 'selectModel', dir: chosen.dir });
});
const modelPicker = h('span', { class: 'model-pick' }, h('label', { for: 'model-picker', class: 'tag-name' }, 'Model'), modelSelect);

function updateModelPicker(): void {
  const models = state.models;
  modelPicker.hidden = !models || models.list.length === 0;
  if (!models) return;
  const options = models.list.map((m) => {
    const why = !m.present ? ' (missing)' : !m.selectable ? ' (not in Restricted Mode)' : '';
    const o = h('option', { value: m.dir, disabled: !m.selectable, title: m.dir }, `${m.label}${why}`);
    o.selected = m.current;
    return o;
  });
  modelSelect.replaceChildren(...options);
  modelSelect.title = models.restricted ? 'Restricted Mode runs only the shipped model' : 'The model inspect commands run';
}

const tabList = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Inspector views' });
const panels = {} as Record<TabId, HTMLElement>;
const tabs = {} as Record<TabId, HTMLElement>;
for (const id of TAB_IDS) {
  const tab = h('button', { class: 'tab', role: 'tab', id: `tab-${id}`, 'aria-controls': `panel-${id}`, 'data-testid': `tab-${id}`, type: 'button' }, TAB_TEXT[id]);
  tab.addEventListener('click', () => selectTab(id, true));
  tabs[id] = tab;
  tabList.append(tab);
  panels[id] = h('section', { class: 'tab-panel', role: 'tabpanel', id: `panel-${id}`, 'aria-labelledby': `tab-${id}`, 'data-testid': `panel-${id}`, tabindex: 0 });
}
tabList.addEventListener('keydown', (e) => {
  const i = TAB_IDS.indexOf(currentTab());
  let next: number | undefined;
  if (e.key === 'ArrowRight') next = (i + 1) % TAB_IDS.length;
  else if (e.key === 'ArrowLeft') next = (i - 1 + TAB_IDS.length) % TAB_IDS.length;
  else if (e.key === 'Home') next = 0;
  else if (e.key === 'End') next = TAB_IDS.length - 1;
  if (next === undefined) return;
  e.preventDefault();
  selectTab(TAB_IDS[next]!, true);
});

app.append(headerSlot, controls, tabList, statusSlot, messageSlot, ...TAB_IDS.map((id) => panels[id]));

function post(message: WebviewToHost): void {
  vscode.postMessage(message);
}

function persist(): void {
  const { busy: _b, partial: _p, sweepPartial: _s, pendingPrevious: _pp, linked: _l, analysisError: _e, interventionProblem: _ip, models: _m, ...keep } = state;
  vscode.setState(keep);
}

function currentTab(): TabId {
  return state.tab ?? 'thoughts';
}

function selectTab(id: TabId, focus: boolean): void {
  state.tab = id;
  persist();
  updateTabs();
  if (focus) tabs[id].focus();
}

function updateTabs(): void {
  const active = currentTab();
  for (const id of TAB_IDS) {
    const on = id === active;
    tabs[id].setAttribute('aria-selected', on ? 'true' : 'false');
    tabs[id].tabIndex = on ? 0 : -1;
    tabs[id].classList.toggle('active', on);
    panels[id].hidden = !on;
  }
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
  // Analyses show their Cancel next to their progress bar.
  cancelButton.hidden = !busy || Boolean(state.busy?.analysis && state.busy.total);
  lensButton.hidden = !state.result?.thoughts.some((t) => t.lens.length);
  lensButton.textContent = state.showLens ? 'Hide layers' : 'Show layers';
  lensButton.setAttribute('aria-pressed', state.showLens ? 'true' : 'false');
  const hasResult = Boolean(state.result);
  for (const b of [pinButton, exportJson, exportCsv]) b.toggleAttribute('disabled', !hasResult);
  pinButton.textContent = state.pinned ? 'Pin this run instead' : 'Pin for compare';
}

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
      cancel.addEventListener('click', () => post({ type: 'cancel' }));
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
  const focusKey = focusedKey();
  const { run, result, error } = state;
  headerSlot.replaceChildren();
  if (run || result) headerSlot.append(renderHeader(run, result, Boolean(result || error || state.busy)));
  // Next to the model chip when there is a header, else on its own at the top.
  updateModelPicker();
  (headerSlot.querySelector('.meta') ?? headerSlot).prepend(modelPicker);

  messageSlot.replaceChildren();
  const notice = result || error || state.busy ? providerNotice(run, result) : undefined;
  if (notice) messageSlot.append(renderNotice(notice, 'warning'));
  if (state.notice && (run || result || error)) messageSlot.append(renderNotice(state.notice));
  if (error) messageSlot.append(renderError(error));

  renderThoughtsTab();
  renderSearchTab();
  renderSweepTab();
  renderCompareTab();
  renderDatasetTab();
  renderStatus();
  updateControls();
  updateTabs();
  applyLinked();
  if (focusKey) restoreFocus(focusKey);
}

function providerNotice(run: RunInfo | undefined, result: TraceResult | undefined): string | undefined {
  if (!run?.providerNotice) return undefined;
  const ran = result?.provider ?? run.provider;
  return `Requested provider “${run.requestedProvider}”, ran on ${ran}: ${run.providerNotice}`;
}

function clampSelected(n: number): number {
  const s = state.selected ?? 1;
  return n === 0 ? 0 : Math.min(Math.max(1, s), n);
}

function analysisErrorFor(kind: AnalysisKind): HTMLElement | undefined {
  return state.analysisError?.analysis === kind ? renderError(state.analysisError.error) : undefined;
}

/** A chart in a figure with its caption and SVG/PNG export buttons. */
function figure(caption: string, chart: SVGSVGElement, extra?: HTMLElement): HTMLElement {
  const id = chart.dataset.chart as ChartId;
  const svgButton = h('button', { class: 'link-button', type: 'button', 'data-testid': 'export-svg', 'data-chart': id }, 'SVG');
  const pngButton = h('button', { class: 'link-button', type: 'button', 'data-testid': 'export-png', 'data-chart': id }, 'PNG');
  svgButton.setAttribute('aria-label', `Export the ${caption} chart as SVG`);
  pngButton.setAttribute('aria-label', `Export the ${caption} chart as PNG`);
  svgButton.addEventListener('click', () => void exportChart(id, 'svg'));
  pngButton.addEventListener('click', () => void exportChart(id, 'png'));
  return h(
    'figure',
    { class: 'chart-box', 'data-figure': id },
    h('figcaption', {}, h('span', {}, caption), h('span', { class: 'figure-actions' }, 'Export: ', svgButton, ' ', pngButton)),
    h('div', { class: 'chart-scroll' }, chart),
    extra,
  );
}

function renderThoughtsTab(): void {
  const panel = panels.thoughts;
  panel.replaceChildren();
  const { run, result, error } = state;
  panel.classList.toggle('stale', Boolean(state.busy && !state.busy.analysis));
  if (state.busy && !state.busy.analysis && state.partial?.length && run) {
    panel.classList.remove('stale');
    panel.append(renderThoughts(state.partial, run.k, clampSelected(run.k), Boolean(state.showLens)));
    return;
  }
  if (!result) {
    if (!run && !error && !state.busy) panel.append(renderEmpty(state.notice));
    return;
  }
  const iv = state.intervention && state.intervention.original.question === result.question ? state.intervention : undefined;
  const shown = iv ? iv.intervened : result;
  const selected = clampSelected(shown.thoughts.length);
  panel.append(
    renderThoughts(
      shown.thoughts,
      shown.thoughts.length,
      selected,
      Boolean(state.showLens),
      iv ? diffOf(iv) : undefined,
      iv ? 'Continuous thoughts with the interventions (against the original run)' : 'Continuous thoughts',
    ),
  );
  if (iv) panel.append(figure('Divergence from the original per thought', renderDivergenceChart(iv)));
  panel.append(renderAnswer(shown, run?.question === shown.question ? run?.expectedAnswer : undefined, iv ? iv.original : undefined));
  const heat = renderHeatmap(shown.thoughts, selected);
  if (heat) {
    panel.append(
      h('h2', {}, 'Logit lens per layer'),
      h('p', { class: 'muted small' }, 'Each cell: the top token of ln_f(hidden state) · Wᵀ at that layer, shaded by its probability. Hover a row to see its reasoning step in the editor.'),
      figure('Logit lens heatmap', heat),
    );
  }
  if (shown.thoughts.length) {
    panel.append(
      renderInterventionEditor(
        result.thoughts,
        state.drafts ?? {},
        state.previous,
        run?.nEmbd,
        Boolean(state.busy),
        {
          onChange: (thought, draft) => {
            state.drafts = { ...(state.drafts ?? {}), [thought]: draft };
            state.interventionProblem = undefined;
            persist();
            renderAll();
          },
          onRun: () => {
            const built = buildInterventions(state.drafts ?? {}, state.previous);
            state.interventionProblem = built.problem;
            if (built.problem) {
              renderAll();
              return;
            }
            post({ type: 'intervene', interventions: built.interventions });
          },
          onClear: () => {
            state.intervention = undefined;
            persist();
            renderAll();
          },
          onAttribution: () => post({ type: 'attribution' }),
        },
        Boolean(iv),
      ),
    );
    if (state.interventionProblem) panel.append(renderNotice(state.interventionProblem, 'warning'));
    const ivError = analysisErrorFor('intervention');
    if (ivError) panel.append(ivError);
  }
  const att = state.attribution && state.attribution.question === result.question ? state.attribution : undefined;
  if (att) {
    panel.append(
      h('h2', {}, 'Attribution'),
      h('p', { class: 'small', 'data-testid': 'attribution-summary' }, attributionSummary(att.entries)),
      figure('Attribution: Δ log p(answer) per ablated thought', renderAttributionChart(att.entries)),
    );
  }
  const attError = analysisErrorFor('attribution');
  if (attError) panel.append(attError);
  panel.append(renderFooter(shown));
}

function searchThought(k: number): number {
  const t = state.searchThought ?? k;
  return Math.max(0, Math.min(k, t));
}

function renderSearchTab(): void {
  const panel = panels.search;
  panel.replaceChildren(h('h2', {}, 'Latent search over the ProsQA graph'));
  const { run, result } = state;
  if (!run) {
    panel.append(h('p', { class: 'muted' }, 'Inspect a ProsQA record (one with idx_to_symbol, edges, root and target) to see the search its thoughts carry.'));
    return;
  }
  if (!run.graph) {
    panel.append(
      h(
        'div',
        { class: 'message info', role: 'status', 'data-testid': 'graph-missing' },
        `No latent-search view: ${run.graphMissing ?? 'this record has no ProsQA graph fields (idx_to_symbol, edges, root, target)'}.`,
      ),
    );
    return;
  }
  const graph = run.graph;
  if (!result || result.question !== run.question) {
    panel.append(h('p', { class: 'muted' }, state.busy ? 'Running…' : 'No result for this record yet.'));
    return;
  }
  const k = result.thoughts.length;
  const t = searchThought(k);
  const values = result.nodeValues?.find((v) => v.thought === t);
  const svg = renderGraphSvg(graph, values, t);
  if (!svg) {
    panel.append(h('p', { class: 'muted' }, 'Laying out the graph…'));
    void whenLayoutReady().then(() => renderSearchTab());
    return;
  }
  const prev = h('vscode-button', { secondary: true, 'data-testid': 'search-prev', 'aria-label': 'Previous thought' }, '◀ Previous');
  const next = h('vscode-button', { secondary: true, 'data-testid': 'search-next', 'aria-label': 'Next thought' }, 'Next ▶');
  prev.toggleAttribute('disabled', t <= 0);
  next.toggleAttribute('disabled', t >= k);
  prev.addEventListener('click', () => stepSearch(t - 1, k));
  next.addEventListener('click', () => stepSearch(t + 1, k));
  const position = h(
    'span',
    { class: 'stepper-label', 'data-testid': 'search-step', 'aria-live': 'polite' },
    t === 0 ? `Before any thought (t = 0 of ${k})` : `After thought ${t} of ${k}`,
  );
  const stepper = h('div', { class: 'toolbar stepper', role: 'group', 'aria-label': 'Thought stepper' }, prev, position, next);
  const fig = figure(`ProsQA graph after ${t} thought${t === 1 ? '' : 's'}`, svg, renderValueTable(graph, values, t));
  fig.tabIndex = 0;
  fig.setAttribute('data-testid', 'graph-figure');
  fig.setAttribute('aria-label', `${svg.getAttribute('aria-label') ?? ''} Use the left and right arrow keys to step through the thoughts.`);
  fig.addEventListener('keydown', (e) => {
    const key = (e as KeyboardEvent).key;
    const to = key === 'ArrowRight' ? t + 1 : key === 'ArrowLeft' ? t - 1 : key === 'Home' ? 0 : key === 'End' ? k : undefined;
    if (to === undefined) return;
    e.preventDefault();
    stepSearch(to, k, true);
  });
  panel.append(
    h(
      'p',
      { class: 'muted small' },
      (values?.source === 'thought' || result.nodeValues?.[0]?.source === 'thought'
        ? 'A concept’s value after t thoughts is its probability in thought t’s own decoded distribution (this model was trained to hold the BFS frontier there). '
        : 'After t thoughts the model is switched to language mode and asked to continue “Every …”; a concept’s value is the probability of its name. ') +
        'Several high values at once are branches of the search held in superposition.',
    ),
    stepper,
    graphLegend(),
    fig,
  );
}

function stepSearch(to: number, k: number, focusFigure = false): void {
  state.searchThought = Math.max(0, Math.min(k, to));
  persist();
  renderSearchTab();
  if (focusFigure) panels.search.querySelector<HTMLElement>('[data-testid="graph-figure"]')?.focus();
}

function renderSweepTab(): void {
  const panel = panels.sweep;
  panel.replaceChildren(h('h2', {}, 'k sweep: the answer with k = 0 … max thoughts'));
  const { run } = state;
  if (!run) {
    panel.append(h('p', { class: 'muted' }, 'Inspect a question first; the sweep reruns it with every number of thoughts.'));
    return;
  }
  const to = h('input', { class: 'field k-to', type: 'number', min: 0, max: run.maxK, value: run.maxK, 'data-testid': 'sweep-to', 'aria-label': 'Largest k of the sweep' });
  const go = h('vscode-button', { 'data-testid': 'run-sweep' }, `Run k sweep`);
  go.toggleAttribute('disabled', Boolean(state.busy));
  go.addEventListener('click', () => {
    const v = Number(to.value);
    if (!Number.isInteger(v) || v < 0 || v > run.maxK) {
      to.setAttribute('aria-invalid', 'true');
      return;
    }
    post({ type: 'sweep', to: v });
  });
  panel.append(h('div', { class: 'toolbar' }, h('label', { class: 'small' }, 'k from 0 to ', to), go));
  const err = analysisErrorFor('sweep');
  if (err) panel.append(err);
  const sweep = state.sweep && state.sweep.question === run.question ? state.sweep : undefined;
  const points = state.busy?.analysis === 'sweep' && state.sweepPartial ? state.sweepPartial : sweep?.points;
  if (!points?.length) {
    panel.append(h('p', { class: 'muted' }, 'No sweep yet for this question.'));
    return;
  }
  panel.append(
    h('p', { class: 'small', 'data-testid': 'sweep-summary' }, sweepSummary({ points })),
    figure('Answer probability per k', renderSweepChart(points)),
    renderSweepTable(points),
  );
}

function renderCompareTab(): void {
  const panel = panels.compare;
  panel.replaceChildren(h('h2', {}, 'Compare two runs'));
  const pin = state.pinned;
  const { result } = state;
  if (!pin) {
    const b = h('vscode-button', { 'data-testid': 'pin-here' }, 'Pin the current run');
    b.toggleAttribute('disabled', !result);
    b.addEventListener('click', () => post({ type: 'pin' }));
    panel.append(
      h('p', { class: 'muted' }, 'Pin a run, then run another k, an intervention, another prompt or another model: both are shown side by side with the divergence per thought.'),
      b,
    );
    return;
  }
  const unpin = h('vscode-button', { secondary: true, 'data-testid': 'unpin' }, 'Unpin');
  unpin.addEventListener('click', () => post({ type: 'unpin' }));
  panel.append(h('div', { class: 'toolbar' }, h('span', { class: 'small' }, `Pinned: ${pin.label}`), unpin));
  const iv = state.intervention && result && state.intervention.original.question === result.question ? state.intervention : undefined;
  const current = iv ? iv.intervened : result;
  if (!current) {
    panel.append(h('p', { class: 'muted' }, 'Run something to compare with the pinned run.'));
    return;
  }
  const label = `${current.model} · k=${current.thoughtsRequested}${iv ? ' · with interventions' : ''}${state.run?.source ? ` · ${state.run.source}` : ''}`;
  const table = renderCompare(pin, current, label);
  const chart = table.querySelector<SVGSVGElement>('svg[data-chart="compare"]');
  if (chart) {
    const holder = chart.parentElement!;
    holder.replaceWith(figure('Divergence per thought, pinned vs current', chart));
  }
  panel.append(table);
}

function renderDatasetTab(): void {
  const panel = panels.dataset;
  panel.replaceChildren(h('h2', {}, 'Dataset evaluation'));
  const to = h('input', {
    class: 'field k-to',
    type: 'number',
    min: 0,
    value: state.run?.maxK ?? '',
    placeholder: 'model max',
    'data-testid': 'dataset-to',
    'aria-label': 'Largest k to evaluate (empty: the model maximum)',
  });
  const go = h('vscode-button', { 'data-testid': 'run-dataset' }, 'Evaluate a dataset file…');
  go.title = 'Runs the JSON/JSONL file in the active editor (or one you pick) at k = 0 … max';
  go.toggleAttribute('disabled', Boolean(state.busy));
  go.addEventListener('click', () => {
    const raw = to.value.trim();
    const v = raw === '' ? undefined : Number(raw);
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) {
      to.setAttribute('aria-invalid', 'true');
      return;
    }
    post(v === undefined ? { type: 'evalDataset' } : { type: 'evalDataset', to: v });
  });
  panel.append(h('div', { class: 'toolbar' }, h('label', { class: 'small' }, 'k from 0 to ', to), go));
  const err = analysisErrorFor('dataset');
  if (err) panel.append(err);
  const ds = state.dataset;
  if (!ds) {
    panel.append(h('p', { class: 'muted' }, 'Open a JSON or JSONL file of records with answers (e.g. the ProsQA validation set) and evaluate it: accuracy per k, the paper’s path categories, and every record one click from the inspector.'));
    return;
  }
  const perK = ds.result?.perK ?? summarise(ds.records, ds.info.ks);
  panel.append(
    h('p', { class: 'small', 'data-testid': 'dataset-headline' }, datasetHeadline(ds.info, ds.result, ds.records.length)),
  );
  if (ds.records.length) {
    const charts = renderDatasetCharts(perK);
    for (const fig of Array.from(charts.querySelectorAll('figure'))) {
      const svg = fig.querySelector('svg') as SVGSVGElement | null;
      const caption = fig.querySelector('figcaption')?.textContent ?? '';
      if (svg) fig.replaceWith(figure(caption, svg));
    }
    panel.append(charts, renderDatasetTable(ds.info, ds.result?.records ?? ds.records, (index, k) => post(k === undefined ? { type: 'openRecord', uri: ds.info.uri, index } : { type: 'openRecord', uri: ds.info.uri, index, k })));
  }
}

// ---- editor links: hovering thoughts ↔ reasoning steps ----------------------------------------

let hovered: number | null = null;

function hoverThought(index: number | null): void {
  if (hovered === index) return;
  hovered = index;
  post({ type: 'hoverThought', index });
}

function thoughtIndexOf(target: EventTarget | null): number | null {
  const el = (target as Element | null)?.closest?.('[data-testid="thought"], .heat-row, [data-testid="intervention-row"]');
  if (!el) return null;
  const v = (el as HTMLElement).dataset?.index ?? el.getAttribute('data-thought');
  return v ? Number(v) : null;
}

panels.thoughts.addEventListener('mouseover', (e) => hoverThought(thoughtIndexOf(e.target)));
panels.thoughts.addEventListener('mouseleave', () => hoverThought(null));
panels.thoughts.addEventListener('focusout', (e) => {
  if (!panels.thoughts.contains((e as FocusEvent).relatedTarget as Node | null)) hoverThought(null);
});

function applyLinked(): void {
  const on = new Set(state.linked ?? []);
  for (const el of Array.from(panels.thoughts.querySelectorAll<Element>('[data-testid="thought"], .heat-row'))) {
    const i = Number((el as HTMLElement).dataset?.index ?? el.getAttribute('data-thought'));
    el.classList.toggle('linked', on.has(i));
  }
}

// ---- thoughts: selection and keyboard -------------------------------------------------------

function thoughtColumns(): HTMLElement[] {
  return Array.from(panels.thoughts.querySelectorAll<HTMLElement>('[data-testid="thought"]'));
}

/** Identifies the focused control so a re-render can focus its replacement. */
function focusedKey(): string | undefined {
  const el = document.activeElement as HTMLElement | null;
  if (!el || el === document.body || el === kField) return undefined;
  const id = el.dataset?.testid ?? el.id;
  if (!id) return undefined;
  return `${id}|${el.dataset.index ?? ''}|${el.dataset.thought ?? ''}|${el.dataset.chart ?? ''}`;
}

function restoreFocus(key: string): void {
  const [id, index, thought, chart] = key.split('|');
  const candidates = Array.from(document.querySelectorAll<HTMLElement>(`[data-testid="${id}"], #${CSS.escape(id!)}`));
  const el = candidates.find(
    (c) => (c.dataset.index ?? '') === index && (c.dataset.thought ?? '') === thought && (c.dataset.chart ?? '') === chart,
  );
  el?.focus();
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
  for (const row of Array.from(panels.thoughts.querySelectorAll('.heat-row'))) {
    row.classList.toggle('selected', Number(row.getAttribute('data-thought')) === index);
  }
}

panels.thoughts.addEventListener('click', (e) => {
  const col = (e.target as HTMLElement).closest<HTMLElement>('[data-testid="thought"]');
  if (col) selectThought(Number(col.dataset.index), true);
});

panels.thoughts.addEventListener('focusin', (e) => {
  const col = e.target as HTMLElement;
  if (col.dataset?.testid === 'thought') {
    selectThought(Number(col.dataset.index), false);
    hoverThought(Number(col.dataset.index));
  }
});

panels.thoughts.addEventListener('keydown', (e) => {
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
pinButton.addEventListener('click', () => post({ type: 'pin' }));
/** True when the Thoughts tab shows an intervened run: exports then save that run with the original. */
function interventionOnView(): boolean {
  return Boolean(state.intervention && state.result && state.intervention.original.question === state.result.question);
}
exportJson.addEventListener('click', () => post({ type: 'exportTrace', format: 'json', intervened: interventionOnView() }));
exportCsv.addEventListener('click', () => post({ type: 'exportTrace', format: 'csv', intervened: interventionOnView() }));

// ---- chart export --------------------------------------------------------------------------------

function findChart(chart: ChartId | 'visible'): SVGSVGElement | undefined {
  if (chart === 'visible') return panels[currentTab()].querySelector<SVGSVGElement>('svg[data-chart]') ?? undefined;
  return document.querySelector<SVGSVGElement>(`svg[data-chart="${chart}"]`) ?? undefined;
}

async function chartImage(svg: SVGSVGElement, format: ImageFormat): Promise<string> {
  const text = serializeSvg(svg);
  if (format === 'svg') return text;
  const { width, height } = svgSize(svg);
  return svgToPngBase64(text, width, height);
}

async function exportChart(chart: ChartId, format: ImageFormat): Promise<void> {
  const svg = findChart(chart);
  if (!svg) return;
  try {
    post({ type: 'chartImage', chart, format, data: await chartImage(svg, format) });
  } catch (e) {
    state.notice = `Could not draw the chart as ${format.toUpperCase()}: ${(e as Error).message}`;
    renderAll();
  }
}

async function answerChartRequest(requestId: number, chart: ChartId | 'visible', format: ImageFormat): Promise<void> {
  const svg = findChart(chart);
  if (!svg) {
    const what = chart === 'visible' ? `the ${TAB_TEXT[currentTab()]} tab shows no chart` : `no ${chart} chart is drawn`;
    post({ type: 'chartUnavailable', requestId, reason: `There is no chart to export: ${what}.` });
    return;
  }
  try {
    post({ type: 'chartImage', chart: svg.dataset.chart as ChartId, format, data: await chartImage(svg, format), requestId });
  } catch (e) {
    post({ type: 'chartUnavailable', requestId, reason: `The chart could not be drawn as ${format.toUpperCase()}: ${(e as Error).message}` });
  }
}

// ---- host messages ----------------------------------------------------------------------------

function onMessage(msg: HostToWebview): void {
  switch (msg.type) {
    case 'loading':
      state.error = undefined;
      state.busy = { text: `Loading model ${msg.model} (provider: ${msg.provider})…`, analysis: state.busy?.analysis, done: state.busy?.done, total: state.busy?.total };
      break;
    case 'runStarted': {
      const newRun = msg.run.runId !== state.run?.runId;
      const sameQuestion = state.result?.question === msg.run.question;
      if (newRun) {
        state.pendingPrevious = state.result ? { run: state.run, result: state.result } : undefined;
        state.intervention = undefined;
        state.attribution = undefined;
        state.drafts = undefined;
        state.interventionProblem = undefined;
        state.analysisError = undefined;
        if (!sameQuestion) {
          state.searchThought = undefined;
          state.sweep = undefined;
        }
      }
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
      if (state.pendingPrevious && state.pendingPrevious.result !== msg.result) {
        const p = state.pendingPrevious;
        state.previous = { label: `${p.result.model} · k=${p.result.thoughtsRequested}${p.run?.source ? ` · ${p.run.source}` : ''}`, run: p.run, result: p.result };
      }
      state = { ...state, result: msg.result, error: undefined, busy: undefined, partial: undefined, notice: undefined, pendingPrevious: undefined };
      if (state.searchThought === undefined || state.searchThought > msg.result.thoughts.length) state.searchThought = msg.result.thoughts.length;
      break;
    case 'error':
      if (msg.runId !== undefined && msg.runId !== state.run?.runId) return;
      applyError(msg.error);
      break;
    case 'cleared':
      state = { ...state, result: undefined, error: undefined, busy: undefined, partial: undefined, notice: msg.reason, intervention: undefined, attribution: undefined, sweep: undefined };
      break;
    case 'analysisStarted':
      state.busy = { text: msg.text, analysis: msg.analysis, done: 0, total: msg.total };
      state.analysisError = undefined;
      if (msg.analysis === 'sweep') state.sweepPartial = [];
      if (msg.analysis === 'sweep' || msg.analysis === 'dataset') selectTab(msg.analysis, false);
      if (msg.analysis === 'intervention' || msg.analysis === 'attribution') selectTab('thoughts', false);
      break;
    case 'analysisProgress':
      if (!state.busy || state.busy.analysis !== msg.analysis) state.busy = { text: msg.text ?? 'Running', analysis: msg.analysis };
      state.busy.done = msg.done;
      state.busy.total = msg.total;
      if (msg.text) state.busy.text = msg.text;
      renderStatus();
      return;
    case 'analysisError':
      state.busy = undefined;
      state.sweepPartial = undefined;
      if (msg.error.code === 'CANCELLED') state.notice = 'Cancelled.';
      else state.analysisError = { analysis: msg.analysis, error: msg.error };
      break;
    case 'sweepPoint':
      state.sweepPartial = [...(state.sweepPartial ?? []).filter((p) => p.k !== msg.point.k), msg.point].sort((a, b) => a.k - b.k);
      break;
    case 'sweepResult':
      state.sweep = msg.result;
      state.sweepPartial = undefined;
      if (state.busy?.analysis === 'sweep') state.busy = undefined;
      break;
    case 'interventionResult':
      state.intervention = msg.result;
      if (state.busy?.analysis === 'intervention') state.busy = undefined;
      break;
    case 'attributionResult':
      state.attribution = { question: msg.question, k: msg.k, entries: msg.entries };
      if (state.busy?.analysis === 'attribution') state.busy = undefined;
      break;
    case 'datasetStarted':
      state.dataset = { info: msg.info, records: [] };
      selectTab('dataset', false);
      break;
    case 'datasetRecord':
      if (!state.dataset) return;
      state.dataset.records.push(msg.record);
      // Redraw at most every few records: a 300-record file streams 2000 results.
      if (state.dataset.records.length % 10 !== 0) {
        persistSoon();
        return;
      }
      break;
    case 'datasetResult':
      if (state.dataset) state.dataset = { ...state.dataset, result: msg.result, records: msg.result.records };
      if (state.busy?.analysis === 'dataset') state.busy = undefined;
      break;
    case 'highlightThoughts':
      state.linked = msg.indices;
      applyLinked();
      if (msg.indices.length && currentTab() === 'thoughts') {
        thoughtColumns().find((c) => Number(c.dataset.index) === msg.indices[0])?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
      }
      return;
    case 'chartRequest':
      void answerChartRequest(msg.requestId, msg.chart, msg.format);
      return;
    case 'exported':
      state.notice = `Saved ${msg.what} to ${msg.path}`;
      break;
    case 'models':
      state.models = { list: msg.models, restricted: msg.restricted };
      break;
    case 'pinned':
      state.pinned = msg.pin;
      if (msg.pin) selectTab('compare', false);
      break;
  }
  persist();
  renderAll();
}

let persistTimer: ReturnType<typeof setTimeout> | undefined;
function persistSoon(): void {
  if (persistTimer) return;
  persistTimer = setTimeout(() => {
    persistTimer = undefined;
    persist();
  }, 500);
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
