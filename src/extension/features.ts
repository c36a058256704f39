// The inspector features of issue 3, wired in one place: prompt-file CodeLens and step hovers,
// thought ↔ step highlighting, the analyses (k sweep, interventions, attribution, dataset), the
// Compare pin and exports, with their commands and the panel messages that drive them.

import * as vscode from 'vscode';
import type { InspectResult } from '../shared/types';
import type { Intervention, WebviewToHost } from '../protocol/inspector';
import { Analyses } from './analyses';
import { CODELENS_SELECTOR, INSPECT_AT_COMMAND, RecordCodeLens } from './codeLens';
import { docLabel, PromptDocuments } from './documents';
import { HostError, showError, toErrorInfo } from './errors';
import { chooseModelFromPanel, modelOptions, onDidChangeModels } from './models';
import { ExportCommands } from './exportCommands';
import { Exporter } from './exporter';
import { StepHover } from './hover';
import type { InspectorPanel } from './panel';
import { questionFromRecord, questionFromRecordIndex } from './questions';
import type { Question } from './runHistory';
import type { InspectRunner } from './runner';
import { SECTION } from './settings';
import { StepLinks } from './stepLinks';

/** Hooks for the extension-host tests (through CoconutLensApi). */
export interface FeatureTestHooks {
  analyses: Analyses;
  links: StepLinks;
  documents: PromptDocuments;
  codeLens: RecordCodeLens;
  hover: StepHover;
}

