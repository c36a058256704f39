// Entry point of the extension host part: wires commands, settings, the engine, the status bar and
// the inspector panel together. Each piece lives in its own module; this file only connects them.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { InspectResult } from '../shared/types';
import type { RunInfo } from '../protocol/inspector';
import { EngineCache } from './engine-cache';
import { HostError, reportingCommands } from './errors';
import { registerInspectorFeatures, type FeatureTestHooks } from './features';
import { InspectorPanel } from './panel';
import { registerModelCommands } from './models';
import { selectModel, selectProvider } from './pickers';
import { questionFromFile, questionFromRecord, questionFromSelection } from './questions';
import type { Question } from './run-history';
import { InspectRunner } from './runner';
import { SECTION } from './settings';
import { registerSidebar, type SidebarTestHooks } from './sidebar';
import { StatusBar } from './status-bar';

/**
 * What activate() returns, for the tests in test/vscode (through
 * vscode.extensions.getExtension('coconut-lens.coconut-lens')!.exports). Not a public API.
 */
export interface CoconutLensApi {
  /** The result of the last run that finished in this window; undefined before the first one. */
  lastResult(): InspectResult | undefined;
  /** The HTML currently set on the inspector panel's webview; '' when no panel is open. */
  panelHtmlForTest(): string;
  /**
   * Resolves when no run, no model load and no settings change is still being applied (inspect
   * commands themselves also resolve only when their run has ended).
   */
  whenIdle(): Promise<void>;
  /** The run the panel shows (its graph, or why it has none), or undefined before the first one. */
  currentRunForTest(): RunInfo | undefined;
  /** The panel, for tests of the serializer (restoring a panel from saved state). */
  panelForTest(): InspectorPanel;
  /** The inspector features (CodeLens, hover, step links, analyses), for tests. */
  features: FeatureTestHooks;
  /** The side bar's rows, for tests. */
  sidebar: SidebarTestHooks;
}

let engineCache: EngineCache | undefined;

export function activate(context: vscode.ExtensionContext): CoconutLensApi {
  const log = vscode.window.createOutputChannel('Coconut Lens', { log: true });
  const engine = new EngineCache(path.join(context.extensionPath, 'dist', 'engine-worker.js'), log);
  engineCache = engine;
  const panel = new InspectorPanel(context.extensionUri, log);
  const status = new StatusBar();
  const runner = new InspectRunner(context.extensionPath, engine, panel, status, log);
  context.subscriptions.push(log, engine, panel, status, runner, panel.registerSerializer());

  /** Commands resolve when their run ends, so tests can await executeCommand(). */
  const inspectWith = (get: (editor: vscode.TextEditor) => Question) => async (): Promise<InspectResult | undefined> => {
    if (runner.busy) {
      runner.offerCancel();
      return undefined;
    }
    let question: Question;
    try {
      const editor = vscode.window.activeTextEditor;
      if (!editor) {
        throw new HostError(
          'NO_EDITOR',
          'No editor is active, so there is no prompt to inspect.',
          'Open a prompt file (JSON, JSONL, text or Markdown) and run the command again.',
        );
      }
      question = get(editor);
    } catch (err) {
      runner.fail(err);
      return undefined;
    }
    return runner.inspect(question);
  };

  const command = reportingCommands(log);

  context.subscriptions.push(
    command('coconutLens.inspectFile', inspectWith(questionFromFile)),
    command('coconutLens.inspectSelection', inspectWith(questionFromSelection)),
    command('coconutLens.inspectRecord', inspectWith(questionFromRecord)),
    command('coconutLens.selectModel', () => selectModel(context.extensionPath)),
    command('coconutLens.selectProvider', () => selectProvider()),
    command('coconutLens.cancel', () => {
      if (!runner.cancel()) void vscode.window.showInformationMessage('No Coconut Lens run is in progress.');
    }),
  );

  registerModelCommands(context, log);
  const features = registerInspectorFeatures(context, runner, panel, log);
  const sidebar = registerSidebar(context, runner, log);

  /** Settings changes are applied one after another; whenIdle() waits for them. */
  let settingsApplied: Promise<void> = Promise.resolve();

  context.subscriptions.push(
    panel.onDidReceiveMessage((msg) => {
      switch (msg.type) {
        case 'rerun':
          void runner.rerun(msg.k);
          break;
        case 'cancel':
          runner.cancel();
          break;
        case 'selectThought':
          log.trace(`Thought ${msg.index} selected in the panel.`);
          break;
        default:
          // The inspector features (features.ts) handle the other messages.
          break;
      }
    }),
    engine.onDidChange(() => runner.refreshStatus()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      const model = e.affectsConfiguration(`${SECTION}.modelPath`);
      const provider = e.affectsConfiguration(`${SECTION}.executionProvider`);
      if (!model && !provider) return;
      log.info(`Settings changed (${[model && 'modelPath', provider && 'executionProvider'].filter(Boolean).join(', ')}).`);
      const runsBefore = runner.runsStarted;
      settingsApplied = settingsApplied.then(() => applyEngineSettings(model, runsBefore));
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => runner.refreshStatus()),
  );

  /** Reloads the engine for new settings once no run uses the old one. Never rejects. */
  async function applyEngineSettings(modelChanged: boolean, runsBefore: number): Promise<void> {
    await runner.whenIdle();
    // A run that started meanwhile already loaded what the new settings ask for, or will.
    if (runner.busy) return applyEngineSettings(modelChanged, runsBefore);
    // Clear only a view that still shows the old model: a later run's result is already current.
    if (modelChanged && panel.isOpen && runner.runsStarted === runsBefore) {
      panel.post({ type: 'cleared', reason: 'The model changed. Rerun to inspect the question with the new model.' });
    }
    if (runner.engineMatchesSettings()) {
      runner.refreshStatus();
      return;
    }
    const wasLoaded = engine.loaded !== undefined;
    engine.drop();
    runner.refreshStatus();
    // Reload right away when a model was in use, so a provider fallback shows up now.
    if (wasLoaded) await runner.preload();
  }

  runner.refreshStatus();
  log.info(`Coconut Lens ${String(context.extension.packageJSON.version ?? '')} activated.`);

  return {
    lastResult: () => runner.lastResult,
    panelHtmlForTest: () => panel.html(),
    whenIdle: async () => {
      await settingsApplied;
      await runner.whenIdle();
    },
    currentRunForTest: () => runner.currentRun()?.run,
    panelForTest: () => panel,
    features,
    sidebar,
  };
}

export function deactivate(): void {
  // The worker thread would otherwise outlive the extension host's shutdown for a moment.
  engineCache?.dispose();
  engineCache = undefined;
}
