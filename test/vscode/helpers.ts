// Helpers for the extension-host suites (bundled into each compiled suite). The workspace the
// launcher opens holds prosqa.json (3 ProsQA records) and .vscode/settings.json with
// coconutLens.modelPath pointing at test/fixtures/tiny-model.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CoconutLensApi } from '../../src/extension/extension';

export const EXTENSION_ID = 'coconut-lens.coconut-lens';

export async function activateExtension(): Promise<{ ext: vscode.Extension<CoconutLensApi>; api: CoconutLensApi }> {
  const ext = vscode.extensions.getExtension<CoconutLensApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not loaded in this extension host`);
  const api = await ext.activate();
  return { ext, api };
}

export function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the test launcher opens a workspace folder');
  return folder.uri.fsPath;
}

/** The manifest of the model the workspace settings point at. */
export function modelManifest(): { name: string; thoughts: { default: number; max: number } } {
  const dir = vscode.workspace.getConfiguration('coconutLens').get<string>('modelPath', '');
  assert.ok(dir, 'the workspace sets coconutLens.modelPath');
  return JSON.parse(fs.readFileSync(path.join(dir, 'coconut.json'), 'utf8'));
}

/** Writes a file into the workspace (tests make their own bad inputs) and returns its path. */
export function writeWorkspaceFile(name: string, text: string): string {
  const file = path.join(workspaceRoot(), name);
  fs.writeFileSync(file, text);
  return file;
}

/**
 * Opens `file` in an editor with the cursor at the first occurrence of `cursorAt` (or the start)
 * and remembers what it held, so afterwards expectUnmodified() can check it was not touched.
 */
export async function openAt(file: string, cursorAt?: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(file);
  const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preview: false });
  let offset = 0;
  if (cursorAt !== undefined) {
    offset = doc.getText().indexOf(cursorAt);
    assert.ok(offset >= 0, `${JSON.stringify(cursorAt)} not found in ${file}`);
  }
  const pos = doc.positionAt(offset);
  editor.selection = new vscode.Selection(pos, pos);
  snapshots.set(file, { text: fs.readFileSync(file, 'utf8'), mtimeMs: fs.statSync(file).mtimeMs });
  return editor;
}

const snapshots = new Map<string, { text: string; mtimeMs: number }>();

/** Every document opened with openAt() is unchanged in the editor and on disk. */
export function expectDocumentsUnmodified(): void {
  for (const [file, before] of snapshots) {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === file);
    if (doc) {
      assert.equal(doc.isDirty, false, `${file} was modified in the editor`);
      assert.equal(doc.getText(), before.text, `${file} changed in the editor`);
    }
    assert.equal(fs.readFileSync(file, 'utf8'), before.text, `${file} changed on disk`);
    assert.equal(fs.statSync(file).mtimeMs, before.mtimeMs, `${file} was rewritten on disk`);
  }
}

/**
 * Records the notifications the extension shows while `fn` runs. The extension's `vscode` module
 * is the same API object as ours (the compiled tests live inside the extension's folder), so
 * wrapping its functions sees the extension's calls; the real notification is still shown.
 */
export interface Notifications {
  errors: string[];
  warnings: string[];
  infos: string[];
}

export async function captureNotifications<T>(
  fn: (seen: Notifications) => Thenable<T>, // executeCommand() gives a Thenable, not a Promise
): Promise<Notifications & { value: T }> {
  const seen: Notifications = { errors: [], warnings: [], infos: [] };
  const w = vscode.window as unknown as Record<string, (...args: unknown[]) => unknown>;
  const originals = {
    showErrorMessage: w.showErrorMessage,
    showWarningMessage: w.showWarningMessage,
    showInformationMessage: w.showInformationMessage,
  };
  const wrap = (name: keyof typeof originals, into: string[]) => {
    w[name] = (...args: unknown[]) => {
      into.push(String(args[0]));
      return originals[name].apply(vscode.window, args);
    };
  };
  wrap('showErrorMessage', seen.errors);
  wrap('showWarningMessage', seen.warnings);
  wrap('showInformationMessage', seen.infos);
  try {
    const value = await fn(seen);
    return { value, ...seen };
  } finally {
    Object.assign(w, originals);
  }
}

/** Sets a coconutLens workspace setting for the duration of `fn`, then restores it. */
export async function withSetting<T>(key: string, value: unknown, fn: () => Promise<T>): Promise<T> {
  const config = vscode.workspace.getConfiguration('coconutLens');
  const before = config.inspect(key)?.workspaceValue;
  await config.update(key, value, vscode.ConfigurationTarget.Workspace);
  try {
    return await fn();
  } finally {
    await vscode.workspace.getConfiguration('coconutLens').update(key, before, vscode.ConfigurationTarget.Workspace);
  }
}

/** A fresh copy of the tiny model inside the workspace: a folder the engine has not loaded yet. */
export function copyOfModel(): string {
  const dir = vscode.workspace.getConfiguration('coconutLens').get<string>('modelPath')!;
  const copy = fs.mkdtempSync(path.join(workspaceRoot(), 'model-copy-'));
  fs.cpSync(dir, copy, { recursive: true });
  return copy;
}

/** Runs an Inspect command; the extension's commands resolve when their run has ended. */
export async function inspect(command: 'inspectRecord' | 'inspectFile' | 'inspectSelection'): Promise<unknown> {
  return vscode.commands.executeCommand(`coconutLens.${command}`);
}

/** The records of the workspace's prosqa.json (the first 3 of the official ProsQA validation set). */
export function prosqaRecords(): { question: string; answer: string; steps: string[] }[] {
  return JSON.parse(fs.readFileSync(path.join(workspaceRoot(), 'prosqa.json'), 'utf8'));
}

export const prosqaFile = (): string => path.join(workspaceRoot(), 'prosqa.json');

/**
 * For suites that add and select models: after each test, coconutLens.models and modelPath are put
 * back as they were and the model folders the test pushed into the returned list are deleted.
 */
export function restoreModelSettingsAfterEach(): string[] {
  const config = () => vscode.workspace.getConfiguration('coconutLens');
  const made: string[] = [];
  let modelPathBefore: unknown;
  before(async () => {
    await activateExtension();
    modelPathBefore = config().inspect('modelPath')?.workspaceValue;
  });
  afterEach(async () => {
    await config().update('models', undefined, vscode.ConfigurationTarget.Global);
    await config().update('modelPath', modelPathBefore, vscode.ConfigurationTarget.Workspace);
    for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return made;
}
