// The webview's pure functions, without a browser: number and token formatting, the top-k
// divergence of the Compare tab, the dataset tab's running summary and headline, and the
// intervention editor's drafts turned into interventions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DatasetInfo, PinnedRun } from '../../src/protocol/inspector';
import type { DatasetRecordResult } from '../../src/shared/types';
import { datasetHeadline, summarise } from '../../webview/dataset-view';
import { topkDivergence } from '../../webview/divergence';
import { fmtMs, fmtNum, fmtP, sameAnswer, showToken, speakToken } from '../../webview/format';
import { buildInterventions } from '../../webview/intervention-view';

describe('webview format', () => {
  it('writes probabilities, numbers and times as the panel shows them', () => {
    assert.equal(fmtP(0.333), '0.33');
    assert.equal(fmtP(0.0042), '0.004');
    assert.equal(fmtP(0.00042), '4e-4');
    assert.equal(fmtP(0), '0');
    assert.equal(fmtP(NaN), '–');
    assert.equal(fmtNum(123.4), '123');
    assert.equal(fmtNum(12.34), '12.3');
    assert.equal(fmtNum(1.234), '1.23');
    assert.equal(fmtMs(250), '250 ms');
    assert.equal(fmtMs(2.5), '2.5 ms');
  });

  it('makes whitespace in tokens visible, and speakable', () => {
    assert.equal(showToken(' lempus'), '␣lempus');
    assert.equal(showToken(''), '∅');
    assert.equal(showToken('\n\t'), '⏎⇥');
    assert.equal(speakToken(' lempus '), 'lempus');
    assert.equal(speakToken('\n'), 'newline');
    assert.equal(speakToken(' '), 'space');
    assert.equal(speakToken(''), 'empty token');
  });

  it('compares answers as the reference scoring does (commas dropped, whitespace trimmed)', () => {
    assert.ok(sameAnswer(' Tom is a lempus.', 'Tom is a lempus. '));
    assert.ok(sameAnswer('1,000', '1000'));
    assert.ok(!sameAnswer('Tom is a lempus.', 'Tom is a wumpus.'));
  });
});

describe('webview topkDivergence', () => {
  const t = (token: string, p: number) => ({ token, id: 0, p });
  it('is 0 for the same list and ln 2 for disjoint full lists', () => {
    const a = [t('a', 0.6), t('b', 0.4)];
    assert.deepEqual(topkDivergence(a, a), { js: 0, shared: 2 });
    const d = topkDivergence([t('a', 1)], [t('b', 1)]);
    assert.ok(Math.abs(d.js - Math.log(2)) < 1e-12);
    assert.equal(d.shared, 0);
  });

  it('pools the mass outside the top-k into one bucket', () => {
    const d = topkDivergence([t('a', 0.5)], [t('a', 0.5)]);
    assert.equal(d.js, 0);
    assert.equal(d.shared, 1);
  });
});

describe('webview dataset summary', () => {
  const rec = (k: number, correct: boolean, category?: DatasetRecordResult['category']): DatasetRecordResult =>
    ({ index: 0, k, predicted: '', answer: '', correct, ...(category ? { category } : {}) }) as DatasetRecordResult;

  it('summarises the records done so far per k, with categories when the records have them', () => {
    const perK = summarise([rec(0, true, 'correct_path'), rec(0, false, 'hallucination'), rec(1, true)], [0, 1, 2]);
    assert.deepEqual(
      perK.map((s) => [s.k, s.n, s.correct, s.accuracy]),
      [
        [0, 2, 1, 0.5],
        [1, 1, 1, 1],
        [2, 0, 0, 0],
      ],
    );
    assert.equal(perK[0]!.categories?.correct_path, 1);
    assert.equal(perK[0]!.categories?.hallucination, 1);
    assert.equal(perK[1]!.categories, undefined);
  });

  it('says how far a running evaluation is, then what it measured', () => {
    const info = { file: 'valid.json', records: 3, ks: [0, 1], model: 'tiny' } as DatasetInfo;
    assert.equal(datasetHeadline(info, undefined, 4), 'valid.json: 4 of 6 runs (3 records × k = 0..1) on tiny');
    const done = datasetHeadline(info, { model: 'tiny', provider: 'cpu', seconds: 1.25, records: [{ error: 'x' }] } as never, 6);
    assert.equal(done, 'valid.json: 3 records × 2 values of k on tiny (cpu) in 1.3 s; 1 run could not be made (⚠ in the table; hover for why)');
  });
});

describe('webview buildInterventions', () => {
  it('turns drafts into interventions in thought order, skipping kept thoughts', () => {
    const previous = { label: 'run A', result: { thoughts: [{ index: 2, vector: [1, 2] }] } } as unknown as PinnedRun;
    const r = buildInterventions(
      {
        3: { kind: 'token', token: 'lempus' },
        1: { kind: 'zero' },
        2: { kind: 'keep' },
        4: { kind: 'previous', previous: 2 },
        5: { kind: 'scale', factor: '2' },
      },
      previous,
    );
    assert.equal(r.problem, undefined);
    assert.deepEqual(r.interventions, [
      { thought: 1, kind: 'zero' },
      { thought: 3, kind: 'token', token: 'lempus' },
      { thought: 4, kind: 'vector', vector: [1, 2], label: 'thought 2 of run A' },
      { thought: 5, kind: 'scale', factor: 2 },
    ]);
  });

  it('names the first draft that cannot be run', () => {
    assert.match(buildInterventions({ 1: { kind: 'scale', factor: 'x' } }, undefined).problem ?? '', /Thought 1: the scale factor must be a number/);
    assert.match(buildInterventions({ 2: { kind: 'token', token: ' ' } }, undefined).problem ?? '', /Thought 2: type the token/);
    assert.match(buildInterventions({ 1: { kind: 'previous' } }, undefined).problem ?? '', /the previous run has no thought 1/);
    assert.match(buildInterventions({ 1: { kind: 'keep' } }, undefined).problem ?? '', /Choose an edit/);
  });
});
