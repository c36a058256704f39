// The inspector features of issue 3 in the real extension host: CodeLens per record, step hovers,
// thought ↔ step links, the serializer and the latent-search graph (and why it is missing). The
// analyses and exports are inspector-analyses.test.ts.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { InspectResult } from '../../../src/shared/types';
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
  writeWorkspaceFile,
} from '../helpers';

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
});
