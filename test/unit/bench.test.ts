// `coconut-lens bench`: the report has every measurement the issue lists, the PyTorch reference is
// rebuilt from decoder.onnx with the same logits, and the speed-up is reported. Timings are only
// checked to be positive numbers: they are recorded (docs/performance.md), never asserted.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import { quantile, syntheticPrompt } from '../../src/engine/bench/steps';
import { defaultThreads } from '../../src/engine/session';
import { main } from '../../src/cli/run';
import * as path from 'node:path';
import { FIXTURE, ROOT, tempCacheDir } from './helpers';

const FIXTURE_RSC = path.join(ROOT, 'test', 'fixtures', 'tiny-model-rsc');
const SAMPLE = path.join(ROOT, 'test', 'fixtures', 'prosqa_sample.json');

tempCacheDir();

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n'), stderrIsTTY: false });
  return { code, out, err };
}

function positiveStat(x: any, what: string) {
  assert.ok(x && x.median > 0 && x.p90 >= x.median && x.n > 0, `${what}: ${JSON.stringify(x)}`);
}

describe('bench helpers', () => {
  it('quantile interpolates and the synthetic prompt avoids special tokens', () => {
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantile([5], 0.9), 5);
    assert.ok(Number.isNaN(quantile([], 0.5)));
    const ids = syntheticPrompt(200, 69, [0, 66, 67, 68]);
    assert.equal(ids.length, 200);
    assert.ok(ids.every((i) => i > 0 && i < 66));
  });
});

