// Charts as figures with SVG/PNG export buttons, and the export itself, which the panel's buttons
// and the host's export commands (chartRequest) share.
import type { AnalysisKind, ChartId, ImageFormat } from '../src/protocol/inspector';
import { TAB_TEXT } from './tabs';
import { h } from './dom';
import { serializeSvg, svgSize, svgToPngBase64 } from './export-image';
import { renderError } from './render';
import { currentTab, type ViewState } from './state';
import type { View } from './view';

/** A chart in a figure with its caption and SVG/PNG export buttons. */
export function figure(view: View, caption: string, chart: SVGSVGElement, extra?: HTMLElement): HTMLElement {
  const id = chart.dataset.chart as ChartId;
  const svgButton = h('button', { class: 'link-button', type: 'button', 'data-testid': 'export-svg', 'data-chart': id }, 'SVG');
  const pngButton = h('button', { class: 'link-button', type: 'button', 'data-testid': 'export-png', 'data-chart': id }, 'PNG');
  svgButton.setAttribute('aria-label', `Export the ${caption} chart as SVG`);
  pngButton.setAttribute('aria-label', `Export the ${caption} chart as PNG`);
  svgButton.addEventListener('click', () => void exportChart(view, id, 'svg'));
  pngButton.addEventListener('click', () => void exportChart(view, id, 'png'));
  return h(
    'figure',
    { class: 'chart-box', 'data-figure': id },
    h('figcaption', {}, h('span', {}, caption), h('span', { class: 'figure-actions' }, 'Export: ', svgButton, ' ', pngButton)),
    h('div', { class: 'chart-scroll' }, chart),
    extra,
  );
}

/** The last failure of an analysis, for its tab. */
export function analysisErrorFor(state: ViewState, kind: AnalysisKind): HTMLElement | undefined {
  return state.analysisError?.analysis === kind ? renderError(state.analysisError.error) : undefined;
}

function findChart(view: View, chart: ChartId | 'visible'): SVGSVGElement | undefined {
  if (chart === 'visible') return view.panel(currentTab(view.state)).querySelector<SVGSVGElement>('svg[data-chart]') ?? undefined;
  return document.querySelector<SVGSVGElement>(`svg[data-chart="${chart}"]`) ?? undefined;
}

async function chartImage(svg: SVGSVGElement, format: ImageFormat): Promise<string> {
  const text = serializeSvg(svg);
  if (format === 'svg') return text;
  const { width, height } = svgSize(svg);
  return svgToPngBase64(text, width, height);
}

async function exportChart(view: View, chart: ChartId, format: ImageFormat): Promise<void> {
  const svg = findChart(view, chart);
  if (!svg) return;
  try {
    view.post({ type: 'chartImage', chart, format, data: await chartImage(svg, format) });
  } catch (e) {
    view.state.notice = `Could not draw the chart as ${format.toUpperCase()}: ${(e as Error).message}`;
    view.render();
  }
}

export async function answerChartRequest(view: View, requestId: number, chart: ChartId | 'visible', format: ImageFormat): Promise<void> {
  const svg = findChart(view, chart);
  if (!svg) {
    const what = chart === 'visible' ? `the ${TAB_TEXT[currentTab(view.state)]} tab shows no chart` : `no ${chart} chart is drawn`;
    view.post({ type: 'chartUnavailable', requestId, reason: `There is no chart to export: ${what}.` });
    return;
  }
  try {
    view.post({ type: 'chartImage', chart: svg.dataset.chart as ChartId, format, data: await chartImage(svg, format), requestId });
  } catch (e) {
    view.post({ type: 'chartUnavailable', requestId, reason: `The chart could not be drawn as ${format.toUpperCase()}: ${(e as Error).message}` });
  }
}
