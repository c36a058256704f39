// The thought × layer heatmap of the per-layer logit lens: one row per thought, one column per
// layer; each cell names the layer's top token and is shaded by its probability.
import type { ThoughtTrace } from '../src/shared/types';
import { fmtP, showToken, speakToken } from './format';
import { clip, s, svgRoot, title } from './svg';

const CELL_W = 96;
const CELL_H = 34;
const LEFT = 78;
const TOP = 26;

export function renderHeatmap(thoughts: ThoughtTrace[], selected: number): SVGSVGElement | undefined {
  const layers = Math.max(0, ...thoughts.map((t) => t.lens.length));
  if (!thoughts.length || layers === 0) return undefined;
  const W = LEFT + layers * CELL_W + 8;
  const H = TOP + thoughts.length * CELL_H + 8;
  const summary = thoughts
    .map((t) => {
      const last = t.lens[t.lens.length - 1]?.top[0];
      return last ? `thought ${t.index}: last layer ${speakToken(last.token)} ${fmtP(last.p)}` : `thought ${t.index}: no lens`;
    })
    .join('; ');
  const root = svgRoot('heatmap', W, H, `Logit lens heatmap, ${thoughts.length} thoughts by ${layers} layers. ${summary}.`);
  for (let l = 0; l < layers; l++) {
    root.append(s('text', { class: 'chart-tick', x: LEFT + l * CELL_W + CELL_W / 2, y: TOP - 8, 'text-anchor': 'middle' }, `Layer ${l + 1}`));
  }
  thoughts.forEach((t, r) => {
    const y = TOP + r * CELL_H;
    const row = s('g', { class: t.index === selected ? 'heat-row selected' : 'heat-row', 'data-thought': t.index });
    row.append(s('text', { class: 'chart-tick heat-label', x: LEFT - 8, y: y + CELL_H / 2 + 4, 'text-anchor': 'end' }, `Thought ${t.index}`));
    for (const cell of t.lens) {
      const top = cell.top[0];
      const x = LEFT + (cell.layer - 1) * CELL_W;
      const p = top?.p ?? 0;
      const alts = cell.top
        .slice(1, 4)
        .map((x2) => `${showToken(x2.token)} ${fmtP(x2.p)}`)
        .join(', ');
      row.append(
        s(
          'g',
          { class: 'heat-cell', 'data-layer': cell.layer },
          title(`Thought ${t.index}, layer ${cell.layer}: ${top ? `${showToken(top.token)} ${fmtP(top.p)}` : 'no token'}${alts ? `; then ${alts}` : ''}`),
          s('rect', { class: 'heat-bg', x: x + 1, y: y + 1, width: CELL_W - 2, height: CELL_H - 2, rx: 2 }),
          // Shade: probability on a square-root scale, so 0.05 and 0.3 still look different.
          s('rect', {
            class: 'heat-fill',
            x: x + 1,
            y: y + 1,
            width: CELL_W - 2,
            height: CELL_H - 2,
            rx: 2,
            'fill-opacity': (0.07 + 0.6 * Math.sqrt(p)).toFixed(3),
          }),
          s('text', { class: 'heat-token', x: x + CELL_W / 2, y: y + 15, 'text-anchor': 'middle' }, clip(top ? showToken(top.token) : '–', 12)),
          s('text', { class: 'heat-p', x: x + CELL_W / 2, y: y + 28, 'text-anchor': 'middle' }, top ? fmtP(p) : ''),
        ),
      );
    }
    root.append(row);
  });
  return root;
}
