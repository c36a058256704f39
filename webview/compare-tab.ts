// The Compare tab: a pinned run beside the current one, with the divergence per thought.
import { renderCompare } from './compare-view';
import { figure } from './figures';
import { h } from './dom';
import { interventionOnView } from './state';
import type { View } from './view';

export function renderCompareTab(view: View): void {
  const panel = view.panel('compare');
  const state = view.state;
  panel.replaceChildren(h('h2', {}, 'Compare two runs'));
  const pin = state.pinned;
  const { result } = state;
  if (!pin) {
    const b = h('vscode-button', { 'data-testid': 'pin-here' }, 'Pin the current run');
    b.toggleAttribute('disabled', !result);
    b.addEventListener('click', () => view.post({ type: 'pin' }));
    panel.append(
      h(
        'p',
        { class: 'muted' },
        'Pin a run, then run another k, an intervention, another prompt or another model: both are shown side by side with the divergence per thought.',
      ),
      b,
    );
    return;
  }
  const unpin = h('vscode-button', { secondary: true, 'data-testid': 'unpin' }, 'Unpin');
  unpin.addEventListener('click', () => view.post({ type: 'unpin' }));
  panel.append(h('div', { class: 'toolbar' }, h('span', { class: 'small' }, `Pinned: ${pin.label}`), unpin));
  const iv = interventionOnView(state);
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
    holder.replaceWith(figure(view, 'Divergence per thought, pinned vs current', chart));
  }
  panel.append(table);
}
