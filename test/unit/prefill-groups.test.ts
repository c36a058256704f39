// On the CPU a large batch prefills its prompts in groups of rows, each group one padded pass of its
// own, and writes their caches into its buffers, left-padded (BatchDecoder's prefillPassScores).
// That must not change a number beyond float rounding: the rows' outputs after the prefill and after
// passes that read the written cache agree with one padded batch pass to 1e-5 of each vector's
// scale, by row and in groups of two or three, on both fixtures (version 3 decoders with and
// without smeared keys), the traced version 1 one and the shipped model; the groups are the rows
// that fit the limit; a dataset evaluation whose batches go in groups answers exactly as record by
// record; and a cancel is seen between two groups' passes.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { InferenceSession } from 'onnxruntime-node';
import { BatchDecoder, PREFILL_PASS_SCORES, prefillGroups, type BatchPass } from '../../src/engine/batch-decoder';
import { promptWithBot } from '../../src/engine/bench/steps';
import { CoconutEngine } from '../../src/engine/engine';
import { FIXTURE, officialQuestions, rejectsCode, relDiff, ROOT, shortSampleQuestions, VALID_SET } from './helpers';

const TOL = 1e-5;
const SHIPPED = path.join(ROOT, 'models', 'prosqa-coconut');
const FIXTURE_RSC = path.join(ROOT, 'test', 'fixtures', 'tiny-model-rsc');
const FIXTURE_TRACED = path.join(ROOT, 'test', 'fixtures', 'tiny-model-traced');

/** The engine's own session: the batch decoders under test run on it, as the engine's do. */
function sessionOf(engine: CoconutEngine): InferenceSession {
  return (engine as unknown as { held: { decoder: InferenceSession } }).held.decoder;
}

/** The prefill, then three thought passes and an eot pass: every later pass reads the prompts' cache. */
async function passes(dec: BatchDecoder, prompts: number[][], eot: number): Promise<BatchPass[]> {
  const outs = [await dec.start(prompts, 8)];
  for (let t = 0; t < 3; t++) outs.push(await dec.step(outs[outs.length - 1].lastHidden));
  outs.push(await dec.step(dec.embed(new Array(prompts.length).fill(eot))));
  return outs;
}

const SHORT = shortSampleQuestions(4);
const OFFICIAL = officialQuestions(6);

for (const [name, dir, questions] of [
  ['the fixture', FIXTURE, SHORT],
  ['the traced fixture (version 1: no prefix tier, the rows land in the recent one)', FIXTURE_TRACED, SHORT],
  ['the smeared-key fixture', FIXTURE_RSC, SHORT],
  ['the shipped model', SHIPPED, OFFICIAL],
] as const) {
  describe(`prefill in groups: ${name}`, () => {
    it('gives the padded batch pass its numbers, by row and in groups, then and in the passes after', async () => {
      const engine = await CoconutEngine.load(dir, { provider: 'cpu', threads: 1 });
      try {
        const m = engine.model.manifest;
        const H = m.architecture.n_head;
        // Longest first, so a group's own pads and the batch's extra pads both occur.
        const prompts = questions.map((q) => promptWithBot(engine.model, q)).sort((a, b) => b.length - a.length);
        const lengths = prompts.map((p) => p.length);
        assert.ok(new Set(lengths).size > 1, 'the prompts must differ in length, so rows are padded');
        // Room for the two longest prompts' rows in one pass: groups of two or three rows.
        const pairs = 2 * H * lengths[0] ** 2;
        const groups = prefillGroups(lengths, H, pairs);
        assert.ok(groups.some(([a, b]) => b - a > 1) && groups.length > 1, `groups ${JSON.stringify(groups)}`);
        const session = sessionOf(engine);
        const batched = await passes(new BatchDecoder(session, m, engine.model.probe, Infinity), prompts, m.special_tokens.eot.id);
        for (const [how, limit] of [
          ['by row', 0],
          ['in groups', pairs],
        ] as const) {
          const grouped = await passes(new BatchDecoder(session, m, engine.model.probe, limit), prompts, m.special_tokens.eot.id);
          batched.forEach((b, j) => {
            assert.ok(relDiff(b.lastHidden, grouped[j].lastHidden) <= TOL, `${how}, pass ${j}: hidden ${relDiff(b.lastHidden, grouped[j].lastHidden)}`);
            assert.ok(relDiff(b.logits, grouped[j].logits) <= TOL, `${how}, pass ${j}: logits ${relDiff(b.logits, grouped[j].logits)}`);
          });
        }
      } finally {
        await engine.dispose();
      }
    });
  });
}

