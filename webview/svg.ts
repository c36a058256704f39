// SVG element builder. Charts are SVG so they scale, take theme colours from panel.css classes and
// can be exported as they are drawn. Text goes through textContent only.

const NS = 'http://www.w3.org/2000/svg';

type Attrs = Record<string, string | number | boolean | undefined>;
type Child = Node | string | undefined | false;

export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): SVGElementTagNameMap[K];
export function s(tag: string, attrs: Attrs = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/** A <title> child: the tooltip on hover, and the accessible name of the element it labels. */
export function title(text: string): SVGTitleElement {
  return s('title', {}, text);
}

/** The root of a chart: sized by its viewBox, labelled for screen readers, tagged for export. */
export function svgRoot(chart: string, width: number, height: number, label: string, ...children: Child[]): SVGSVGElement {
  return s(
    'svg',
    {
      class: `chart chart-${chart}`,
      'data-chart': chart,
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: 'img',
      'aria-label': label,
      xmlns: NS,
    },
    title(label),
    ...children,
  );
}

/** Shortens a label to `max` characters for an axis. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(1, max - 1))}…` : text;
}
