// The inspector features of issue 3 registered in one place: prompt-file CodeLens and step hovers,
// thought ↔ step highlighting, the analyses (k sweep, interventions, attribution, dataset), the
// Compare pin and exports, with their commands. What the panel's messages do is panel-messages.ts;
// the palette's pickers are palette-inputs.ts.

import * as vscode from 'vscode';
import type { InspectResult } from '../shared/types';
import type { Intervention } from '../protocol/inspector';
import { Analyses } from './analyses';
import { CODELENS_SELECTOR, INSPECT_AT_COMMAND, RecordCodeLens } from './code-lens';
import { PromptDocuments } from './documents';
import { reportingCommands } from './errors';
import { modelOptions, onDidChangeModels } from './models';
import { ExportCommands } from './export-commands';
import { Exporter } from './exporter';
import { StepHover } from './hover';
import type { InspectorPanel } from './panel';
import { askIntervention, pickRecord } from './palette-inputs';
import { onPanelMessage } from './panel-messages';
import { questionFromRecordIndex } from './questions';
import type { Question } from './run-history';
import type { InspectRunner } from './runner';
import { SECTION } from './settings';
import { StepLinks } from './step-links';

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

  const command = reportingCommands(log);

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

    panel.onDidReceiveMessage((msg) => void onPanelMessage(msg, { runner, analyses, links, exports, postModels, extensionPath: context.extensionPath })),
    // The panel's model picker follows the list, the selection (however it was changed), the
    // folders' manifests and trust.
    onDidChangeModels(context.extensionPath, postModels),
    vscode.workspace.onDidGrantWorkspaceTrust(postModels),
  );

  function postModels(): void {
    if (!panel.isOpen) return;
    panel.post({ type: 'models', models: modelOptions(context.extensionPath), restricted: !vscode.workspace.isTrusted });
  }

  return { analyses, links, documents, codeLens, hover };
}
