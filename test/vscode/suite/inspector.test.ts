// The inspector features of issue 3 in the real extension host: CodeLens per record, step hovers,
// thought ↔ step links, the serializer, the latent-search graph (and why it is missing), the k
// sweep, interventions (and a thought that does not exist), attribution, dataset evaluation and
// exports (read-only folders, never overwriting without asking).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AttributionEntry, DatasetResult, InspectResult, InterventionResult, SweepResult } from '../../../src/shared/types';
import type { InspectorState } from '../../../src/protocol/inspector';
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

const COCONUT_TEXT = [
  '# two records in our own format',
  'Q: Every lempus is a zumpus. Tom is a lempus. Is Tom a zumpus or a rempus?',
  '- Tom is a lempus.',
  '- Every lempus is a zumpus.',
  'A: Tom is a zumpus.',
  '---',
  'Q: Is Alex a gerpus?',
  '',
].join('\n');

async function lensesOf(file: string): Promise<vscode.CodeLens[]> {
  const uri = vscode.Uri.file(file);
  await vscode.workspace.openTextDocument(uri);
  // Resolves the lenses as the editor would (every provider for the document).
  return (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri)) ?? [];
}

async function hoverTextAt(file: string, needle: string, offsetInNeedle = 2): Promise<string> {
  const doc = await vscode.workspace.openTextDocument(file);
  const at = doc.getText().indexOf(needle);
  assert.ok(at >= 0, `${needle} is in ${file}`);
  const hovers = (await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, doc.positionAt(at + offsetInNeedle))) ?? [];
  return hovers
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))
    .join('\n');
}

