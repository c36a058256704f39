// The Dataset tab: evaluate a prompt file at k = 0 … max; accuracy and path categories per k, and
// every record one click from the editor.
import { datasetHeadline, renderDatasetCharts, renderDatasetTable, summarise } from './dataset-view';
import { analysisErrorFor, figure } from './figures';
import { h } from './dom';
import type { View } from './view';

export function renderDatasetTab(view: View): void {
  const panel = view.panel('dataset');
  const state = view.state;
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
    view.post(v === undefined ? { type: 'evalDataset' } : { type: 'evalDataset', to: v });
  });
  panel.append(h('div', { class: 'toolbar' }, h('label', { class: 'small' }, 'k from 0 to ', to), go));
  const err = analysisErrorFor(view.state, 'dataset');
  if (err) panel.append(err);
  const ds = state.dataset;
  if (!ds) {
    panel.append(
      h(
        'p',
        { class: 'muted' },
        'Open a JSON or JSONL file of records with answers (e.g. the ProsQA validation set) and evaluate it: accuracy per k, the paper’s path categories, and every record one click from the inspector.',
      ),
    );
    return;
  }
  const perK = ds.result?.perK ?? summarise(ds.records, ds.info.ks);
  panel.append(h('p', { class: 'small', 'data-testid': 'dataset-headline' }, datasetHeadline(ds.info, ds.result, ds.records.length)));
  if (ds.records.length) {
    const charts = renderDatasetCharts(perK);
    for (const fig of Array.from(charts.querySelectorAll('figure'))) {
      const svg = fig.querySelector('svg') as SVGSVGElement | null;
      const caption = fig.querySelector('figcaption')?.textContent ?? '';
      if (svg) fig.replaceWith(figure(view, caption, svg));
    }
    const table = renderDatasetTable(ds.info, ds.result?.records ?? ds.records, (index, k) =>
      view.post(k === undefined ? { type: 'openRecord', uri: ds.info.uri, index } : { type: 'openRecord', uri: ds.info.uri, index, k }),
    );
    // One column per k: wider than a panel beside an editor, so the table scrolls on its own.
    panel.append(charts, h('div', { class: 'table-scroll' }, table));
  }
}
