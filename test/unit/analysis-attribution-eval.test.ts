// Attribution, latent-search node values and dataset evaluation on the fixture model, each checked
// against an independent computation: attribution against intervened inspects and teacher forcing
// by full forwards, node values against full forwards from an empty cache on a separate session.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnalysisProgress, EvalRecord, ProsQAGraph } from '../../src/shared/types';
import { frontierAt } from '../../src/shared/graph';
import { scoreText } from '../../src/engine/answer';
import { softmax } from '../../src/engine/decode';
import { rejectsCode } from './helpers';
import { GRAPH, Q, SAMPLE, sumLog, useAnalysisFixture, concat } from './analysis-fixture';

const fx = useAnalysisFixture();

describe('attribution', () => {
  it('one entry per thought, matching intervened inspects and teacher forcing by full forwards', async () => {
    const k = 4;
    const base = await fx.engine.inspect({ question: Q, thoughts: k });
    const progress: AnalysisProgress[] = [];
    const entries = await fx.engine.attribution({ question: Q, thoughts: k }, { onProgress: (p) => progress.push(p) });
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
      const ablated = await fx.engine.inspect({ question: Q, thoughts: k, interventions: [{ thought: e.thought, kind: 'zero' }] });
      assert.equal(e.ablatedAnswer, ablated.answer.text, `thought ${e.thought}`);
      const same = ablated.answer.stoppedBy === base.answer.stoppedBy && ablated.answer.text === base.answer.text;
      assert.equal(e.answerChanged, !same);
      if (same) assert.ok(Math.abs(e.ablatedLogProb - sumLog(ablated)) < 1e-5);
    }
    // Teacher forcing for thought 2 recomputed with one full forward per answer position.
    const zeroed = await fx.engine.inspect({ question: Q, thoughts: k, interventions: [{ thought: 2, kind: 'zero' }] });
    const { eot } = fx.model.manifest.special_tokens;
    let lp = 0;
    const ids = base.answer.tokens.map((t) => t.id);
    for (let n = 0; n < ids.length; n++) {
      const seq = concat(fx.prefix(base), ...zeroed.thoughts.map((t) => t.vector), fx.embed([eot.id, ...ids.slice(0, n)]));
      const out = await fx.forward(seq);
      lp += Math.log(softmax(out.logits).probs[ids[n]]);
    }
    assert.ok(Math.abs(entries[1].ablatedLogProb - lp) < 1e-4, `${entries[1].ablatedLogProb} vs ${lp}`);
  });

  it('k = 0 has nothing to ablate; a bad k is refused; a cancel stops it', async () => {
    assert.deepEqual(await fx.engine.attribution({ question: Q, thoughts: 0 }), []);
    await rejectsCode(fx.engine.attribution({ question: Q, thoughts: 99 }), 'THOUGHTS_RANGE');
    const ac = new AbortController();
    let entries = 0;
    await rejectsCode(
      fx.engine.attribution({ question: Q, thoughts: 6 }, { signal: ac.signal, onProgress: () => (++entries === 2 ? ac.abort() : undefined) }),
      'CANCELLED',
    );
    assert.equal(entries, 2);
    const pre = new AbortController();
    pre.abort();
    await rejectsCode(fx.engine.intervene({ question: Q, thoughts: 2, interventions: [{ thought: 1, kind: 'zero' }] }, { signal: pre.signal }), 'CANCELLED');
  });
});

