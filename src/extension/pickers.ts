// "Select Model…" and "Select Execution Provider…": quick picks that write the settings. The
// configuration listener in extension.ts reloads the engine when they change.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ProviderSetting } from '../shared/types';
import { HostError } from './errors';
import { defaultModelDir, hasManifest, readSettings, resolveModelPath, updateSetting } from './settings';
import { modelChoices } from './models';

interface ModelPick extends vscode.QuickPickItem {
  action: 'default' | 'browse' | 'path';
  dir?: string;
}

/** Resolves with the chosen folder, or undefined when the pick was dismissed. */
export async function selectModel(extensionPath: string): Promise<string | undefined> {
  const settings = readSettings();
  const current = resolveModelPath(settings.modelPath, extensionPath);
  const shipped = defaultModelDir(extensionPath);
  const items: ModelPick[] = [
    {
      action: 'default',
      label: `$(package) Shipped model (${path.basename(shipped)})`,
      description: current.isDefault ? 'current' : undefined,
      detail: hasManifest(shipped) ? shipped : `Missing: ${shipped}`,
    },
  ];
  // Models added with "Add Model…" (setting coconutLens.models; see models.ts).
  for (const m of modelChoices(extensionPath)) {
    if (m.shipped) continue;
    items.push({
      action: 'path',
      dir: m.dir,
      label: `$(library) ${m.label}`,
      description: m.current ? 'current' : 'added',
      detail: m.present ? m.dir : `Missing: ${m.dir}`,
    });
  }
  for (const dir of await workspaceModels()) {
    if (dir === shipped || items.some((i) => i.dir === dir)) continue;
    items.push({
      action: 'path',
      dir,
      label: `$(folder) ${manifestName(dir) ?? path.basename(dir)}`,
      description: dir === current.dir ? 'current' : 'in this workspace',
      detail: dir,
    });
  }
  if (!current.isDefault && !items.some((i) => i.dir === current.dir)) {
    items.push({ action: 'path', dir: current.dir, label: `$(folder) ${path.basename(current.dir)}`, description: 'current', detail: current.dir });
  }
  items.push({ action: 'browse', label: '$(folder-opened) Choose a model folder…', detail: 'A folder with coconut.json (see models/README.md)' });

  const picked = await vscode.window.showQuickPick(items, {
    title: 'Coconut Lens: Select Model',
    placeHolder: 'The model that inspect commands run',
    matchOnDetail: true,
  });
  if (!picked) return undefined;
  if (picked.action === 'default') {
    await updateSetting('modelPath', undefined);
    return shipped;
  }
  let dir = picked.dir;
  if (picked.action === 'browse') {
    const uris = await vscode.window.showOpenDialog({
      canSelectFiles: false,
      canSelectFolders: true,
      canSelectMany: false,
      openLabel: 'Use This Model',
      title: 'Select a Coconut Lens model folder (it contains coconut.json)',
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    });
    dir = uris?.[0]?.fsPath;
  }
  if (!dir) return undefined;
  if (!hasManifest(dir)) {
    throw new HostError(
      'MODEL_NOT_FOUND',
      `${dir} is not a Coconut Lens model: it has no coconut.json.`,
      'Choose the folder that contains coconut.json, decoder.onnx, probe.safetensors and tokenizer.json.',
    );
  }
  await updateSetting('modelPath', dir);
  return dir;
}

interface ProviderPick extends vscode.QuickPickItem {
  value: ProviderSetting;
}

export async function selectProvider(): Promise<ProviderSetting | undefined> {
  const current = readSettings().provider;
  const choices: [ProviderSetting, string, string][] = [
    ['auto', 'Let the engine choose', 'Currently the CPU, which is fastest for small models.'],
    ['cpu', 'CPU', 'Always available; small models run in milliseconds per thought.'],
    ['webgpu', 'WebGPU', 'GPU through Vulkan, Metal or Direct3D 12. Falls back to the CPU if it cannot start.'],
    ['cuda', 'CUDA', 'Needs onnxruntime-node installed with its CUDA 12 libraries. Falls back to the CPU otherwise.'],
  ];
  const items: ProviderPick[] = choices.map(([value, description, detail]) => ({
    value,
    label: `${value === current ? '$(check) ' : ''}${value}`,
    description,
    detail,
  }));
  const picked = await vscode.window.showQuickPick(items, {
    title: 'Coconut Lens: Select Execution Provider',
    placeHolder: `Current: ${current}`,
  });
  if (!picked) return undefined;
  await updateSetting('executionProvider', picked.value);
  return picked.value;
}

/** Model folders in the workspace, so a freshly exported model is one click away. */
async function workspaceModels(): Promise<string[]> {
  if (!vscode.workspace.workspaceFolders?.length) return [];
  const found = await vscode.workspace.findFiles('**/coconut.json', '**/node_modules/**', 20);
  return found.map((u) => path.dirname(u.fsPath)).sort();
}

function manifestName(dir: string): string | undefined {
  try {
    const name = (JSON.parse(fs.readFileSync(path.join(dir, 'coconut.json'), 'utf8')) as { name?: unknown }).name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}
