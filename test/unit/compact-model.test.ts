// Models of the shipped architecture (rotary positions, smeared keys, a compact tokenizer that
// drops the ProsQA template words, thoughts trained toward the BFS frontier): node values read off
// the thoughts themselves, answers scored in the model's own text form, and the manifest fields
// that describe them, each refused with a precise message when wrong.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ProsQAGraph } from '../../src/shared/types';
import { frontierAt } from '../../src/shared/graph';
import { answersMatch, scoreText } from '../../src/engine/answer';
import { CoconutEngine } from '../../src/engine/engine';
import { editManifest, rejectsCode, ROOT, rm, tmpDir } from './helpers';

const RSC = path.join(ROOT, 'test', 'fixtures', 'tiny-model-rsc');
const SAMPLE = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'prosqa_sample.json'), 'utf-8'));
const REC = SAMPLE[0];
const GRAPH: ProsQAGraph = { idx_to_symbol: REC.idx_to_symbol, edges: REC.edges, root: REC.root, target: REC.target, neg_target: REC.neg_target };

function copyOf(dir: string): string {
  const out = tmpDir('coconut-lens-rsc-');
  for (const f of fs.readdirSync(dir)) if (f !== 'golden.json') fs.copyFileSync(path.join(dir, f), path.join(out, f));
  return out;
}

describe('a compact, frontier-trained model', () => {
  let thoughtDir: string;
  let engine: CoconutEngine;
  before(async () => {
    thoughtDir = copyOf(RSC);
    editManifest(thoughtDir, (m) => (m.node_values = { source: 'thought' }));
    engine = await CoconutEngine.load(thoughtDir, { provider: 'cpu', threads: 1 });
  });
  after(async () => {
    await engine.dispose();
    rm(thoughtDir);
  });

  it('reads node values off thought t itself: p(concept) in its decoded distribution, frontier = depth t', async () => {
    const k = 4;
    const r = await engine.inspect({ question: REC.question, thoughts: k, graph: GRAPH, topK: 69 });
    const nv = r.nodeValues!;
    assert.deepEqual(
      nv.map((x) => x.thought),
      [1, 2, 3, 4],
      'one set per thought, no t = 0 (nothing decoded yet)',
    );
    assert.ok(nv.every((x) => x.source === 'thought'));
    const tok = engine.tokenizer;
    for (const tv of nv) {
      const thought = r.thoughts[tv.thought - 1];
      // the thought's own top-k list (all 69 tokens) holds the same probabilities
      const byId = new Map(thought.topk.map((t) => [t.id, t.p]));
      for (const v of tv.values) {
        assert.ok(Math.abs(v.p - byId.get(tok.idOf(v.symbol)!)!) < 1e-6, `t=${tv.thought} ${v.symbol}`);
      }
      const concepts = tv.values.map((v) => v.node);
      assert.deepEqual(
        tv.values.filter((v) => v.frontier).map((v) => v.node),
        frontierAt(GRAPH, tv.thought).filter((n) => concepts.includes(n)),
      );
    }
    // no branch passes: the main line is exactly the run without a graph
    const plain = await engine.inspect({ question: REC.question, thoughts: k });
    assert.deepEqual(
      r.thoughts.map((t) => t.vector),
      plain.thoughts.map((t) => t.vector),
    );
  });

  it("the default (no node_values field) is the paper's cue analysis", async () => {
    const cueEngine = await CoconutEngine.load(RSC, { provider: 'cpu', threads: 1 });
    try {
      assert.deepEqual(cueEngine.model.manifest.node_values, { source: 'cue', cue: 'Every' });
      // the compact tokenizer normalizes the lone cue word "Every" to itself (only "Every " is dropped)
      const r = await cueEngine.inspect({ question: REC.question, thoughts: 2, graph: GRAPH });
      assert.deepEqual(
        r.nodeValues!.map((x) => x.thought),
        [0, 1, 2],
      );
      assert.ok(r.nodeValues!.every((x) => x.source === 'cue'));
    } finally {
      await cueEngine.dispose();
    }
  });

  it('scores answers in the model\'s text form: "Tom wumpus." is "Tom is a wumpus."', () => {
    const tok = engine.tokenizer;
    assert.equal(tok.normalize('Every wumpus is a yumpus. Tom is a wumpus.'), 'wumpus yumpus. Tom wumpus.');
    assert.ok(engine.scoreAnswer('### Tom wumpus.', 'Tom is a wumpus.'));
    assert.ok(!engine.scoreAnswer('### Tom yumpus.', 'Tom is a wumpus.'));
    assert.ok(!engine.scoreAnswer('Tom wumpus.', 'Tom is a wumpus.'), 'no answer marker, as the reference');
    // without a normalizer nothing changes
    assert.ok(!answersMatch('Tom wumpus.', 'Tom is a wumpus.'));
    assert.ok(scoreText('### Tom wumpus.', 'Tom is a wumpus.', '#', (s) => tok.normalize(s)));
  });

  it("inspect with the expected answer carries the engine's verdict; without it, none", async () => {
    const r = await engine.inspect({ question: REC.question, thoughts: 2, expected: REC.answer });
    assert.equal(r.answer.correct, engine.scoreAnswer(r.answer.text, REC.answer));
    const plain = await engine.inspect({ question: REC.question, thoughts: 2 });
    assert.equal(plain.answer.correct, undefined);
  });

  it('the dataset evaluation and the k sweep score exactly as scoreAnswer does', async () => {
    const ds = await engine.evalDataset([{ index: 0, question: REC.question, answer: REC.answer, graph: GRAPH }], { thoughts: [2] });
    const row = ds.records[0];
    assert.equal(row.correct, engine.scoreAnswer(row.text!, REC.answer));
    const sw = await engine.sweep({ question: REC.question }, { from: 2, to: 2, expected: REC.answer });
    const point = sw.points.find((p) => p.k === 2)!;
    assert.equal(point.answerText, row.text);
    assert.equal(point.correct, row.correct);
  });
});

