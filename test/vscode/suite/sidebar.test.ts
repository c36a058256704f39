// The side bar's model actions in the extension host: a model added with Add Model… is listed,
// "Select This Model" and "Remove from Models" change the settings the inspect commands read (and
// removing the selected model makes the shipped one run), the shipped model cannot be removed, a
// listed model re-exported on disk is shown anew without a manual refresh (by one watcher per folder,
// shared with the panel's picker), and "Clear Runs" empties the Runs view.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { activateExtension, captureNotifications, restoreModelSettingsAfterEach, copyOfModel, inspect, openAt, prosqaFile } from '../helpers';

describe('side bar: model and run actions', () => {
  const config = () => vscode.workspace.getConfiguration('coconutLens');
  const made = restoreModelSettingsAfterEach();

  it('selects and removes an added model; the shipped model stays and runs again', async () => {
    const { api, ext } = await activateExtension();
    const dir = copyOfModel();
    made.push(dir);
    await vscode.commands.executeCommand('coconutLens.addModel', dir);
    const shippedNode = { kind: 'model', dir: `${ext.extensionPath}/models/prosqa-coconut`, label: 'prosqa-coconut', shipped: true };
    const addedNode = { kind: 'model', dir, label: 'tiny-random', shipped: false };
    assert.ok(
      api.sidebar.rows('models').some((r) => r.id === `model:${dir}` && /\bselected\b/.test(r.contextValue) && !/unselected/.test(r.contextValue)),
      'the added model is listed and selected',
    );

    await vscode.commands.executeCommand('coconutLens.selectModelInView', shippedNode);
    assert.equal(config().get('modelPath'), '', 'selecting the shipped model clears coconutLens.modelPath');
    await vscode.commands.executeCommand('coconutLens.selectModelInView', addedNode);
    assert.equal(config().get('modelPath'), dir);

    const seen = await captureNotifications(async () => vscode.commands.executeCommand('coconutLens.removeModel', addedNode));
    assert.deepEqual(seen.errors, []);
    assert.ok(
      seen.infos.some((m) => /Removed tiny-random .*not deleted/.test(m)),
      JSON.stringify(seen.infos),
    );
    assert.deepEqual(config().inspect('models')?.globalValue, []);
    assert.equal(config().get('modelPath'), '', 'the removed model no longer runs');
    assert.ok(fs.existsSync(`${dir}/coconut.json`), 'the folder itself is left alone');
    assert.deepEqual(
      api.sidebar.rows('models').map((r) => r.label),
      ['prosqa-coconut'],
    );

    const refused = await captureNotifications(async () => vscode.commands.executeCommand('coconutLens.removeModel', shippedNode));
    assert.equal(refused.errors.length, 1);
    assert.match(refused.errors[0]!, /shipped model cannot be removed/);
  });

  it('a listed model whose manifest changes on disk is shown anew without a refresh', async () => {
    const { api } = await activateExtension();
    const dir = copyOfModel();
    made.push(dir);
    await vscode.commands.executeCommand('coconutLens.addModel', dir);
    const labelOf = () => api.sidebar.rows('models').find((r) => r.id === `model:${dir}`)?.label;
    assert.equal(labelOf(), 'tiny-random');
    // What a re-export does to the folder's manifest: a new name, written in place.
    const before = api.sidebar.refreshes('models');
    const manifest = JSON.parse(fs.readFileSync(`${dir}/coconut.json`, 'utf8'));
    fs.writeFileSync(`${dir}/coconut.json`, JSON.stringify({ ...manifest, name: 'tiny-reexported' }, null, 2));
    const deadline = Date.now() + 15_000;
    while (api.sidebar.refreshes('models') === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(api.sidebar.refreshes('models') > before, 'the Models view was told to rebuild its rows after the manifest changed');
    assert.equal(labelOf(), 'tiny-reexported');
  });

  it('the side bar and the panel share one watcher per listed folder', async () => {
    await activateExtension();
    const dir = copyOfModel();
    made.push(dir);
    const workspace = vscode.workspace as { createFileSystemWatcher: typeof vscode.workspace.createFileSystemWatcher };
    const original = workspace.createFileSystemWatcher;
    const watched: string[] = [];
    workspace.createFileSystemWatcher = ((pattern: vscode.GlobPattern, ...rest: unknown[]) => {
      if (typeof pattern !== 'string') watched.push(pattern.baseUri.fsPath);
      return (original as (...a: unknown[]) => vscode.FileSystemWatcher)(pattern, ...rest);
    }) as typeof original;
    try {
      await vscode.commands.executeCommand('coconutLens.addModel', dir);
    } finally {
      workspace.createFileSystemWatcher = original;
    }
    assert.deepEqual(
      watched.filter((d) => d === dir),
      [dir],
      'one watcher for the new folder, whoever shows it',
    );
  });

  it('a model action without a model says what to do', async () => {
    const seen = await captureNotifications(async () => vscode.commands.executeCommand('coconutLens.removeModel'));
    assert.equal(seen.errors.length, 1);
    assert.match(seen.errors[0]!, /Right-click a model in the Models view/);
  });

  it('Clear Runs empties the Runs view', async () => {
    const { api } = await activateExtension();
    await openAt(prosqaFile(), '"question"');
    await inspect('inspectRecord');
    assert.ok(api.sidebar.rows('runs').length >= 1);
    // A pin outlives Clear Runs (the Compare tab uses it); earlier suites may have left one.
    await vscode.commands.executeCommand('coconutLens.unpinRun');
    await vscode.commands.executeCommand('coconutLens.clearRuns');
    assert.deepEqual(api.sidebar.rows('runs'), []);
    const seen = await captureNotifications(async () => vscode.commands.executeCommand('coconutLens.openRun', 9999));
    assert.match(seen.errors[0] ?? '', /Run 9999 is no longer kept/);
  });
});
