// The k sweep tab: rerun the question at every k up to a bound, then the answer probability per k.
import { analysisErrorFor, figure } from './figures';
import { h } from './dom';
import { renderSweepChart, renderSweepTable, sweepSummary } from './sweep-view';
import type { View } from './view';

export function renderSweepTab(view: View): void {
  const panel = view.panel('sweep');
  const state = view.state;
  panel.replaceChildren(h('h2', {}, 'k sweep: the answer with k = 0 … max thoughts'));
  const { run } = state;
  if (!run) {
    panel.append(h('p', { class: 'muted' }, 'Inspect a question first; the sweep reruns it with every number of thoughts.'));
    return;
  }
  const to = h('input', {
    class: 'field k-to',
    type: 'number',
    min: 0,
    max: run.maxK,
    value: run.maxK,
    'data-testid': 'sweep-to',
    'aria-label': 'Largest k of the sweep',
  });
  const go = h('vscode-button', { 'data-testid': 'run-sweep' }, `Run k sweep`);
  go.toggleAttribute('disabled', Boolean(state.busy));
  go.addEventListener('click', () => {
    const v = Number(to.value);
    if (!Number.isInteger(v) || v < 0 || v > run.maxK) {
      to.setAttribute('aria-invalid', 'true');
      return;
    }
    view.post({ type: 'sweep', to: v });
  });
  panel.append(h('div', { class: 'toolbar' }, h('label', { class: 'small' }, 'k from 0 to ', to), go));
  const err = analysisErrorFor(view.state, 'sweep');
  if (err) panel.append(err);
  const sweep = state.sweep && state.sweep.question === run.question ? state.sweep : undefined;
  const points = state.busy?.analysis === 'sweep' && state.sweepPartial ? state.sweepPartial : sweep?.points;
  if (!points?.length) {
    panel.append(h('p', { class: 'muted' }, 'No sweep yet for this question.'));
    return;
  }
  panel.append(
    h('p', { class: 'small', 'data-testid': 'sweep-summary' }, sweepSummary({ points })),
    figure(view, 'Answer probability per k', renderSweepChart(points)),
    renderSweepTable(points),
  );
}
