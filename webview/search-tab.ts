// The Latent search tab: the record's ProsQA graph coloured by the value each thought gives its
// nodes, stepped through thought by thought (buttons or arrow keys on the figure).
import { figure } from './figures';
import { h } from './dom';
import { graphLegend, renderGraphSvg, renderValueTable, whenLayoutReady } from './graph-view';
import { searchThought } from './state';
import type { View } from './view';

export function renderSearchTab(view: View): void {
  const panel = view.panel('search');
  panel.replaceChildren(h('h2', {}, 'Latent search over the ProsQA graph'));
  const state = view.state;
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
  const t = searchThought(state, k);
  const values = result.nodeValues?.find((v) => v.thought === t);
  const svg = renderGraphSvg(graph, values, t);
  if (!svg) {
    panel.append(h('p', { class: 'muted' }, 'Laying out the graph…'));
    void whenLayoutReady().then(() => renderSearchTab(view));
    return;
  }
  const prev = h('vscode-button', { secondary: true, 'data-testid': 'search-prev', 'aria-label': 'Previous thought' }, '◀ Previous');
  const next = h('vscode-button', { secondary: true, 'data-testid': 'search-next', 'aria-label': 'Next thought' }, 'Next ▶');
  prev.toggleAttribute('disabled', t <= 0);
  next.toggleAttribute('disabled', t >= k);
  prev.addEventListener('click', () => stepSearch(view, t - 1, k));
  next.addEventListener('click', () => stepSearch(view, t + 1, k));
  const position = h(
    'span',
    { class: 'stepper-label', 'data-testid': 'search-step', 'aria-live': 'polite' },
    t === 0 ? `Before any thought (t = 0 of ${k})` : `After thought ${t} of ${k}`,
  );
  const stepper = h('div', { class: 'toolbar stepper', role: 'group', 'aria-label': 'Thought stepper' }, prev, position, next);
  const fig = figure(view, `ProsQA graph after ${t} thought${t === 1 ? '' : 's'}`, svg, h('div', {}, graphLegend(), renderValueTable(graph, values, t)));
  fig.tabIndex = 0;
  fig.setAttribute('data-testid', 'graph-figure');
  fig.setAttribute('aria-label', `${svg.getAttribute('aria-label') ?? ''} Use the left and right arrow keys to step through the thoughts.`);
  fig.addEventListener('keydown', (e) => {
    const key = (e as KeyboardEvent).key;
    const to = key === 'ArrowRight' ? t + 1 : key === 'ArrowLeft' ? t - 1 : key === 'Home' ? 0 : key === 'End' ? k : undefined;
    if (to === undefined) return;
    e.preventDefault();
    stepSearch(view, to, k, true);
  });
  // The figure right under its stepper, its legend and the explanation after it: beside an editor
  // the graph is then on screen when the tab opens.
  panel.append(
    stepper,
    fig,
    h(
      'p',
      { class: 'muted small' },
      (values?.source === 'thought' || result.nodeValues?.[0]?.source === 'thought'
        ? 'A concept’s value after t thoughts is its probability in thought t’s own decoded distribution (this model was trained to hold the BFS frontier there). '
        : 'After t thoughts the model is switched to language mode and asked to continue “Every …”; a concept’s value is the probability of its name. ') +
        'Several high values at once are branches of the search held in superposition.',
    ),
  );
}

function stepSearch(view: View, to: number, k: number, focusFigure = false): void {
  view.state.searchThought = Math.max(0, Math.min(k, to));
  view.persist();
  renderSearchTab(view);
  if (focusFigure) view.panel('search').querySelector<HTMLElement>('[data-testid="graph-figure"]')?.focus();
}
