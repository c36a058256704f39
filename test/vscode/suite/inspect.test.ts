// Inspect commands on official ProsQA records, run end to end in the extension host: the result
// the extension keeps matches the PyTorch golden outputs committed with the tiny model.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { InspectResult } from '../../../src/shared/types';
import {
  activateExtension,
  captureNotifications,
  copyOfModel,
  expectDocumentsUnmodified,
  inspect,
  modelManifest,
  openAt,
  prosqaFile,
  prosqaRecords,
  withSetting,
} from '../helpers';

interface GoldenCase {
  question: string;
  k: number;
  thoughts: { index: number; topk: { id: number; p: number }[] }[];
  answer_ids: number[];
  answer_extracted: string;
  stopped_by: string;
}

function golden(question: string, k: number): GoldenCase {
  const dir = vscode.workspace.getConfiguration('coconutLens').get<string>('modelPath')!;
  const { cases } = JSON.parse(fs.readFileSync(path.join(dir, 'golden.json'), 'utf8')) as { cases: GoldenCase[] };
  const c = cases.find((g) => g.question === question && g.k === k);
  assert.ok(c, `golden.json has no case for k=${k} and this question`);
  return c;
}

/** Each thought's top-k is a sorted slice of one probability distribution. */
function assertDistributions(result: InspectResult, topK: number): void {
  for (const t of result.thoughts) {
    assert.equal(t.topk.length, topK, `thought ${t.index} shows ${topK} tokens`);
    let sum = 0;
    t.topk.forEach((e, i) => {
      assert.ok(e.p >= 0 && e.p <= 1, `thought ${t.index}: p=${e.p} is a probability`);
      if (i > 0) assert.ok(e.p <= t.topk[i - 1].p, `thought ${t.index}: top-k is sorted`);
      sum += e.p;
    });
    assert.ok(sum <= 1 + 1e-5, `thought ${t.index}: top-k probabilities sum to ${sum} > 1`);
  }
}

describe('inspect', function () {
  // The first run starts the engine worker and loads the model.
  this.timeout(120_000);

  afterEach(() => expectDocumentsUnmodified());

  it('Inspect Record Under Cursor runs the record the cursor is in', async () => {
    const { api } = await activateExtension();
    const [tom] = prosqaRecords();
    const k = modelManifest().thoughts.default;
    await openAt(prosqaFile(), tom.question.slice(0, 40));

    const { value: returned, errors } = await captureNotifications(() => inspect('inspectRecord'));
    assert.deepEqual(errors, []);
    const result = api.lastResult();
    assert.ok(result, 'a result was kept');
    assert.equal(returned, result, 'the command resolves with the result it keeps');
    assert.equal(result.question, tom.question);
    assert.equal(result.thoughtsRequested, k);
    assert.equal(result.thoughts.length, k);
    assert.deepEqual(
      result.thoughts.map((t) => t.index),
      Array.from({ length: k }, (_, i) => i + 1),
    );
    assertDistributions(result, 10);
    assert.ok(result.answer.text.trim().length > 0, 'an answer was generated');
    assert.equal(result.provider, 'cpu');
  });

  it('matches the PyTorch golden outputs of the tiny model', async () => {
    const [tom] = prosqaRecords();
    await openAt(prosqaFile(), tom.question.slice(0, 40));
    const result = (await inspect('inspectRecord')) as InspectResult;
    const g = golden(tom.question, result.thoughtsRequested);
    assert.equal(result.answer.extracted, g.answer_extracted);
    assert.equal(result.answer.stoppedBy, g.stopped_by);
    for (const [i, t] of result.thoughts.entries()) {
      const want = g.thoughts[i].topk;
      assert.deepEqual(
        t.topk.slice(0, want.length).map((e) => e.id),
        want.map((e) => e.id),
        `thought ${i + 1} top tokens`,
      );
      t.topk.slice(0, want.length).forEach((e, j) => assert.ok(Math.abs(e.p - want[j].p) < 1e-4, `thought ${i + 1} p[${j}]`));
    }
  });

  it('a model re-exported into its folder while loaded is loaded again at the next run', async () => {
    const { api } = await activateExtension();
    const [tom] = prosqaRecords();
    await openAt(prosqaFile(), tom.question.slice(0, 40));
    const dir = copyOfModel();
    const other = path.join(path.dirname(vscode.workspace.getConfiguration('coconutLens').get<string>('modelPath')!), 'tiny-model-rsc');
    await withSetting('modelPath', dir, async () => {
      const before = (await inspect('inspectRecord')) as InspectResult;
      assert.equal(before.model, 'tiny-random');
      // What training/export.py --out DIR does: every file rewritten (here with another model's).
      for (const f of ['decoder.onnx', 'probe.safetensors', 'tokenizer.json']) fs.copyFileSync(path.join(other, f), path.join(dir, f));
      const manifest = JSON.parse(fs.readFileSync(path.join(other, 'coconut.json'), 'utf8'));
      manifest.name = 'tiny-random-reexported';
      fs.writeFileSync(path.join(dir, 'coconut.json'), JSON.stringify(manifest, null, 2));
      const after = (await inspect('inspectRecord')) as InspectResult;
      assert.equal(after.model, 'tiny-random-reexported', 'the run loaded the files now in the folder');
      assert.notDeepEqual(
        after.thoughts.map((t) => Array.from(t.vector)),
        before.thoughts.map((t) => Array.from(t.vector)),
        'and runs the new weights',
      );
      const again = (await inspect('inspectRecord')) as InspectResult;
      assert.deepEqual(
        again.thoughts.map((t) => Array.from(t.vector)),
        after.thoughts.map((t) => Array.from(t.vector)),
      );
    });
    await api.whenIdle();
  });

  it('Inspect File uses the first record when the cursor is outside every record', async () => {
    const { api } = await activateExtension();
    const [first] = prosqaRecords();
    await openAt(prosqaFile()); // offset 0: the "[" of the array
    await inspect('inspectFile');
    assert.equal(api.lastResult()?.question, first.question);
  });

  it('Inspect Selection runs the selected text', async () => {
    const { api } = await activateExtension();
    const second = prosqaRecords()[1];
    const editor = await openAt(prosqaFile(), second.question);
    const start = editor.selection.active;
    editor.selection = new vscode.Selection(start, start.translate(0, second.question.length));
    const { errors } = await captureNotifications(() => inspect('inspectSelection'));
    assert.deepEqual(errors, []);
    assert.equal(api.lastResult()?.question, second.question);
  });

  it('coconutLens.thoughts sets k, including 0 and the model maximum', async () => {
    const { api } = await activateExtension();
    const [tom] = prosqaRecords();
    const max = modelManifest().thoughts.max;
    await openAt(prosqaFile(), tom.question.slice(0, 40));
    for (const k of [0, 1, max]) {
      await withSetting('thoughts', k, () => inspect('inspectRecord'));
      const result = api.lastResult()!;
      assert.equal(result.thoughts.length, k, `k=${k}`);
      assertDistributions(result, 10);
    }
  });

  it('coconutLens.topK sets how many tokens each thought shows', async () => {
    const { api } = await activateExtension();
    await openAt(prosqaFile(), prosqaRecords()[0].question.slice(0, 40));
    await withSetting('topK', 3, () => inspect('inspectRecord'));
    assertDistributions(api.lastResult()!, 3);
  });
});
