// On the CPU a large batch prefills its prompts one pass each and writes their caches into its
// buffers, left-padded (BatchDecoder's rowPrefillAbove). That must not change a number beyond float
// rounding: the rows' outputs after the prefill and after passes that read the written cache agree
// with one padded batch pass to 1e-5 of each vector's scale, on both fixtures (version 3 decoders
// with and without smeared keys), the traced version 1 one and the shipped model; a dataset
// evaluation whose batches go by row answers exactly as record by record; and a cancel is seen
// between two rows' passes.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { InferenceSession } from 'onnxruntime-node';
import { BatchDecoder, ROW_PREFILL_SCORES, type BatchPass } from '../../src/engine/batch-decoder';
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
  describe(`prefill by row: ${name}`, () => {
    it('gives the padded batch pass its numbers, then and in the passes after', async () => {
      const engine = await CoconutEngine.load(dir, { provider: 'cpu', threads: 1 });
      try {
        const m = engine.model.manifest;
        const prompts = questions.map((q) => promptWithBot(engine.model, q));
        const lengths = new Set(prompts.map((p) => p.length));
        assert.ok(lengths.size > 1, 'the prompts must differ in length, so rows are padded');
        const session = sessionOf(engine);
        const batched = await passes(new BatchDecoder(session, m, engine.model.probe, Infinity), prompts, m.special_tokens.eot.id);
        const byRow = await passes(new BatchDecoder(session, m, engine.model.probe, 0), prompts, m.special_tokens.eot.id);
        batched.forEach((b, j) => {
          assert.ok(relDiff(b.lastHidden, byRow[j].lastHidden) <= TOL, `pass ${j}: hidden ${relDiff(b.lastHidden, byRow[j].lastHidden)}`);
          assert.ok(relDiff(b.logits, byRow[j].logits) <= TOL, `pass ${j}: logits ${relDiff(b.logits, byRow[j].logits)}`);
        });
      } finally {
        await engine.dispose();
      }
    });
  });
}

describe('prefill by row: cancelling', () => {
  it("stops between rows: a cancel during the first prompt's pass runs no second one", async () => {
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

describe('prefill by row: a dataset evaluation', () => {
  it('answers 40 official records in batches of 32 (prefilled by row) exactly as record by record', async () => {
    const engine = await CoconutEngine.load(SHIPPED, { provider: 'cpu', threads: 1 });
    try {
      const valid = JSON.parse(fs.readFileSync(VALID_SET, 'utf-8')) as { question: string; answer: string }[];
      const records = valid.slice(0, 40).map((r, i) => ({ index: i, question: r.question, answer: r.answer }));
      // The first batch (the 32 shortest prompts, padded to the longest of them) must be past the
      // threshold, so that the engine prefills it by row.
      const lengths = records.map((r) => promptWithBot(engine.model, r.question).length);
      const S = lengths.sort((x, y) => x - y)[31];
      assert.ok(32 * engine.model.manifest.architecture.n_head * S * S > ROW_PREFILL_SCORES, `S = ${S}`);
      const one = await engine.evalDataset(records, { thoughts: [0, 6], batchSize: 1 });
      const b = await engine.evalDataset(records, { thoughts: [0, 6], batchSize: 32 });
      assert.deepEqual(b.records, one.records);
    } finally {
      await engine.dispose();
    }
  });
});
