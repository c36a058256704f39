// Workspace trust. Restricted Mode (an untrusted workspace): only the shipped model may run; a
// model from settings or from the workspace needs trust, and Add Model… refuses. The "restricted
// mode" tests register only when test/vscode/restricted.test.mjs opens the workspace untrusted
// (COCONUT_TEST_RESTRICTED=1); the normal run is trusted and checks the other side.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { HostError } from '../../../src/extension/errors';
import { chooseModelFromPanel, modelOptions } from '../../../src/extension/models';
import { locateModel, readSettings } from '../../../src/extension/settings';
import { activateExtension, captureNotifications, inspect, openAt, prosqaFile, workspaceRoot } from '../helpers';

const RESTRICTED = process.env.COCONUT_TEST_RESTRICTED === '1';
/** The tiny model named in the workspace's settings file (read from disk: in Restricted Mode VS Code
 * hides restricted workspace values from the configuration API). */
const tinyModel = (): string => JSON.parse(fs.readFileSync(path.join(workspaceRoot(), '.vscode', 'settings.json'), 'utf8'))['coconutLens.modelPath'];

describe('workspace trust', () => {
  it('declares limited support, with the model settings restricted', async () => {
    const { ext } = await activateExtension();
    const trust = ext.packageJSON.capabilities.untrustedWorkspaces;
    assert.equal(trust.supported, 'limited');
    assert.deepEqual([...trust.restrictedConfigurations].sort(), ['coconutLens.modelPath', 'coconutLens.models']);
  });

  if (!RESTRICTED) {
    it('a trusted workspace may run the model its settings name', () => {
      assert.equal(vscode.workspace.isTrusted, true);
      const ext = vscode.extensions.getExtension('coconut-lens.coconut-lens')!;
      assert.deepEqual(locateModel(readSettings(), ext.extensionPath), { dir: tinyModel(), isDefault: false });
    });
  }
});

if (RESTRICTED) {
  describe('workspace trust: restricted mode', () => {
    it('the workspace is not trusted, and the extension is active anyway (limited support)', async () => {
      assert.equal(vscode.workspace.isTrusted, false);
      const { ext } = await activateExtension();
      assert.equal(ext.isActive, true);
    });

    it("an inspect command runs the shipped model, never the workspace's", async () => {
      const { api } = await activateExtension();
      const ext = vscode.extensions.getExtension('coconut-lens.coconut-lens')!;
      await openAt(prosqaFile(), '"question"');
      const seen = await captureNotifications(() => inspect('inspectRecord'));
      assert.deepEqual(seen.errors, []);
      // VS Code hides the restricted workspace value (the tiny model), so the shipped one runs.
      assert.equal(vscode.workspace.getConfiguration('coconutLens').inspect('modelPath')?.workspaceValue, undefined);
      const result = api.lastResult();
      assert.ok(result, 'the shipped model ran');
      assert.equal(result.modelDir, path.join(ext.extensionPath, 'models', 'prosqa-coconut'));
      assert.equal(result.model, 'prosqa-coconut');
    });

    it('a model from the user settings is refused too, naming Restricted Mode and the fix', async () => {
      const config = vscode.workspace.getConfiguration('coconutLens');
      await config.update('modelPath', tinyModel(), vscode.ConfigurationTarget.Global);
      try {
        const seen = await captureNotifications(() => inspect('inspectRecord'));
        assert.equal(seen.errors.length, 1, JSON.stringify(seen.errors));
        assert.match(seen.errors[0], /Restricted Mode runs only the shipped model; coconutLens\.modelPath points to /);
        assert.match(seen.errors[0], /Trust this workspace/);
      } finally {
        await config.update('modelPath', undefined, vscode.ConfigurationTarget.Global);
      }
    });

    it('Add Model… refuses and leaves coconutLens.models alone', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coconut-add-'));
      fs.cpSync(tinyModel(), dir, { recursive: true });
      try {
        const seen = await captureNotifications(async () => vscode.commands.executeCommand('coconutLens.addModel', dir));
        assert.equal(seen.value, undefined);
        assert.match(seen.errors[0] ?? '', /Restricted Mode runs only the shipped model/);
        assert.equal(vscode.workspace.getConfiguration('coconutLens').inspect('models')?.globalValue, undefined);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('the shipped model is the one location allowed', () => {
      // An extension folder of our own whose models/prosqa-coconut holds the tiny model.
      const ext = fs.mkdtempSync(path.join(os.tmpdir(), 'coconut-shipped-'));
      try {
        fs.cpSync(tinyModel(), path.join(ext, 'models', 'prosqa-coconut'), { recursive: true });
        const shipped = locateModel({ ...readSettings(), modelPath: '' }, ext);
        assert.deepEqual(shipped, { dir: path.join(ext, 'models', 'prosqa-coconut'), isDefault: true });
        assert.throws(
          () => locateModel({ ...readSettings(), modelPath: tinyModel() }, ext),
          (e: HostError) => e.code === 'WORKSPACE_UNTRUSTED',
        );
      } finally {
        fs.rmSync(ext, { recursive: true, force: true });
      }
    });

    it("the panel's model picker offers only the shipped model, and refuses another", async () => {
      const config = vscode.workspace.getConfiguration('coconutLens');
      const ext = vscode.extensions.getExtension('coconut-lens.coconut-lens')!;
      await config.update('models', [tinyModel()], vscode.ConfigurationTarget.Global);
      try {
        const options = modelOptions(ext.extensionPath);
        const listed = options.find((o) => o.dir === tinyModel());
        assert.deepEqual(listed && { present: listed.present, selectable: listed.selectable }, { present: true, selectable: false });
        assert.deepEqual(
          options.filter((o) => o.selectable && !o.shipped),
          [],
        );
        await assert.rejects(chooseModelFromPanel(tinyModel(), ext.extensionPath), (e: HostError) => e.code === 'WORKSPACE_UNTRUSTED');
        assert.equal(config.inspect('modelPath')?.globalValue, undefined);
      } finally {
        await config.update('models', undefined, vscode.ConfigurationTarget.Global);
      }
    });

    it("the workspace's model never ran in this extension host", async () => {
      const { ext, api } = await activateExtension();
      assert.notEqual(api.lastResult()?.modelDir, tinyModel());
      assert.equal(api.lastResult()?.modelDir, path.join(ext.extensionPath, 'models', 'prosqa-coconut'));
    });
  });
}
