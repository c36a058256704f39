// The inspector's analyses and exports in the real extension host: the k sweep, interventions (and a
// thought that does not exist), attribution, dataset evaluation, and exports (read-only folders,
// never overwriting without asking).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AttributionEntry, DatasetResult, InterventionResult, SweepResult } from '../../../src/shared/types';
import {
  activateExtension,
  captureNotifications,
  expectDocumentsUnmodified,
  inspect,
  modelManifest,
  openAt,
  prosqaFile,
  prosqaRecords,
  workspaceRoot,
  writeWorkspaceFile,
} from '../helpers';

type WindowFns = Record<string, (...args: unknown[]) => unknown>;

/**
 * Replaces window functions while `fn` runs (the extension's `vscode` is the same object as ours).
 * Unlike captureNotifications, the originals are not called: a modal dialog would wait forever.
 */
async function withWindow<T>(overrides: WindowFns, fn: () => PromiseLike<T>): Promise<T> {
  const w = vscode.window as unknown as WindowFns;
  const originals: WindowFns = {};
  for (const [name, f] of Object.entries(overrides)) {
    originals[name] = w[name]!;
    w[name] = f;
  }
  try {
    return await fn();
  } finally {
    Object.assign(w, originals);
  }
}

describe('inspector features', function () {
  this.timeout(180_000);

  afterEach(() => expectDocumentsUnmodified());

  describe('analyses', () => {
    before(async () => {
      const [tom] = prosqaRecords();
      await openAt(prosqaFile(), tom!.question.slice(0, 40));
      await inspect('inspectRecord');
    });

    it('k sweep runs k = 0..max and scores each answer', async () => {
      const max = modelManifest().thoughts.max;
      const result = (await vscode.commands.executeCommand('coconutLens.sweep')) as SweepResult;
      assert.ok(result);
      assert.deepEqual(
        result.points.map((p) => p.k),
        Array.from({ length: max + 1 }, (_, i) => i),
      );
      for (const p of result.points) {
        assert.equal(typeof p.correct, 'boolean', 'the record has an answer, so each k is scored');
        assert.ok(p.answerProb >= 0 && p.answerProb <= 1);
      }
    });

    it('an intervention reruns with the thought edited and the divergence per thought', async () => {
      const { api } = await activateExtension();
      const k = api.currentRunForTest()!.k;
      const result = (await vscode.commands.executeCommand('coconutLens.intervene', [{ thought: 2, kind: 'zero' }])) as InterventionResult;
      assert.ok(result, 'an intervention result');
      assert.equal(result.intervened.thoughts.length, k);
      assert.equal(result.intervened.thoughts[1]!.intervened?.kind, 'zero');
      assert.equal(result.intervened.thoughts[1]!.norm, 0);
      assert.equal(result.divergence.length, k);
      assert.ok(result.divergence[0]!.js < 1e-9, 'thought 1, before the edit, is unchanged');
    });

    it('a thought can be replaced by a thought of another run (its vector); a vector of the wrong size is refused', async () => {
      const { api } = await activateExtension();
      const other = api.lastResult()!;
      const k = api.currentRunForTest()!.k;
      const vector = other.thoughts[0]!.vector;
      const result = (await vscode.commands.executeCommand('coconutLens.intervene', [
        { thought: k, kind: 'vector', vector, label: 'thought 1 of the last run' },
      ])) as InterventionResult;
      assert.equal(result.intervened.thoughts[k - 1]!.intervened?.kind, 'vector');
      assert.deepEqual(
        result.intervened.thoughts[k - 1]!.vector.map((x) => Math.fround(x)),
        vector.map((x) => Math.fround(x)),
      );
      const bad = await captureNotifications(() =>
        vscode.commands.executeCommand('coconutLens.intervene', [{ thought: 1, kind: 'vector', vector: vector.slice(1) }]),
      );
      assert.equal(bad.value, undefined);
      assert.match(bad.errors[0] ?? '', new RegExp(`has ${vector.length - 1} numbers; this model's thoughts have ${vector.length}`));
    });

    it('an intervention on a thought that does not exist is refused with the valid range', async () => {
      const { api } = await activateExtension();
      const k = api.currentRunForTest()!.k;
      const { value, errors } = await captureNotifications(() => vscode.commands.executeCommand('coconutLens.intervene', [{ thought: k + 5, kind: 'zero' }]));
      assert.equal(value, undefined);
      assert.equal(errors.length, 1, `one error: ${errors.join(' | ')}`);
      assert.match(errors[0]!, new RegExp(`Thought ${k + 5} does not exist: the current run has ${k} thoughts \\(1 to ${k}\\)`));
      const zero = await captureNotifications(() => vscode.commands.executeCommand('coconutLens.intervene', [{ thought: 0, kind: 'scale', factor: 2 }]));
      assert.match(zero.errors[0] ?? '', /Thought 0 does not exist/);
    });

    it('attribution ablates each thought', async () => {
      const { api } = await activateExtension();
      const k = api.currentRunForTest()!.k;
      const entries = (await vscode.commands.executeCommand('coconutLens.attribution')) as AttributionEntry[];
      assert.deepEqual(
        entries.map((e) => e.thought),
        Array.from({ length: k }, (_, i) => i + 1),
      );
      for (const e of entries) assert.ok(Math.abs(e.delta - (e.ablatedLogProb - e.baseLogProb)) < 1e-9);
    });

    it('Evaluate Dataset runs every record at k = 0..max with accuracy and path categories', async () => {
      const max = modelManifest().thoughts.max;
      const n = prosqaRecords().length;
      const result = (await vscode.commands.executeCommand('coconutLens.evaluateDataset', vscode.Uri.file(prosqaFile()), 2)) as DatasetResult;
      assert.ok(result);
      assert.ok(max >= 2);
      assert.deepEqual(
        result.perK.map((s) => s.k),
        [0, 1, 2],
      );
      assert.equal(result.records.length, n * 3);
      for (const s of result.perK) {
        assert.equal(s.n, n);
        assert.ok(s.categories, 'ProsQA records get path categories');
        const total = Object.values(s.categories).reduce((a, b) => a + b, 0);
        assert.equal(total + (s.failed ?? 0), n);
      }
    });

    it('a dataset without answers is refused with a fix', async () => {
      const file = writeWorkspaceFile('noanswers.jsonl', '{"question": "Is Tom a lempus?"}\n');
      const { value, errors } = await captureNotifications(() => vscode.commands.executeCommand('coconutLens.evaluateDataset', vscode.Uri.file(file)));
      assert.equal(value, undefined);
      assert.match(errors[0] ?? '', /noanswers\.jsonl has no record with an "answer"/);
    });
  });

  describe('export', () => {
    const outDir = () => path.join(workspaceRoot(), 'exports');

    before(async () => {
      fs.mkdirSync(outDir(), { recursive: true });
      const [tom] = prosqaRecords();
      await openAt(prosqaFile(), tom!.question.slice(0, 40));
      await inspect('inspectRecord');
    });

    it('saves the trace as JSON (documented schema) and CSV where the dialog says', async () => {
      const json = path.join(outDir(), 'trace.json');
      const csv = path.join(outDir(), 'trace.csv');
      fs.rmSync(json, { force: true });
      fs.rmSync(csv, { force: true });
      let dialogOptions: vscode.SaveDialogOptions | undefined;
      await withWindow(
        {
          showSaveDialog: async (opts: unknown) => {
            dialogOptions = opts as vscode.SaveDialogOptions;
            return vscode.Uri.file(json);
          },
        },
        () => vscode.commands.executeCommand('coconutLens.exportTraceJson'),
      );
      assert.ok(dialogOptions?.filters, 'the save dialog was shown with filters');
      const doc = JSON.parse(fs.readFileSync(json, 'utf8'));
      assert.equal(doc.schema, 'coconut-lens/trace@1');
      assert.equal(doc.question, prosqaRecords()[0]!.question);
      assert.ok(Array.isArray(doc.nodeValues), 'the graph run’s node values are in the trace');
      await withWindow({ showSaveDialog: async () => vscode.Uri.file(csv) }, () => vscode.commands.executeCommand('coconutLens.exportTraceCsv'));
      const lines = fs.readFileSync(csv, 'utf8').trim().split('\n');
      assert.match(lines[0]!, /^thought,rank,token,id,p,/);
      assert.ok(lines.length > 1);
    });

    it('never replaces an existing file without asking (modal), and replaces it when told to', async () => {
      const file = path.join(outDir(), 'existing.json');
      fs.writeFileSync(file, 'keep me\n');
      const asked: { message: string; modal: boolean }[] = [];
      const ask = (answer: string | undefined) => async (message: unknown, options: unknown) => {
        asked.push({ message: String(message), modal: Boolean((options as vscode.MessageOptions | undefined)?.modal) });
        return answer;
      };
      await withWindow({ showSaveDialog: async () => vscode.Uri.file(file), showWarningMessage: ask(undefined) }, () =>
        vscode.commands.executeCommand('coconutLens.exportTraceJson'),
      );
      assert.equal(asked.length, 1, 'the user was asked');
      assert.equal(asked[0]!.modal, true, 'with a modal dialog');
      assert.match(asked[0]!.message, /existing\.json already exists\. Replace it/);
      assert.equal(fs.readFileSync(file, 'utf8'), 'keep me\n', 'dismissing the question keeps the file');

      await withWindow({ showSaveDialog: async () => vscode.Uri.file(file), showWarningMessage: ask('Replace') }, () =>
        vscode.commands.executeCommand('coconutLens.exportTraceJson'),
      );
      assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).schema, 'coconut-lens/trace@1');
    });

    it('an export to a read-only folder fails with a clear error and writes nothing', async () => {
      const dir = path.join(outDir(), 'readonly');
      fs.mkdirSync(dir, { recursive: true });
      fs.chmodSync(dir, 0o555);
      const target = path.join(dir, 'trace.json');
      try {
        const { value, errors } = await captureNotifications(() =>
          withWindow({ showSaveDialog: async () => vscode.Uri.file(target) }, () => vscode.commands.executeCommand('coconutLens.exportTraceJson')),
        );
        assert.equal(value, undefined);
        assert.equal(errors.length, 1);
        assert.match(errors[0]!, new RegExp(`the folder ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is read-only`));
        assert.match(errors[0]!, /Choose a folder you can write to/);
        assert.equal(fs.existsSync(target), false, 'nothing was written');
      } finally {
        fs.chmodSync(dir, 0o755);
      }
    });

    it('exports the chart on view (the Dataset tab after the evaluation) as SVG and PNG, drawn by the panel', async () => {
      const { api } = await activateExtension();
      await api.panelForTest().show();
      const svgFile = path.join(outDir(), 'chart.svg');
      const pngFile = path.join(outDir(), 'chart.png');
      fs.rmSync(svgFile, { force: true });
      fs.rmSync(pngFile, { force: true });
      await withWindow({ showSaveDialog: async () => vscode.Uri.file(svgFile) }, () => vscode.commands.executeCommand('coconutLens.exportChartSvg'));
      const svg = fs.readFileSync(svgFile, 'utf8');
      assert.match(svg, /^<\?xml[^>]*>\s*<svg[^>]*data-chart="dataset-accuracy"/);
      assert.doesNotMatch(svg, /var\(--vscode/, 'theme variables are resolved to colours in the file');
      await withWindow({ showSaveDialog: async () => vscode.Uri.file(pngFile) }, () => vscode.commands.executeCommand('coconutLens.exportChartPng'));
      const png = fs.readFileSync(pngFile);
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      assert.ok(png.length > 1000, 'a real image');
    });
  });
});
