import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoconutEngine, extractAnswer, answersMatch } from '../../src/engine/engine';
import type { EngineError } from '../../src/engine/errors';
import type { InspectProgress, InspectRequest } from '../../src/shared/types';
import { FIXTURE, golden, rejectsCode } from './helpers';

let engine: CoconutEngine;
const g = golden();
const Q = g.cases[1].question as string;

before(async () => {
  engine = await CoconutEngine.load(FIXTURE, { provider: 'cpu', threads: 1 });
});
after(async () => {
  await engine.dispose();
});

describe('CoconutEngine', () => {
  it('describes the loaded model', () => {
    assert.equal(engine.info.name, 'tiny-random');
    assert.equal(engine.info.provider, 'cpu');
    assert.equal(engine.info.providerNotice, undefined);
    assert.deepEqual(engine.info.thoughts, { default: 3, max: 8, per_step: 1 });
    assert.equal(engine.info.threads, 1);
  });

  it('inspects: k thoughts, consistent decoding, the golden answer', async () => {
    const c = g.cases.find((x: any) => x.k === 3);
    const r = await engine.inspect({ question: c.question, thoughts: 3, topK: 5 });
    assert.equal(r.thoughts.length, 3);
    assert.deepEqual(
      r.promptTokens.map((t) => t.id),
      c.input_ids.slice(0, -1),
    );
    assert.equal(r.thoughtsRequested, 3);
    for (const t of r.thoughts) {
      assert.equal(t.topk.length, 5);
      assert.equal(t.nearest.length, 5);
      assert.equal(t.vector.length, 32);
      const norm = Math.sqrt(t.vector.reduce((s, v) => s + v * v, 0));
      assert.ok(Math.abs(norm - t.norm) < 1e-9);
      assert.ok(t.entropy > 0 && t.entropy <= Math.log(69) + 1e-9);
      for (let i = 1; i < t.topk.length; i++) assert.ok(t.topk[i - 1].p >= t.topk[i].p);
      // The logit lens at the last layer is ln_f(h_L) · wteᵀ, i.e. the LM head itself.
      const last = t.lens[t.lens.length - 1];
      assert.equal(t.lens.length, 2);
      assert.deepEqual(
        last.top.map((x) => x.id),
        t.topk.map((x) => x.id),
      );
      last.top.forEach((x, i) => assert.ok(Math.abs(x.p - t.topk[i].p) < 1e-5));
    }
    const want = c.stopped_by === 'eos' ? c.answer_ids.slice(0, -1) : c.answer_ids;
    assert.deepEqual(
      r.answer.tokens.map((t) => t.id),
      want,
    );
    assert.equal(r.answer.text, c.answer_text);
    assert.equal(r.answer.stoppedBy, c.stopped_by);
    assert.ok(r.timings.totalMs > 0 && r.timings.prefillMs > 0);
  });

  it('reports the exact probability of watched words under each thought (softmax of the golden logits)', async () => {
    const c = g.cases.find((x: any) => x.k === 3);
    const words = ['lempus', 'Tom', 'is', 'Zed'];
    const r = await engine.inspect({ question: c.question, thoughts: 3, topK: 3, watch: words });
    for (const [j, t] of r.thoughts.entries()) {
      const logits: number[] = c.thoughts[j].logits;
      const max = Math.max(...logits);
      const z = logits.reduce((s, x) => s + Math.exp(x - max), 0);
      assert.deepEqual(
        t.watched!.map((w) => w.word),
        words,
      );
      for (const w of t.watched!) {
        if (w.word === 'Zed') {
          assert.deepEqual({ id: w.id, p: w.p, tokens: w.tokens }, { id: null, p: null, tokens: 0 }, 'an unknown word is reported, not dropped');
          continue;
        }
        assert.equal(w.tokens, 1);
        assert.ok(Math.abs(w.p! - Math.exp(logits[w.id!] - max) / z) < 1e-6, `thought ${t.index} ${w.word}`);
      }
    }
    await rejectsCode(engine.inspect({ question: Q, watch: [''] as string[] }), 'BAD_OPTION');
  });

  it('leaves the logit lens out on request', async () => {
    const r = await engine.inspect({ question: Q, thoughts: 2, lens: false });
    assert.deepEqual(
      r.thoughts.map((t) => t.lens),
      [[], []],
    );
    const withLens = await engine.inspect({ question: Q, thoughts: 2, lensTopK: 3 });
    assert.ok(withLens.thoughts.every((t) => t.lens.length === 2 && t.lens.every((c) => c.top.length === 3)));
  });

  it('defaults k to the manifest and allows k = 0', async () => {
    const r = await engine.inspect({ question: Q });
    assert.equal(r.thoughts.length, 3);
    const r0 = await engine.inspect({ question: Q, thoughts: 0 });
    assert.equal(r0.thoughts.length, 0);
  });

  it('rejects k outside [0, thoughts.max] with THOUGHTS_RANGE', async () => {
    const e = await rejectsCode(engine.inspect({ question: Q, thoughts: 9 }), 'THOUGHTS_RANGE');
    assert.match(e.message, /9 thoughts is out of range: tiny-random allows 0 to 8/);
    assert.match(e.fix, /between 0 and 8/);
    await rejectsCode(engine.inspect({ question: Q, thoughts: -1 }), 'THOUGHTS_RANGE');
    await rejectsCode(engine.inspect({ question: Q, thoughts: 1.5 }), 'THOUGHTS_RANGE');
  });

  it('rejects a prompt that does not fit n_positions, saying how long and the limit', async () => {
    const long = 'Every lempus is a zumpus. '.repeat(45) + 'Is Tom a zumpus or rempus?';
    const n = engine.tokenizer.encode(long + '\n').ids.length;
    const e = await rejectsCode(engine.inspect({ question: long, thoughts: 3 }), 'PROMPT_TOO_LONG');
    assert.match(e.message, new RegExp(`the prompt is too long: ${n} tokens`));
    assert.match(e.message, new RegExp(`needs ${n + 1 + 3 + 1 + 8} positions, but the model's context \\(n_positions\\) is 256`));
    assert.match(e.fix, /shorten the question to at most 243 tokens/);
    // Exactly at the limit is fine: prompt + bot + k + eot + max_new_tokens = 256.
    const fits = 'Every lempus is a zumpus. '.repeat(39) + 'Is Tom a zumpus or rempus?';
    const m = engine.tokenizer.encode(fits + '\n').ids.length;
    const k = 256 - (m + 1 + 1 + 8);
    assert.ok(k >= 0 && k <= 8, `k=${k}`);
    const r = await engine.inspect({ question: fits, thoughts: k });
    assert.equal(r.thoughts.length, k);
  });

  it('rejects empty questions, unknown words and bad options', async () => {
    await rejectsCode(engine.inspect({ question: '  ' }), 'PROMPT_EMPTY');
    await rejectsCode(engine.inspect({ question: 'Is Zed a lempus?' }), 'PROMPT_OOV');
    await rejectsCode(engine.inspect({ question: Q, topK: 0 }), 'BAD_OPTION');
    await rejectsCode(engine.inspect({ question: Q, maxNewTokens: 0 }), 'BAD_OPTION');
  });

  it('reports progress per pass and streams each thought', async () => {
    const seen: InspectProgress[] = [];
    const r = await engine.inspect({ question: Q, thoughts: 4, maxNewTokens: 3 }, undefined, { onProgress: (p) => seen.push(p) });
    assert.equal(seen[0].stage, 'prefill');
    const th = seen.filter((p) => p.stage === 'thoughts');
    assert.deepEqual(
      th.map((p) => [p.done, p.total]),
      [
        [1, 4],
        [2, 4],
        [3, 4],
        [4, 4],
      ],
    );
    assert.deepEqual(
      th.map((p) => p.thought!.norm),
      r.thoughts.map((t) => t.norm),
    );
    const ans = seen.filter((p) => p.stage === 'answer');
    assert.ok(ans.length >= 1 && ans.length <= 3);
    assert.ok(ans.every((p) => p.total === 3));
  });

  it('cancels half way (after the first thought) and keeps working afterwards', async () => {
    const ac = new AbortController();
    let passes = 0;
    const e = await rejectsCode(
      engine.inspect({ question: Q, thoughts: 6 }, ac.signal, {
        onProgress: (p) => {
          if (p.stage === 'thoughts') passes++;
          if (p.stage === 'thoughts' && p.done === 1) ac.abort();
        },
      }),
      'CANCELLED',
    );
    assert.match(e.message, /cancelled/);
    assert.equal(passes, 1, 'no thought after the abort');
    const already = new AbortController();
    already.abort();
    await rejectsCode(engine.inspect({ question: Q }, already.signal), 'CANCELLED');
    // The next run starts from a fresh cache and gives the same result as an undisturbed one.
    const a = await engine.inspect({ question: Q, thoughts: 6 });
    const b = await engine.inspect({ question: Q, thoughts: 6 });
    assert.deepEqual(
      a.thoughts.map((t) => t.vector),
      b.thoughts.map((t) => t.vector),
    );
    assert.equal(a.answer.text, b.answer.text);
  });

  it('serializes concurrent runs: results equal sequential ones', async () => {
    const qs: InspectRequest[] = g.cases.map((c: any) => ({ question: c.question, thoughts: c.k }));
    const together = await Promise.all(qs.map((q) => engine.inspect(q)));
    for (const [i, q] of qs.entries()) {
      const alone = await engine.inspect(q);
      assert.deepEqual(
        together[i].thoughts.map((t) => t.vector),
        alone.thoughts.map((t) => t.vector),
      );
      assert.equal(together[i].answer.text, alone.answer.text);
    }
  });

  it('falls back to the CPU with a notice when a provider cannot start', async () => {
    const e2 = await CoconutEngine.load(FIXTURE, { provider: 'cuda', threads: 1 });
    try {
      if (e2.info.provider === 'cpu') {
        assert.match(e2.info.providerNotice ?? '', /the cuda execution provider could not start \(.+\); running on the CPU instead/);
      } else {
        assert.equal(e2.info.provider, 'cuda'); // a machine with the CUDA provider installed
      }
      const r = await e2.inspect({ question: Q, thoughts: 1 });
      assert.equal(r.thoughts.length, 1);
    } finally {
      await e2.dispose();
    }
    await assert.rejects(
      CoconutEngine.load(FIXTURE, { provider: 'tpu' as any }),
      (e: EngineError) => e.code === 'PROVIDER_FAILED' && /auto, cpu, webgpu, cuda/.test(e.fix),
    );
  });

  it('scores answers as the reference code does', () => {
    assert.equal(extractAnswer('Tom is a lempus.\n### Tom is a lempus.', '#'), 'Tom is a lempus.');
    assert.equal(extractAnswer('no marker here ', '#'), 'no marker here');
    assert.ok(answersMatch('1,000', '1000'));
    assert.ok(answersMatch(' Tom is a lempus. ', 'Tom is a lempus.'));
    assert.ok(!answersMatch('Tom is a rempus.', 'Tom is a lempus.'));
  });

  it('refuses runs after dispose', async () => {
    const e2 = await CoconutEngine.load(FIXTURE, { provider: 'cpu', threads: 1 });
    await e2.dispose();
    await rejectsCode(e2.inspect({ question: Q }), 'NOT_LOADED');
  });
});
