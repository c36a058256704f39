// The inspector WebviewPanel: one panel, reused, restored after a reload by a serializer. The host
// never builds result markup itself; it posts protocol messages and webview/main.ts renders them.

import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import {
  INSPECTOR_VIEW_TYPE,
  isInspectorState,
  isWebviewToHost,
  type HostToWebview,
  type RunInfo,
  type WebviewToHost,
} from '../protocol/inspector';

/**
 * What the panel last showed, replayed whenever a webview (re)starts listening: a hidden webview
 * loses its script context, and messages posted meanwhile are dropped.
 */
interface Snapshot {
  start?: Extract<HostToWebview, { type: 'loading' | 'runStarted' }>;
  progress?: Extract<HostToWebview, { type: 'progress' }>;
  end?: Extract<HostToWebview, { type: 'result' | 'error' | 'cleared' }>;
}

export class InspectorPanel implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private panelDisposables: vscode.Disposable[] = [];
  private ready = false;
  private snapshot: Snapshot = {};
  /** The last run the webview knew about when it was restored from saved state. */
  private restoredRun?: RunInfo;
  private readonly messages = new vscode.EventEmitter<WebviewToHost>();
  /** Messages from the webview, already validated. */
  readonly onDidReceiveMessage = this.messages.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Registers the serializer that restores the panel after a window reload. */
  registerSerializer(): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(INSPECTOR_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => {
        // A second restored panel (should not happen) is closed so that one panel stays the rule.
        if (this.panel) {
          panel.dispose();
          return;
        }
        this.restoredRun = isInspectorState(state) ? (state.run ?? undefined) : undefined;
        this.attach(panel);
      },
    });
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

  post(message: HostToWebview): void {
    this.record(message);
    if (this.panel && this.ready) void this.panel.webview.postMessage(message);
  }

  /** The HTML set on the webview ('' with no panel), for tests of the CSP and asset URIs. */
  html(): string {
    return this.panel?.webview.html ?? '';
  }

  dispose(): void {
    this.panel?.dispose();
    this.messages.dispose();
  }

  private record(message: HostToWebview): void {
    switch (message.type) {
      case 'loading':
      case 'runStarted':
        this.snapshot = { start: message };
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
        this.snapshot = { start: this.snapshot.start?.type === 'runStarted' ? this.snapshot.start : undefined, end: message };
        break;
    }
  }

  private replay(): void {
    if (!this.panel) return;
    const { start, progress, end } = this.snapshot;
    for (const m of [start, progress, end]) if (m) void this.panel.webview.postMessage(m);
  }

  private webviewOptions(): vscode.WebviewOptions {
    return {
      enableScripts: true,
      localResourceRoots: [
        vscode.Uri.joinPath(this.extensionUri, 'dist'),
        vscode.Uri.joinPath(this.extensionUri, 'media'),
      ],
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
    this.snapshot = {};
    this.restoredRun = undefined;
  }

  private receive(raw: unknown): void {
    if (!isWebviewToHost(raw)) {
      this.log.warn(`Ignored an unknown message from the inspector panel: ${JSON.stringify(raw)}`);
      return;
    }
    if (raw.type === 'ready') {
      this.ready = true;
      this.replay();
    }
    this.messages.fire(raw);
  }

  private renderHtml(webview: vscode.Webview): string {
    const nonce = crypto.randomBytes(18).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview.js'));
    const css = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'panel.css'));
    // vscode-elements styles its shadow roots with constructable stylesheets (not subject to
    // style-src) and sets element styles through the CSSOM, so no 'unsafe-inline' is needed.
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
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
