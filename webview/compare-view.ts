// Compare: the pinned run and the current one side by side, thought by thought, with the
// divergence between their decoded distributions.
import type { PinnedRun, TraceResult } from '../src/protocol/inspector';
import { barChart } from './charts';
import { h } from './dom';
import { topkDivergence } from './divergence';
import { fmtNum, fmtP, showToken } from './format';

export interface ComparedThought {
  index: number;
  a?: TraceResult['thoughts'][number];
  b?: TraceResult['thoughts'][number];
  js?: number;
  shared?: number;
}

export function compareThoughts(a: TraceResult, b: TraceResult): ComparedThought[] {
  const n = Math.max(a.thoughts.length, b.thoughts.length);
  const out: ComparedThought[] = [];
  for (let i = 1; i <= n; i++) {
    const ta = a.thoughts.find((t) => t.index === i);
    const tb = b.thoughts.find((t) => t.index === i);
    const c: ComparedThought = { index: i, a: ta, b: tb };
    if (ta && tb) Object.assign(c, topkDivergence(ta.topk, tb.topk));
    out.push(c);
  }
  return out;
}

function tokens(t: TraceResult['thoughts'][number] | undefined): HTMLElement {
  if (!t) return h('span', { class: 'muted' }, 'no thought');
  return h('ol', { class: 'compare-tokens' }, ...t.topk.slice(0, 3).map((x) => h('li', {}, h('code', { class: 'tok' }, showToken(x.token)), ` ${fmtP(x.p)}`)));
}

export function renderCompare(pinned: PinnedRun, current: TraceResult, currentLabel: string): HTMLElement {
  const rows = compareThoughts(pinned.result, current);
  const body = h('tbody');
  for (const r of rows) {
    body.append(
      h(
        'tr',
        { 'data-testid': 'compare-row', 'data-thought': r.index },
        h('th', { scope: 'row' }, `Thought ${r.index}`),
        h('td', {}, tokens(r.a)),
        h('td', {}, tokens(r.b)),
        h('td', { class: 'num' }, r.js === undefined ? '–' : fmtNum(r.js, 3)),
      ),
    );
  }
  const ansA = pinned.result.answer.extracted || pinned.result.answer.text.trim();
  const ansB = current.answer.extracted || current.answer.text.trim();
  body.append(
    h(
      'tr',
      { class: ansA === ansB ? 'answer-row' : 'answer-row differs' },
      h('th', { scope: 'row' }, 'Answer'),
      h('td', {}, ansA || '(empty)'),
      h('td', {}, ansB || '(empty)'),
      h('td', { class: 'muted' }, ansA === ansB ? 'same' : 'differs'),
    ),
  );
  const chartRows = rows.filter((r) => r.js !== undefined);
  const chart = chartRows.length
    ? barChart(
        'compare',
        chartRows.map((r) => ({
          label: `T${r.index}`,
          value: r.js!,
          cls: 'neutral',
          note: fmtNum(r.js!, 3),
          tooltip: `Thought ${r.index}: JS ${fmtNum(r.js!, 3)} nats over the top-k tokens; ${r.shared} tokens shared`,
        })),
        {
          label: 'Divergence between the pinned and the current run per thought (Jensen-Shannon over the top-k tokens)',
          xLabel: 'thought',
          yLabel: 'JS (nats)',
          min: 0,
          max: Math.max(Math.LN2 / 4, ...chartRows.map((r) => r.js!)),
          format: (v) => v.toFixed(2),
        },
      )
    : undefined;
  return h(
    'div',
    { class: 'compare', 'data-testid': 'compare' },
    h(
      'table',
      { class: 'data-table compare-table' },
      h('caption', {}, 'Pinned run against the current run'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, ''),
          h('th', { scope: 'col' }, `Pinned: ${pinned.label}`),
          h('th', { scope: 'col' }, `Current: ${currentLabel}`),
          h('th', { scope: 'col', title: 'Jensen-Shannon divergence over the top-k tokens, the rest pooled' }, 'JS (nats)'),
        ),
      ),
      body,
    ),
    chart && h('div', { class: 'chart-box' }, chart),
    h(
      'p',
      { class: 'muted small' },
      'Divergence is computed from the top-k lists (tokens matched by text, the remaining mass pooled), so runs of two models can be compared.',
    ),
  );
}
