// The inspector WebviewPanel: one panel, reused, restored after a reload by a serializer. The host
// never builds result markup itself; it posts protocol messages and webview/main.ts renders them.

import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import {
  INSPECTOR_VIEW_TYPE,
  isInspectorState,
  isWebviewToHost,
  type ChartId,
  type HostToWebview,
  type ImageFormat,
  type RunInfo,
  type WebviewToHost,
} from '../protocol/inspector';
import { HostError } from './errors';

/**
 * What the panel last showed, replayed whenever a webview (re)starts listening: a hidden webview
 * loses its script context, and messages posted meanwhile are dropped.
 */
interface Snapshot {
  start?: Extract<HostToWebview, { type: 'loading' | 'runStarted' }>;
  progress?: Extract<HostToWebview, { type: 'progress' }>;
  end?: Extract<HostToWebview, { type: 'result' | 'error' | 'cleared' }>;
  /** Analyses, the dataset and the pin: the messages that rebuild each, in order. */
  slots: Map<string, HostToWebview[]>;
}

/** Messages only meaningful at the moment they are sent; never replayed. */
const TRANSIENT = new Set<HostToWebview['type']>(['highlightThoughts', 'chartRequest', 'exported', 'models']);

/** How long a palette export waits for the webview to hand over a chart. */
const CHART_TIMEOUT_MS = 15_000;

