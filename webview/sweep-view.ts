// The k sweep: the same question with k = 0..max thoughts; the answer and its probability per k as
// a chart and a table.
import type { SweepPoint, SweepResult } from '../src/shared/types';
import { barChart } from './charts';
import { h } from './dom';
import { fmtNum, fmtP } from './format';

export function renderSweepChart(points: SweepPoint[]): SVGSVGElement {
  return barChart(
    'sweep',
    points.map((p) => ({
      label: `k=${p.k}`,
      value: p.answerProb,
      cls: p.correct === undefined ? 'neutral' : p.correct ? 'ok' : 'wrong',
      note: fmtP(p.answerProb),
      sublabel: p.extracted || p.answerText.trim() || '∅',
      tooltip: `k = ${p.k}: “${p.extracted || p.answerText.trim()}”, probability ${fmtP(p.answerProb)}${
        p.correct === undefined ? '' : p.correct ? ', correct' : ', wrong'
      }`,
    })),
    {
      label: `Answer probability per number of thoughts, k = ${points[0]?.k ?? 0} to ${points[points.length - 1]?.k ?? 0}`,
      xLabel: 'thoughts (k)',
      yLabel: 'p(answer)',
      min: 0,
      max: 1,
      format: (v) => v.toFixed(2),
    },
  );
}

export function renderSweepTable(points: SweepPoint[]): HTMLElement {
  const body = h('tbody');
  for (const p of points) {
    body.append(
      h(
        'tr',
        { 'data-testid': 'sweep-row', 'data-k': p.k },
        h('th', { scope: 'row' }, String(p.k)),
        h('td', { class: 'answer-cell' }, p.extracted || p.answerText.trim() || '(empty)'),
        h('td', { class: 'num' }, fmtP(p.answerProb)),
        h('td', { class: 'num' }, fmtNum(p.answerLogProb)),
        h(
          'td',
          { class: p.correct === undefined ? 'muted' : p.correct ? 'verdict ok' : 'verdict wrong' },
          p.correct === undefined ? '–' : p.correct ? '✓ correct' : '✗ wrong',
        ),
      ),
    );
  }
  return h(
    'table',
    { class: 'data-table sweep-table', 'data-testid': 'sweep-table' },
    h('caption', {}, 'Answer per number of thoughts'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'k'),
        h('th', { scope: 'col' }, 'Answer'),
        h('th', { scope: 'col' }, 'p(answer)'),
        h('th', { scope: 'col' }, 'log p'),
        h('th', { scope: 'col' }, 'Reference'),
      ),
    ),
    body,
  );
}

export function sweepSummary(result: SweepResult | { points: SweepPoint[] }): string {
  const pts = result.points;
  const scored = pts.filter((p) => p.correct !== undefined);
  const correct = scored.filter((p) => p.correct).length;
  return scored.length
    ? `${correct} of ${scored.length} values of k give the reference answer.`
    : `${pts.length} values of k; the prompt has no reference answer to score against.`;
}
