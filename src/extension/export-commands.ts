// What the export commands and the panel's export buttons save: the trace of the run on view (JSON
// in the documented schema, or CSV of its distributions) and the panel's charts (SVG or PNG, drawn
// by the webview). Where they go is Exporter's business.

import * as vscode from 'vscode';
import { traceToCsv, traceToJson, type TraceExtras, type TraceSource } from '../engine/export';
import type { ChartId, ImageFormat } from '../protocol/inspector';
import type { Analyses } from './analyses';
import { HostError } from './errors';
import { displayPath, type Exporter } from './exporter';
import type { InspectorPanel } from './panel';
import type { InspectRunner } from './runner';

const CHART_NAMES: Record<ChartId, string> = {
  heatmap: 'logit-lens heatmap',
  graph: 'latent-search graph',
  sweep: 'k sweep chart',
  intervention: 'intervention divergence chart',
  attribution: 'attribution chart',
  compare: 'comparison chart',
  'dataset-accuracy': 'dataset accuracy chart',
  'dataset-categories': 'path categories chart',
};

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export class ExportCommands {
  constructor(
    private readonly runner: InspectRunner,
    private readonly analyses: Analyses,
    private readonly panel: InspectorPanel,
    private readonly exporter: Exporter,
  ) {}

  /** Saves the trace of the run on view; `intervened`: the intervention result of that run. */
  async trace(format: 'json' | 'csv', intervened = false): Promise<vscode.Uri | undefined> {
    const cur = this.runner.currentRun();
    const last = this.runner.lastResult;
    const result = cur?.result ?? (last && cur && last.question === cur.run.question ? last : undefined);
    if (!cur || !result) {
      throw new HostError('EXPORT_NOTHING', 'There is no trace to export yet.', 'Inspect a prompt first (Coconut Lens: Inspect Latent Thoughts), then export.');
    }
    const iv = intervened ? this.analyses.interventionOf(result.question) : undefined;
    const source: TraceSource = iv ?? result;
    const extras: TraceExtras = { exported: new Date().toISOString() };
    const sweep = this.analyses.sweepOf(result.question);
    if (sweep) extras.sweep = sweep;
    const attribution = this.analyses.attributionOf(result.question, result.thoughtsRequested);
    if (attribution) extras.attribution = attribution;
    if (cur.run.graph) extras.graph = cur.run.graph;
    if (cur.run.record) extras.record = cur.run.record.index;
    const text = format === 'json' ? traceToJson(source, extras) : traceToCsv(source);
    const stem = [
      slug(result.model),
      cur.run.record ? `record${cur.run.record.index}` : undefined,
      `k${result.thoughtsRequested}`,
      iv ? 'intervened' : undefined,
    ]
      .filter(Boolean)
      .join('-');
    const what = format === 'json' ? 'trace JSON' : 'trace CSV';
    const saved = await this.exporter.save(
      {
        what,
        defaultName: `${stem}.trace.${format}`,
        filters: format === 'json' ? { 'Coconut Lens trace': ['json'] } : { CSV: ['csv'] },
        bytes: Buffer.from(text, 'utf8'),
      },
      cur.run.record ? vscode.Uri.parse(cur.run.record.uri) : undefined,
    );
    if (saved) this.done(saved, what);
    return saved;
  }

  /**
   * Saves a chart. `data` comes with the panel's own export buttons; the palette command asks the
   * panel for the chart on view instead.
   */
  async chart(format: ImageFormat, chart: ChartId | 'visible' = 'visible', data?: string): Promise<vscode.Uri | undefined> {
    let id: ChartId;
    let payload: string;
    if (data !== undefined && chart !== 'visible') {
      id = chart;
      payload = data;
    } else {
      ({ chart: id, data: payload } = await this.panel.requestChart(chart, format));
    }
    const bytes = format === 'png' ? Buffer.from(payload, 'base64') : Buffer.from(payload, 'utf8');
    if (format === 'png' && !PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
      throw new HostError(
        'EXPORT_FAILED',
        `The panel did not produce a PNG image of the ${CHART_NAMES[id]}.`,
        'Export it as SVG instead, and report the problem with the log.',
      );
    }
    if (format === 'svg' && !/^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/.test(payload)) {
      throw new HostError(
        'EXPORT_FAILED',
        `The panel did not produce an SVG image of the ${CHART_NAMES[id]}.`,
        'Export it again, and report the problem with the log if it persists.',
      );
    }
    const what = `${CHART_NAMES[id]} (${format.toUpperCase()})`;
    const cur = this.runner.currentRun();
    const saved = await this.exporter.save(
      {
        what,
        defaultName: `coconut-${id}.${format}`,
        filters: format === 'png' ? { 'PNG image': ['png'] } : { 'SVG image': ['svg'] },
        bytes,
      },
      cur?.run.record ? vscode.Uri.parse(cur.run.record.uri) : undefined,
    );
    if (saved) this.done(saved, what);
    return saved;
  }

  private done(saved: vscode.Uri, what: string): void {
    this.panel.post({ type: 'exported', path: displayPath(saved), what });
    void vscode.window.showInformationMessage(`Saved the ${what} to ${displayPath(saved)}.`);
  }
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'coconut';
}
