// The prompt files the extension ships in examples/ and the commands the walkthrough's buttons and
// the Examples view run on them: open one, inspect its first record, show the hover on a step.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { InspectResult } from '../shared/types';
import { parsePromptFile, type PromptRecord } from '../prompts';
import { parseDocument } from './documents';
import { HostError } from './errors';
import { questionFromRecordIndex } from './questions';
import type { InspectRunner } from './runner';
import type { ExampleRowInput } from './sidebar-items';

/** The example the walkthrough uses: three official ProsQA validation records. */
export const DEFAULT_EXAMPLE = 'prosqa.json';
const PROMPT_FILE = /\.(json|jsonl|ndjson|coconut|txt)$/i;

export function examplesDir(extensionPath: string): string {
  return path.join(extensionPath, 'examples');
}

/** The bundled prompt files, by name; [] when the folder is missing. */
export function listExamples(extensionPath: string): ExampleRowInput[] {
  const dir = examplesDir(extensionPath);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => PROMPT_FILE.test(n));
  } catch {
    return [];
  }
  return names.sort().map((name) => {
    const file = path.join(dir, name);
    try {
      return { path: file, name, records: parsePromptFile(fs.readFileSync(file, 'utf8'), file).records.length };
    } catch (e) {
      return { path: file, name, records: { error: e instanceof Error ? e.message : String(e) } };
    }
  });
}

/**
 * Opens a bundled example (`file`: a path or Uri; default prosqa.json) with the cursor on the first
 * record's question, where "Record Under Cursor" and the CodeLens find it.
 */
export async function openExample(extensionPath: string, file?: unknown): Promise<vscode.TextEditor> {
  const target = file instanceof vscode.Uri ? file.fsPath : typeof file === 'string' && file ? file : path.join(examplesDir(extensionPath), DEFAULT_EXAMPLE);
  if (!fs.existsSync(target)) {
    throw new HostError(
      'PROMPT_EMPTY',
      `The bundled example ${path.basename(target)} is missing from this installation (${target}).`,
      'Reinstall Coconut Lens to restore examples/, or open a prompt file of your own and run "Coconut Lens: Inspect Latent Thoughts".',
    );
  }
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(target));
  const editor = await vscode.window.showTextDocument(doc, { preview: false, viewColumn: columnFor(doc.uri) });
  const first = firstRecord(doc);
  if (first) place(editor, first.questionRange.start + 1);
  return editor;
}

/** Opens the example and inspects its first record (the walkthrough's "Inspect a record"). */
export async function inspectExample(extensionPath: string, runner: InspectRunner, file?: unknown): Promise<InspectResult | undefined> {
  if (runner.busy) {
    runner.offerCancel();
    return undefined;
  }
  const editor = await openExample(extensionPath, file);
  return runner.inspect(await questionFromRecordIndex(editor.document.uri.toString(), 0));
}

/**
 * Opens the example with the cursor on the first record's first reasoning step and shows the
 * editor hover there: after an inspect it lists the thoughts that hold the step's words.
 */
export async function hoverExampleStep(extensionPath: string, file?: unknown): Promise<void> {
  const editor = await openExample(extensionPath, file);
  const step = firstRecord(editor.document)?.stepRanges[0];
  if (!step) {
    throw new HostError(
      'PROMPT_EMPTY',
      `${path.basename(editor.document.fileName)} has no reasoning steps in its first record, so there is no step to hover.`,
      'Use a record with a "steps" list, such as the bundled prosqa.json.',
    );
  }
  // Inside the literal, past the quote: the hover is on the step's words.
  place(editor, step.start + 2);
  // Run from the walkthrough, this command completes its step, and the walkthrough then moves its
  // selection (and the focus) to the next step, which would close a hover shown at once. So the
  // hover waits for that, then the editor takes the focus back.
  await new Promise((resolve) => setTimeout(resolve, 400));
  await vscode.window.showTextDocument(editor.document, { viewColumn: editor.viewColumn, preserveFocus: false });
  await vscode.commands.executeCommand('editor.action.showHover');
}

/**
 * Where the example already is, else the active group, unless that shows something other than
 * text (the walkthrough): then beside it, so the walkthrough's next step stays in view.
 */
function columnFor(uri: vscode.Uri): vscode.ViewColumn {
  for (const group of vscode.window.tabGroups.all) {
    if (group.tabs.some((t) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === uri.toString())) return group.viewColumn;
  }
  const active = vscode.window.tabGroups.activeTabGroup.activeTab;
  return active && !(active.input instanceof vscode.TabInputText) ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active;
}

function firstRecord(doc: vscode.TextDocument): PromptRecord | undefined {
  try {
    return parseDocument(doc).records[0];
  } catch {
    // A malformed file still opens; the inspect command reports what is wrong with it.
    return undefined;
  }
}

function place(editor: vscode.TextEditor, offset: number): void {
  const at = editor.document.positionAt(offset);
  editor.selection = new vscode.Selection(at, at);
  editor.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}
