// THE parity test: the engine (onnxruntime-node, JS decoding) against the PyTorch reference loop.
// It re-exports the fixture with training/make_fixture.py (Python, PyTorch) and compares the
// engine on that fresh export with its golden.json, and on the committed fixture with the
// committed golden.json: logits within 1e-4 at every thought and answer position, and identical
// top-k ids, nearest ids, lens ids and answer ids.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoconutEngine } from '../../src/engine/engine';
import { FIXTURE, golden, maxAbsDiff, replayGoldenCase, ROOT, rm, tmpDir } from './helpers';

const PYTHON = '/usr/bin/python3';
const LOGIT_TOL = 1e-4;

interface Measured {
  maxLogit: number;
  maxProb: number;
  maxCos: number;
  maxNorm: number;
  maxEntropy: number;
  positions: number;
}

/**
 * `thoughtsInOneCall`: the plain loop's thoughts run inside the graph (one call), or one pass per
 * thought; both must match the golden file.
 */
async function compare(modelDir: string, g: any, thoughtsInOneCall = true): Promise<Measured> {
  const engine = await CoconutEngine.load(modelDir, { provider: 'cpu', threads: 1, thoughtsInOneCall });
  assert.equal(engine.thoughtsInOneCall, thoughtsInOneCall, 'the path under test is the one taken');
  // The loop's own session is made at the engine's second run; here at once, so the first case takes it too.
  assert.equal(await engine.prepareThoughtLoop(), thoughtsInOneCall);
  assert.equal(engine.thoughtsInOneCallReady, thoughtsInOneCall);
  const m: Measured = { maxLogit: 0, maxProb: 0, maxCos: 0, maxNorm: 0, maxEntropy: 0, positions: 0 };
  const manifest = engine.model.manifest;
  try {
    for (const [ci, c] of g.cases.entries()) {
      const where = `case ${ci} (k=${c.k})`;
      const { run, thoughts, thoughtLogits, answerLogits, answerIds } = await replayGoldenCase(engine, c, g.top_k, g.max_new_tokens);
      assert.deepEqual([...run.promptIds, manifest.special_tokens.bot.id], c.input_ids, `${where}: prompt ids`);
      assert.equal(thoughts.length, c.thoughts.length, `${where}: number of thoughts`);
      for (const [j, want] of c.thoughts.entries()) {
        const got = thoughts[j];
        const w = `${where} thought ${want.index}`;
        assert.equal(got.index, want.index);
        const dl = maxAbsDiff(thoughtLogits[j], want.logits);
        m.maxLogit = Math.max(m.maxLogit, dl);
        m.positions++;
        assert.ok(dl <= LOGIT_TOL, `${w}: max |Δ logit| ${dl} > ${LOGIT_TOL}`);
        assert.deepEqual(
          got.topk.map((t) => t.id),
          want.topk.map((t: any) => t.id),
          `${w}: top-k ids`,
        );
        assert.deepEqual(
          got.nearest.map((t) => t.id),
          want.nearest.map((t: any) => t.id),
          `${w}: nearest ids`,
        );
        got.topk.forEach((t, i) => (m.maxProb = Math.max(m.maxProb, Math.abs(t.p - want.topk[i].p))));
        got.nearest.forEach((t, i) => (m.maxCos = Math.max(m.maxCos, Math.abs(t.cosine - want.nearest[i].cosine))));
        m.maxNorm = Math.max(m.maxNorm, Math.abs(got.norm - want.norm) / want.norm);
        m.maxEntropy = Math.max(m.maxEntropy, Math.abs(got.entropy - want.entropy));
        assert.equal(got.lens.length, want.lens.length, `${w}: lens layers`);
        for (const [l, cell] of want.lens.entries()) {
          assert.equal(got.lens[l].layer, cell.layer);
          assert.deepEqual(
            got.lens[l].top.map((t) => t.id),
            cell.top.map((t: any) => t.id),
            `${w}: lens ids at layer ${cell.layer}`,
          );
          got.lens[l].top.forEach((t, i) => (m.maxProb = Math.max(m.maxProb, Math.abs(t.p - cell.top[i].p))));
        }
        assert.ok(maxAbsDiff(got.vector, want.vector) <= LOGIT_TOL, `${w}: thought vector`);
      }
      assert.deepEqual(answerIds, c.answer_ids, `${where}: answer ids`);
      assert.equal(run.stoppedBy, c.stopped_by, `${where}: stopped by`);
      assert.equal(answerLogits.length, c.answer_logits.length);
      for (const [n, want] of c.answer_logits.entries()) {
        const dl = maxAbsDiff(answerLogits[n], want);
        m.maxLogit = Math.max(m.maxLogit, dl);
        m.positions++;
        assert.ok(dl <= LOGIT_TOL, `${where} answer position ${n}: max |Δ logit| ${dl} > ${LOGIT_TOL}`);
      }
      assert.equal(engine.tokenizer.decode(run.answerIds), c.answer_text, `${where}: answer text`);
      // The public path (inspect) gives the same traces and answer as the raw loop.
      const r = await engine.inspect({ question: c.question, thoughts: c.k, topK: g.top_k, lensTopK: g.top_k, maxNewTokens: g.max_new_tokens });
      assert.deepEqual(r.thoughts, thoughts, `${where}: inspect thoughts`);
      assert.deepEqual(
        r.answer.tokens.map((t) => t.id),
        run.answerIds,
        `${where}: inspect answer`,
      );
      assert.equal(r.answer.text, c.answer_text);
      assert.equal(r.answer.extracted, c.answer_extracted);
    }
    assert.ok(m.maxProb < 1e-5, `probabilities differ by ${m.maxProb}`);
    assert.ok(m.maxCos < 1e-5, `cosines differ by ${m.maxCos}`);
    assert.ok(m.maxNorm < 1e-5, `norms differ by ${m.maxNorm} (relative)`);
    assert.ok(m.maxEntropy < 1e-4, `entropies differ by ${m.maxEntropy}`);
  } finally {
    await engine.dispose();
  }
  return m;
}

