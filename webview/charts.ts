// Small SVG charts: bars (signed values allowed) and stacked bars. Colours come from CSS classes in
// media/panel.css (theme variables), so a chart follows light, dark and high-contrast themes.
import type { ChartId } from '../src/protocol/inspector';
import { clip, s, svgRoot, title } from './svg';

export interface Bar {
  label: string;
  value: number;
  /** Extra class for the bar (e.g. 'ok', 'wrong', 'neutral'). */
  cls?: string;
  /** Small text above (or below, when negative) the bar. */
  note?: string;
  /** A second line under the axis label (e.g. the answer at that k). */
  sublabel?: string;
  tooltip: string;
}

export interface BarOptions {
  label: string; // the chart's accessible name
  xLabel: string;
  yLabel: string;
  /** Value range; defaults to [min(0, values), max(values)]. */
  min?: number;
  max?: number;
  format(v: number): string;
}

const PAD = { left: 56, right: 16, top: 22, bottom: 44 };
const SUB = 14; // extra bottom room when bars carry a second label
const BASE_H = 220;

export function barChart(chart: ChartId, bars: Bar[], o: BarOptions): SVGSVGElement {
  const slot = Math.max(28, Math.min(72, 560 / Math.max(1, bars.length)));
  const W = PAD.left + PAD.right + slot * bars.length;
  const sub = bars.some((b) => b.sublabel) ? SUB : 0;
  const H = BASE_H + sub;
  const values = bars.map((b) => b.value).filter(Number.isFinite);
  const lo = o.min ?? Math.min(0, ...values);
  let hi = o.max ?? Math.max(0, ...values);
  if (hi === lo) hi = lo + 1;
  const plotH = H - sub - PAD.top - PAD.bottom;
  const y = (v: number) => PAD.top + plotH * (1 - (v - lo) / (hi - lo));
  const zero = y(Math.max(lo, Math.min(hi, 0)));

  const root = svgRoot(chart, W, H, o.label);
  root.append(axes(W, H, y, lo, hi, o, sub));
  bars.forEach((b, i) => {
    const x = PAD.left + i * slot + slot * 0.15;
    const w = slot * 0.7;
    const v = Number.isFinite(b.value) ? Math.max(lo, Math.min(hi, b.value)) : 0;
    const top = Math.min(zero, y(v));
    const height = Math.max(1, Math.abs(zero - y(v)));
    root.append(
      s(
        'g',
        { class: 'bar-group', 'data-index': i, tabindex: -1 },
        title(b.tooltip),
        s('rect', { class: `chart-bar ${b.cls ?? ''}`.trim(), x, y: top, width: w, height, rx: 2 }),
        b.note !== undefined && s('text', { class: 'chart-note', x: x + w / 2, y: v >= 0 ? top - 4 : top + height + 11, 'text-anchor': 'middle' }, b.note),
        s('text', { class: 'chart-tick', x: x + w / 2, y: H - sub - PAD.bottom + 14, 'text-anchor': 'middle' }, clip(b.label, Math.floor(slot / 6))),
        b.sublabel !== undefined &&
          s(
            'text',
            { class: 'chart-tick chart-sublabel', x: x + w / 2, y: H - sub - PAD.bottom + 28, 'text-anchor': 'middle' },
            clip(b.sublabel, Math.floor(slot / 7.5)),
          ),
      ),
    );
  });
  return root;
}

export interface Stack {
  label: string;
  parts: { key: string; value: number }[];
  tooltip: string;
}

/** Stacked bars of counts per category; `keys` fixes the order and the legend. */
export function stackedBarChart(chart: ChartId, stacks: Stack[], keys: { key: string; name: string }[], o: Omit<BarOptions, 'min' | 'max'>): SVGSVGElement {
  const slot = Math.max(32, Math.min(72, 560 / Math.max(1, stacks.length)));
  const legendW = 150;
  const W = PAD.left + PAD.right + slot * stacks.length + legendW;
  const H = BASE_H;
  const hi = Math.ceil(Math.max(1, ...stacks.map((st) => st.parts.reduce((a, p) => a + p.value, 0))));
  const plotH = H - PAD.top - PAD.bottom;
  const y = (v: number) => PAD.top + plotH * (1 - v / hi);
  const root = svgRoot(chart, W, H, o.label);
  // Counts: whole-number ticks when there are few.
  root.append(axes(W - legendW, H, y, 0, hi, { ...o }, 0, hi <= 4 ? hi : 4));
  stacks.forEach((st, i) => {
    const x = PAD.left + i * slot + slot * 0.15;
    const w = slot * 0.7;
    let acc = 0;
    const g = s('g', { class: 'bar-group', 'data-index': i }, title(st.tooltip));
    for (const { key } of keys) {
      const v = st.parts.find((p) => p.key === key)?.value ?? 0;
      if (v <= 0) continue;
      g.append(s('rect', { class: `chart-bar cat-${key}`, x, y: y(acc + v), width: w, height: Math.max(1, y(acc) - y(acc + v)) }));
      acc += v;
    }
    g.append(s('text', { class: 'chart-tick', x: x + w / 2, y: H - PAD.bottom + 14, 'text-anchor': 'middle' }, clip(st.label, 8)));
    root.append(g);
  });
  const lx = W - legendW + 8;
  keys.forEach((k, i) => {
    root.append(
      s(
        'g',
        { class: 'legend-item' },
        s('rect', { class: `chart-bar cat-${k.key}`, x: lx, y: PAD.top + i * 18, width: 12, height: 12 }),
        s('text', { class: 'chart-tick', x: lx + 18, y: PAD.top + i * 18 + 10 }, k.name),
      ),
    );
  });
  return root;
}

function axes(
  W: number,
  H: number,
  y: (v: number) => number,
  lo: number,
  hi: number,
  o: Pick<BarOptions, 'xLabel' | 'yLabel' | 'format'>,
  sub: number,
  ticks = 4,
): SVGGElement {
  const g = s('g', { class: 'axes', 'aria-hidden': 'true' });
  for (let i = 0; i <= ticks; i++) {
    const v = lo + ((hi - lo) * i) / ticks;
    const yy = y(v);
    g.append(
      s('line', { class: i === 0 || v === 0 ? 'chart-axis' : 'chart-grid', x1: PAD.left, x2: W - PAD.right, y1: yy, y2: yy }),
      s('text', { class: 'chart-tick', x: PAD.left - 6, y: yy + 4, 'text-anchor': 'end' }, o.format(v)),
    );
  }
  g.append(
    s('text', { class: 'chart-label', x: (PAD.left + W - PAD.right) / 2, y: H - 8, 'text-anchor': 'middle' }, o.xLabel),
    s(
      'text',
      {
        class: 'chart-label',
        x: 12,
        y: (PAD.top + H - sub - PAD.bottom) / 2,
        'text-anchor': 'middle',
        transform: `rotate(-90 12 ${(PAD.top + H - sub - PAD.bottom) / 2})`,
      },
      o.yLabel,
    ),
  );
  return g;
}
