// The latent-search view: the record's ProsQA graph laid out as a DAG by dagre, each concept node
// shaded by the value the model gives it after t thoughts (the paper's frontier-value analysis),
// the asked entity and both candidate concepts marked, and a stepper that moves t.
import { frontierAt } from '../src/shared/graph';
import type { ProsQAGraph, ThoughtNodeValues } from '../src/protocol/inspector';
import { h } from './dom';
import { fmtP } from './format';
import { s, svgRoot, title } from './svg';

// dagre is an ES module; a dynamic import is the form TypeScript accepts from this (CommonJS-typed)
// file. The bundler inlines it: no network, no extra file.
const loadDagre = () => import('@dagrejs/dagre').then((m) => m.default);
type Dagre = Awaited<ReturnType<typeof loadDagre>>;

let dagre: Dagre | undefined;
const dagreReady: Promise<Dagre> = loadDagre().then((d) => (dagre = d));

/** Resolves once the layout library is loaded (it is bundled; this only waits a tick). */
export function whenLayoutReady(): Promise<unknown> {
  return dagreReady;
}

interface Laid {
  /** The box holding every node and edge point (edges may bend outside dagre's own size). */
  x: number;
  y: number;
  width: number;
  height: number;
  nodes: { id: number; x: number; y: number; w: number; h: number }[];
  edges: { from: number; to: number; points: { x: number; y: number }[] }[];
}

const layoutCache = new WeakMap<ProsQAGraph, Laid>();

function layout(g: ProsQAGraph): Laid | undefined {
  if (!dagre) return undefined;
  const hit = layoutCache.get(g);
  if (hit) return hit;
  const dg = new dagre.graphlib.Graph();
  dg.setGraph({ rankdir: 'TB', nodesep: 18, ranksep: 42, marginx: 12, marginy: 12 });
  dg.setDefaultEdgeLabel(() => ({}));
  g.idx_to_symbol.forEach((name, i) => dg.setNode(String(i), { width: Math.max(64, (name.length + 2) * 7.5 + 18), height: 38 }));
  for (const [a, b] of g.edges) dg.setEdge(String(a), String(b));
  dagre.layout(dg);
  const laid: Laid = {
    x: 0,
    y: 0,
    width: 0,
    height: 0,
    nodes: g.idx_to_symbol.map((_, i) => {
      const n = dg.node(String(i));
      return { id: i, x: n.x ?? 0, y: n.y ?? 0, w: n.width, h: n.height };
    }),
    edges: g.edges.map(([a, b]) => ({ from: a, to: b, points: dg.edge(String(a), String(b))?.points ?? [] })),
  };
  const xs = [...laid.nodes.flatMap((n) => [n.x - n.w / 2, n.x + n.w / 2]), ...laid.edges.flatMap((e) => e.points.map((p) => p.x))];
  const ys = [...laid.nodes.flatMap((n) => [n.y - n.h / 2, n.y + n.h / 2]), ...laid.edges.flatMap((e) => e.points.map((p) => p.y))];
  const margin = 8;
  laid.x = Math.floor(Math.min(...xs) - margin);
  laid.y = Math.floor(Math.min(...ys) - margin);
  laid.width = Math.ceil(Math.max(...xs) + margin) - laid.x;
  laid.height = Math.ceil(Math.max(...ys) + margin) - laid.y;
  layoutCache.set(g, laid);
  return laid;
}

export function nodeRole(g: ProsQAGraph, i: number): 'root' | 'target' | 'neg' | undefined {
  if (i === g.root) return 'root';
  if (i === g.target) return 'target';
  if (i === g.neg_target) return 'neg';
  return undefined;
}

const ROLE_TEXT = { root: 'asked entity', target: 'correct concept', neg: 'other candidate' } as const;

