// The analyses of issue 3 on the fixture model, each checked against an independent computation:
// interventions against runs fed by hand, the sweep against separate inspects, attribution against
// intervened inspects and teacher forcing by full forwards, node values against full forwards
// from an empty cache on a separate session (no KV-cache branching involved).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AnalysisProgress, EvalRecord, InspectResult, ProsQAGraph } from '../../src/shared/types';
import { frontierAt } from '../../src/shared/graph';
import { scoreText } from '../../src/engine/answer';
import { Decoder } from '../../src/engine/decoder';
import { softmax } from '../../src/engine/decode';
import { CoconutEngine } from '../../src/engine/engine';
import { loadModelDir, type ModelDir } from '../../src/engine/model-dir';
import { createSession } from '../../src/engine/session';
import { FIXTURE, rejectsCode, ROOT } from './helpers';

const SAMPLE = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'prosqa_sample.json'), 'utf-8'));
const REC = SAMPLE[0];
const Q: string = REC.question;
const GRAPH: ProsQAGraph = {
  idx_to_symbol: REC.idx_to_symbol,
  edges: REC.edges,
  root: REC.root,
  target: REC.target,
  neg_target: REC.neg_target,
};
const D = 32;

let engine: CoconutEngine;
let model: ModelDir;
let naive: Decoder;
let releaseNaive: () => Promise<void>;

/** One pass over a whole sequence from an empty cache, on a session of its own. */
async function forward(embeds: Float32Array) {
  naive.reset();
  return naive.step(embeds);
}