describe('manifest fields of the architecture and the node values', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach(rm));
  const broken = (edit: (m: any) => void) => {
    const d = copyOf(RSC);
    dirs.push(d);
    editManifest(d, edit);
    return d;
  };

  it('refuses an unknown position scheme, a non-boolean smear flag and an unknown node-value source', async () => {
    let e = await rejectsCode(CoconutEngine.load(broken((m) => (m.architecture.positions = 'alibi'))), 'MODEL_MANIFEST');
    assert.match(e.message, /^coconut\.json architecture\.positions: expected "learned" or "rotary", found "alibi"$/);
    e = await rejectsCode(CoconutEngine.load(broken((m) => (m.architecture.smear_keys = 'yes'))), 'MODEL_MANIFEST');
    assert.match(e.message, /^coconut\.json architecture\.smear_keys: expected true or false, found the string "yes"$/);
    e = await rejectsCode(CoconutEngine.load(broken((m) => (m.node_values = { source: 'lens' }))), 'MODEL_MANIFEST');
    assert.match(e.message, /^coconut\.json node_values\.source: expected "cue" or "thought", found "lens"$/);
    e = await rejectsCode(CoconutEngine.load(broken((m) => (m.node_values = { source: 'cue', cue: '' }))), 'MODEL_MANIFEST');
    assert.match(e.message, /node_values\.cue/);
  });

  it('a model written before these fields existed still loads as learned positions, no smearing', async () => {
    const d = broken((m) => {
      delete m.architecture.positions;
      delete m.architecture.smear_keys;
    });
    const e = await CoconutEngine.load(d, { provider: 'cpu', threads: 1 });
    try {
      assert.equal(e.model.manifest.architecture.positions, 'learned');
      assert.equal(e.model.manifest.architecture.smear_keys, false);
    } finally {
      await e.dispose();
    }
  });
});