/** The graph after `t` thoughts as SVG; undefined until dagre has loaded. */
export function renderGraphSvg(g: ProsQAGraph, values: ThoughtNodeValues | undefined, t: number): SVGSVGElement | undefined {
  const laid = layout(g);
  if (!laid) return undefined;
  const byNode = new Map(values?.values.map((v) => [v.node, v.p]) ?? []);
  const front = new Set(frontierAt(g, t));
  const name = (i: number) => g.idx_to_symbol[i] ?? String(i);
  const ranked = [...byNode.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
  const label =
    `ProsQA graph after ${t} thought${t === 1 ? '' : 's'}: asked ${name(g.root)}, candidates ${name(g.target)} (correct) and ${name(g.neg_target)}.` +
    (ranked.length ? ` Highest node values: ${ranked.map(([i, p]) => `${name(i)} ${fmtP(p)}`).join(', ')}.` : ' No node values.');
  const root = svgRoot('graph', laid.width, laid.height, label);
  root.setAttribute('viewBox', `${laid.x} ${laid.y} ${laid.width} ${laid.height}`);
  // Charts shrink to the panel; a graph only so far that its names stay readable (then it scrolls).
  root.style.minWidth = `${Math.round(laid.width * 0.75)}px`;
  root.append(
    s(
      'defs',
      {},
      s(
        'marker',
        { id: 'cl-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        s('path', { class: 'graph-arrow', d: 'M0,0 L10,5 L0,10 z' }),
      ),
    ),
  );
  const edges = s('g', { class: 'graph-edges', 'aria-hidden': 'true' });
  for (const e of laid.edges) {
    if (!e.points.length) continue;
    const d = e.points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    edges.append(s('path', { class: 'graph-edge', d, 'marker-end': 'url(#cl-arrow)' }));
  }
  root.append(edges);
  for (const n of laid.nodes) {
    const p = byNode.get(n.id);
    const role = nodeRole(g, n.id);
    const classes = ['graph-node', role ? `role-${role}` : '', front.has(n.id) ? 'frontier' : '', p === undefined ? 'no-value' : ''].filter(Boolean).join(' ');
    const x = n.x - n.w / 2;
    const y = n.y - n.h / 2;
    const tip = `${name(n.id)}${role ? ` (${ROLE_TEXT[role]})` : ''}${p !== undefined ? `: value ${fmtP(p)}` : ''}${front.has(n.id) ? `; BFS layer ${t}` : ''}`;
    root.append(
      s(
        'g',
        { class: classes, 'data-node': n.id, 'data-value': p === undefined ? undefined : p.toFixed(6) },
        title(tip),
        s('rect', { class: 'node-bg', x, y, width: n.w, height: n.h, rx: 6 }),
        p !== undefined && s('rect', { class: 'node-fill', x, y, width: n.w, height: n.h, rx: 6, 'fill-opacity': (0.08 + 0.8 * Math.sqrt(p)).toFixed(3) }),
        s('rect', { class: 'node-border', x, y, width: n.w, height: n.h, rx: 6 }),
        s(
          'text',
          { class: 'node-name', x: n.x, y: n.y - 3, 'text-anchor': 'middle' },
          (role === 'root' ? '● ' : role === 'target' ? '✓ ' : role === 'neg' ? '✗ ' : '') + name(n.id),
        ),
        s('text', { class: 'node-value', x: n.x, y: n.y + 12, 'text-anchor': 'middle' }, p !== undefined ? fmtP(p) : ''),
      ),
    );
  }
  return root;
}

/** The node values after `t` thoughts as a table, highest first (the graph's text equivalent). */
export function renderValueTable(g: ProsQAGraph, values: ThoughtNodeValues | undefined, t: number, limit = 8): HTMLElement {
  if (!values) {
    return h('p', { class: 'muted', 'data-testid': 'no-node-values' }, 'This run carries no node values (the engine did not compute them).');
  }
  const rows = [...values.values].sort((a, b) => b.p - a.p).slice(0, limit);
  const body = h('tbody');
  for (const v of rows) {
    const role = nodeRole(g, v.node);
    body.append(
      h(
        'tr',
        { 'data-testid': 'node-value-row' },
        h('td', {}, v.symbol),
        h('td', { class: 'num' }, fmtP(v.p)),
        h('td', { class: 'muted' }, role ? ROLE_TEXT[role] : ''),
      ),
    );
  }
  return h(
    'table',
    { class: 'data-table values-table' },
    h('caption', {}, `Highest node values after ${t} thought${t === 1 ? '' : 's'}`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Concept'), h('th', { scope: 'col' }, 'Value'), h('th', { scope: 'col' }, 'Role'))),
    body,
  );
}

export function graphLegend(): HTMLElement {
  const item = (cls: string, text: string) => h('li', {}, h('span', { class: `legend-swatch ${cls}`, 'aria-hidden': 'true' }), text);
  return h(
    'ul',
    { class: 'legend', 'aria-label': 'Legend' },
    item('role-root', '● asked entity (root)'),
    item('role-target', '✓ correct concept (target)'),
    item('role-neg', '✗ other candidate (neg_target)'),
    item('frontier', 'BFS layer t (search front)'),
    item('value', 'shade: node value, p of the concept name'),
  );
}
