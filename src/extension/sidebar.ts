// The Coconut Lens side bar: native tree views for the models (shipped, added, the selected one),
// this window's runs (click to show one in the panel again) and the bundled examples, with their
// commands. The rows' wording is sidebar-items.ts; what a command does to a model is models.ts,
// to a run runner.ts, to an example examples.ts.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { hoverExampleStep, inspectExample, listExamples, openExample } from './examples';
import { HostError, reportingCommands } from './errors';
import { chooseModelFromPanel, forgetModel, modelOptions, onDidChangeModels } from './models';
import type { InspectRunner } from './runner';
import { exampleRow, modelFacts, modelRow, runRow, runRows, type ModelFacts, type RowSpec } from './sidebar-items';

export const VIEW_IDS = { models: 'coconutLens.models', runs: 'coconutLens.runs', examples: 'coconutLens.examples' } as const;

type ModelNode = { kind: 'model'; dir: string; label: string; shipped: boolean };
type RunNode = { kind: 'run'; runId: number };
type ExampleNode = { kind: 'example'; path: string };
type Node = ModelNode | RunNode | ExampleNode;

/** A tree whose rows are rebuilt from scratch on refresh; the lists are short. */
class RowTree<T extends Node> implements vscode.TreeDataProvider<T> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private rows = new Map<T, vscode.TreeItem>();
  /** Times the view was told to rebuild its rows (for the tests). */
  refreshes = 0;

  constructor(private readonly build: () => { node: T; row: RowSpec; command?: vscode.Command }[]) {}

  refresh(): void {
    this.refreshes++;
    this.changed.fire();
  }

  getChildren(element?: T): T[] {
    if (element) return [];
    this.rows = new Map(
      this.build().map(({ node, row, command }) => {
        const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
        item.id = row.id;
        item.description = row.description;
        item.tooltip = row.tooltip;
        item.contextValue = row.contextValue;
        item.iconPath = new vscode.ThemeIcon(row.icon);
        item.accessibilityInformation = { label: row.ariaLabel };
        if (command) item.command = command;
        return [node, item];
      }),
    );
    return [...this.rows.keys()];
  }

  getTreeItem(element: T): vscode.TreeItem {
    return this.rows.get(element) ?? new vscode.TreeItem('');
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** Hooks for the tests (through CoconutLensApi). */
export interface SidebarTestHooks {
  /** The rows each view shows now. */
  rows(view: keyof typeof VIEW_IDS): RowSpec[];
  /** How many times a view was told to rebuild its rows. */
  refreshes(view: keyof typeof VIEW_IDS): number;
}

export function registerSidebar(context: vscode.ExtensionContext, runner: InspectRunner, log: vscode.LogOutputChannel): SidebarTestHooks {
  const extensionPath = context.extensionPath;

  const modelRows = () =>
    modelOptions(extensionPath).map((m) => ({
      node: { kind: 'model', dir: m.dir, label: m.label, shipped: m.shipped } as ModelNode,
      row: modelRow(m, readFacts(m.dir)),
    }));
  const runRowsNow = () => {
    const pin = runner.pinned;
    const pinnedId = pin?.run?.runId;
    const listed = runner.runs.map((r) => ({ runId: r.run.runId, finishedAt: r.finishedAt, run: r.run, result: r.result }));
    const pinned = pin?.run ? { runId: pin.run.runId, finishedAt: Number.MAX_SAFE_INTEGER, run: pin.run, result: pin.result } : undefined;
    return runRows(listed, pinned).map((r) => ({
      node: { kind: 'run', runId: r.runId } as RunNode,
      row: runRow({
        runId: r.runId,
        question: r.run.question,
        source: r.run.source,
        model: r.result.model,
        k: r.result.thoughtsRequested,
        answer: r.result.answer.extracted,
        correct: r.result.answer.correct,
        interventions: r.result.interventions?.length ?? 0,
        finishedAt: r.finishedAt === Number.MAX_SAFE_INTEGER ? undefined : r.finishedAt,
        pinned: r.runId === pinnedId,
      }),
      command: { title: 'Show in Panel', command: 'coconutLens.openRun', arguments: [r.runId] },
    }));
  };
  const exampleRows = () =>
    listExamples(extensionPath).map((e) => ({
      node: { kind: 'example', path: e.path } as ExampleNode,
      row: exampleRow(e),
      command: { title: 'Open Example', command: 'coconutLens.openExample', arguments: [e.path] },
    }));

  const models = new RowTree<ModelNode>(modelRows);
  const runs = new RowTree<RunNode>(runRowsNow);
  const examples = new RowTree<ExampleNode>(exampleRows);

  const command = reportingCommands(log);

  context.subscriptions.push(
    models,
    runs,
    examples,
    vscode.window.createTreeView(VIEW_IDS.models, { treeDataProvider: models }),
    vscode.window.createTreeView(VIEW_IDS.runs, { treeDataProvider: runs }),
    vscode.window.createTreeView(VIEW_IDS.examples, { treeDataProvider: examples }),
    onDidChangeModels(extensionPath, () => models.refresh()),
    vscode.workspace.onDidGrantWorkspaceTrust(() => models.refresh()),
    runner.onDidChangeRuns(() => runs.refresh()),

    command('coconutLens.selectModelInView', (node?: unknown) => chooseModelFromPanel(modelNode(node).dir, extensionPath)),
    command('coconutLens.removeModel', (node?: unknown) => removeModel(modelNode(node))),
    command('coconutLens.revealModel', (node?: unknown) => revealModel(modelNode(node).dir)),
    command('coconutLens.refreshModels', () => models.refresh()),
    command('coconutLens.openRun', (arg?: unknown) => runner.reopen(runId(arg))),
    command('coconutLens.clearRuns', () => runner.clearRuns()),
    command('coconutLens.openExample', async (arg?: unknown) => {
      await openExample(extensionPath, examplePath(arg));
    }),
    command('coconutLens.inspectExample', (arg?: unknown) => inspectExample(extensionPath, runner, examplePath(arg))),
    command('coconutLens.hoverExampleStep', (arg?: unknown) => hoverExampleStep(extensionPath, examplePath(arg))),
  );

  async function removeModel(node: ModelNode): Promise<void> {
    await forgetModel(node.dir, extensionPath);
    log.info(`Removed model ${node.label} (${node.dir}) from coconutLens.models; its folder is untouched.`);
    void vscode.window.showInformationMessage(`Removed ${node.label} from the Coconut Lens models. Its folder was not deleted.`);
  }

  return {
    rows: (view) => (view === 'models' ? modelRows() : view === 'runs' ? runRowsNow() : exampleRows()).map((r) => r.row),
    refreshes: (view) => (view === 'models' ? models : view === 'runs' ? runs : examples).refreshes,
  };
}

/** The manifest's and card's facts; a folder without a readable manifest shows none. */
function readFacts(dir: string): ModelFacts {
  let manifest: unknown;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, 'coconut.json'), 'utf8'));
  } catch {
    return {};
  }
  let card: string | undefined;
  try {
    card = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
  } catch {
    // A model card is optional (models/README.md).
  }
  return modelFacts(manifest, card);
}

