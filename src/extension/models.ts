// The models the user has added (setting coconutLens.models) next to the shipped one, and the
// "Add Model…" command: pick a folder, let the engine validate it in a worker (the same checks as
// a run, decoder graph included), remember it and select it.
//
// For a model picker elsewhere (the panel): modelChoices() gives the list, onDidChangeModels()
// says when to refresh it (settings, or a listed folder's files), and chooseModel() applies a choice.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EngineClient } from '../engine/client';
import type { ModelInfo } from '../shared/types';
import type { ModelOption } from '../protocol/inspector';
import { HostError, showError, toErrorInfo } from './errors';
import { ModelFolderWatch } from './model-folder-watch';
import { defaultModelDir, hasManifest, readSettings, resolveModelPath, SECTION, updateSetting } from './settings';

export const MODELS_KEY = 'models';
const MODELS_SETTING = `${SECTION}.${MODELS_KEY}`;

export interface ModelChoice {
  /** Absolute folder. */
  dir: string;
  /** The manifest's name, else the folder name. */
  label: string;
  /** The shipped default (needs no workspace trust). */
  shipped: boolean;
  /** The folder holds a coconut.json (checked when listed; full validation happens on load). */
  present: boolean;
  /** The model the inspect commands run now. */
  current: boolean;
}

/** coconutLens.models as absolute, normalized folders (`~` expanded), without duplicates. */
export function listedModelDirs(): string[] {
  const raw = vscode.workspace.getConfiguration(SECTION).get<unknown>(MODELS_KEY, []);
  const out: string[] = [];
  if (!Array.isArray(raw)) return out;
  for (const item of raw) {
    if (typeof item !== 'string' || !item.trim()) continue;
    const dir = absolute(item.trim());
    if (!out.includes(dir)) out.push(dir);
  }
  return out;
}

/** The shipped model first, then coconutLens.models in the order the user added them. */
export function modelChoices(extensionPath: string): ModelChoice[] {
  const shipped = defaultModelDir(extensionPath);
  const current = resolveModelPath(readSettings().modelPath, extensionPath);
  const choices: ModelChoice[] = [
    { dir: shipped, label: manifestName(shipped) ?? path.basename(shipped), shipped: true, present: hasManifest(shipped), current: current.isDefault },
  ];
  for (const dir of listedModelDirs()) {
    if (samePath(dir, shipped)) continue;
    choices.push({
      dir,
      label: manifestName(dir) ?? path.basename(dir),
      shipped: false,
      present: hasManifest(dir),
      current: !current.isDefault && samePath(dir, current.dir),
    });
  }
  return choices;
}

/**
 * Calls `listener` when coconutLens.models or coconutLens.modelPath change (the list or its current
 * entry), and when a listed folder's coconut.json or model card changes on disk (a re-export).
 * Every caller (the side bar, the panel's picker) shares one set of watchers and one settings
 * listener, made for the first and disposed with the last.
 */
export function onDidChangeModels(extensionPath: string, listener: () => void): vscode.Disposable {
  shared ??= watchModels(extensionPath);
  const own = shared;
  own.users++;
  const subscription = own.changed.event(listener);
  return new vscode.Disposable(() => {
    subscription.dispose();
    if (--own.users > 0) return;
    own.dispose();
    if (shared === own) shared = undefined;
  });
}

interface ModelsWatch {
  changed: vscode.EventEmitter<void>;
  users: number;
  dispose(): void;
}
let shared: ModelsWatch | undefined;

function watchModels(extensionPath: string): ModelsWatch {
  const changed = new vscode.EventEmitter<void>();
  const files = new ModelFolderWatch(
    () => modelOptions(extensionPath).map((m) => m.dir),
    () => changed.fire(),
  );
  const settings = vscode.workspace.onDidChangeConfiguration((e) => {
    if (!e.affectsConfiguration(MODELS_SETTING) && !e.affectsConfiguration(`${SECTION}.modelPath`)) return;
    files.sync();
    changed.fire();
  });
  return { changed, users: 0, dispose: () => vscode.Disposable.from(files, settings, changed).dispose() };
}

