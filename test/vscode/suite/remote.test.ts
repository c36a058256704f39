// Remote development: the extension declares extensionKind ["workspace"], so VS Code runs it in the
// extension host next to the files and the GPU (SSH, WSL, containers). The test VS Code is exactly
// that setup: a browser workbench connected to VS Code's server, whose Node extension host runs
// the extension. This suite proves the engine runs there, in that process, from the extension's
// own onnxruntime-node.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { activateExtension, EXTENSION_ID, inspect, openAt, prosqaFile } from '../helpers';

describe('remote: the workspace extension host', () => {
  it('runs the extension in the workspace (remote) extension host', () => {
    assert.ok(vscode.env.remoteName, 'the test workbench is connected to a VS Code server (remoteName is set)');
    assert.equal(vscode.env.uiKind, vscode.UIKind.Web, 'the UI runs in the browser, apart from this host');
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    assert.deepEqual(ext.packageJSON.extensionKind, ['workspace']);
    assert.equal(ext.extensionKind, vscode.ExtensionKind.Workspace);
    assert.equal(ext.extensionUri.scheme, 'file', "the extension is read from the server's disk");
  });

  it('is a Node process that can load native addons', () => {
    assert.match(process.versions.node, /^\d+\.\d+\.\d+$/);
    assert.equal(typeof process.dlopen, 'function');
    assert.equal(process.release.name, 'node');
  });

  it('runs an inspection there, with onnxruntime-node loaded into this process from the extension', async () => {
    const { ext, api } = await activateExtension();
    await openAt(prosqaFile(), '"question"');
    await inspect('inspectRecord');
    const result = api.lastResult();
    assert.ok(result, 'the inspection finished');
    assert.equal(result.provider, 'cpu');
    assert.ok(result.thoughts.length > 0);
    // The engine runs on a worker thread of this very process: its native libraries show up among
    // the process's shared objects, loaded from the extension's own node_modules.
    const report = process.report.getReport() as unknown as { sharedObjects?: string[] };
    const binding = (report.sharedObjects ?? []).filter((p) => p.endsWith('onnxruntime_binding.node'));
    assert.equal(binding.length, 1, `onnxruntime_binding.node loaded once: ${JSON.stringify(binding)}`);
    const ortDir = path.join(ext.extensionPath, 'node_modules', 'onnxruntime-node');
    assert.ok(binding[0].startsWith(ortDir), `${binding[0]} comes from ${ortDir}`);
  });
});