describe('inspector features', function () {
  this.timeout(180_000);

  afterEach(() => expectDocumentsUnmodified());

  describe('prompt files', () => {
    it('CodeLens puts "Inspect thoughts" above each record of JSON, JSONL and .coconut files', async () => {
      await activateExtension();
      const records = prosqaRecords();
      const json = await lensesOf(prosqaFile());
      const ours = json.filter((l) => l.command?.command === 'coconutLens.inspectRecordAt');
      assert.equal(ours.length, records.length, 'one lens per record of prosqa.json');
      ours.forEach((l, i) => {
        assert.match(l.command!.title, /Inspect thoughts/);
        assert.deepEqual(l.command!.arguments, [vscode.Uri.file(prosqaFile()).toString(), i]);
      });

      const jsonl = writeWorkspaceFile(
        'two.jsonl',
        records
          .slice(0, 2)
          .map((r) => JSON.stringify(r))
          .join('\n') + '\n',
      );
      const jl = (await lensesOf(jsonl)).filter((l) => l.command?.command === 'coconutLens.inspectRecordAt');
      assert.deepEqual(
        jl.map((l) => l.range.start.line),
        [0, 1],
        'one lens on each line of a JSONL file',
      );

      const coconut = writeWorkspaceFile('prompts.coconut', COCONUT_TEXT);
      const doc = await vscode.workspace.openTextDocument(coconut);
      assert.equal(doc.languageId, 'coconut-prompt', '.coconut files get the Coconut Prompt language');
      const cl = (await lensesOf(coconut)).filter((l) => l.command?.command === 'coconutLens.inspectRecordAt');
      assert.deepEqual(
        cl.map((l) => l.range.start.line),
        [1, 6],
        'lenses on the two "Q:" lines',
      );

      const other = writeWorkspaceFile('not-prompts.json', '{"name": "x", "version": "1.0.0"}\n');
      const none = (await lensesOf(other)).filter((l) => l.command?.command === 'coconutLens.inspectRecordAt');
      assert.equal(none.length, 0, 'a JSON file that holds no prompt records gets no lens');
    });

    it('the lens command inspects its record, and a .coconut record runs with its steps', async () => {
      const { api } = await activateExtension();
      const records = prosqaRecords();
      const uri = vscode.Uri.file(prosqaFile()).toString();
      // Record 2 is longer than the tiny model's context; records 0 and 1 fit.
      const result = (await vscode.commands.executeCommand('coconutLens.inspectRecordAt', uri, 0)) as InspectResult;
      assert.ok(result, 'the lens command resolves with its result');
      assert.equal(result.question, records[0]!.question);
      const run = api.currentRunForTest();
      assert.deepEqual(run?.record, { uri, index: 0 });
      assert.deepEqual(run?.steps, records[0]!.steps);

      const coconut = writeWorkspaceFile('prompts.coconut', COCONUT_TEXT);
      await openAt(coconut, 'Tom is a lempus.');
      const r2 = (await inspect('inspectRecord')) as InspectResult;
      assert.equal(r2.question, 'Every lempus is a zumpus. Tom is a lempus. Is Tom a zumpus or a rempus?');
      assert.deepEqual(api.currentRunForTest()?.steps, ['Tom is a lempus.', 'Every lempus is a zumpus.']);
      assert.equal(api.currentRunForTest()?.expectedAnswer, 'Tom is a zumpus.');
    });

    it('a malformed .coconut file is reported with its line', async () => {
      const { api } = await activateExtension();
      await openAt(writeWorkspaceFile('bad.coconut', 'Q: Is Tom a lempus?\nA: yes\n- a step after the answer\n'), 'yes');
      const { value, errors } = await captureNotifications(() => inspect('inspectRecord'));
      await api.whenIdle();
      assert.equal(value, undefined);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /bad\.coconut line 3: a step comes after the answer/);
    });
  });

  describe('steps and thoughts', () => {
    it('hovering step i shows thought i after an inspect of that record (and what to do before)', async () => {
      await activateExtension();
      const recs = prosqaRecords();
      // Record 1 has not been inspected in this suite yet: the hover says how to get the thoughts.
      const before = await hoverTextAt(prosqaFile(), JSON.stringify(recs[1]!.steps[0]));
      assert.match(before, /Inspect this record/);

      const [tom] = recs;
      await openAt(prosqaFile(), tom!.question.slice(0, 40));
      const result = (await inspect('inspectRecord')) as InspectResult;
      assert.ok(result.thoughts.length >= 2);
      const text = await hoverTextAt(prosqaFile(), JSON.stringify(tom!.steps[1]));
      assert.match(text, /step 2 of 3/);
      assert.match(text, /\*\*Thought 2\*\*/);
      const t2 = result.thoughts[1]!;
      assert.ok(text.includes(t2.topk[0]!.p.toFixed(2)), `the hover shows thought 2's top probability ${t2.topk[0]!.p.toFixed(2)}`);
      // The runner asked the engine to watch the steps' words, so the mass is exact.
      const words = new Set(tom!.steps[1]!.split(/[^\p{L}\p{N}_'-]+/u).filter(Boolean));
      const watched = (t2.watched ?? []).filter((w) => words.has(w.word));
      assert.equal(watched.length, words.size, 'every word of the step was watched');
      const mass = watched.reduce((s, w) => s + (w.p ?? 0), 0);
      assert.match(text, /On this step's own words: \*\*p = [0-9.e-]+\*\*/);
      assert.ok(mass > 0 && mass <= 1, `mass ${mass}`);
      assert.doesNotMatch(text, /\*\*Thought 1\*\*/, 'only the thought of this step (c = 1)');
    });

    it('a thought hovered in the panel highlights its step; the cursor on a step names its thoughts', async () => {
      const { api } = await activateExtension();
      const [tom] = prosqaRecords();
      const editor = await openAt(prosqaFile(), tom!.question.slice(0, 40));
      await inspect('inspectRecord');
      const links = api.features.links;
      links.hoverThought(2);
      assert.equal(links.highlightedStep?.step, 1);
      assert.equal(links.highlightedStep?.text, JSON.stringify(tom!.steps[1]));
      links.hoverThought(null);
      assert.equal(links.highlightedStep, undefined);

      const at = editor.document.getText().indexOf(JSON.stringify(tom!.steps[2]));
      assert.deepEqual(links.thoughtsAt(editor.document, editor.document.positionAt(at + 3)), [3]);
      assert.deepEqual(links.thoughtsAt(editor.document, editor.document.positionAt(editor.document.getText().indexOf(tom!.question.slice(0, 20)))), []);
    });
  });

  describe('panel', () => {
    it('the serializer restores a panel from its saved state (CSP, resource roots, its run)', async () => {
      const { api } = await activateExtension();
      const panelHost = api.panelForTest();
      const [, second] = prosqaRecords();
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      assert.equal(panelHost.isOpen, false, 'closing the editors closed the panel');
      const state: InspectorState = {
        version: 1,
        run: {
          runId: 99,
          question: second!.question,
          k: 2,
          maxK: modelManifest().thoughts.max,
          model: 'tiny-random',
          provider: 'cpu',
          requestedProvider: 'auto',
          source: 'prosqa.json, record 1',
          expectedAnswer: second!.answer,
          steps: second!.steps,
          perStep: 1,
        },
        tab: 'thoughts',
      };
      const webviewPanel = vscode.window.createWebviewPanel('coconutLens.inspector', 'Coconut Lens', vscode.ViewColumn.Two, {});
      await panelHost.serializer.deserializeWebviewPanel(webviewPanel, state);
      assert.equal(panelHost.isOpen, true);
      assert.deepEqual(panelHost.lastRun, state.run, 'the restored run is the one the panel knows');
      const html = api.panelHtmlForTest();
      assert.match(html, /Content-Security-Policy/);
      assert.match(html, /script-src 'nonce-/);
      // Scripts and styles come from the extension's own folders, through the webview's resource origin.
      const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      assert.equal(sources.length, 2, 'one script, one stylesheet');
      for (const src of sources) assert.match(src, /vscode-resource|vscode-cdn|vscode-webview/, `${src} is a webview resource, not remote content`);
      assert.deepEqual(
        webviewPanel.webview.options.localResourceRoots?.map((u) => path.basename(u.fsPath)),
        ['dist', 'media'],
      );
      // A second restored panel is closed: one inspector panel is the rule.
      const extra = vscode.window.createWebviewPanel('coconutLens.inspector', 'Coconut Lens', vscode.ViewColumn.Two, {});
      let disposed = false;
      extra.onDidDispose(() => (disposed = true));
      await panelHost.serializer.deserializeWebviewPanel(extra, state);
      assert.equal(disposed, true);
    });
  });

  describe('latent search', () => {
    it('a ProsQA record carries its graph and node values per thought', async () => {
      const { api } = await activateExtension();
      const [tom] = prosqaRecords() as unknown as { question: string; idx_to_symbol: string[]; root: number; target: number }[];
      await openAt(prosqaFile(), tom!.question.slice(0, 40));
      const result = (await inspect('inspectRecord')) as InspectResult;
      const run = api.currentRunForTest();
      assert.ok(run?.graph, 'the run has the record’s graph');
      assert.equal(run.graphMissing, undefined);
      assert.equal(run.graph.root, tom!.root);
      assert.ok(result.nodeValues, 'the result has node values');
      assert.deepEqual(
        result.nodeValues.map((v) => v.thought),
        Array.from({ length: result.thoughts.length + 1 }, (_, i) => i),
      );
      for (const v of result.nodeValues[1]!.values) assert.ok(v.p >= 0 && v.p <= 1);
    });

    it('a record without graph fields opens without the graph view and says why', async () => {
      const { api } = await activateExtension();
      const file = writeWorkspaceFile('nograph.json', JSON.stringify([{ question: prosqaRecords()[0]!.question, answer: 'Tom is a lempus.' }], null, 2));
      await openAt(file, 'question');
      const result = (await inspect('inspectRecord')) as InspectResult;
      assert.ok(result, 'the record still runs');
      assert.equal(result.nodeValues, undefined);
      const run = api.currentRunForTest();
      assert.equal(run?.graph, undefined);
      assert.equal(run?.graphMissing, 'this record has no ProsQA graph fields (idx_to_symbol, edges, root, target)');

      const partial = writeWorkspaceFile(
        'partialgraph.json',
        JSON.stringify({ question: 'Is Tom a lempus?', idx_to_symbol: ['Tom', 'lempus'], edges: [[0, 1]] }),
      );
      await openAt(partial, 'question');
      await inspect('inspectRecord');
      assert.match(api.currentRunForTest()?.graphMissing ?? '', /lacks root, target, neg_target/);
    });
  });

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