describe('coconut-lens bench', () => {
  it('reports latencies, session creation, warm inspect and peak RSS as JSON', async () => {
    const r = await run(['bench', '--model', FIXTURE, '--provider', 'cpu', '--threads', '1', '--runs', '2', '--no-cold', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.bench, 'coconut-lens/bench@1');
    assert.equal(j.models.length, 1);
    const m = j.models[0];
    assert.equal(m.provider, 'cpu');
    assert.equal(m.directRun, true, 'the bench times CPU sessions on the binding directly, as the engine runs them');
    assert.equal(m.threads, 1);
    for (const key of ['sessionCreateMs', 'prefillMs', 'thoughtStepMs', 'tokenStepMs', 'warmInspectMs']) positiveStat(m[key], key);
    assert.equal(m.thoughtStepMs.n, 2 * 4 * m.plan.thoughts); // runs × 4 sequences × thoughts each
    // the fixture's graph has the thought loop: one sample per sequence (its k thoughts in one call)
    positiveStat(m.thoughtInOneCallMs, 'thoughtInOneCallMs');
    assert.equal(m.thoughtInOneCallMs.n, 2 * 4);
    assert.equal(m.warmInspectMs.thoughts, 3);
    assert.ok(j.peakRssMB > 10);
    assert.equal(j.thought_step_speedup_vs_pytorch, undefined);
  });

  it('without --threads runs what the engine chooses for a user, and says so', async () => {
    const r = await run(['bench', '--model', FIXTURE, '--provider', 'cpu', '--runs', '1', '--no-cold', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    const budget = defaultThreads();
    assert.equal(j.settings.threads, `unset: the engine's choice within ${budget}`);
    const m = j.models[0];
    // One thread or the whole budget; measured (and reported) only where there is a choice.
    assert.ok(m.threads === 1 || m.threads === budget, String(m.threads));
    assert.equal(m.threadChoice === undefined, budget === 1);
    if (m.threadChoice) assert.deepEqual(Object.keys(m.threadChoice.measuredMs).sort(), ['1', String(budget)]);
  });

  it('--vs-pytorch checks equal logits first and adds thought_step_speedup_vs_pytorch', async () => {
    const r = await run(['bench', '--model', FIXTURE, '--threads', '1', '--runs', '1', '--no-cold', '--vs-pytorch', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    const m = j.models[0];
    assert.equal(m.pytorch.device, 'cpu');
    assert.equal(m.pytorch.threads, 1);
    assert.ok(m.pytorch.parity.ok && m.pytorch.parity.maxAbsLogitDiff < 1e-4, JSON.stringify(m.pytorch.parity));
    assert.equal(m.pytorch.parity.passes, 4);
    positiveStat(m.pytorch.thoughtStepMs, 'pytorch thought step');
    assert.equal(m.pytorch.interleavedBlocks, 8);
    // Interleaved: as many samples of ours as of theirs.
    assert.equal(m.pytorch.thoughtStepMs.n, m.thoughtStepMs.n);
    assert.ok(j.thought_step_speedup_vs_pytorch > 0);
    assert.equal(j.thought_step_speedup_vs_pytorch, m.thought_step_speedup_vs_pytorch);
    assert.ok(m.thought_in_one_call_speedup_vs_pytorch > 0);
    assert.equal(j.thought_in_one_call_speedup_vs_pytorch, m.thought_in_one_call_speedup_vs_pytorch);
    assert.match(r.err, /block 8\/8: ours .* ms\/thought, pytorch .* ms\/thought/);
  });

  it('--vs-pytorch rebuilds a rotary, smeared-key model (the shipped architecture) with equal logits and answers', async () => {
    const r = await run([
      'bench',
      '--model',
      FIXTURE_RSC,
      '--threads',
      '1',
      '--runs',
      '1',
      '--no-cold',
      '--vs-pytorch',
      '--dataset',
      SAMPLE,
      '--limit',
      '2',
      '--json',
    ]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    const m = j.models[0];
    assert.ok(m.pytorch.parity.ok && m.pytorch.parity.maxAbsLogitDiff < 1e-4, JSON.stringify(m.pytorch.parity));
    assert.ok(m.thought_step_speedup_vs_pytorch > 0);
    // The whole reference loop on the example question beside our warm inspect.
    positiveStat(m.pytorch.wholeRunMs, 'pytorch whole run');
    assert.ok(m.warm_inspect_speedup_vs_pytorch_loop > 0);
    // The dataset three ways: ours record by record, ours batched, PyTorch's loop; the same answers.
    assert.equal(j.dataset.eval.answersDiffering, 0);
    assert.equal(j.dataset.pytorch.answersDifferingFromOurs, 0);
    assert.ok(j.dataset.pytorch.seconds > 0 && j.dataset.batched_eval_speedup_vs_pytorch > 0);
  });

  it('--dataset evaluates record by record and in batches, with the same answers', async () => {
    const r = await run(['bench', '--model', FIXTURE, '--threads', '1', '--runs', '1', '--no-cold', '--dataset', SAMPLE, '--limit', '2', '--json']);
    assert.equal(r.code, 0, r.err);
    const d = JSON.parse(r.out).dataset;
    assert.equal(d.records, 2);
    assert.equal(d.eval.answersDiffering, 0);
    assert.equal(d.eval.batchSize, 16, 'the engine default for a small decoder');
    assert.deepEqual(d.eval.accuracy.single, d.eval.accuracy.batched);
    assert.ok(d.eval.recordByRecordSeconds > 0 && d.eval.batchedSeconds > 0 && d.batched_eval_speedup > 0);
    assert.match(r.err, /dataset, k 3, round 2: record by record .* s, batches of 16 .* s, 0 rows differ/);
    // a first round, reported apart and not among the two whose best is kept
    assert.match(r.err, /dataset, k 3, first round: record by record .* s, batches of 16 .* s, 0 rows differ/);
    assert.ok(d.eval.firstRound.recordByRecordSeconds > 0 && d.eval.firstRound.batchedSeconds > 0);
    assert.ok(d.everyK.firstRound.recordByRecordSeconds > 0 && d.everyK.firstRound.batchedSeconds > 0);
    // and at every k from 0 to the default (the accuracy-against-k curve)
    assert.deepEqual(d.everyK.thoughts, [0, 1, 2, 3]);
    assert.equal(d.everyK.answersDiffering, 0);
    assert.ok(d.everyK.recordByRecordSeconds > 0 && d.everyK.batchedSeconds > 0 && d.batched_eval_every_k_speedup > 0);
    assert.match(r.err, /dataset, k 0\.\.3, round 2: record by record .* s, batches of 16 .* s, 0 rows differ/);
    // and the bound batching cannot pass: record-by-record time over its prompts' passes alone,
    // at one k and at every k. Checked against the report's own times, not against each other:
    // separate timings of a few ms each can swap order on a loaded machine. (The report rounds
    // seconds to 1 ms; the fixture's prompts take about that long.)
    assert.ok(d.prefillSeconds >= 0 && Number.isFinite(d.batched_eval_ceiling) && Number.isFinite(d.batched_eval_every_k_ceiling));
    for (const [ceiling, seconds] of [
      [d.batched_eval_ceiling, d.eval.recordByRecordSeconds],
      [d.batched_eval_every_k_ceiling, d.everyK.recordByRecordSeconds],
    ]) {
      assert.ok(ceiling > 0);
      assert.ok(Math.abs(ceiling * d.prefillSeconds - seconds) <= 0.0005 * (ceiling + 1), JSON.stringify(d));
    }
  });

  it('evaluates the official validation set both ways by default for the shipped model; --no-dataset skips it', async () => {
    const r = await run(['bench', '--runs', '1', '--no-cold', '--limit', '4', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.models[0].label, 'prosqa-coconut');
    assert.equal(path.relative(ROOT, j.dataset.file), path.join('data', 'prosqa', 'prosqa_valid.json'));
    assert.equal(j.dataset.records, 4);
    assert.equal(j.dataset.eval.answersDiffering, 0);
    assert.ok(j.batched_eval_speedup > 0 && j.batched_eval_speedup === j.dataset.batched_eval_speedup, 'the batched figure beside the step figure');
    const none = await run(['bench', '--runs', '1', '--no-cold', '--no-dataset', '--json']);
    assert.equal(none.code, 0, none.err);
    assert.equal(JSON.parse(none.out).dataset, undefined);
    const both = await run(['bench', '--dataset', SAMPLE, '--no-dataset']);
    assert.equal(both.code, 2);
    assert.match(both.err, /--dataset and --no-dataset contradict each other/);
  });

  it('names a bad option and a missing Python', async () => {
    let r = await run(['bench', '--torch-device', 'tpu']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--torch-device must be cpu or cuda/);
    r = await run(['bench', '--model', FIXTURE, '--threads', '1', '--runs', '1', '--no-cold', '--vs-pytorch', '--python', '/nonexistent/python3']);
    assert.equal(r.code, 2);
    assert.match(r.err, /the PyTorch reference .* did not start/);
    assert.ok(fs.existsSync(FIXTURE));
  });
});
