// Sessions on providers that cannot take a zero-length tensor (WebGPU: the process dies) read one
// masked position where the prefix tier is empty (src/engine/empty-tensors.ts). That position must
// not move a number: on the CPU, a session marked as such a provider's gives the unmarked one's
// outputs to 1e-5 of each vector's scale, with the same greedy tokens, for one-by-one passes (the
// prefix empty at every pass, and only at the prompt's), thoughts in one call and batched passes,
// on both version 3 fixtures (learned positions; rotary with smeared keys, whose previous-key
// scores must not reach the masked position) and the shipped model. Each marked run is checked to
// have fed the masked position, so the comparison cannot pass by never taking that path. A whole
// decoder file (its loop kept: too large for a copy without it) runs on such a session too.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { InferenceSession } from 'onnxruntime-node';
import { BatchDecoder, type BatchPass } from '../../src/engine/batch-decoder';
import { promptWithBot } from '../../src/engine/bench/steps';
import { argmax } from '../../src/engine/decode';
import { Decoder, type PassOutput } from '../../src/engine/decoder';
import { prefixKey } from '../../src/engine/decoder-io';
import { markNoEmptyTensors, needsMaskedPrefix, prependMaskedColumn } from '../../src/engine/empty-tensors';
import { CoconutEngine } from '../../src/engine/engine';
import { createSession } from '../../src/engine/session';
import { FIXTURE, officialQuestions, relDiff, ROOT, shortSampleQuestions } from './helpers';

const TOL = 1e-5;
const SHIPPED = path.join(ROOT, 'models', 'prosqa-coconut');
const FIXTURE_RSC = path.join(ROOT, 'test', 'fixtures', 'tiny-model-rsc');
const SHORT = shortSampleQuestions(3);
const OFFICIAL = officialQuestions(3);

interface Held {
  decoder: InferenceSession;
  loop?: { ready: InferenceSession | undefined };
}
function held(engine: CoconutEngine): Held {
  return (engine as unknown as { held: Held }).held;
}

/** The same session under another identity, marked, counting the passes that fed a masked prefix position. */
function marked(session: InferenceSession): { session: InferenceSession; maskedPasses: () => number } {
  let n = 0;
  const proxy = new Proxy(session, {
    get: (target, key) =>
      key === 'run'
        ? (feeds: Record<string, { dims: readonly number[] }>, ...rest: unknown[]) => {
            if (feeds[prefixKey(0)]?.dims[2] === 1 && (feeds.attention_mask as unknown as { data: BigInt64Array }).data[0] === 0n) n++;
            return (target.run as (...a: unknown[]) => unknown)(feeds, ...rest);
          }
        : Reflect.get(target, key),
  });
  return { session: markNoEmptyTensors(proxy), maskedPasses: () => n };
}

/** Prompt, three thoughts one by one, eot, then four greedy tokens. */
async function oneByOne(dec: Decoder, prompt: number[], eot: number): Promise<{ outs: PassOutput[]; ids: number[] }> {
  dec.reset();
  const outs = [await dec.step(dec.embed(prompt))];
  for (let t = 0; t < 3; t++) outs.push(await dec.step(outs[outs.length - 1].lastHidden));
  outs.push(await dec.step(dec.embed([eot])));
  const ids: number[] = [];
  for (let t = 0; t < 4; t++) {
    ids.push(argmax(outs[outs.length - 1].logits));
    outs.push(await dec.step(dec.embed([ids[ids.length - 1]])));
  }
  return { outs, ids };
}

function worst(a: PassOutput[], b: PassOutput[]): number {
  assert.equal(a.length, b.length);
  let w = 0;
  a.forEach((x, i) => {
    w = Math.max(w, relDiff(x.logits, b[i].logits), relDiff(x.lastHidden, b[i].lastHidden));
    x.hiddenStates.forEach((h, l) => (w = Math.max(w, relDiff(h, b[i].hiddenStates[l]))));
  });
  return w;
}

async function batchPasses(dec: BatchDecoder, prompts: number[][], eot: number): Promise<BatchPass[]> {
  const outs = [await dec.start(prompts, 8)];
  for (let t = 0; t < 3; t++) outs.push(await dec.step(outs[outs.length - 1].lastHidden));
  outs.push(await dec.step(dec.embed(new Array(prompts.length).fill(eot))));
  return outs;
}