/**
 * An OS file manager only exists where the files are: on a local desktop window. In a remote or
 * web window the folder is revealed in the Explorer when it is in the workspace, else its manifest
 * opens.
 */
async function revealModel(dir: string): Promise<void> {
  if (!fs.existsSync(dir)) {
    throw new HostError(
      'MODEL_NOT_FOUND',
      `The model folder ${dir} does not exist any more.`,
      'Restore the folder, or remove the model from the list (right-click it, Remove).',
    );
  }
  const uri = vscode.Uri.file(dir);
  if (vscode.env.remoteName === undefined && vscode.env.uiKind === vscode.UIKind.Desktop) {
    await vscode.commands.executeCommand('revealFileInOS', uri);
  } else if (vscode.workspace.getWorkspaceFolder(uri)) {
    await vscode.commands.executeCommand('revealInExplorer', uri);
  } else {
    await vscode.window.showTextDocument(vscode.Uri.file(path.join(dir, 'coconut.json')), { preview: true });
  }
}

function modelNode(arg: unknown): ModelNode {
  if (arg && typeof arg === 'object' && (arg as Node).kind === 'model') return arg as ModelNode;
  throw new HostError(
    'MODEL_NOT_FOUND',
    'This command acts on a model of the Coconut Lens side bar, and none was given.',
    'Right-click a model in the Models view.',
  );
}

function runId(arg: unknown): number {
  if (typeof arg === 'number') return arg;
  if (arg && typeof arg === 'object' && (arg as Node).kind === 'run') return (arg as RunNode).runId;
  throw new HostError('NOTHING_TO_RERUN', 'This command shows a run of the Runs view, and none was given.', 'Click a run in the Coconut Lens side bar.');
}

function examplePath(arg: unknown): string | vscode.Uri | undefined {
  if (arg instanceof vscode.Uri || typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object' && (arg as Node).kind === 'example') return (arg as ExampleNode).path;
  return undefined;
}
