// Version 3 decoders read the cache in two tiers: a prefix no pass copies (the prompt's positions,
// and later ones once RECENT_POSITIONS have gathered) and the recent positions every pass copies
// into its present.*. Where the boundary lies must not change a number beyond float rounding: a
// run with the whole cache in the recent tier (as version 2), one with the default boundary and one
// where every pass joins the prefix at once must agree to 1e-5 of each vector's scale, with the
// same answers, on both fixtures and on the shipped trained model (whose logits reach the tens).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoconutEngine } from '../../src/engine/engine';
import { Decoder, RECENT_POSITIONS, type PassOutput } from '../../src/engine/decoder';
import { loadModelDir } from '../../src/engine/model-dir';
import { createSession } from '../../src/engine/session';
import { FIXTURE, golden, relDiff, ROOT, VALID_SET } from './helpers';

const TOL = 1e-5;
const SHIPPED = path.join(ROOT, 'models', 'prosqa-coconut');
const FIXTURE_RSC = path.join(ROOT, 'test', 'fixtures', 'tiny-model-rsc');

interface Replay {
  outs: PassOutput[];
  ids: number[];
}

async function replay(engine: CoconutEngine, question: string, k: number, maxNewTokens: number): Promise<Replay> {
  const r: Replay = { outs: [], ids: [] };
  await engine.runRaw(question, k, maxNewTokens, {
    onThought: (_j, out) => void r.outs.push(out),
    onAnswerToken: (_n, id, out) => {
      r.ids.push(id);
      r.outs.push(out);
    },
  });
  return r;
}

function worstDiff(a: Replay, b: Replay, where: string): number {
  assert.deepEqual(a.ids, b.ids, `${where}: answer ids`);
  assert.equal(a.outs.length, b.outs.length, `${where}: passes`);
  let worst = 0;
  a.outs.forEach((x, i) => {
    const y = b.outs[i];
    worst = Math.max(worst, relDiff(x.logits, y.logits), relDiff(x.lastHidden, y.lastHidden));
    x.hiddenStates.forEach((h, l) => (worst = Math.max(worst, relDiff(h, y.hiddenStates[l]))));
  });
  return worst;
}

for (const [label, dir, questions] of [
  ['fixture (learned positions)', FIXTURE, () => golden(FIXTURE).cases.map((c: any) => c.question as string)],
  ['fixture (rotary, smeared keys)', FIXTURE_RSC, () => golden(FIXTURE_RSC).cases.map((c: any) => c.question as string)],
  [
    'shipped model',
    SHIPPED,
    () =>
      JSON.parse(fs.readFileSync(VALID_SET, 'utf-8'))
        .slice(0, 6)
        .map((r: any) => r.question as string),
  ],
] as const) {
  describe(`the prefix cache moves no number: ${label}`, () => {
    const engines: Record<'single' | 'default' | 'everyPass', CoconutEngine> = {} as never;
    before(async () => {
      engines.single = await CoconutEngine.load(dir, { provider: 'cpu', threads: 1, prefixCache: false });
      engines.default = await CoconutEngine.load(dir, { provider: 'cpu', threads: 1 });
      engines.everyPass = await CoconutEngine.load(dir, { provider: 'cpu', threads: 1, prefixCache: 1 });
      // Thoughts in one call from the first run on (the loop's session is otherwise made at the second run).
      for (const e of Object.values(engines)) assert.equal(await e.prepareThoughtLoop(), true);
    });
    after(async () => {
      for (const e of Object.values(engines)) await e?.dispose();
    });

    it('gives the same thoughts, lens states and answers wherever the tier boundary lies', async () => {
      assert.equal(engines.default.model.manifest.format_version, 3, 'a version 3 export (re-export it with training/export.py)');
      let worst = 0;
      // 40 answer passes: past RECENT_POSITIONS, so the default run joins its recent tier once.
      const maxNew = RECENT_POSITIONS + 8;
      for (const [i, q] of (questions as () => string[])().entries()) {
        for (const k of [0, 3]) {
          const single = await replay(engines.single, q, k, maxNew);
          for (const name of ['default', 'everyPass'] as const) {
            worst = Math.max(worst, worstDiff(single, await replay(engines[name], q, k, maxNew), `question ${i}, k=${k}, ${name}`));
          }
        }
      }
      assert.ok(worst <= TOL, `the tiers change a number by ${worst}`);
      console.log(`${label}: max |Δ|/scale across tier boundaries ${worst.toExponential(2)} (tolerance ${TOL})`);
    });

    it('gives the same rows in a batched evaluation as record by record', async () => {
      const records = (questions as () => string[])().map((question, index) => ({ index, question, answer: 'x' }));
      const one = await engines.single.evalDataset(records, { thoughts: [0, 2], batchSize: 1 });
      const batched = await engines.default.evalDataset(records, { thoughts: [0, 2], batchSize: 4 });
      assert.deepEqual(
        batched.records.map((r) => [r.index, r.k, r.text]),
        one.records.map((r) => [r.index, r.k, r.text]),
      );
    });
  });
}

describe('where the decoder keeps its cache', () => {
  it('moves the prompt to the prefix at no cost, and later positions once RECENT_POSITIONS gathered', async () => {
    const model = await loadModelDir(FIXTURE);
    const { session } = await createSession(model.decoderPath, { provider: 'cpu', threads: 1 });
    try {
      const dec = new Decoder(session, model.manifest, model.probe);
      assert.equal(dec.hasPrefixCache, true);
      dec.recentPositions = 4;
      dec.reset();
      const prompt = dec.embed([1, 2, 3, 4, 5]);
      let out = await dec.step(prompt);
      const tiers = () => {
        const st = dec.snapshot();
        return [st.prefixLen, st.pastLen];
      };
      assert.deepEqual(tiers(), [5, 0], 'the prompt is the prefix');
      for (const want of [
        [5, 1],
        [5, 2],
        [5, 3],
        [9, 0],
        [9, 1],
      ]) {
        out = await dec.step(out.lastHidden);
        assert.deepEqual(tiers(), want);
      }
      assert.equal(dec.length, 10);
      const outs = await dec.thoughts(out.lastHidden, 3);
      assert.equal(outs.length, 3);
      assert.deepEqual(tiers(), [13, 0], 'thoughts in one call join it too once there are enough');
    } finally {
      await session.release();
    }
  });
});