/** The panel's picker entries: Restricted Mode and missing folders make an entry unselectable. */
export function modelOptions(extensionPath: string): ModelOption[] {
  const trusted = vscode.workspace.isTrusted;
  const choices = modelChoices(extensionPath);
  // coconutLens.modelPath may name a folder that is not in coconutLens.models: it is listed too,
  // so that the picker shows what runs.
  if (!choices.some((c) => c.current)) {
    const current = resolveModelPath(readSettings().modelPath, extensionPath);
    if (!current.isDefault) {
      choices.push({
        dir: current.dir,
        label: manifestName(current.dir) ?? path.basename(current.dir),
        shipped: false,
        present: hasManifest(current.dir),
        current: true,
      });
    }
  }
  return choices.map((c) => ({ ...c, selectable: c.present && (trusted || c.shipped) }));
}

/**
 * The panel's choice: `dir` must be one of the current choices, present, and allowed by workspace
 * trust; then it becomes the model that runs. Throws a HostError that says why not otherwise.
 */
export async function chooseModelFromPanel(dir: string, extensionPath: string): Promise<void> {
  const choice = modelOptions(extensionPath).find((c) => samePath(c.dir, dir));
  if (!choice) {
    throw new HostError(
      'MODEL_NOT_FOUND',
      `${dir} is not one of the models Coconut Lens knows (the shipped one and coconutLens.models).`,
      'Add it with "Coconut Lens: Add Model…", then pick it again.',
    );
  }
  if (!choice.shipped && !vscode.workspace.isTrusted) {
    throw new HostError(
      'WORKSPACE_UNTRUSTED',
      'Restricted Mode runs only the shipped model.',
      'Trust this workspace (Workspaces: Manage Workspace Trust), then pick the model again.',
    );
  }
  if (!choice.present) {
    throw new HostError(
      'MODEL_NOT_FOUND',
      `${choice.dir} has no coconut.json any more, so ${choice.label} cannot run.`,
      'Restore the folder, or remove it from coconutLens.models.',
    );
  }
  if (choice.current) return;
  await chooseModel(choice.dir, extensionPath);
}

/** Makes `dir` the model that runs (the shipped one clears coconutLens.modelPath). */
export async function chooseModel(dir: string, extensionPath: string): Promise<void> {
  await updateSetting('modelPath', samePath(dir, defaultModelDir(extensionPath)) ? undefined : dir);
}

/**
 * Loads the folder in a throwaway engine worker: manifest, checksums, tokenizer, probe and the
 * decoder graph are checked exactly as for a run. Resolves with what the engine read; rejects with
 * the engine's EngineError (its own code, message and fix).
 */
export async function validateModel(dir: string, extensionPath: string): Promise<ModelInfo> {
  const client = new EngineClient({ workerPath: path.join(extensionPath, 'dist', 'engine-worker.js') });
  try {
    return await client.load(dir, 'cpu', { threads: 1 });
  } finally {
    client.dispose();
  }
}

/** Adds `dir` to coconutLens.models (user settings of this machine) unless it is listed already. */
export async function rememberModel(dir: string): Promise<void> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const where = config.inspect<unknown>(MODELS_KEY);
  const user = Array.isArray(where?.globalValue) ? (where.globalValue as unknown[]).filter((x): x is string => typeof x === 'string') : [];
  if (user.some((p) => samePath(absolute(p), dir)) || listedModelDirs().some((p) => samePath(p, dir))) return;
  await config.update(MODELS_KEY, [...user, dir], vscode.ConfigurationTarget.Global);
}

/**
 * Removes `dir` from coconutLens.models wherever it is set (user, workspace, folder). When it was
 * the model that runs, the shipped model runs again. The folder itself is left alone.
 */
export async function forgetModel(dir: string, extensionPath: string): Promise<void> {
  if (samePath(dir, defaultModelDir(extensionPath))) {
    throw new HostError('MODEL_NOT_FOUND', 'The shipped model cannot be removed; it is part of the extension.', 'Select another model to run instead.');
  }
  const config = vscode.workspace.getConfiguration(SECTION);
  const where = config.inspect<unknown>(MODELS_KEY);
  const targets: [unknown, vscode.ConfigurationTarget][] = [
    [where?.globalValue, vscode.ConfigurationTarget.Global],
    [where?.workspaceValue, vscode.ConfigurationTarget.Workspace],
    [where?.workspaceFolderValue, vscode.ConfigurationTarget.WorkspaceFolder],
  ];
  for (const [value, target] of targets) {
    if (!Array.isArray(value)) continue;
    const kept = value.filter((p) => typeof p !== 'string' || !samePath(absolute(p), dir));
    if (kept.length !== value.length) await config.update(MODELS_KEY, kept, target);
  }
  const current = resolveModelPath(readSettings().modelPath, extensionPath);
  if (!current.isDefault && samePath(current.dir, dir)) await updateSetting('modelPath', undefined);
}