function concat(...parts: ArrayLike<number>[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Embeddings of question + suffix + bot: the prefix every run starts with. */
function prefix(r: InspectResult): Float32Array {
  return naive.embed([...r.promptTokens.map((t) => t.id), model.manifest.special_tokens.bot.id]);
}

const sumLog = (r: InspectResult) => r.answer.tokens.reduce((s, t) => s + Math.log(t.p), 0);

before(async () => {
  engine = await CoconutEngine.load(FIXTURE, { provider: 'cpu', threads: 1 });
  model = await loadModelDir(FIXTURE);
  const s = await createSession(model.decoderPath, { provider: 'cpu', threads: 1 });
  naive = new Decoder(s.session, model.manifest, model.probe);
  releaseNaive = () => s.session.release();
});
after(async () => {
  await engine.dispose();
  await releaseNaive();
});

describe('interventions', () => {
  it('zero: the thought fed back is zero, and the rest equals a run fed zeros by hand', async () => {
    const r = await engine.inspect({ question: Q, thoughts: 4, topK: 5, interventions: [{ thought: 2, kind: 'zero' }] });
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
    const raw = await engine.runRaw(Q, 4, 8, {
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
    const full = await forward(concat(prefix(r), r.thoughts[0].vector, new Float32Array(D)));
    full.lastHidden.forEach((v, i) => assert.ok(Math.abs(v - r.thoughts[2].vector[i]) < 1e-5));
  });

  it('scale 1.0 is exactly no intervention', async () => {
    const plain = await engine.inspect({ question: Q, thoughts: 4, topK: 5 });
    const scaled = await engine.inspect({
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
    const half = await engine.inspect({ question: Q, thoughts: 4, interventions: [{ thought: 2, kind: 'scale', factor: 0.5 }] });
    half.thoughts[1].vector.forEach((v, i) => assert.equal(v, Math.fround(plain.thoughts[1].vector[i] * 0.5)));
    assert.ok(Math.abs(half.thoughts[1].norm - plain.thoughts[1].norm / 2) < 1e-5);
  });

  it("token: the thought becomes that token's input embedding", async () => {
    const id = model.tokenizer.idOf('lempus')!;
    const row = Array.from(model.probe.wte.subarray(id * D, (id + 1) * D));
    const r = await engine.inspect({ question: Q, thoughts: 3, topK: 5, interventions: [{ thought: 3, kind: 'token', token: 'lempus' }] });
    const t3 = r.thoughts[2];
    assert.deepEqual(t3.vector, row);
    assert.equal(t3.nearest[0].token, 'lempus');
    assert.ok(Math.abs(t3.nearest[0].cosine - 1) < 1e-9);
    assert.deepEqual(
      { kind: t3.intervened?.kind, token: t3.intervened?.token, tokenId: t3.intervened?.tokenId },
      { kind: 'token', token: 'lempus', tokenId: id },
    );
    const byHand: number[] = [];
    await engine.runRaw(Q, 3, 8, {
      feed: (j, out) => (j === 3 ? Float32Array.from(row) : out.lastHidden),
      onAnswerToken: (_n, tok) => byHand.push(tok),
    });
    assert.deepEqual(
      r.answer.tokens.map((t) => t.id),
      byHand.filter((x) => x !== 0),
    );
  });

  it('vector: a thought of another run fed in, of length n_embd only', async () => {
    const other = await engine.inspect({ question: SAMPLE[1].question, thoughts: 2 });
    const r = await engine.inspect({
      question: Q,
      thoughts: 2,
      interventions: [{ thought: 1, kind: 'vector', vector: other.thoughts[1].vector, label: 'other#2' }],
    });
    assert.deepEqual(r.thoughts[0].vector, other.thoughts[1].vector);
    assert.equal(r.thoughts[0].intervened?.label, 'other#2');
    // A typed array is accepted, and the result records it as plain numbers (JSON-safe).
    const typed = await engine.inspect({
      question: Q,
      thoughts: 2,
      interventions: [{ thought: 1, kind: 'vector', vector: Float32Array.from(other.thoughts[1].vector) as unknown as number[] }],
    });
    assert.deepEqual(
      typed.thoughts.map((t) => t.vector),
      r.thoughts.map((t) => t.vector),
    );
    assert.ok(Array.isArray((typed.interventions![0] as { vector: number[] }).vector));
    const e = await rejectsCode(engine.inspect({ question: Q, thoughts: 2, interventions: [{ thought: 1, kind: 'vector', vector: [1, 2, 3] }] }), 'BAD_OPTION');
    assert.match(e.message, /the vector has 3 entries, but the model's thoughts have n_embd = 32/);
    await rejectsCode(
      engine.inspect({ question: Q, thoughts: 2, interventions: [{ thought: 1, kind: 'vector', vector: new Array(32).fill(NaN) }] }),
      'BAD_OPTION',
    );
  });

  it('refuses thoughts that do not exist, unknown tokens, duplicates and bad factors', async () => {
    const e = await rejectsCode(engine.inspect({ question: Q, thoughts: 6, interventions: [{ thought: 9, kind: 'zero' }] }), 'THOUGHTS_RANGE');
    assert.equal(e.message, 'thought 9 does not exist: this run has 6 thoughts');
    assert.match(e.fix, /from 1 to 6/);
    await rejectsCode(engine.inspect({ question: Q, thoughts: 6, interventions: [{ thought: 0, kind: 'zero' }] }), 'THOUGHTS_RANGE');
    const none = await rejectsCode(engine.inspect({ question: Q, thoughts: 0, interventions: [{ thought: 1, kind: 'zero' }] }), 'THOUGHTS_RANGE');
    assert.match(none.message, /this run has no thoughts/);
    const oov = await rejectsCode(engine.inspect({ question: Q, thoughts: 2, interventions: [{ thought: 1, kind: 'token', token: 'lempuss' }] }), 'PROMPT_OOV');
    assert.match(oov.message, /"lempuss" is not a token of the model's vocabulary \(did you mean "lempus"\?\)/);
    await rejectsCode(
      engine.inspect({
        question: Q,
        thoughts: 2,
        interventions: [
          { thought: 1, kind: 'zero' },
          { thought: 1, kind: 'zero' },
        ],
      }),
      'BAD_OPTION',
    );
    await rejectsCode(engine.inspect({ question: Q, thoughts: 2, interventions: [{ thought: 1, kind: 'scale', factor: Infinity }] }), 'BAD_OPTION');
    await rejectsCode(engine.inspect({ question: Q, thoughts: 2, interventions: [{ thought: 1, kind: 'blur' } as any] }), 'BAD_OPTION');
  });

  it('intervene(): original and intervened runs with per-thought divergence', async () => {
    const progress: AnalysisProgress[] = [];
    const r = await engine.intervene({ question: Q, thoughts: 4, interventions: [{ thought: 2, kind: 'zero' }] }, { onProgress: (p) => progress.push(p) });
    const plain = await engine.inspect({ question: Q, thoughts: 4 });
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
    await rejectsCode(engine.intervene({ question: Q, thoughts: 4, interventions: [] }), 'BAD_OPTION');
  });
});

describe('k sweep', () => {
  it('equals separate inspects at each k, with fewer forward passes', async () => {
    const progress: AnalysisProgress[] = [];
    const s = await engine.sweep({ question: Q }, { from: 0, to: 5, expected: REC.answer, onProgress: (p) => progress.push(p) });
    assert.deepEqual(
      s.points.map((p) => p.k),
      [0, 1, 2, 3, 4, 5],
    );
    for (const p of s.points) {
      const r = await engine.inspect({ question: Q, thoughts: p.k });
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
    const all = await engine.sweep({ question: Q, maxNewTokens: 2 });
    assert.deepEqual(
      all.points.map((p) => p.k),
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.ok(all.points.every((p) => p.correct === undefined && p.tokens.length <= 2));
    const part = await engine.sweep({ question: Q, maxNewTokens: 2 }, { from: 3, to: 4 });
    assert.deepEqual(part.points, all.points.slice(3, 5));
    const iv = await engine.sweep({ question: Q, interventions: [{ thought: 2, kind: 'zero' }] }, { from: 1, to: 3 });
    const ref = await engine.inspect({ question: Q, thoughts: 3, interventions: [{ thought: 2, kind: 'zero' }] });
    assert.equal(iv.points[2].answerText, ref.answer.text);
    assert.equal(iv.points[0].answerText, (await engine.inspect({ question: Q, thoughts: 1 })).answer.text);
  });

  it('rejects bad ranges and cancels between passes', async () => {
    const e = await rejectsCode(engine.sweep({ question: Q }, { to: 9 }), 'THOUGHTS_RANGE');
    assert.match(e.message, /sweep to = 9 is out of range: tiny-random allows 0 to 8/);
    await rejectsCode(engine.sweep({ question: Q }, { from: 3, to: 2 }), 'BAD_OPTION');
    await rejectsCode(engine.sweep({ question: Q, interventions: [{ thought: 5, kind: 'zero' }] }, { to: 4 }), 'THOUGHTS_RANGE');
    const ac = new AbortController();
    let seen = 0;
    await rejectsCode(engine.sweep({ question: Q }, { signal: ac.signal, onProgress: () => (++seen === 2 ? ac.abort() : undefined) }), 'CANCELLED');
    assert.equal(seen, 2);
    assert.equal((await engine.sweep({ question: Q }, { from: 1, to: 1 })).points.length, 1);
  });
});

describe('attribution', () => {
  it('one entry per thought, matching intervened inspects and teacher forcing by full forwards', async () => {
    const k = 4;
    const base = await engine.inspect({ question: Q, thoughts: k });
    const progress: AnalysisProgress[] = [];
    const entries = await engine.attribution({ question: Q, thoughts: k }, { onProgress: (p) => progress.push(p) });
    assert.equal(entries.length, k);
    assert.deepEqual(
      entries.map((e) => e.thought),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      progress.map((p) => p.done),
      [1, 2, 3, 4],
    );
    for (const e of entries) {
      assert.equal(e.ablated, 'zero');
      assert.ok(Math.abs(e.baseLogProb - sumLog(base)) < 1e-9);
      assert.ok(Math.abs(e.delta - (e.ablatedLogProb - e.baseLogProb)) < 1e-12);
      const ablated = await engine.inspect({ question: Q, thoughts: k, interventions: [{ thought: e.thought, kind: 'zero' }] });
      assert.equal(e.ablatedAnswer, ablated.answer.text, `thought ${e.thought}`);
      const same = ablated.answer.stoppedBy === base.answer.stoppedBy && ablated.answer.text === base.answer.text;
      assert.equal(e.answerChanged, !same);
      if (same) assert.ok(Math.abs(e.ablatedLogProb - sumLog(ablated)) < 1e-5);
    }
    // Teacher forcing for thought 2 recomputed with one full forward per answer position.
    const zeroed = await engine.inspect({ question: Q, thoughts: k, interventions: [{ thought: 2, kind: 'zero' }] });
    const { eot } = model.manifest.special_tokens;
    let lp = 0;
    const ids = base.answer.tokens.map((t) => t.id);
    for (let n = 0; n < ids.length; n++) {
      const seq = concat(prefix(base), ...zeroed.thoughts.map((t) => t.vector), naive.embed([eot.id, ...ids.slice(0, n)]));
      const out = await forward(seq);
      lp += Math.log(softmax(out.logits).probs[ids[n]]);
    }
    assert.ok(Math.abs(entries[1].ablatedLogProb - lp) < 1e-4, `${entries[1].ablatedLogProb} vs ${lp}`);
  });

  it('k = 0 has nothing to ablate; a bad k is refused; a cancel stops it', async () => {
    assert.deepEqual(await engine.attribution({ question: Q, thoughts: 0 }), []);
    await rejectsCode(engine.attribution({ question: Q, thoughts: 99 }), 'THOUGHTS_RANGE');
    const ac = new AbortController();
    let entries = 0;
    await rejectsCode(
      engine.attribution({ question: Q, thoughts: 6 }, { signal: ac.signal, onProgress: () => (++entries === 2 ? ac.abort() : undefined) }),
      'CANCELLED',
    );
    assert.equal(entries, 2);
    const pre = new AbortController();
    pre.abort();
    await rejectsCode(engine.intervene({ question: Q, thoughts: 2, interventions: [{ thought: 1, kind: 'zero' }] }, { signal: pre.signal }), 'CANCELLED');
  });
});

describe('latent-search node values', () => {
  it('one set per t = 0..k, probabilities equal to full forwards with eot and "Every"', async () => {
    const k = 3;
    const r = await engine.inspect({ question: Q, thoughts: k, graph: GRAPH });
    const nv = r.nodeValues!;
    assert.deepEqual(
      nv.map((x) => x.thought),
      [0, 1, 2, 3],
    );
    const concepts = GRAPH.idx_to_symbol.map((_, i) => i).filter((i) => GRAPH.edges.some(([, b]) => b === i));
    const every = model.tokenizer.idOf('Every')!;
    for (const tv of nv) {
      assert.deepEqual(
        tv.values.map((v) => v.node),
        concepts,
      );
      const seq = concat(prefix(r), ...r.thoughts.slice(0, tv.thought).map((t) => t.vector), naive.embed([model.manifest.special_tokens.eot.id, every]));
      const probs = softmax((await forward(seq)).logits).probs;
      for (const v of tv.values) {
        assert.ok(v.p >= 0 && v.p <= 1);
        assert.equal(v.symbol, GRAPH.idx_to_symbol[v.node]);
        assert.ok(Math.abs(v.p - probs[model.tokenizer.idOf(v.symbol)!]) < 1e-5, `t=${tv.thought} ${v.symbol}`);
      }
      assert.deepEqual(
        tv.values.filter((v) => v.frontier).map((v) => v.node),
        frontierAt(GRAPH, tv.thought).filter((n) => concepts.includes(n)),
      );
    }
    // The branches leave the main line alone: thoughts and answer as without a graph.
    const plain = await engine.inspect({ question: Q, thoughts: k });
    assert.deepEqual(
      r.thoughts.map((t) => t.vector),
      plain.thoughts.map((t) => t.vector),
    );
    assert.equal(r.answer.text, plain.answer.text);
    assert.equal(plain.nodeValues, undefined);
  });

  it('multiplies the conditional probabilities of a name of several tokens', async () => {
    // "is a" is two tokens of the fixture vocabulary: p(is | Every) · p(a | Every is).
    const g: ProsQAGraph = {
      idx_to_symbol: ['Tom', 'is a', 'lempus'],
      edges: [
        [0, 1],
        [1, 2],
      ],
      root: 0,
      target: 2,
      neg_target: 1,
    };
    const r = await engine.inspect({ question: Q, thoughts: 1, graph: g });
    const { eot } = model.manifest.special_tokens;
    const [every, is, a] = ['Every', 'is', 'a'].map((w) => model.tokenizer.idOf(w)!);
    for (const tv of r.nodeValues!) {
      const base = concat(prefix(r), ...r.thoughts.slice(0, tv.thought).map((t) => t.vector), naive.embed([eot.id, every]));
      const p1 = softmax((await forward(base)).logits).probs[is];
      const p2 = softmax((await forward(concat(base, naive.embed([is])))).logits).probs[a];
      const v = tv.values.find((x) => x.symbol === 'is a')!;
      assert.ok(Math.abs(v.p - p1 * p2) < 1e-6, `${v.p} vs ${p1 * p2}`);
      assert.equal(v.depth, 1);
    }
  });

  it('says what is wrong with a malformed graph or one with unknown names', async () => {
    const e = await rejectsCode(engine.inspect({ question: Q, thoughts: 1, graph: { ...GRAPH, root: 99 } }), 'PROMPT_MALFORMED');
    assert.match(e.message, /"root" must be a node index/);
    const oov = await rejectsCode(
      engine.inspect({ question: Q, thoughts: 1, graph: { ...GRAPH, idx_to_symbol: GRAPH.idx_to_symbol.map((s, i) => (i === 3 ? 'blorpus' : s)) } }),
      'PROMPT_OOV',
    );
    assert.match(oov.message, /graph node 3 \(blorpus\)/);
  });
});

describe('dataset evaluation', () => {
  const records: EvalRecord[] = SAMPLE.map((r: any, i: number) => ({ index: i, question: r.question, answer: r.answer, graph: r }));

  it('per-k accuracy and path categories, one prefill per record, equal to inspects', async () => {
    const progress: AnalysisProgress[] = [];
    const r = await engine.evalDataset(records, { thoughts: [2, 0, 1, 2], onProgress: (p) => progress.push(p) });
    assert.deepEqual(r.thoughts, [0, 1, 2]);
    assert.equal(r.model, 'tiny-random');
    assert.equal(r.provider, 'cpu');
    assert.equal(r.records.length, 15);
    assert.deepEqual(
      progress.map((p) => [p.done, p.total, p.records?.length]),
      [1, 2, 3, 4, 5].map((d) => [d, 5, 3]),
    );
    for (const s of r.perK) {
      assert.equal(s.n, 5);
      const rows = r.records.filter((x) => x.k === s.k);
      assert.equal(s.correct, rows.filter((x) => x.correct).length);
      assert.equal(s.accuracy, s.correct / 5);
      // Record 2 does not fit the fixture's 256 positions: counted, not categorized.
      assert.equal(s.failed, 1);
      const cats = Object.values(s.categories!).reduce((a, b) => a + b, 0);
      assert.equal(cats, 4);
    }
    const tooLong = r.records.filter((x) => x.index === 2);
    assert.ok(tooLong.every((x) => x.errorCode === 'PROMPT_TOO_LONG' && !x.correct && x.category === undefined));
    for (const row of r.records.filter((x) => x.index === 0 || x.index === 4)) {
      const ref = await engine.inspect({ question: records[row.index].question, thoughts: row.k });
      assert.equal(row.text, ref.answer.text);
      assert.equal(row.predicted, ref.answer.extracted);
      assert.equal(row.correct, scoreText(ref.answer.text, row.answer, '#'));
      assert.ok(row.category);
    }
  });

  it('limits, rejects records without answers, and cancels', async () => {
    const r = await engine.evalDataset(records, { thoughts: [1], limit: 2 });
    assert.equal(r.records.length, 2);
    assert.equal(r.perK[0].n, 2);
    assert.equal(r.perK[0].categories !== undefined, true);
    const noGraph = await engine.evalDataset([{ question: Q, answer: 'Tom is a lempus.' }], { thoughts: [0] });
    assert.equal(noGraph.perK[0].categories, undefined);
    assert.equal(noGraph.records[0].index, 0);
    const e = await rejectsCode(engine.evalDataset([{ question: Q } as any]), 'PROMPT_MALFORMED');
    assert.match(e.message, /record 0 has no "answer"/);
    await rejectsCode(engine.evalDataset(records, { thoughts: [9] }), 'THOUGHTS_RANGE');
    await rejectsCode(engine.evalDataset(records, { thoughts: [] }), 'BAD_OPTION');
    const ac = new AbortController();
    await rejectsCode(engine.evalDataset(records, { thoughts: [0, 1], signal: ac.signal, onProgress: () => ac.abort() }), 'CANCELLED');
  });
});