describe('latent-search node values', () => {
  it('one set per t = 0..k, probabilities equal to full forwards with eot and "Every"', async () => {
    const k = 3;
    const r = await fx.engine.inspect({ question: Q, thoughts: k, graph: GRAPH });
    const nv = r.nodeValues!;
    assert.deepEqual(
      nv.map((x) => x.thought),
      [0, 1, 2, 3],
    );
    const concepts = GRAPH.idx_to_symbol.map((_, i) => i).filter((i) => GRAPH.edges.some(([, b]) => b === i));
    const every = fx.model.tokenizer.idOf('Every')!;
    for (const tv of nv) {
      assert.deepEqual(
        tv.values.map((v) => v.node),
        concepts,
      );
      const seq = concat(fx.prefix(r), ...r.thoughts.slice(0, tv.thought).map((t) => t.vector), fx.embed([fx.model.manifest.special_tokens.eot.id, every]));
      const probs = softmax((await fx.forward(seq)).logits).probs;
      for (const v of tv.values) {
        assert.ok(v.p >= 0 && v.p <= 1);
        assert.equal(v.symbol, GRAPH.idx_to_symbol[v.node]);
        assert.ok(Math.abs(v.p - probs[fx.model.tokenizer.idOf(v.symbol)!]) < 1e-5, `t=${tv.thought} ${v.symbol}`);
      }
      assert.deepEqual(
        tv.values.filter((v) => v.frontier).map((v) => v.node),
        frontierAt(GRAPH, tv.thought).filter((n) => concepts.includes(n)),
      );
    }
    // The branches leave the main line alone: thoughts and answer as without a graph.
    const plain = await fx.engine.inspect({ question: Q, thoughts: k });
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
    const r = await fx.engine.inspect({ question: Q, thoughts: 1, graph: g });
    const { eot } = fx.model.manifest.special_tokens;
    const [every, is, a] = ['Every', 'is', 'a'].map((w) => fx.model.tokenizer.idOf(w)!);
    for (const tv of r.nodeValues!) {
      const base = concat(fx.prefix(r), ...r.thoughts.slice(0, tv.thought).map((t) => t.vector), fx.embed([eot.id, every]));
      const p1 = softmax((await fx.forward(base)).logits).probs[is];
      const p2 = softmax((await fx.forward(concat(base, fx.embed([is])))).logits).probs[a];
      const v = tv.values.find((x) => x.symbol === 'is a')!;
      assert.ok(Math.abs(v.p - p1 * p2) < 1e-6, `${v.p} vs ${p1 * p2}`);
      assert.equal(v.depth, 1);
    }
  });

  it('says what is wrong with a malformed graph or one with unknown names', async () => {
    const e = await rejectsCode(fx.engine.inspect({ question: Q, thoughts: 1, graph: { ...GRAPH, root: 99 } }), 'PROMPT_MALFORMED');
    assert.match(e.message, /"root" must be a node index/);
    const oov = await rejectsCode(
      fx.engine.inspect({ question: Q, thoughts: 1, graph: { ...GRAPH, idx_to_symbol: GRAPH.idx_to_symbol.map((s, i) => (i === 3 ? 'blorpus' : s)) } }),
      'PROMPT_OOV',
    );
    assert.match(oov.message, /graph node 3 \(blorpus\)/);
  });
});

describe('dataset evaluation', () => {
  const records: EvalRecord[] = SAMPLE.map((r: any, i: number) => ({ index: i, question: r.question, answer: r.answer, graph: r }));

  it('per-k accuracy and path categories, one prefill per record, equal to inspects', async () => {
    const progress: AnalysisProgress[] = [];
    const r = await fx.engine.evalDataset(records, { thoughts: [2, 0, 1, 2], onProgress: (p) => progress.push(p) });
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
      const ref = await fx.engine.inspect({ question: records[row.index].question, thoughts: row.k });
      assert.equal(row.text, ref.answer.text);
      assert.equal(row.predicted, ref.answer.extracted);
      assert.equal(row.correct, scoreText(ref.answer.text, row.answer, '#'));
      assert.ok(row.category);
    }
  });

  it('limits, rejects records without answers, and cancels', async () => {
    const r = await fx.engine.evalDataset(records, { thoughts: [1], limit: 2 });
    assert.equal(r.records.length, 2);
    assert.equal(r.perK[0].n, 2);
    assert.equal(r.perK[0].categories !== undefined, true);
    const noGraph = await fx.engine.evalDataset([{ question: Q, answer: 'Tom is a lempus.' }], { thoughts: [0] });
    assert.equal(noGraph.perK[0].categories, undefined);
    assert.equal(noGraph.records[0].index, 0);
    const e = await rejectsCode(fx.engine.evalDataset([{ question: Q } as any]), 'PROMPT_MALFORMED');
    assert.match(e.message, /record 0 has no "answer"/);
    await rejectsCode(fx.engine.evalDataset(records, { thoughts: [9] }), 'THOUGHTS_RANGE');
    await rejectsCode(fx.engine.evalDataset(records, { thoughts: [] }), 'BAD_OPTION');
    const ac = new AbortController();
    await rejectsCode(fx.engine.evalDataset(records, { thoughts: [0, 1], signal: ac.signal, onProgress: () => ac.abort() }), 'CANCELLED');
  });
});
