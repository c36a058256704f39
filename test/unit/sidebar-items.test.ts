// The side bar's rows without VS Code: what the Models view reads from a manifest and model card
// (the shipped model's own coconut.json included), the Runs view's order and wording, the
// Examples view's rows, the context values the package.json menus match, and the run history the
// Runs view lists and reopens.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RunInfo, TraceResult } from '../../src/protocol/inspector';
import { MAX_RUNS, RunHistory } from '../../src/extension/run-history';
import { ROOT as root } from './helpers';
import { clock, estimateParameters, exampleRow, fmtBytes, fmtCount, modelFacts, modelRow, runRow, runRows } from '../../src/extension/sidebar-items';

const shippedManifest = JSON.parse(readFileSync(join(root, 'models/prosqa-coconut/coconut.json'), 'utf8'));
const shippedCard = readFileSync(join(root, 'models/prosqa-coconut/README.md'), 'utf8');
const tinyManifest = JSON.parse(readFileSync(join(root, 'test/fixtures/tiny-model/coconut.json'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** The `when` clause of a view/item/context menu entry, evaluated for a context value. */
function offered(command: string, contextValue: string, view = 'coconutLens.models'): boolean {
  const entries = (pkg.contributes.menus['view/item/context'] as { command: string; when: string }[]).filter((m) => m.command === command);
  return entries.some((m) =>
    m.when.split('&&').every((clause) => {
      const c = clause.trim();
      const eq = c.match(/^view == (\S+)$/);
      if (eq) return eq[1] === view;
      const re = c.match(/^viewItem =~ \/(.+)\/$/);
      if (re) return new RegExp(re[1]!).test(contextValue);
      throw new Error(`unexpected clause ${c}`);
    }),
  );
}

describe('model facts from coconut.json and the model card', () => {
  it("reads the shipped model's parameters, size and accuracy as its manifest states them", () => {
    const f = modelFacts(shippedManifest, shippedCard);
    assert.deepEqual(f.parameters, { count: shippedManifest.provenance.parameters, estimated: false });
    const bytes = shippedManifest.files.reduce((s: number, x: { bytes: number }) => s + x.bytes, 0);
    assert.equal(f.bytes, bytes);
    const acc = shippedManifest.provenance.accuracy.find((a: { thoughts: number }) => a.thoughts === shippedManifest.thoughts.default);
    assert.deepEqual(f.accuracy, { value: acc.value, dataset: acc.dataset, thoughts: acc.thoughts, n: acc.n });
    assert.match(f.cardTitle ?? '', /^prosqa-coconut/);
  });

  it('estimates GPT-2 parameters from the architecture, exactly for the shipped model', () => {
    assert.equal(estimateParameters(shippedManifest.architecture), shippedManifest.provenance.parameters);
    // Learned positions add n_positions × d; untied heads another V × d.
    const learned = { ...shippedManifest.architecture, positions: 'learned', smear_keys: false };
    assert.equal(estimateParameters(learned), 903_744 - 2 * 192 + 512 * 192);
    assert.equal(estimateParameters({ ...learned, tie_word_embeddings: false }), 903_744 - 2 * 192 + 512 * 192 + 69 * 192);
    assert.equal(estimateParameters({ n_layer: 2 }), undefined);
  });

  it('marks an estimate, and leaves out what a fixture lacks (empty accuracy, no card)', () => {
    const f = modelFacts(tinyManifest);
    assert.equal(f.parameters?.estimated, true);
    assert.equal(f.accuracy, undefined);
    assert.equal(f.cardTitle, undefined);
    // the three files the manifest lists, summed (decoder, probe, tokenizer)
    const files: { bytes: number }[] = tinyManifest.files;
    assert.equal(files.length, 3);
    assert.equal(f.bytes, files[0].bytes + files[1].bytes + files[2].bytes);
  });

  it('ignores malformed manifests and entries instead of throwing', () => {
    assert.deepEqual(modelFacts(undefined), {});
    assert.deepEqual(modelFacts('nope'), {});
    assert.deepEqual(modelFacts({ files: 'x', provenance: { accuracy: [{ value: 2, dataset: 'd', thoughts: 1 }], parameters: -1 } }), {});
    assert.deepEqual(modelFacts({ provenance: { accuracy: [null, { value: 0.5, dataset: 'd', thoughts: 3 }] } }).accuracy, {
      value: 0.5,
      dataset: 'd',
      thoughts: 3,
    });
  });

  it('formats counts and sizes as the rows show them', () => {
    assert.equal(fmtCount(903_744), '0.9 M');
    assert.equal(fmtCount(124_000_000), '124.0 M');
    assert.equal(fmtCount(12_345), '12.3 k');
    assert.equal(fmtCount(42), '42');
    assert.equal(fmtBytes(3_669_145), '3.5 MiB');
    assert.equal(fmtBytes(9296), '9.1 KiB');
    assert.equal(fmtBytes(12), '12 B');
  });
});

describe('Models view rows', () => {
  const shipped = { dir: '/ext/models/prosqa-coconut', label: 'prosqa-coconut', shipped: true, present: true, current: true, selectable: true };

  it('the selected shipped model: marked, with its facts, for eyes and screen readers', () => {
    const row = modelRow(shipped, modelFacts(shippedManifest, shippedCard));
    assert.equal(row.label, 'prosqa-coconut');
    // The shipped model's own measured accuracy, from its manifest.
    const acc = (shippedManifest.provenance.accuracy.find((a: { thoughts: number }) => a.thoughts === 6).value * 100).toFixed(1);
    assert.match(row.description ?? '', new RegExp(`^selected · 0\\.9 M params · 3\\.\\d MiB · ${acc} % prosqa_valid$`));
    assert.equal(row.icon, 'pass-filled');
    assert.match(
      row.ariaLabel,
      new RegExp(
        `^Model prosqa-coconut, shipped, selected, 903,744 parameters, 3\\.\\d MiB on disk, ${acc} % accuracy on prosqa_valid \\(300 records\\) with 6 thoughts$`,
      ),
    );
    assert.match(row.tooltip, /\/ext\/models\/prosqa-coconut/);
    // Selected and shipped: neither "select" nor "remove" is offered; "reveal" is.
    assert.ok(!offered('coconutLens.selectModelInView', row.contextValue));
    assert.ok(!offered('coconutLens.removeModel', row.contextValue));
    assert.ok(offered('coconutLens.revealModel', row.contextValue));
  });

  it('an added model that is not selected can be selected, revealed and removed', () => {
    const row = modelRow({ ...shipped, dir: '/m/tiny', label: 'tiny-random', shipped: false, current: false }, modelFacts(tinyManifest));
    assert.equal(row.description, '≈' + fmtCount(estimateParameters(tinyManifest.architecture)!) + ' params · ' + fmtBytes(modelFacts(tinyManifest).bytes!));
    assert.match(row.description as string, / params · \d+\.\d KiB$/);
    assert.ok(offered('coconutLens.selectModelInView', row.contextValue));
    assert.ok(offered('coconutLens.removeModel', row.contextValue));
    assert.ok(offered('coconutLens.revealModel', row.contextValue));
    assert.ok(!offered('coconutLens.selectModelInView', row.contextValue, 'coconutLens.runs'), 'model actions stay in the Models view');
  });

  it('a missing folder says so and offers only removal', () => {
    const row = modelRow({ ...shipped, dir: '/gone', label: 'gone', shipped: false, current: false, present: false, selectable: false }, {});
    assert.equal(row.description, 'missing');
    assert.equal(row.icon, 'warning');
    assert.match(row.tooltip, /no coconut\.json any more.*remove/);
    assert.ok(!offered('coconutLens.selectModelInView', row.contextValue));
    assert.ok(!offered('coconutLens.revealModel', row.contextValue));
    assert.ok(offered('coconutLens.removeModel', row.contextValue));
  });

  it('in Restricted Mode a workspace model says it needs trust', () => {
    const row = modelRow({ ...shipped, shipped: false, current: false, selectable: false }, {});
    assert.equal(row.description, 'needs a trusted workspace');
  });
});

describe('Runs view rows', () => {
  const base = { question: 'Every a is b. Is Tom a b or c?', model: 'prosqa-coconut', k: 6, answer: 'Tom b.', interventions: 0, pinned: false };
  const at = new Date(2026, 0, 2, 9, 5, 3).getTime();

  it('names the record, k, the answer and its verdict, and is a full sentence for screen readers', () => {
    const row = runRow({ ...base, runId: 3, source: 'prosqa.json, record 1', correct: true, finishedAt: at });
    assert.equal(row.label, 'prosqa.json, record 1');
    assert.equal(row.description, 'k=6 · Tom b. ✓ · 09:05:03');
    assert.equal(row.ariaLabel, 'Run 3, prosqa.json, record 1, prosqa-coconut, 6 thoughts, answer Tom b., correct, finished at 09:05:03');
    assert.equal(row.icon, 'pass');
    assert.equal(row.contextValue, 'run');
    assert.equal(row.id, 'run:3');
  });

  it('falls back to the question, and shows interventions, wrong answers and the pin', () => {
    const row = runRow({ ...base, runId: 4, correct: false, interventions: 2, pinned: true, answer: '' });
    assert.equal(row.label, base.question);
    assert.equal(row.description, 'pinned · k=6 · (empty answer) ✗ · 2 interventions');
    assert.match(row.ariaLabel, /answer empty, wrong, 2 interventions, pinned$/);
    assert.equal(row.icon, 'pinned');
    assert.equal(row.contextValue, 'run pinned');
    assert.equal(clock(at), '09:05:03');
  });

  it('shortens a long question on one line', () => {
    const row = runRow({ ...base, runId: 5, question: 'word '.repeat(40) + '\nend' });
    assert.equal(row.label.length, 48);
    assert.ok(row.label.endsWith('…') && !row.label.includes('\n'));
  });

  it('orders newest first and keeps a pinned run that is no longer listed on top', () => {
    const runs = [
      { runId: 1, finishedAt: 100 },
      { runId: 3, finishedAt: 300 },
      { runId: 2, finishedAt: 300 },
    ];
    assert.deepEqual(
      runRows(runs, undefined).map((r) => r.runId),
      [3, 2, 1],
    );
    assert.deepEqual(
      runRows(runs, { runId: 2, finishedAt: 300 }).map((r) => r.runId),
      [3, 2, 1],
      'a listed pin is not repeated',
    );
    assert.deepEqual(
      runRows([], { runId: 9, finishedAt: 0 }).map((r) => r.runId),
      [9],
    );
  });
});

describe('Examples view rows', () => {
  it('counts the records, or says why the file could not be read', () => {
    assert.equal(exampleRow({ path: '/e/prosqa.json', name: 'prosqa.json', records: 3 }).description, '3 records');
    assert.equal(exampleRow({ path: '/e/one.jsonl', name: 'one.jsonl', records: 1 }).ariaLabel, 'Example one.jsonl, 1 record');
    const bad = exampleRow({ path: '/e/bad.json', name: 'bad.json', records: { error: 'not valid JSON at line 2' } });
    assert.equal(bad.description, 'unreadable');
    assert.match(bad.tooltip, /not valid JSON at line 2/);
    assert.equal(bad.icon, 'warning');
  });
});

describe('run history for the Runs view', () => {
  const run = (runId: number, question = `q${runId}`): RunInfo =>
    ({ runId, question, k: 3, maxK: 6, model: 'm', provider: 'cpu', requestedProvider: 'auto' }) as RunInfo;
  const result = (question: string): TraceResult => ({ question, model: 'm', thoughtsRequested: 3, answer: { extracted: 'a' } }) as unknown as TraceResult;

  it('lists finished runs newest first, bounded, and finds them by id', () => {
    const h = new RunHistory();
    for (let i = 1; i <= MAX_RUNS + 5; i++) {
      const r = run(i);
      h.started({ text: r.question }, r);
      h.finished({ text: r.question }, r, result(r.question));
    }
    assert.equal(h.runs.length, MAX_RUNS);
    assert.equal(h.runs[0]!.run.runId, MAX_RUNS + 5);
    assert.equal(h.find(3), undefined, 'the oldest runs are dropped');
    assert.equal(h.find(MAX_RUNS)?.result.question, `q${MAX_RUNS}`);
  });

  it('reopening makes a run current again (rerun, pin and the hover use it); clearing keeps the pin', () => {
    const h = new RunHistory();
    const record = { uri: 'file:///x.json', index: 0 };
    const a = run(1, 'same');
    h.started({ text: 'same', record }, a);
    h.finished({ text: 'same', record }, a, result('same'));
    const b = run(2, 'other');
    h.started({ text: 'other' }, b);
    h.finished({ text: 'other' }, b, result('other'));
    assert.equal(h.currentRun(undefined)?.run.runId, 2);

    h.reopened(h.find(1)!);
    assert.equal(h.currentRun(undefined)?.run.runId, 1);
    assert.equal(h.currentRun(undefined)?.result?.question, 'same');
    assert.equal(h.last?.question, 'same');
    assert.equal(h.traceOf(record, 'same')?.run.runId, 1);

    h.pin = { label: 'b', run: b, result: result('other') };
    h.clearRuns();
    assert.equal(h.runs.length, 0);
    assert.equal(h.find(1), undefined);
    assert.equal(h.find(2)?.question.text, 'other', 'the pinned run can still be reopened');
  });
});
