// The dataset view: a JSON/JSONL file run through the evaluation at k = 0..max; accuracy per k,
// the paper's ProsQA path categories per k, and every record with a link back into the inspector.
import type { DatasetKSummary, DatasetRecordResult, PathCategory } from '../src/shared/types';
import { emptyCategoryCounts, PATH_CATEGORIES } from '../src/shared/path-categories';
import type { DatasetInfo, DatasetResult } from '../src/protocol/inspector';
import { barChart, stackedBarChart } from './charts';
import { h } from './dom';
import { gridMove } from './grid-keys';

export const CATEGORY_NAMES: Record<PathCategory, string> = {
  correct_path: 'Correct path',
  longer_path: 'Longer path',
  hallucination: 'Hallucination',
  wrong_target: 'Wrong target',
  correct_label: 'Correct label',
  incorrect_label: 'Incorrect label',
};

const CATEGORY_SHORT: Record<PathCategory, string> = {
  correct_path: 'path',
  longer_path: 'longer',
  hallucination: 'halluc.',
  wrong_target: 'wrong tgt',
  correct_label: 'label ✓',
  incorrect_label: 'label ✗',
};

/** Per-k summaries from the records done so far (the final result brings the engine's own). */
export function summarise(records: DatasetRecordResult[], ks: number[]): DatasetKSummary[] {
  return ks.map((k) => {
    const at = records.filter((r) => r.k === k);
    const correct = at.filter((r) => r.correct).length;
    const s: DatasetKSummary = { k, n: at.length, correct, accuracy: at.length ? correct / at.length : 0 };
    if (at.some((r) => r.category)) {
      const cats = emptyCategoryCounts();
      for (const r of at) if (r.category) cats[r.category]++;
      s.categories = cats;
    }
    return s;
  });
}

export function renderDatasetCharts(perK: DatasetKSummary[]): HTMLElement {
  const box = h('div', { class: 'chart-row' });
  box.append(
    h(
      'figure',
      { class: 'chart-box' },
      h('figcaption', {}, 'Accuracy per k'),
      barChart(
        'dataset-accuracy',
        perK.map((s) => ({
          label: `k=${s.k}`,
          value: s.accuracy,
          cls: 'ok',
          note: s.n ? `${Math.round(s.accuracy * 100)}%` : '–',
          tooltip: `k = ${s.k}: ${s.correct} of ${s.n} correct (${(s.accuracy * 100).toFixed(1)}%)`,
        })),
        { label: 'Accuracy per number of thoughts', xLabel: 'thoughts (k)', yLabel: 'accuracy', min: 0, max: 1, format: (v) => `${Math.round(v * 100)}%` },
      ),
    ),
  );
  if (perK.some((s) => s.categories)) {
    box.append(
      h(
        'figure',
        { class: 'chart-box' },
        h('figcaption', {}, 'ProsQA path categories per k'),
        stackedBarChart(
          'dataset-categories',
          perK.map((s) => ({
            label: `k=${s.k}`,
            parts: PATH_CATEGORIES.map((c) => ({ key: c, value: s.categories?.[c] ?? 0 })),
            tooltip: `k = ${s.k}: ` + PATH_CATEGORIES.map((c) => `${CATEGORY_NAMES[c]} ${s.categories?.[c] ?? 0}`).join(', '),
          })),
          PATH_CATEGORIES.map((c) => ({ key: c, name: CATEGORY_NAMES[c] })),
          { label: 'Path categories per number of thoughts', xLabel: 'thoughts (k)', yLabel: 'records', format: (v) => v.toFixed(0) },
        ),
      ),
    );
  }
  return box;
}

