// A checkpoint in the exact layout of facebookresearch/coconut (base_causallm.* keys, GPT-2 Conv1D
// weights, 50257 + 3 vocabulary rows, a byte-level BPE tokenizer.json without the latent tokens),
// converted by training/import_coconut.py and run by the engine, against training/reference.py
// (PyTorch) on the same checkpoint: logits within 1e-4 at every thought and answer position,
// identical prompt ids, top-k / nearest / lens ids, answer ids and answer text.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoconutEngine } from '../../src/engine/engine';
import { maxAbsDiff, replayGoldenCase, ROOT, rm, tmpDir } from './helpers';

const PYTHON = '/usr/bin/python3';
const LOGIT_TOL = 1e-4;
const N_HEAD = 4;

function python(script: string, args: string[]): string {
  return execFileSync(PYTHON, [path.join('training', script), ...args], {
    cwd: ROOT,
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: '2' },
    encoding: 'utf-8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });
}

describe('imported reference checkpoint: engine vs PyTorch', () => {
  let work: string;
  let modelDir: string;
  let importLog: string;
  let golden: any;

  before(() => {
    work = tmpDir('coconut-lens-import-');
    const src = path.join(work, 'src');
    modelDir = path.join(work, 'model');
    python('make_reference_fixture.py', ['--out', src, '--seed', '5']);
    importLog = python('import_coconut.py', [
      '--checkpoint',
      path.join(src, 'checkpoint_6'),
      '--tokenizer',
      path.join(src, 'tokenizer.json'),
      '--out',
      modelDir,
      '--name',
      'reference-layout',
      '--n-head',
      String(N_HEAD),
      '--thoughts-default',
      '3',
      '--max-new-tokens',
      '4',
    ]);
    const goldenPath = path.join(work, 'golden.json');
    python('reference.py', [
      '--model-dir',
      modelDir,
      '--checkpoint',
      path.join(src, 'checkpoint_6'),
      '--out',
      goldenPath,
      '--cases-file',
      path.join(src, 'cases.json'),
    ]);
    golden = JSON.parse(fs.readFileSync(goldenPath, 'utf-8'));
  });
  after(() => rm(work));

  it('says that it added the latent tokens to the tokenizer', () => {
    assert.match(importLog, /note: tokenizer\.json had no latent tokens: added <\|start-latent\|>=50257, <\|end-latent\|>=50258, <\|latent\|>=50259/);
    assert.match(importLog, /GPT-2: 2 layers, 4 heads, n_embd 64, vocab 50260, context 128/);
  });

  it('runs with the same numbers as the PyTorch reference', async () => {
    const engine = await CoconutEngine.load(modelDir, { provider: 'cpu', threads: 1 });
    try {
      const m = engine.model.manifest;
      assert.equal(m.architecture.vocab_size, 50260);
      assert.deepEqual(Object.fromEntries(Object.entries(m.special_tokens).map(([k, t]) => [k, t.id])), { bot: 50257, eot: 50258, latent: 50259, eos: 50256 });
      let worst = 0;
      let positions = 0;
      assert.ok(golden.cases.length >= 3);
      for (const [ci, c] of golden.cases.entries()) {
        const where = `case ${ci} (k=${c.k})`;
        const { run, thoughts, thoughtLogits, answerLogits } = await replayGoldenCase(engine, c, golden.top_k, golden.max_new_tokens);
        assert.deepEqual([...run.promptIds, m.special_tokens.bot.id], c.input_ids, `${where}: prompt ids (JS BPE vs Python twin)`);
        assert.equal(thoughts.length, c.k);
        for (const [j, want] of c.thoughts.entries()) {
          const got = thoughts[j];
          const d = maxAbsDiff(thoughtLogits[j], want.logits);
          worst = Math.max(worst, d);
          positions++;
          assert.ok(d <= LOGIT_TOL, `${where} thought ${want.index}: max |Δ logit| ${d}`);
          assert.deepEqual(
            got.topk.map((t) => t.id),
            want.topk.map((t: any) => t.id),
            `${where} thought ${want.index}: top-k`,
          );
          assert.deepEqual(
            got.nearest.map((t) => t.id),
            want.nearest.map((t: any) => t.id),
            `${where} thought ${want.index}: nearest`,
          );
          for (const [l, cell] of want.lens.entries()) {
            assert.deepEqual(
              got.lens[l].top.map((t) => t.id),
              cell.top.map((t: any) => t.id),
              `${where} thought ${want.index}: lens layer ${cell.layer}`,
            );
          }
          assert.ok(maxAbsDiff(got.vector, want.vector) <= LOGIT_TOL, `${where} thought ${want.index}: vector`);
        }
        assert.deepEqual(run.answerIds, c.answer_ids, `${where}: answer ids`);
        assert.equal(run.stoppedBy, c.stopped_by);
        for (const [n, want] of c.answer_logits.entries()) {
          const d = maxAbsDiff(answerLogits[n], want);
          worst = Math.max(worst, d);
          positions++;
          assert.ok(d <= LOGIT_TOL, `${where} answer position ${n}: max |Δ logit| ${d}`);
        }
        const r = await engine.inspect({ question: c.question, thoughts: c.k, maxNewTokens: golden.max_new_tokens });
        assert.equal(r.answer.text, c.answer_text, `${where}: answer text`);
        assert.equal(r.answer.extracted, c.answer_extracted, `${where}: extracted answer`);
      }
      console.log(`import parity: max |Δ logits| = ${worst.toExponential(3)} over ${positions} positions (tolerance ${LOGIT_TOL})`);
    } finally {
      await engine.dispose();
    }
  });
});
