// Reads the coconutLens.* settings and turns coconutLens.modelPath into a model folder.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ProviderSetting } from '../shared/types';
import { HostError } from './errors';

export const SECTION = 'coconutLens';
const PROVIDERS: readonly ProviderSetting[] = ['auto', 'cpu', 'webgpu', 'cuda'];

export interface Settings {
  modelPath: string;
  provider: ProviderSetting;
  /** undefined: the model's default number of thoughts. */
  thoughts: number | undefined;
  topK: number;
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const provider = c.get<string>('executionProvider', 'auto');
  const thoughts = c.get<number | null>('thoughts', null);
  const topK = c.get<number>('topK', 10);
  return {
    modelPath: (c.get<string>('modelPath', '') ?? '').trim(),
    provider: (PROVIDERS as readonly string[]).includes(provider) ? (provider as ProviderSetting) : 'auto',
    thoughts: typeof thoughts === 'number' && Number.isFinite(thoughts) ? Math.max(0, Math.round(thoughts)) : undefined,
    topK: Number.isFinite(topK) ? Math.min(50, Math.max(1, Math.round(topK))) : 10,
  };
}

export function isProviderSetting(value: string): value is ProviderSetting {
  return (PROVIDERS as readonly string[]).includes(value);
}

/** Writes a setting where it takes effect: a workspace value would shadow a user value. */
export async function updateSetting(key: 'modelPath' | 'executionProvider', value: string | undefined): Promise<void> {
  const c = vscode.workspace.getConfiguration(SECTION);
  const where = c.inspect(key);
  const target =
    where?.workspaceFolderValue !== undefined
      ? vscode.ConfigurationTarget.WorkspaceFolder
      : where?.workspaceValue !== undefined
        ? vscode.ConfigurationTarget.Workspace
        : vscode.ConfigurationTarget.Global;
  await c.update(key, value, target);
}

export interface ModelLocation {
  dir: string;
  isDefault: boolean;
}

export function defaultModelDir(extensionPath: string): string {
  return path.join(extensionPath, 'models', 'prosqa-coconut');
}

/** Absolute model folder for a modelPath setting: `~` and workspace-relative paths are allowed. */
export function resolveModelPath(modelPath: string, extensionPath: string): ModelLocation {
  if (!modelPath) return { dir: defaultModelDir(extensionPath), isDefault: true };
  let p = modelPath;
  if (p === '~' || p.startsWith('~/')) p = path.join(os.homedir(), p.slice(1));
  if (!path.isAbsolute(p)) {
    const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    p = root ? path.join(root, p) : path.resolve(p);
  }
  return { dir: path.normalize(p), isDefault: false };
}

export function hasManifest(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'coconut.json'));
}

/**
 * The model folder to load, checked before the engine is asked to: the engine's own errors do not
 * know whether the folder came from the user or was the shipped default, and the fix differs.
 */
export function locateModel(settings: Settings, extensionPath: string): ModelLocation {
  const loc = resolveModelPath(settings.modelPath, extensionPath);
  if (!loc.isDefault && !vscode.workspace.isTrusted) {
    throw new HostError(
      'WORKSPACE_UNTRUSTED',
      `Restricted Mode runs only the shipped model; coconutLens.modelPath points to ${loc.dir}.`,
      'Trust this workspace (Workspaces: Manage Workspace Trust), or clear coconutLens.modelPath to use the shipped model.',
    );
  }
  if (hasManifest(loc.dir)) return loc;
  if (loc.isDefault) {
    throw new HostError(
      'MODEL_NOT_FOUND',
      `The shipped model is missing: ${path.join(loc.dir, 'coconut.json')} does not exist.`,
      'Choose a model folder with "Coconut Lens: Select Model…", or reinstall the extension to restore the shipped model.',
    );
  }
  const what = fs.existsSync(loc.dir) ? `${loc.dir} has no coconut.json` : `the folder ${loc.dir} does not exist`;
  throw new HostError(
    'MODEL_NOT_FOUND',
    `No Coconut Lens model at coconutLens.modelPath: ${what}.`,
    'Choose a model folder with "Coconut Lens: Select Model…", or clear coconutLens.modelPath to use the shipped model.',
  );
}

export function modelLabel(loc: ModelLocation): string {
  return path.basename(loc.dir);
}
