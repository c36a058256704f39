// A plain run's thoughts go through the graph's thought loop in one call (Decoder.thoughts); runs
// with interventions or branches feed one thought per pass. Both paths must give the same numbers
// (to 1e-5) on the fixtures and on the shipped trained model, whose sharp attention is where float
// differences would show. A decoder exported before the loop existed (every position out, no
// thought_steps input) must still run, one pass per thought.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoconutEngine } from '../../src/engine/engine';
import type { PassOutput } from '../../src/engine/decoder';
import { FIXTURE, golden, maxAbsDiff, ROOT, VALID_SET } from './helpers';

const TOL = 1e-5;
const SHIPPED = path.join(ROOT, 'models', 'prosqa-coconut');
const FIXTURE_RSC = path.join(ROOT, 'test', 'fixtures', 'tiny-model-rsc');
const TRACED = path.join(ROOT, 'test', 'fixtures', 'tiny-model-traced');

interface Replay {
  thoughts: PassOutput[];
  answer: PassOutput[];
  ids: number[];
}

async function replay(engine: CoconutEngine, question: string, k: number): Promise<Replay> {
  const r: Replay = { thoughts: [], answer: [], ids: [] };
  await engine.runRaw(question, k, 8, {
    onThought: (_j, out) => void r.thoughts.push(out),
    onAnswerToken: (_n, id, out) => {
      r.ids.push(id);
      r.answer.push(out);
    },
  });
  return r;
}

function assertSame(a: Replay, b: Replay, where: string): number {
  let worst = 0;
  assert.equal(a.thoughts.length, b.thoughts.length, `${where}: thoughts`);
  assert.deepEqual(a.ids, b.ids, `${where}: answer ids`);
  const both = [...a.thoughts.map((t, i) => [t, b.thoughts[i]]), ...a.answer.map((t, i) => [t, b.answer[i]])];
  for (const [x, y] of both) {
    worst = Math.max(worst, maxAbsDiff(x.logits, y.logits), maxAbsDiff(x.lastHidden, y.lastHidden));
    x.hiddenStates.forEach((h, l) => (worst = Math.max(worst, maxAbsDiff(h, y.hiddenStates[l]))));
  }
  assert.ok(worst <= TOL, `${where}: the two paths differ by ${worst}`);
  return worst;
}

for (const [label, dir, questions] of [
  ['fixture (learned positions)', FIXTURE, () => golden(FIXTURE).cases.map((c: any) => c.question)],
  ['fixture (rotary, smeared keys)', FIXTURE_RSC, () => golden(FIXTURE_RSC).cases.map((c: any) => c.question)],
  [
    'shipped model',
    SHIPPED,
    () =>
      JSON.parse(fs.readFileSync(VALID_SET, 'utf-8'))
        .slice(0, 8)
        .map((r: any) => r.question),
  ],
] as const) {
  describe(`thoughts in one call = one pass per thought: ${label}`, () => {
    let oneCall: CoconutEngine;
    let stepwise: CoconutEngine;
    before(async () => {
      oneCall = await CoconutEngine.load(dir, { provider: 'cpu', threads: 1 });
      await oneCall.prepareThoughtLoop(); // made at the second run otherwise (loop-session.ts)
      stepwise = await CoconutEngine.load(dir, { provider: 'cpu', threads: 1, thoughtsInOneCall: false });
    });
    after(async () => {
      await oneCall?.dispose();
      await stepwise?.dispose();
    });

    it('takes the one-call path only where asked', () => {
      assert.equal(oneCall.thoughtsInOneCall, true);
      assert.equal(oneCall.thoughtsInOneCallReady, true);
      assert.equal(stepwise.thoughtsInOneCall, false);
      assert.equal(stepwise.thoughtsInOneCallReady, false);
    });

    it('gives the same thoughts, lens states and answers for k = 1, 3 and the default', async () => {
      let worst = 0;
      const qs = (questions as () => string[])();
      for (const k of [1, 3, oneCall.model.manifest.thoughts.default]) {
        for (const [i, q] of qs.entries()) {
          worst = Math.max(worst, assertSame(await replay(oneCall, q, k), await replay(stepwise, q, k), `question ${i}, k=${k}`));
        }
      }
      console.log(`${label}: max |Δ| between the two paths ${worst.toExponential(2)} (tolerance ${TOL})`);
    });

    it('a dataset evaluation at several k (stretches of thoughts between branches) gives the same rows', async () => {
      const records = (questions as () => string[])().map((question, index) => ({ index, question, answer: 'x' }));
      const a = await oneCall.evalDataset(records, { thoughts: [0, 2, 5], batchSize: 1 });
      const b = await stepwise.evalDataset(records, { thoughts: [0, 2, 5], batchSize: 1 });
      assert.deepEqual(
        a.records.map((r) => [r.index, r.k, r.text]),
        b.records.map((r) => [r.index, r.k, r.text]),
      );
    });

    it('inspect gives the same traces either way, and an intervention takes the pass-per-thought path', async () => {
      const q = (questions as () => string[])()[0];
      const a = await oneCall.inspect({ question: q });
      const b = await stepwise.inspect({ question: q });
      assert.deepEqual(
        a.thoughts.map((t) => t.topk.map((x) => x.id)),
        b.thoughts.map((t) => t.topk.map((x) => x.id)),
      );
      assert.deepEqual(a.answer.text, b.answer.text);
      a.thoughts.forEach((t, i) => assert.ok(maxAbsDiff(t.vector, b.thoughts[i].vector) <= TOL, `thought ${i + 1} vector`));
      // An intervention on thought 2 changes what is fed: both engines must agree on its effect.
      const req = { question: q, interventions: [{ thought: 2, kind: 'zero' as const }] };
      const ia = await oneCall.inspect(req);
      const ib = await stepwise.inspect(req);
      assert.deepEqual(
        ia.thoughts.map((t) => t.topk[0].id),
        ib.thoughts.map((t) => t.topk[0].id),
      );
      assert.ok(maxAbsDiff(ia.thoughts[2].vector, ib.thoughts[2].vector) <= TOL, 'thought 3 after the intervention');
    });
  });
}

describe('a decoder exported before the thought loop (every position out, no thought_steps)', () => {
  it('loads, runs one pass per thought, and still matches its golden file', async () => {
    const engine = await CoconutEngine.load(TRACED, { provider: 'cpu', threads: 1 });
    try {
      assert.equal(engine.thoughtsInOneCall, false);
      const g = golden(TRACED);
      for (const c of g.cases) {
        const r = await replay(engine, c.question, c.k);
        assert.equal(r.thoughts.length, c.thoughts.length);
        c.thoughts.forEach((t: any, j: number) => assert.ok(maxAbsDiff(r.thoughts[j].logits, t.logits) <= 1e-4, `thought ${t.index} logits`));
        assert.deepEqual(r.ids, c.answer_ids);
      }
    } finally {
      await engine.dispose();
    }
  });
});
