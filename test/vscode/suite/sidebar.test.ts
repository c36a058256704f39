// The side bar's model actions in the extension host: a model added with Add Model… is listed,
// "Select This Model" and "Remove from Models" change the settings the inspect commands read (and
// removing the selected model makes the shipped one run), the shipped model cannot be removed, and
// "Clear Runs" empties the Runs view.
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
