// The extension loads in VS Code's remote (workspace) extension host, registers its commands, and
// that host is a Node process where onnxruntime-node works.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { activateExtension, EXTENSION_ID } from '../helpers';

describe('activation', () => {
  it('activates and returns the test API', async () => {
    const { ext, api } = await activateExtension();
    assert.equal(ext.isActive, true);
    assert.equal(typeof api.lastResult, 'function');
    assert.equal(typeof api.whenIdle, 'function');
    await api.whenIdle();
  });

  it('registers every command it contributes', async () => {
    const { ext } = await activateExtension();
    const contributed: string[] = ext.packageJSON.contributes.commands.map((c: { command: string }) => c.command);
    for (const id of [
      'coconutLens.inspectFile',
      'coconutLens.inspectSelection',
      'coconutLens.inspectRecord',
      'coconutLens.selectModel',
      'coconutLens.selectProvider',
      'coconutLens.cancel',
    ]) {
      assert.ok(contributed.includes(id), `${id} is contributed`);
    }
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const id of contributed) assert.ok(registered.has(id), `${id} is contributed but not registered`);
  });
});

describe('extension host', () => {
  it('runs the extension in the workspace extension host when VS Code is remote', () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    if (vscode.env.remoteName) {
      // The browser workbench (our launcher) has no local Node host: this is the server's host.
      assert.equal(ext.extensionKind, vscode.ExtensionKind.Workspace);
    }
    assert.match(process.versions.node, /^\d+\.\d+\.\d+$/);
    assert.equal(typeof process.dlopen, 'function', 'native addons can be loaded in this host');
  });

  it('loads onnxruntime-node and runs the tiny model on the CPU', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    // The copy the extension itself resolves, not one next to the tests.
    const requireFromExtension = createRequire(path.join(ext.extensionPath, 'package.json'));
    const ort = requireFromExtension('onnxruntime-node') as typeof import('onnxruntime-node');
    const modelDir = vscode.workspace.getConfiguration('coconutLens').get<string>('modelPath')!;
    const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'coconut.json'), 'utf8'));
    const session = await ort.InferenceSession.create(path.join(modelDir, 'decoder.onnx'), {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
    });
    try {
      assert.ok(session.inputNames.includes('inputs_embeds'), `inputs: ${session.inputNames.join(', ')}`);
      assert.ok(session.outputNames.includes('logits'), `outputs: ${session.outputNames.join(', ')}`);
      const { n_embd: d, n_layer: layers, n_head: heads, vocab_size: vocab } = manifest.architecture;
      const feeds: Record<string, import('onnxruntime-node').Tensor> = {
        inputs_embeds: new ort.Tensor('float32', new Float32Array(d).fill(0.01), [1, 1, d]),
        attention_mask: new ort.Tensor('int64', BigInt64Array.from([1n]), [1, 1]),
        position_ids: new ort.Tensor('int64', BigInt64Array.from([0n]), [1, 1]),
      };
      for (let i = 0; i < layers; i++) {
        for (const kv of ['key', 'value']) {
          // both cache tiers empty (models/README.md, "The prefix cache")
          for (const tier of ['past_key_values', 'prefix_key_values']) {
            feeds[`${tier}.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, heads, 0, d / heads]);
          }
        }
      }
      // a plain pass: no thoughts inside the graph (models/README.md, "Thoughts in one call")
      feeds.thought_steps = new ort.Tensor('int64', BigInt64Array.of(0n), []);
      const out = await session.run(feeds);
      assert.deepEqual(out.logits.dims, [1, 1, vocab]);
      assert.ok(Array.from(out.logits.data as Float32Array).every(Number.isFinite), 'logits are finite');
    } finally {
      await session.release();
    }
  });
});