export interface AddModelOptions {
  /** Skips the folder dialog (tests, and callers that already have a folder). */
  dir?: string;
  log?: vscode.LogOutputChannel;
}

/** "Coconut Lens: Add Model…". Resolves with the added folder, or undefined when dismissed. */
export async function addModel(extensionPath: string, opts: AddModelOptions = {}): Promise<string | undefined> {
  if (!vscode.workspace.isTrusted) {
    throw new HostError(
      'WORKSPACE_UNTRUSTED',
      'Restricted Mode runs only the shipped model, so no other model can be added or loaded.',
      'Trust this workspace (Workspaces: Manage Workspace Trust), then run "Coconut Lens: Add Model…" again.',
    );
  }
  let dir = opts.dir;
  if (dir === undefined) {
    const uris = await vscode.window.showOpenDialog({
      canSelectFiles: false,
      canSelectFolders: true,
      canSelectMany: false,
      openLabel: 'Add Model',
      title: 'Add a Coconut Lens model folder (it contains coconut.json)',
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    });
    dir = uris?.[0]?.fsPath;
    if (!dir) return undefined;
  }
  dir = absolute(dir);
  if (!hasManifest(dir)) {
    throw new HostError(
      'MODEL_NOT_FOUND',
      `${dir} is not a Coconut Lens model: it has no coconut.json.`,
      'Choose the folder that contains coconut.json, decoder.onnx, probe.safetensors and tokenizer.json ' +
        '(training/import_coconut.py converts a reference Coconut checkpoint into one).',
    );
  }
  const info = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Coconut Lens: checking ${path.basename(dir)}…` },
    () => validateModel(dir!, extensionPath),
  );
  const a = info.architecture;
  opts.log?.info(`Added model ${info.name} (${dir}): ${a.family}, ${a.n_layer} layers, d ${a.n_embd}, vocab ${a.vocab_size}.`);
  await rememberModel(dir);
  await chooseModel(dir, extensionPath);
  void vscode.window.showInformationMessage(`Added model ${info.name} (${a.n_layer} layers, vocabulary ${a.vocab_size}); inspect commands now run it.`);
  return dir;
}

/**
 * Registers "Coconut Lens: Add Model…" (the one line extension.ts needs). The command takes an
 * optional folder (a path or Uri) so tests and other commands can skip the dialog; it resolves with
 * the added folder, or undefined after showing why not.
 */
export function registerModelCommands(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('coconutLens.addModel', async (arg?: unknown) => {
      const dir = arg instanceof vscode.Uri ? arg.fsPath : typeof arg === 'string' ? arg : undefined;
      try {
        return await addModel(context.extensionPath, { dir, log });
      } catch (err) {
        const info = toErrorInfo(err);
        log.error(`coconutLens.addModel: ${info.code}: ${info.message}`);
        showError(info, log);
        return undefined;
      }
    }),
  );
}

function absolute(p: string): string {
  if (p === '~' || p.startsWith('~/')) p = path.join(os.homedir(), p.slice(1));
  if (!path.isAbsolute(p)) {
    const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    p = root ? path.join(root, p) : path.resolve(p);
  }
  return path.normalize(p);
}

export function samePath(a: string, b: string): boolean {
  const norm = (p: string) => {
    const n = path.normalize(p).replace(/[\\/]+$/, '');
    return process.platform === 'win32' || process.platform === 'darwin' ? n.toLowerCase() : n;
  };
  return norm(a) === norm(b);
}

function manifestName(dir: string): string | undefined {
  try {
    const name = (JSON.parse(fs.readFileSync(path.join(dir, 'coconut.json'), 'utf8')) as { name?: unknown }).name;
    return typeof name === 'string' && name ? name : undefined;
  } catch {
    return undefined;
  }
}
