// "Coconut Lens: Add Model…": a folder is validated by the engine (in a worker, decoder graph
// included), added to coconutLens.models and selected; a broken folder is refused with the
// engine's own message and changes nothing.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { modelChoices } from '../../../src/extension/models';
import { activateExtension, captureNotifications, restoreModelSettingsAfterEach, copyOfModel, inspect, openAt, workspaceRoot } from '../helpers';

describe('models: Add Model…', () => {
  const config = () => vscode.workspace.getConfiguration('coconutLens');
  const made = restoreModelSettingsAfterEach();

  it('validates, remembers and selects a model folder', async () => {
    const dir = copyOfModel();
    made.push(dir);
    const seen = await captureNotifications(async () => vscode.commands.executeCommand<string | undefined>('coconutLens.addModel', dir));
    assert.equal(seen.value, dir);
    assert.deepEqual(seen.errors, []);
    assert.ok(
      seen.infos.some((m) => /^Added model tiny-random \(2 layers, vocabulary 69\)/.test(m)),
      JSON.stringify(seen.infos),
    );
    assert.deepEqual(config().inspect('models')?.globalValue, [dir]);
    assert.equal(config().get('modelPath'), dir);
    const ext = vscode.extensions.getExtension('coconut-lens.coconut-lens')!;
    const choices = modelChoices(ext.extensionPath);
    assert.equal(choices[0].shipped, true);
    assert.deepEqual(
      choices.slice(1).map((c) => ({ dir: c.dir, label: c.label, present: c.present, current: c.current })),
      [{ dir, label: 'tiny-random', present: true, current: true }],
    );
    // Adding it again does not list it twice.
    await vscode.commands.executeCommand('coconutLens.addModel', dir);
    assert.deepEqual(config().inspect('models')?.globalValue, [dir]);
  });

  it("refuses a broken model with the engine's message and leaves the settings alone", async () => {
    const dir = copyOfModel();
    made.push(dir);
    fs.rmSync(path.join(dir, 'probe.safetensors'));
    const before = config().get('modelPath');
    const seen = await captureNotifications(async () => vscode.commands.executeCommand<string | undefined>('coconutLens.addModel', dir));
    assert.equal(seen.value, undefined);
    assert.equal(seen.errors.length, 1, JSON.stringify(seen.errors));
    assert.match(seen.errors[0], /probe\.safetensors \(role probe\) is listed in coconut\.json but missing/);
    assert.equal(config().inspect('models')?.globalValue, undefined);
    assert.equal(config().get('modelPath'), before);
  });

  it('refuses a folder without coconut.json', async () => {
    const dir = fs.mkdtempSync(path.join(workspaceRoot(), 'not-a-model-'));
    made.push(dir);
    const seen = await captureNotifications(async () => vscode.commands.executeCommand<string | undefined>('coconutLens.addModel', dir));
    assert.equal(seen.value, undefined);
    assert.match(seen.errors[0] ?? '', /is not a Coconut Lens model: it has no coconut\.json/);
  });

  it('a checkpoint of the reference code, converted, opens and matches PyTorch', async function () {
    this.timeout(300_000);
    const ext = vscode.extensions.getExtension('coconut-lens.coconut-lens')!;
    const { api } = await activateExtension();
    const work = fs.mkdtempSync(path.join(workspaceRoot(), 'imported-'));
    made.push(work);
    // training/ lives next to the extension in the development folder (not in a VSIX).
    const training = path.join(ext.extensionPath, 'training');
    assert.ok(fs.existsSync(path.join(training, 'import_coconut.py')), 'the development folder has training/');
    const py = (script: string, args: string[]) =>
      execFileSync('/usr/bin/python3', [path.join(training, script), ...args], {
        env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: '2' },
        encoding: 'utf8',
        timeout: 240_000,
      });
    py('make_reference_fixture.py', ['--out', path.join(work, 'src'), '--seed', '9']);
    const modelDir = path.join(work, 'model');
    const ckpt = path.join(work, 'src', 'checkpoint_6');
    py('import_coconut.py', [
      '--checkpoint',
      ckpt,
      '--tokenizer',
      path.join(work, 'src', 'tokenizer.json'),
      '--out',
      modelDir,
      '--name',
      'imported-reference',
      '--n-head',
      '4',
      '--thoughts-default',
      '3',
      '--max-new-tokens',
      '4',
    ]);
    const question = 'Every lempus is a grimpus. Tom is a lempus. Is Tom a grimpus or zhorpus?';
    fs.writeFileSync(path.join(work, 'cases.json'), JSON.stringify([{ question, k: 3 }]));
    py('reference.py', ['--model-dir', modelDir, '--checkpoint', ckpt, '--out', path.join(work, 'golden.json'), '--cases-file', path.join(work, 'cases.json')]);
    const golden = JSON.parse(fs.readFileSync(path.join(work, 'golden.json'), 'utf8')).cases[0];

    assert.equal(await vscode.commands.executeCommand('coconutLens.addModel', modelDir), modelDir);
    const prompt = path.join(work, 'q.txt');
    fs.writeFileSync(prompt, question + '\n');
    await openAt(prompt);
    await inspect('inspectFile');
    const r = api.lastResult();
    assert.ok(r, 'the run finished');
    assert.equal(r.model, 'imported-reference');
    assert.deepEqual(r.promptTokens.map((t) => t.id).concat([50257]), golden.input_ids);
    assert.equal(r.thoughts.length, 3);
    r.thoughts.forEach((t, i) => {
      assert.deepEqual(
        t.topk.slice(0, 5).map((x) => x.id),
        golden.thoughts[i].topk.map((x: { id: number }) => x.id),
        `thought ${i + 1}`,
      );
      assert.ok(Math.abs(t.norm - golden.thoughts[i].norm) < 1e-4 * golden.thoughts[i].norm);
    });
    assert.deepEqual(
      r.answer.tokens.map((t) => t.id),
      golden.answer_ids,
    );
    assert.equal(r.answer.text, golden.answer_text);
    assert.ok(api.panelHtmlForTest().length > 0, 'the inspector panel is open');
  });
});