export function registerInspectorFeatures(
  context: vscode.ExtensionContext,
  runner: InspectRunner,
  panel: InspectorPanel,
  log: vscode.LogOutputChannel,
): FeatureTestHooks {
  const documents = new PromptDocuments();
  const codeLens = new RecordCodeLens(documents);
  const links = new StepLinks(runner, panel, documents);
  const hover = new StepHover(runner, documents, links);
  const analyses = new Analyses(runner, panel, documents, log);
  const exports = new ExportCommands(runner, analyses, panel, new Exporter(log));

  const command = (id: string, fn: (...args: unknown[]) => unknown) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        const info = toErrorInfo(err);
        log.error(`${id}: ${info.code}: ${info.message}`);
        showError(info, log);
        return undefined;
      }
    });

  /** Inspects a question, or reports why there is none (the panel shows the error too). */
  const inspect = async (get: () => Question | undefined | Promise<Question | undefined>, k?: number): Promise<InspectResult | undefined> => {
    if (runner.busy) {
      runner.offerCancel();
      return undefined;
    }
    let question: Question | undefined;
    try {
      question = await get();
    } catch (err) {
      runner.fail(err);
      return undefined;
    }
    // undefined: the user dismissed a pick; nothing to report.
    return question ? runner.inspect(question, k) : undefined;
  };

  context.subscriptions.push(
    documents,
    codeLens,
    links,
    vscode.languages.registerCodeLensProvider(CODELENS_SELECTOR, codeLens),
    vscode.languages.registerHoverProvider(CODELENS_SELECTOR, hover),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${SECTION}.codeLens`)) codeLens.refresh();
    }),

    command(INSPECT_AT_COMMAND, (uri?: unknown, index?: unknown) => {
      if (typeof uri === 'string' && typeof index === 'number') return inspect(() => questionFromRecordIndex(uri, index));
      return inspect(() => pickRecord(documents));
    }),
    command('coconutLens.sweep', (to?: unknown) => analyses.sweep(typeof to === 'number' ? to : undefined)),
    command('coconutLens.intervene', async (list?: unknown) => {
      const interventions = Array.isArray(list) ? (list as Intervention[]) : await askIntervention(runner);
      return interventions ? analyses.intervene(interventions) : undefined;
    }),
    command('coconutLens.attribution', () => analyses.attribution()),
    command('coconutLens.evaluateDataset', (uri?: unknown, to?: unknown) =>
      analyses.evalDataset(uri instanceof vscode.Uri ? uri : undefined, typeof to === 'number' ? to : undefined),
    ),
    command('coconutLens.exportTraceJson', () => exports.trace('json', true)),
    command('coconutLens.exportTraceCsv', () => exports.trace('csv', true)),
    command('coconutLens.exportChartSvg', () => exports.chart('svg')),
    command('coconutLens.exportChartPng', () => exports.chart('png')),
    command('coconutLens.pinRun', () => runner.pinCurrent()),
    command('coconutLens.unpinRun', () => runner.unpin()),
    command('coconutLens.showPanel', () => panel.show()),
    command('coconutLens.showLog', () => log.show(true)),

    panel.onDidReceiveMessage((msg) => void onPanelMessage(msg)),
    // The panel's model picker follows the list, the selection (however it was changed) and trust.
    onDidChangeModels(postModels),
    vscode.workspace.onDidGrantWorkspaceTrust(postModels),
  );

  function postModels(): void {
    if (!panel.isOpen) return;
    panel.post({ type: 'models', models: modelOptions(context.extensionPath), restricted: !vscode.workspace.isTrusted });
  }

  async function onPanelMessage(msg: WebviewToHost): Promise<void> {
    try {
      switch (msg.type) {
        case 'ready':
          postModels();
          break;
        case 'selectModel':
          // The setting changes; extension.ts reloads the engine and clears the view with a notice
          // that offers the rerun (as for "Coconut Lens: Select Model").
          await chooseModelFromPanel(msg.dir, context.extensionPath);
          break;
        case 'hoverThought':
          links.hoverThought(msg.index);
          break;
        case 'sweep':
          await analyses.sweep(msg.to);
          break;
        case 'intervene':
          await analyses.intervene(msg.interventions);
          break;
        case 'attribution':
          await analyses.attribution();
          break;
        case 'evalDataset':
          await analyses.evalDataset(undefined, msg.to);
          break;
        case 'openRecord':
          await analyses.openRecord({ uri: msg.uri, index: msg.index }, msg.k);
          break;
        case 'exportTrace':
          await exports.trace(msg.format, msg.intervened);
          break;
        case 'chartImage':
          // Images that answer a palette command's request are taken by the panel itself.
          if (msg.requestId === undefined) await exports.chart(msg.format, msg.chart, msg.data);
          break;
        case 'pin':
          runner.pinCurrent();
          break;
        case 'unpin':
          runner.unpin();
          break;
        default:
          break;
      }
    } catch (err) {
      // The picker goes back to the model that still runs.
      if (msg.type === 'selectModel') postModels();
      // The panel asked; the panel says what went wrong (and a notification, as for commands).
      runner.fail(err);
    }
  }

  return { analyses, links, documents, codeLens, hover };
}

interface RecordPick extends vscode.QuickPickItem {
  index: number;
}

/** The palette form of the CodeLens: pick a record of the active prompt file. */
async function pickRecord(documents: PromptDocuments): Promise<Question | undefined> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    throw new HostError(
      'NO_EDITOR',
      'No editor is active, so there is no prompt file to pick a record from.',
      'Open a JSON, JSONL or .coconut prompt file and run the command again.',
    );
  }
  const file = documents.parse(editor.document);
  if (file.format === 'text') return questionFromRecord(editor);
  if (file.records.length === 1) return questionFromRecordIndex(editor.document.uri.toString(), 0);
  const picked = await vscode.window.showQuickPick<RecordPick>(
    file.records.map((r) => ({
      index: r.index,
      label: `Record ${r.index}`,
      description: `line ${r.line}${r.steps ? ` · ${r.steps.length} steps` : ''}${r.graph ? ' · ProsQA graph' : ''}`,
      detail: r.question.length > 120 ? `${r.question.slice(0, 120)}…` : r.question,
    })),
    { title: `Coconut Lens: inspect a record of ${docLabel(editor.document)}`, matchOnDetail: true },
  );
  return picked ? questionFromRecordIndex(editor.document.uri.toString(), picked.index) : undefined;
}

interface KindPick extends vscode.QuickPickItem {
  edit: 'zero' | 'scale' | 'token';
}

/** The palette form of the panel's intervention editor: one thought, one edit. */
async function askIntervention(runner: InspectRunner): Promise<Intervention[] | undefined> {
  const cur = runner.currentRun();
  if (!cur) return [];
  const k = cur.run.k;
  const thought = await vscode.window.showInputBox({
    title: 'Coconut Lens: intervene on a thought',
    prompt: `Which thought (1 to ${k})?`,
    value: '1',
    validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= k ? undefined : `A whole number from 1 to ${k}.`),
  });
  if (thought === undefined) return undefined;
  const kind = await vscode.window.showQuickPick<KindPick>(
    [
      { edit: 'zero', label: 'Zero it', detail: 'Feed a zero vector instead of the thought' },
      { edit: 'scale', label: 'Scale it…', detail: 'Multiply the thought by a factor' },
      { edit: 'token', label: 'Replace it with a token…', detail: 'Feed a token’s input embedding instead' },
    ],
    { title: `Coconut Lens: what to do with thought ${thought}` },
  );
  if (!kind) return undefined;
  const t = Number(thought);
  if (kind.edit === 'zero') return [{ thought: t, kind: 'zero' }];
  if (kind.edit === 'scale') {
    const f = await vscode.window.showInputBox({
      title: `Coconut Lens: scale thought ${t}`,
      prompt: 'Factor',
      value: '0.5',
      validateInput: (v) => (Number.isFinite(Number(v)) && v.trim() !== '' ? undefined : 'A number, e.g. 0.5 or 2.'),
    });
    return f === undefined ? undefined : [{ thought: t, kind: 'scale', factor: Number(f) }];
  }
  const token = await vscode.window.showInputBox({ title: `Coconut Lens: replace thought ${t}`, prompt: 'Token (a word of the model’s vocabulary)' });
  return token === undefined ? undefined : [{ thought: t, kind: 'token', token }];
}