export class InspectorPanel implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private panelDisposables: vscode.Disposable[] = [];
  private ready = false;
  private snapshot: Snapshot = { slots: new Map() };
  /** The last run the webview knew about when it was restored from saved state. */
  private restoredRun?: RunInfo;
  private readonly messages = new vscode.EventEmitter<WebviewToHost>();
  /** Messages from the webview, already validated. */
  readonly onDidReceiveMessage = this.messages.event;
  private nextChartRequest = 1;
  private readonly chartRequests = new Map<number, { resolve(image: { chart: ChartId; data: string }): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  /** Restores the panel after a reload; kept as a field so tests can call it on a panel they made. */
  readonly serializer: vscode.WebviewPanelSerializer = {
    deserializeWebviewPanel: async (panel, state) => {
      // A second restored panel (should not happen) is closed so that one panel stays the rule.
      if (this.panel) {
        panel.dispose();
        return;
      }
      this.restoredRun = isInspectorState(state) ? (state.run ?? undefined) : undefined;
      this.attach(panel);
    },
  };

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Registers the serializer that restores the panel after a window reload. */
  registerSerializer(): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(INSPECTOR_VIEW_TYPE, this.serializer);
  }

  /** Opens the panel beside the editor, or reveals it, without taking focus from the editor. */
  show(): void {
    if (this.panel) {
      if (!this.panel.visible) this.panel.reveal(undefined, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      INSPECTOR_VIEW_TYPE,
      'Coconut Lens',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { ...this.webviewOptions(), enableFindWidget: true },
    );
    this.attach(panel);
  }

  get isOpen(): boolean {
    return this.panel !== undefined;
  }

  /** The question of the last run the panel showed, for reruns after a reload. */
  get lastRun(): RunInfo | undefined {
    return this.snapshot.start?.type === 'runStarted' ? this.snapshot.start.run : this.restoredRun;
  }

  /** True when the webview's script listens (messages posted now arrive). */
  get isReady(): boolean {
    return this.panel !== undefined && this.ready;
  }

  post(message: HostToWebview): void {
    if (!TRANSIENT.has(message.type)) this.record(message);
    if (this.panel && this.ready) void this.panel.webview.postMessage(message);
  }

  /**
   * Asks the webview for a chart's image (SVG text or base64 PNG). Rejects with a message for the
   * user when the panel is closed, the chart is not on view, or the webview does not answer.
   */
  async requestChart(chart: ChartId | 'visible', format: ImageFormat): Promise<{ chart: ChartId; data: string }> {
    if (!this.panel) {
      throw new HostError(
        'EXPORT_NOTHING',
        'The Coconut Lens panel is not open, so there is no chart to export.',
        'Inspect a prompt first, then export its charts.',
      );
    }
    if (!this.panel.visible || !this.ready) {
      this.panel.reveal(undefined, true);
      await this.whenReady();
    }
    const requestId = this.nextChartRequest++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.chartRequests.delete(requestId);
        reject(new HostError('EXPORT_FAILED', 'The panel did not hand over the chart in time.', 'Make sure the Coconut Lens panel is visible and try again.'));
      }, CHART_TIMEOUT_MS);
      this.chartRequests.set(requestId, { resolve, reject, timer });
      this.post({ type: 'chartRequest', requestId, chart, format });
    });
  }

  private whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.dispose();
        reject(new HostError('EXPORT_FAILED', 'The Coconut Lens panel did not start in time.', 'Show the panel and try again.'));
      }, CHART_TIMEOUT_MS);
      const sub = this.messages.event((m) => {
        if (m.type !== 'ready') return;
        clearTimeout(timer);
        sub.dispose();
        resolve();
      });
    });
  }

  /**
   * Handles `raw` exactly as a message the webview posted (validation included), for the
   * extension-host tests.
   */
  receiveForTest(raw: unknown): void {
    this.receive(raw);
  }

  /** The HTML set on the webview ('' with no panel), for tests of the CSP and asset URIs. */
  html(): string {
    return this.panel?.webview.html ?? '';
  }

  dispose(): void {
    this.panel?.dispose();
    this.messages.dispose();
  }

  private slot(name: string, messages: HostToWebview[] | undefined, append = false): void {
    const slots = this.snapshot.slots;
    if (!messages) slots.delete(name);
    else if (append) slots.set(name, [...(slots.get(name) ?? []), ...messages]);
    else slots.set(name, messages);
  }

  private record(message: HostToWebview): void {
    switch (message.type) {
      case 'loading':
        this.snapshot = { start: message, slots: this.snapshot.slots };
        break;
      case 'runStarted': {
        const prev = this.snapshot.start?.type === 'runStarted' ? this.snapshot.start.run : undefined;
        // Analyses of the previous run no longer describe what is on view; a sweep of the same
        // question still does.
        this.slot('intervention', undefined);
        this.slot('attribution', undefined);
        if (prev?.question !== message.run.question) this.slot('sweep', undefined);
        this.snapshot = { start: message, slots: this.snapshot.slots };
        break;
      }
      case 'analysisStarted':
        this.slot(message.analysis, [message]);
        this.slot(`${message.analysis}-progress`, undefined);
        break;
      case 'analysisProgress':
        this.slot(`${message.analysis}-progress`, [message]);
        break;
      case 'analysisError':
        this.slot(`${message.analysis}-progress`, undefined);
        this.slot(message.analysis, [message], true);
        break;
      case 'sweepPoint':
        this.slot('sweep', [message], true);
        break;
      case 'sweepResult':
        this.slot('sweep-progress', undefined);
        this.slot('sweep', [message]);
        break;
      case 'interventionResult':
        this.slot('intervention-progress', undefined);
        this.slot('intervention', [message]);
        break;
      case 'attributionResult':
        this.slot('attribution-progress', undefined);
        this.slot('attribution', [message]);
        break;
      case 'datasetStarted':
      case 'datasetRecord':
        this.slot('dataset', [message], true);
        break;
      case 'datasetResult': {
        const started = this.snapshot.slots.get('dataset')?.find((m) => m.type === 'datasetStarted');
        this.slot('dataset-progress', undefined);
        this.slot('dataset', started ? [started, message] : [message]);
        break;
      }
      case 'pinned':
        this.slot('pinned', [message]);
        break;
      case 'progress':
        this.snapshot.progress = message;
        break;
      case 'result':
      case 'error':
        this.snapshot.progress = undefined;
        this.snapshot.end = message;
        break;
      case 'cleared':
        // The question stays (it can be rerun); what was shown for it goes.
        this.snapshot = {
          start: this.snapshot.start?.type === 'runStarted' ? this.snapshot.start : undefined,
          end: message,
          slots: this.snapshot.slots,
        };
        this.slot('intervention', undefined);
        this.slot('attribution', undefined);
        this.slot('sweep', undefined);
        break;
      default:
        break;
    }
  }

  private replay(): void {
    if (!this.panel) return;
    const { start, progress, end, slots } = this.snapshot;
    const all: HostToWebview[] = [start, progress, end].filter((m): m is NonNullable<typeof m> => m !== undefined);
    for (const list of slots.values()) all.push(...list);
    for (const m of all) void this.panel.webview.postMessage(m);
  }

  private webviewOptions(): vscode.WebviewOptions {
    return {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    };
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    this.ready = false;
    // Options are not persisted with a restored panel, so they are set again here.
    panel.webview.options = this.webviewOptions();
    panel.webview.html = this.renderHtml(panel.webview);
    this.panelDisposables.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      panel.onDidChangeViewState(() => {
        // Without retainContextWhenHidden the script stops while hidden; it says 'ready' again.
        if (!panel.visible) this.ready = false;
      }),
      panel.onDidDispose(() => this.detach()),
    );
  }

  private detach(): void {
    for (const d of this.panelDisposables) d.dispose();
    this.panelDisposables = [];
    this.panel = undefined;
    this.ready = false;
    this.snapshot = { slots: new Map() };
    this.restoredRun = undefined;
    for (const [id, r] of this.chartRequests) {
      clearTimeout(r.timer);
      r.reject(new HostError('EXPORT_FAILED', 'The Coconut Lens panel was closed before it handed over the chart.', 'Open the panel and export again.'));
      this.chartRequests.delete(id);
    }
  }

  private receive(raw: unknown): void {
    if (!isWebviewToHost(raw)) {
      // Never dropped silently: a message the guard does not know means the panel and the host
      // disagree on the protocol (a stale webview, a half-finished change).
      this.log.error(`The inspector panel sent a message the protocol does not know; it was not handled: ${JSON.stringify(raw)}`);
      return;
    }
    if (raw.type === 'ready') {
      this.ready = true;
      this.replay();
    }
    if (raw.type === 'chartImage' && raw.requestId !== undefined) {
      const pending = this.chartRequests.get(raw.requestId);
      if (pending) {
        clearTimeout(pending.timer);
        this.chartRequests.delete(raw.requestId);
        pending.resolve({ chart: raw.chart, data: raw.data });
        return;
      }
    }
    if (raw.type === 'chartUnavailable') {
      const pending = this.chartRequests.get(raw.requestId);
      if (pending) {
        clearTimeout(pending.timer);
        this.chartRequests.delete(raw.requestId);
        pending.reject(new HostError('EXPORT_NOTHING', raw.reason, 'Show the chart in the panel (run the analysis that draws it), then export again.'));
      }
      return;
    }
    this.messages.fire(raw);
  }

  private renderHtml(webview: vscode.Webview): string {
    const nonce = crypto.randomBytes(18).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview.js'));
    const css = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'panel.css'));
    // vscode-elements styles its shadow roots with constructable stylesheets (not subject to
    // style-src) and sets element styles through the CSSOM, so no 'unsafe-inline' is needed.
    // img-src data:/blob: lets the webview rasterise its own SVG charts into a PNG (nothing remote).
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
      `img-src ${webview.cspSource} data: blob:`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${css}">
  <title>Coconut Lens</title>
</head>
<body>
  <main id="app"></main>
  <script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }
}