function report(label: string, m: Measured): void {
  console.log(
    `parity ${label}: max |Δ logits| = ${m.maxLogit.toExponential(3)} over ${m.positions} positions ` +
      `(tolerance ${LOGIT_TOL}); max |Δ p| ${m.maxProb.toExponential(2)}, |Δ cosine| ${m.maxCos.toExponential(2)}, ` +
      `rel |Δ norm| ${m.maxNorm.toExponential(2)}, |Δ entropy| ${m.maxEntropy.toExponential(2)}`,
  );
}

const FIXTURE_RSC = path.join(ROOT, 'test', 'fixtures', 'tiny-model-rsc');

/** Rebuilds a fixture variant with the installed PyTorch (training/make_fixture.py) into a temp folder. */
function reexport(prefix: string, args: string[] = []): string {
  const dir = tmpDir(prefix);
  execFileSync(PYTHON, [path.join('training', 'make_fixture.py'), ...args, '--out', dir], {
    cwd: ROOT,
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });
  return dir;
}

// The shipped model's architecture: rotary positions and smeared keys inside the decoder graph,
// and a tokenizer whose normalizer drops the ProsQA template words.
describe('parity with the PyTorch reference: rotary positions, smeared keys, compact tokenizer', () => {
  let fresh: string;
  before(() => {
    fresh = reexport('coconut-lens-parity-rsc-', ['--variant', 'rotary-smear-compact']);
  });
  after(() => rm(fresh));

  it('re-exported model vs its own golden.json', async () => {
    const g = golden(fresh);
    assert.ok(g.cases.length > 0);
    report('rotary+smear re-exported', await compare(fresh, g));
  });

  it('committed model vs the committed golden.json, and the manifest says what the graph does', async () => {
    const g = golden(FIXTURE_RSC);
    // The compact tokenizer really shortens the prompt: a fact is 3 tokens, not 6.
    const every = JSON.parse(fs.readFileSync(path.join(FIXTURE_RSC, 'tokenizer.json'), 'utf-8')).model.vocab.Every;
    assert.ok(Number.isInteger(every) && !g.cases[0].input_ids.includes(every), 'no "Every" token in the compact prompt');
    report('rotary+smear committed', await compare(FIXTURE_RSC, g));
    report('rotary+smear committed, one pass per thought', await compare(FIXTURE_RSC, g, false));
    const engine = await CoconutEngine.load(FIXTURE_RSC, { provider: 'cpu', threads: 1 });
    try {
      assert.equal(engine.model.manifest.architecture.positions, 'rotary');
      assert.equal(engine.model.manifest.architecture.smear_keys, true);
    } finally {
      await engine.dispose();
    }
  });
});

describe('parity with the PyTorch reference', () => {
  let fresh: string;
  before(() => {
    fresh = reexport('coconut-lens-parity-');
  });
  after(() => rm(fresh));

  it('re-exported model vs its own golden.json', async () => {
    const g = golden(fresh);
    assert.ok(g.cases.length > 0);
    report('re-exported', await compare(fresh, g));
  });

  it('re-exported model vs the committed golden.json', async () => {
    report('re-exported vs committed golden', await compare(fresh, golden(FIXTURE)));
  });

  it('committed model vs the committed golden.json', async () => {
    report('committed', await compare(FIXTURE, golden(FIXTURE)));
    report('committed, one pass per thought', await compare(FIXTURE, golden(FIXTURE), false));
  });
});