describe('prefill in groups: which rows go together', () => {
  it('takes consecutive rows while rows × H × (their longest)² fits, and at least one', () => {
    // H = 1 keeps the arithmetic readable: a group of r rows whose longest prompt is S holds r × S².
    assert.deepEqual(prefillGroups([2, 2, 2, 2], 1, 8), [
      [0, 2],
      [2, 4],
    ]);
    assert.deepEqual(prefillGroups([2, 2, 2], 1, 100), [[0, 3]]);
    // The longest prompt so far sizes the group: 3 rows of at most 3 are 27 > 20.
    assert.deepEqual(prefillGroups([1, 3, 1, 1], 1, 20), [
      [0, 2],
      [2, 4],
    ]);
    // A prompt past the limit on its own is a group of one; so is every row under a limit of 0.
    assert.deepEqual(prefillGroups([10, 1, 1], 1, 50), [
      [0, 1],
      [1, 3],
    ]);
    assert.deepEqual(prefillGroups([1, 1, 1], 1, 0), [
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    assert.deepEqual(prefillGroups([5, 5], 6, 2 * 6 * 25), [[0, 2]]);
    assert.deepEqual(prefillGroups([], 6, 1000), []);
  });
});

describe('prefill in groups: cancelling', () => {
  it("stops between groups: a cancel during the first group's pass runs no second one", async () => {
    const engine = await CoconutEngine.load(SHIPPED, { provider: 'cpu', threads: 1 });
    try {
      const prompts = OFFICIAL.slice(0, 4).map((q) => promptWithBot(engine.model, q));
      const session = sessionOf(engine);
      const ac = new AbortController();
      let passes = 0;
      const cancelling = new Proxy(session, {
        get: (target, key) =>
          key === 'run'
            ? async (...args: Parameters<InferenceSession['run']>) => {
                const out = await target.run(...args);
                passes++;
                ac.abort();
                return out;
              }
            : Reflect.get(target, key),
      });
      const dec = new BatchDecoder(cancelling, engine.model.manifest, engine.model.probe, 0);
      await rejectsCode(dec.start(prompts, 8, ac.signal), 'CANCELLED');
      assert.equal(passes, 1);
    } finally {
      await engine.dispose();
    }
  });
});

describe('prefill in groups: a dataset evaluation', () => {
  it('answers 40 official records in batches of 32 (prefilled in groups) exactly as record by record', async () => {
    const engine = await CoconutEngine.load(SHIPPED, { provider: 'cpu', threads: 1 });
    try {
      const valid = JSON.parse(fs.readFileSync(VALID_SET, 'utf-8')) as { question: string; answer: string }[];
      const records = valid.slice(0, 40).map((r, i) => ({ index: i, question: r.question, answer: r.answer }));
      // The first batch (the 32 shortest prompts, padded to the longest of them) must be past the
      // threshold, so that the engine prefills it in groups.
      const lengths = records.map((r) => promptWithBot(engine.model, r.question).length);
      const S = lengths.sort((x, y) => x - y)[31];
      assert.ok(32 * engine.model.manifest.architecture.n_head * S * S > PREFILL_PASS_SCORES, `S = ${S}`);
      const one = await engine.evalDataset(records, { thoughts: [0, 6], batchSize: 1 });
      const b = await engine.evalDataset(records, { thoughts: [0, 6], batchSize: 32 });
      assert.deepEqual(b.records, one.records);
    } finally {
      await engine.dispose();
    }
  });
});