describe('masked prefix: the seam', () => {
  it('marks only the sessions it is given, and puts a 0 in front of every mask row', () => {
    const a = {} as InferenceSession;
    const b = {} as InferenceSession;
    markNoEmptyTensors(a);
    assert.equal(needsMaskedPrefix(a), true);
    assert.equal(needsMaskedPrefix(b), false);
    assert.deepEqual([...prependMaskedColumn(BigInt64Array.from([1n, 1n, 0n, 1n]), 2, 2)], [0n, 1n, 1n, 0n, 0n, 1n]);
  });
});

for (const [name, dir, questions] of [
  ['the fixture', FIXTURE, SHORT],
  ['the smeared-key fixture', FIXTURE_RSC, SHORT],
  ['the shipped model', SHIPPED, OFFICIAL],
] as const) {
  describe(`masked prefix: ${name}`, () => {
    it('moves no number and no token: passes one by one, thoughts in one call, batches', async () => {
      const engine = await CoconutEngine.load(dir, { provider: 'cpu', threads: 1 });
      try {
        assert.equal(await engine.prepareThoughtLoop(), true);
        const h = held(engine);
        const m = engine.model.manifest;
        const eot = m.special_tokens.eot.id;
        const plain = h.decoder;
        const loop = h.loop?.ready ?? plain;
        const gpuLike = marked(plain);
        const gpuLikeLoop = loop === plain ? gpuLike : marked(loop);
        const prompts = questions.map((q) => promptWithBot(engine.model, q));
        let w = 0;
        for (const recent of [Infinity, undefined]) {
          const a = new Decoder(plain, m, engine.model.probe, () => loop);
          const b = new Decoder(gpuLike.session, m, engine.model.probe, () => gpuLikeLoop.session);
          if (recent !== undefined) a.recentPositions = b.recentPositions = recent;
          for (const p of prompts) {
            const x = await oneByOne(a, p, eot);
            const y = await oneByOne(b, p, eot);
            assert.deepEqual(y.ids, x.ids, 'greedy tokens');
            w = Math.max(w, worst(x.outs, y.outs));
            // Thoughts in one call, fed right after the prompt's pass.
            a.reset();
            b.reset();
            const first = (await a.step(a.embed(p))).lastHidden;
            w = Math.max(w, relDiff(first, (await b.step(b.embed(p))).lastHidden));
            w = Math.max(w, worst(await a.thoughts(first, 3), await b.thoughts(first, 3)));
          }
        }
        const before = gpuLike.maskedPasses();
        // The prompt's pass of every sequence, and every pass while nothing joins the prefix.
        assert.ok(before >= prompts.length * 2 + prompts.length * 10, `masked passes: ${before}`);
        const x = await batchPasses(new BatchDecoder(plain, m, engine.model.probe, Infinity), prompts, eot);
        const y = await batchPasses(new BatchDecoder(gpuLike.session, m, engine.model.probe, Infinity), prompts, eot);
        assert.equal(gpuLike.maskedPasses(), before + 1, 'the batch prompts pass fed the masked position, and only it');
        x.forEach((p, j) => (w = Math.max(w, relDiff(p.logits, y[j].logits), relDiff(p.lastHidden, y[j].lastHidden))));
        // A decoder too large for a copy without its loop runs plain passes on the whole file: such a
        // session still takes thought_steps, though its loop goes unused there (empty-tensors.ts).
        const whole = (await createSession(engine.model.decoderPath, { provider: 'cpu', threads: 1 })).session;
        try {
          const a = new Decoder(whole, m, engine.model.probe);
          const wholeLike = marked(whole);
          const b = new Decoder(wholeLike.session, m, engine.model.probe);
          assert.equal(a.usesOneCall, true);
          assert.equal(b.usesOneCall, false, 'no thoughts in one call where the provider cannot take empty tensors');
          for (const p of prompts) {
            const x = await oneByOne(a, p, eot);
            const y = await oneByOne(b, p, eot);
            assert.deepEqual(y.ids, x.ids, 'greedy tokens (whole file)');
            w = Math.max(w, worst(x.outs, y.outs));
          }
          assert.ok(wholeLike.maskedPasses() >= prompts.length);
        } finally {
          await whole.release();
        }
        assert.ok(w <= TOL, `the masked position moves a number by ${w}`);
        console.log(`${name}: max |Δ|/scale with the masked prefix ${w.toExponential(2)} (tolerance ${TOL})`);
      } finally {
        await engine.dispose();
      }
    });
  });
}