/** One row per record, one cell per k; each row opens its record in the inspector. */
export function renderDatasetTable(info: DatasetInfo, records: DatasetRecordResult[], onOpen: (index: number, k?: number) => void): HTMLElement {
  const byIndex = new Map<number, Map<number, DatasetRecordResult>>();
  for (const r of records) {
    if (!byIndex.has(r.index)) byIndex.set(r.index, new Map());
    byIndex.get(r.index)!.set(r.k, r);
  }
  const body = h('tbody');
  for (const [index, perK] of [...byIndex.entries()].sort((a, b) => a[0] - b[0])) {
    const open = h('button', { class: 'link-button', type: 'button', 'data-testid': 'dataset-open', 'data-index': index }, `Record ${index}`);
    open.setAttribute('aria-label', `Open record ${index} in the inspector`);
    open.addEventListener('click', () => onOpen(index));
    const row = h('tr', { 'data-testid': 'dataset-row', 'data-index': index }, h('th', { scope: 'row' }, open));
    const anyRecord = perK.values().next().value as DatasetRecordResult | undefined;
    for (const k of info.ks) {
      const r = perK.get(k);
      if (!r) {
        row.append(h('td', { class: 'muted' }, '…'));
        continue;
      }
      const text = r.error ? '⚠' : r.correct ? '✓' : '✗';
      const cell = h(
        'td',
        {
          class: `dataset-cell ${r.error ? 'error' : r.correct ? 'ok' : 'wrong'}`,
          title: r.error ? r.error : `k = ${k}: “${r.predicted}”${r.category ? ` (${CATEGORY_NAMES[r.category]})` : ''}`,
          'data-testid': 'dataset-cell',
          'data-index': index,
          'data-k': k,
          tabindex: -1,
        },
        text,
        r.category ? h('span', { class: 'small muted' }, ` ${CATEGORY_SHORT[r.category]}`) : undefined,
      );
      cell.addEventListener('dblclick', () => onOpen(index, k));
      cell.addEventListener('keydown', (e) => {
        if (e.key !== 'Enter' && e.key !== ' ') return;
        e.preventDefault();
        onOpen(index, k);
      });
      row.append(cell);
    }
    row.append(h('td', { class: 'answer-cell muted' }, anyRecord?.answer ?? ''));
    body.append(row);
  }
  const table = h(
    'table',
    { class: 'data-table dataset-table', 'data-testid': 'dataset-table' },
    h('caption', {}, `Records of ${info.file} (✓ correct, ✗ wrong; double-click a cell, or Enter on it, to open the record at that k)`),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Record'),
        ...info.ks.map((k) => h('th', { scope: 'col' }, `k=${k}`)),
        h('th', { scope: 'col' }, 'Reference answer'),
      ),
    ),
    body,
  );
  rovingCells(table, info.ks.length);
  return table;
}

/**
 * One Tab stop for all result cells (the first, or the last one used); arrow keys, Home/End and
 * Page Up/Down move between them, Enter or Space opens the record at that k.
 */
function rovingCells(table: HTMLElement, cols: number): void {
  const cells = Array.from(table.querySelectorAll<HTMLElement>('tbody tr')).map((tr) => Array.from(tr.querySelectorAll<HTMLElement>('td')).slice(0, cols));
  const first = cells[0]?.[0];
  if (first?.dataset.testid === 'dataset-cell') first.tabIndex = 0;
  table.addEventListener('focusin', (e) => {
    const cell = e.target as HTMLElement;
    if (cell.dataset?.testid !== 'dataset-cell') return;
    for (const c of Array.from(table.querySelectorAll<HTMLElement>('[data-testid="dataset-cell"]'))) c.tabIndex = c === cell ? 0 : -1;
  });
  table.addEventListener('keydown', (e) => {
    const cell = e.target as HTMLElement;
    const row = cells.findIndex((r) => r.includes(cell));
    if (row < 0) return;
    const to = gridMove({ row, col: cells[row]!.indexOf(cell) }, e.key, cells.length, cols, e.ctrlKey);
    if (!to) return;
    e.preventDefault();
    // A record still running at that k has a placeholder cell, which is not a stop.
    const target = cells[to.row]?.[to.col];
    if (target?.dataset.testid === 'dataset-cell') target.focus();
  });
}

export function datasetHeadline(info: DatasetInfo, result: DatasetResult | undefined, done: number): string {
  const total = info.records * info.ks.length;
  if (!result) return `${info.file}: ${done} of ${total} runs (${info.records} records × k = ${info.ks[0]}..${info.ks[info.ks.length - 1]}) on ${info.model}`;
  const failed = result.records.filter((r) => r.error).length;
  return (
    `${info.file}: ${info.records} records × ${info.ks.length} values of k on ${result.model} (${result.provider}) in ${result.seconds.toFixed(1)} s` +
    (failed ? `; ${failed} run${failed === 1 ? '' : 's'} could not be made (⚠ in the table; hover for why)` : '')
  );
}
