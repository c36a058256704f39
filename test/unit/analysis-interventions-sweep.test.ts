// Interventions and the k sweep on the fixture model, each checked against an independent
// computation: interventions against runs fed by hand, the sweep against separate inspects.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnalysisProgress } from '../../src/shared/types';
import { scoreText } from '../../src/engine/answer';
import { rejectsCode } from './helpers';
import { D, Q, REC, SAMPLE, sumLog, useAnalysisFixture, concat } from './analysis-fixture';

const fx = useAnalysisFixture();

describe('interventions', () => {
  it('zero: the thought fed back is zero, and the rest equals a run fed zeros by hand', async () => {
    const r = await fx.engine.inspect({ question: Q, thoughts: 4, topK: 5, interventions: [{ thought: 2, kind: 'zero' }] });
    const t2 = r.thoughts[1];
    assert.deepEqual(t2.vector, new Array(D).fill(0));
    assert.equal(t2.norm, 0);
    assert.equal(t2.intervened?.kind, 'zero');
    assert.ok(t2.intervened!.originalNorm > 0);
    // The decode of a zero vector: uniform over the vocabulary.
    assert.ok(t2.topk.every((x) => Math.abs(x.p - 1 / 69) < 1e-12));
    assert.deepEqual(r.interventions, [{ thought: 2, kind: 'zero' }]);

    const fedByHand: Float32Array[] = [];
    const byHand: number[] = [];
    const raw = await fx.engine.runRaw(Q, 4, 8, {
      feed: (j, out) => (j === 2 ? new Float32Array(D) : out.lastHidden),
      onThought: (_j, out, fed) => fedByHand.push(fed),
      onAnswerToken: (_n, id) => byHand.push(id),
    });
    assert.deepEqual(
      r.thoughts.map((t) => t.vector),
      fedByHand.map((v) => Array.from(v)),
    );
    assert.deepEqual(
      r.answer.tokens.map((t) => t.id),
      raw.answerIds,
    );

    // Thought 3 against a full forward over [prompt, bot, thought 1, 0]: the zero really went in.
    const full = await fx.forward(concat(fx.prefix(r), r.thoughts[0].vector, new Float32Array(D)));
    full.lastHidden.forEach((v, i) => assert.ok(Math.abs(v - r.thoughts[2].vector[i]) < 1e-5));
  });

  it('scale 1.0 is exactly no intervention', async () => {
    const plain = await fx.engine.inspect({ question: Q, thoughts: 4, topK: 5 });
    const scaled = await fx.engine.inspect({
      question: Q,
      thoughts: 4,
      topK: 5,
      interventions: [
        { thought: 1, kind: 'scale', factor: 1 },
        { thought: 3, kind: 'scale', factor: 1 },
      ],
    });
    assert.deepEqual(
      scaled.thoughts.map((t) => t.vector),
      plain.thoughts.map((t) => t.vector),
    );
    assert.deepEqual(
      scaled.thoughts.map((t) => t.topk),
      plain.thoughts.map((t) => t.topk),
    );
    assert.deepEqual(scaled.answer.tokens, plain.answer.tokens);
    assert.equal(scaled.thoughts[2].intervened?.factor, 1);
    const half = await fx.engine.inspect({ question: Q, thoughts: 4, interventions: [{ thought: 2, kind: 'scale', factor: 0.5 }] });
    half.thoughts[1].vector.forEach((v, i) => assert.equal(v, Math.fround(plain.thoughts[1].vector[i] * 0.5)));
    assert.ok(Math.abs(half.thoughts[1].norm - plain.thoughts[1].norm / 2) < 1e-5);
  });

  it("token: the thought becomes that token's input embedding", async () => {
    const id = fx.model.tokenizer.idOf('lempus')!;
    const row = Array.from(fx.model.probe.wte.subarray(id * D, (id + 1) * D));
    const r = await fx.engine.inspect({ question: Q, thoughts: 3, topK: 5, interventions: [{ thought: 3, kind: 'token', token: 'lempus' }] });
    const t3 = r.thoughts[2];
    assert.deepEqual(t3.vector, row);
    assert.equal(t3.nearest[0].token, 'lempus');
    assert.ok(Math.abs(t3.nearest[0].cosine - 1) < 1e-9);
    assert.deepEqual(
      { kind: t3.intervened?.kind, token: t3.intervened?.token, tokenId: t3.intervened?.tokenId },
      { kind: 'token', token: 'lempus', tokenId: id },
    );
    const byHand: number[] = [];
    await fx.engine.runRaw(Q, 3, 8, {
      feed: (j, out) => (j === 3 ? Float32Array.from(row) : out.lastHidden),
      onAnswerToken: (_n, tok) => byHand.push(tok),
    });
    assert.deepEqual(
      r.answer.tokens.map((t) => t.id),
      byHand.filter((x) => x !== 0),
    );
  });

  it('vector: a thought of another run fed in, of length n_embd only', async () => {
    const other = await fx.engine.inspect({ question: SAMPLE[1].question, thoughts: 2 });
    const r = await fx.engine.inspect({
      question: Q,
      thoughts: 2,
      interventions: [{ thought: 1, kind: 'vector', vector: other.thoughts[1].vector, label: 'other#2' }],
    });
    assert.deepEqual(r.thoughts[0].vector, other.thoughts[1].vector);
    assert.equal(r.thoughts[0].intervened?.label, 'other#2');
    // A typed array is accepted, and the result records it as plain numbers (JSON-safe).
    const typed = await fx.engine.inspect({
      question: Q,
      thoughts: 2,
      interventions: [{ thought: 1, kind: 'vector', vector: Float32Array.from(other.thoughts[1].vector) as unknown as number[] }],
    });
    assert.deepEqual(
      typed.thoughts.map((t) => t.vector),
      r.thoughts.map((t) => t.vector),
    );
    assert.ok(Array.isArray((typed.interventions![0] as { vector: number[] }).vector));
    const e = await rejectsCode(
      fx.engine.inspect({ question: Q, thoughts: 2, interventions: [{ thought: 1, kind: 'vector', vector: [1, 2, 3] }] }),
      'BAD_OPTION',
    );
    assert.match(e.message, /the vector has 3 entries, but the model's thoughts have n_embd = 32/);
    await rejectsCode(
      fx.engine.inspect({ question: Q, thoughts: 2, interventions: [{ thought: 1, kind: 'vector', vector: new Array(32).fill(NaN) }] }),
      'BAD_OPTION',
    );
  });

  it('refuses thoughts that do not exist, unknown tokens, duplicates and bad factors', async () => {
    const e = await rejectsCode(fx.engine.inspect({ question: Q, thoughts: 6, interventions: [{ thought: 9, kind: 'zero' }] }), 'THOUGHTS_RANGE');
    assert.equal(e.message, 'thought 9 does not exist: this run has 6 thoughts');
    assert.match(e.fix, /from 1 to 6/);
    await rejectsCode(fx.engine.inspect({ question: Q, thoughts: 6, interventions: [{ thought: 0, kind: 'zero' }] }), 'THOUGHTS_RANGE');
    const none = await rejectsCode(fx.engine.inspect({ question: Q, thoughts: 0, interventions: [{ thought: 1, kind: 'zero' }] }), 'THOUGHTS_RANGE');
    assert.match(none.message, /this run has no thoughts/);
    const oov = await rejectsCode(
      fx.engine.inspect({ question: Q, thoughts: 2, interventions: [{ thought: 1, kind: 'token', token: 'lempuss' }] }),
      'PROMPT_OOV',
    );
    assert.match(oov.message, /"lempuss" is not a token of the model's vocabulary \(did you mean "lempus"\?\)/);
    await rejectsCode(
      fx.engine.inspect({
        question: Q,
        thoughts: 2,
        interventions: [
          { thought: 1, kind: 'zero' },
          { thought: 1, kind: 'zero' },
        ],
      }),
      'BAD_OPTION',
    );
    await rejectsCode(fx.engine.inspect({ question: Q, thoughts: 2, interventions: [{ thought: 1, kind: 'scale', factor: Infinity }] }), 'BAD_OPTION');
    await rejectsCode(fx.engine.inspect({ question: Q, thoughts: 2, interventions: [{ thought: 1, kind: 'blur' } as any] }), 'BAD_OPTION');
  });

  it('intervene(): original and intervened runs with per-thought divergence', async () => {
    const progress: AnalysisProgress[] = [];
    const r = await fx.engine.intervene({ question: Q, thoughts: 4, interventions: [{ thought: 2, kind: 'zero' }] }, { onProgress: (p) => progress.push(p) });
    const plain = await fx.engine.inspect({ question: Q, thoughts: 4 });
    assert.deepEqual(
      r.original.thoughts.map((t) => t.vector),
      plain.thoughts.map((t) => t.vector),
    );
    assert.equal(r.original.answer.text, plain.answer.text);
    assert.equal(r.original.thoughts[1].intervened, undefined);
    assert.equal(r.intervened.thoughts[1].intervened?.kind, 'zero');
    assert.deepEqual(
      r.divergence.map((d) => d.thought),
      [1, 2, 3, 4],
    );
    assert.deepEqual([r.divergence[0].kl, r.divergence[0].js], [0, 0], 'thought 1 comes before the intervention');
    for (const d of r.divergence.slice(1)) {
      assert.ok(d.kl > 0 && d.js > 0 && d.js <= Math.log(2) + 1e-12, JSON.stringify(d));
    }
    // KL(P || uniform) = log V - H(P) for the zeroed thought.
    assert.ok(Math.abs(r.divergence[1].kl - (Math.log(69) - plain.thoughts[1].entropy)) < 1e-9);
    assert.deepEqual(
      progress.map((p) => [p.task, p.done, p.total]),
      [
        ['intervene', 1, 2],
        ['intervene', 2, 2],
      ],
    );
    await rejectsCode(fx.engine.intervene({ question: Q, thoughts: 4, interventions: [] }), 'BAD_OPTION');
  });
});

describe('k sweep', () => {
  it('equals separate inspects at each k, with fewer forward passes', async () => {
    const progress: AnalysisProgress[] = [];
    const s = await fx.engine.sweep({ question: Q }, { from: 0, to: 5, expected: REC.answer, onProgress: (p) => progress.push(p) });
    assert.deepEqual(
      s.points.map((p) => p.k),
      [0, 1, 2, 3, 4, 5],
    );
    for (const p of s.points) {
      const r = await fx.engine.inspect({ question: Q, thoughts: p.k });
      assert.equal(p.answerText, r.answer.text, `k=${p.k}`);
      assert.equal(p.extracted, r.answer.extracted);
      assert.deepEqual(
        p.tokens.map((t) => t.id),
        r.answer.tokens.map((t) => t.id),
      );
      assert.equal(p.stoppedBy, r.answer.stoppedBy);
      assert.ok(Math.abs(p.answerLogProb - sumLog(r)) < 1e-5, `k=${p.k}: ${p.answerLogProb} vs ${sumLog(r)}`);
      assert.ok(Math.abs(p.answerProb - Math.exp(p.answerLogProb)) < 1e-15);
      assert.equal(p.correct, scoreText(r.answer.text, REC.answer, '#'));
    }
    assert.ok(s.passes! < s.naivePasses!, `${s.passes} < ${s.naivePasses}`);
    // 1 prefill + 5 thoughts + each branch's answer passes; naive adds a prefill and k thoughts per k.
    assert.equal(s.naivePasses! - s.passes!, 5 + [0, 1, 2, 3, 4, 5].reduce((a, k) => a + k, 0) - 5);
    assert.deepEqual(
      progress.map((p) => p.done),
      [1, 2, 3, 4, 5, 6],
    );
    assert.ok(progress.every((p) => p.task === 'sweep' && p.total === 6 && p.point));
  });

  it('defaults to 0..thoughts.max, takes a sub-range, and applies interventions from their thought on', async () => {
    const all = await fx.engine.sweep({ question: Q, maxNewTokens: 2 });
    assert.deepEqual(
      all.points.map((p) => p.k),
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.ok(all.points.every((p) => p.correct === undefined && p.tokens.length <= 2));
    const part = await fx.engine.sweep({ question: Q, maxNewTokens: 2 }, { from: 3, to: 4 });
    assert.deepEqual(part.points, all.points.slice(3, 5));
    const iv = await fx.engine.sweep({ question: Q, interventions: [{ thought: 2, kind: 'zero' }] }, { from: 1, to: 3 });
    const ref = await fx.engine.inspect({ question: Q, thoughts: 3, interventions: [{ thought: 2, kind: 'zero' }] });
    assert.equal(iv.points[2].answerText, ref.answer.text);
    assert.equal(iv.points[0].answerText, (await fx.engine.inspect({ question: Q, thoughts: 1 })).answer.text);
  });

  it('rejects bad ranges and cancels between passes', async () => {
    const e = await rejectsCode(fx.engine.sweep({ question: Q }, { to: 9 }), 'THOUGHTS_RANGE');
    assert.match(e.message, /sweep to = 9 is out of range: tiny-random allows 0 to 8/);
    await rejectsCode(fx.engine.sweep({ question: Q }, { from: 3, to: 2 }), 'BAD_OPTION');
    await rejectsCode(fx.engine.sweep({ question: Q, interventions: [{ thought: 5, kind: 'zero' }] }, { to: 4 }), 'THOUGHTS_RANGE');
    const ac = new AbortController();
    let seen = 0;
    await rejectsCode(fx.engine.sweep({ question: Q }, { signal: ac.signal, onProgress: () => (++seen === 2 ? ac.abort() : undefined) }), 'CANCELLED');
    assert.equal(seen, 2);
    assert.equal((await fx.engine.sweep({ question: Q }, { from: 1, to: 1 })).points.length, 1);
  });
});
