// On the CPU a dataset's batches run in lanes, a worker thread and a one-thread session each, several
// batches at once; their rows stay exactly those of the record-by-record run.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { laneBatchSize } from '../../src/engine/analysis/dataset';
import { BatchLanes, laneCount, lanesMaxBytes, LANES_MIN_BYTES } from '../../src/engine/batch-lanes';
import { EngineClient } from '../../src/engine/client';
import { CoconutEngine } from '../../src/engine/engine';
import { loadModelDir } from '../../src/engine/model-dir';
import { cacheKey, rememberEntry } from '../../src/engine/providers';
import { defaultBatchLanes } from '../../src/engine/session';
import { threadCacheFile } from '../../src/engine/thread-choice';
import type { EvalRecord } from '../../src/shared/types';
import { buildBundles, FIXTURE, readManifest, rejectsCode, ROOT, tempCacheDir, tmpDir, VALID_SET } from './helpers';

tempCacheDir();
const SHIPPED = path.join(ROOT, 'models', 'prosqa-coconut');
const sha = readManifest(SHIPPED).files.find((f: { role: string }) => f.role === 'decoder').sha256 as string;
const valid = JSON.parse(fs.readFileSync(VALID_SET, 'utf-8'));
const records = (n: number): EvalRecord[] => valid.slice(0, n).map((r: any, i: number) => ({ index: i, question: r.question, answer: r.answer }));

/** Makes the next load with a budget of 2 find `threads` remembered for the shipped model. */
function remember(threads: number): void {
  rememberEntry(threadCacheFile(), 'coconut-lens-threads', cacheKey(sha, 2), { threads, measuredMs: { 1: 1, 2: 2 }, decidedAt: 'test' });
}

/** CPU milliseconds this process (every thread, the lanes' too) uses in `ms` of idling, and how (user / system). */
async function idleCpu(ms: number): Promise<{ ms: number; how: string }> {
  const before = process.cpuUsage();
  await new Promise((r) => setTimeout(r, ms));
  const used = process.cpuUsage(before);
  return { ms: (used.user + used.system) / 1000, how: `${(used.user / 1000).toFixed(1)} user + ${(used.system / 1000).toFixed(1)} system` };
}

describe('batch lanes', () => {
  it('are wanted only on the CPU, with a budget, as many as the budget and the memory allow', () => {
    assert.equal(laneCount('cpu', 2, 4e6), 2);
    assert.equal(laneCount('cpu', 4, 4e6), 4);
    assert.equal(laneCount('webgpu', 4, 4e6), undefined, 'a GPU runs one padded batch');
    assert.equal(laneCount('cpu', undefined, 4e6), undefined, 'a thread count given: batches on the engine session');
    assert.equal(laneCount('cpu', 1, 4e6), undefined, 'one core: one lane is the engine itself');
    // Their copies of the weights together take at most 1/16 of the memory (64 MB at least).
    const gb = 1024 ** 3;
    assert.equal(lanesMaxBytes(24 * gb), 1.5 * gb);
    assert.equal(lanesMaxBytes(1 * gb), LANES_MIN_BYTES);
    assert.equal(laneCount('cpu', 4, 77e6, lanesMaxBytes(24 * gb)), 4, 'a 6 x 512 model with 24 GB');
    assert.equal(laneCount('cpu', 4, 77e6, lanesMaxBytes(2 * gb)), undefined, 'the same with 2 GB: one copy fits');
    assert.equal(laneCount('cpu', 4, 450e6, lanesMaxBytes(24 * gb)), 3);
    assert.equal(laneCount('cpu', 2, Infinity), undefined, 'an unknown size is taken as large');
  });

  it('give every lane a batch where the records are few', () => {
    assert.equal(laneBatchSize(16, 300, 2), 16);
    assert.equal(laneBatchSize(16, 20, 2), 10);
    assert.equal(laneBatchSize(16, 5, 4), 2);
    assert.equal(laneBatchSize(16, 1, 2), 1);
    assert.equal(laneBatchSize(8, 300, 1), 8);
    assert.equal(laneBatchSize(16, 2, 1), 16, 'one lane: the rows asked for');
  });

  it('are every core up to 4 when no budget is given', async () => {
    const engine = await CoconutEngine.load(SHIPPED, { provider: 'cpu' });
    try {
      const all = Math.min(4, os.availableParallelism());
      assert.equal(defaultBatchLanes(), all);
      assert.equal(engine.info.batchLanes, all > 1 ? all : undefined);
    } finally {
      await engine.dispose();
    }
  });

  it('run the batches with the rows of the record-by-record run, and burn nothing once idle', async () => {
    remember(1);
    const notices: string[] = [];
    const engine = await CoconutEngine.load(SHIPPED, { provider: 'cpu', threadBudget: 2, onNotice: (m) => notices.push(m) });
    try {
      assert.deepEqual([engine.info.threads, engine.info.batchLanes], [1, 2]);
      await engine.prepareThoughtLoop(); // the thought loop's session, made at the second run otherwise
      const held = engine.sessions;
      const recs = records(24);
      const one = await engine.evalDataset(recs, { thoughts: [0, 6], batchSize: 1 });
      assert.equal(engine.sessions, held, 'record by record starts no lane');
      const seen: number[] = [];
      const batched = await engine.evalDataset(recs, { thoughts: [0, 6], batchSize: 5, onProgress: (p) => seen.push(p.done) });
      assert.equal(engine.sessions, held + 2, 'a session per lane');
      assert.deepEqual(notices, [], 'the lanes started');
      assert.deepEqual(batched.records, one.records);
      assert.equal(batched.batchRows, 5);
      assert.deepEqual(
        seen,
        Array.from({ length: 24 }, (_, i) => i + 1),
        'progress counts every record once',
      );
      assert.ok(one.perK[1].accuracy > 0.8, 'the trained model answers');
      // One-thread sessions in lanes that wait on a message: nothing spins after the evaluation. A
      // spinning pool burns after every evaluation, while something late (23 and 35 ms, twice in the
      // clone stage of a full npm test on December 5, never alone) lands in one window: so a second
      // evaluation is watched before the test fails.
      let idle = await idleCpu(300);
      if (idle.ms >= 20) {
        const first = idle;
        await engine.evalDataset(recs.slice(0, 10), { thoughts: [6] });
        idle = await idleCpu(300);
        assert.ok(idle.ms < 20, `the idle engine used ${first.ms} ms (${first.how}) and again ${idle.ms} ms (${idle.how}) of CPU in 300 ms`);
      }
      // The engine's own session still runs single inspects after the batches, and the lanes serve the next evaluation.
      const r = await engine.inspect({ question: recs[0].question });
      assert.equal(r.thoughts.length, 6);
      const again = await engine.evalDataset(recs.slice(0, 6), { thoughts: [6] });
      assert.deepEqual(
        again.records,
        one.records.filter((x) => x.k === 6 && x.index < 6),
      );
      assert.equal(engine.sessions, held + 2);
    } finally {
      await engine.dispose();
    }
  });

  it('stop a cancelled evaluation between passes, and run the next one', async () => {
    remember(1);
    const engine = await CoconutEngine.load(SHIPPED, { provider: 'cpu', threadBudget: 2 });
    try {
      const recs = records(64);
      const ctl = new AbortController();
      let done = 0;
      await rejectsCode(
        engine.evalDataset(recs, {
          thoughts: [6],
          batchSize: 8,
          signal: ctl.signal,
          onProgress: (p) => {
            done = p.done;
            if (p.done >= 8) ctl.abort();
          },
        }),
        'CANCELLED',
      );
      assert.ok(done >= 8 && done < 64, `cancelled after ${done} records`);
      const after = await engine.evalDataset(recs.slice(0, 8), { thoughts: [6] });
      const one = await engine.evalDataset(recs.slice(0, 8), { thoughts: [6], batchSize: 1 });
      assert.deepEqual(after.records, one.records);
    } finally {
      await engine.dispose();
    }
  });

  it("report a decoder a lane's session cannot load, and stop every lane", async () => {
    const model = await loadModelDir(FIXTURE);
    const lanes = new BatchLanes(
      2,
      async () => ({
        decoder: { path: 'broken.onnx', bytes: new Uint8Array([1, 2, 3]) },
        manifest: model.manifest,
        probe: model.probe,
        prefillPassScores: Infinity,
      }),
      () => 1,
    );
    const e = await rejectsCode(lanes.answers([[1, 2, 3]], [1], 2), 'MODEL_ONNX_INVALID');
    assert.match(e.message, /broken\.onnx/);
    assert.equal(lanes.sessions, 0);
    await lanes.release();
  });

  it('name a lane whose thread stops mid-batch, and start it again for the next batch', async () => {
    const model = await loadModelDir(FIXTURE);
    const bytes = fs.readFileSync(path.join(FIXTURE, 'decoder.onnx'));
    const lanes = new BatchLanes(
      1,
      async () => ({ decoder: { path: 'decoder.onnx', bytes }, manifest: model.manifest, probe: model.probe, prefillPassScores: Infinity }),
      () => 1,
    );
    try {
      const prompt = [[1, 2, 3, model.manifest.special_tokens.bot.id]];
      const first = await lanes.answers(prompt, [1], 4);
      // No public way to crash a thread: stop the one lane's worker while it runs a batch.
      const [lane] = (lanes as unknown as { all: Set<{ worker: { terminate(): Promise<number> } }> }).all;
      const running = lanes.answers(prompt, [1], 4);
      void lane.worker.terminate();
      const e = await rejectsCode(running, 'INTERNAL');
      assert.match(e.message, /a batch lane stopped/);
      assert.deepEqual(await lanes.answers(prompt, [1], 4), first, 'a new lane runs the next batch');
      assert.equal(lanes.sessions, 1);
    } finally {
      await lanes.release();
    }
  });

  it('stop once idle, giving their memory back, and start again for the next batch', async () => {
    const model = await loadModelDir(FIXTURE);
    const bytes = fs.readFileSync(path.join(FIXTURE, 'decoder.onnx'));
    const setup = async () => ({ decoder: { path: 'decoder.onnx', bytes }, manifest: model.manifest, probe: model.probe, prefillPassScores: Infinity });
    const lanes = new BatchLanes(2, setup, () => 1, 150);
    try {
      const prompt = [[1, 2, 3, model.manifest.special_tokens.bot.id]];
      const first = await lanes.answers(prompt, [1], 4);
      assert.equal(lanes.sessions, 2);
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(lanes.sessions, 2, 'not yet idle long enough');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(lanes.sessions, 0, 'stopped after 150 ms without a batch');
      assert.deepEqual(await lanes.answers(prompt, [1], 4), first);
      assert.equal(lanes.sessions, 2);
    } finally {
      await lanes.release();
    }
    assert.equal(lanes.sessions, 0);
  });

  it('are not started from a decoder.onnx replaced after the load: the evaluation says so, and record by record goes on', async () => {
    remember(1);
    const dir = tmpDir('coconut-lens-shipped-');
    for (const f of fs.readdirSync(SHIPPED)) fs.copyFileSync(path.join(SHIPPED, f), path.join(dir, f));
    const engine = await CoconutEngine.load(dir, { provider: 'cpu', threadBudget: 2 });
    try {
      assert.equal(engine.info.batchLanes, 2);
      const recs = records(4);
      const before = await engine.evalDataset(recs, { batchSize: 1 });
      fs.copyFileSync(path.join(FIXTURE, 'decoder.onnx'), path.join(dir, 'decoder.onnx'));
      await assert.rejects(
        engine.evalDataset(recs, { batchSize: 4 }),
        (e: any) => e.code === 'MODEL_CHECKSUM' && /decoder\.onnx changed since the model was loaded/.test(e.message) && /run the command again/.test(e.fix),
      );
      const after = await engine.evalDataset(recs, { batchSize: 1 });
      assert.deepEqual(after.records, before.records, 'the loaded model still answers');
    } finally {
      await engine.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('run from the bundles as the extension and the CLI run them (dist/batch-lane.js beside the engine worker)', async () => {
    const { worker } = await buildBundles();
    const notices: string[] = [];
    const client = new EngineClient({ workerPath: worker, onNotice: (m) => notices.push(m) });
    try {
      const info = await client.load(SHIPPED, 'cpu');
      if (os.availableParallelism() < 2) return assert.equal(info.batchLanes, undefined, 'one core: no lanes');
      assert.equal(info.batchLanes, Math.min(4, os.availableParallelism()));
      const recs = records(20);
      const batched = await client.evalDataset(recs, { thoughts: [6] });
      assert.deepEqual(notices, [], 'the bundled lanes started');
      const one = await client.evalDataset(recs, { thoughts: [6], batchSize: 1 });
      assert.deepEqual(batched.records, one.records);
    } finally {
      await client.dispose();
    }
  });

  it('are not made where the thread count was given: the batches run on the engine session', async () => {
    remember(2);
    for (const opts of [{ threads: 1, threadBudget: 2 }, { threads: 2 }]) {
      const engine = await CoconutEngine.load(SHIPPED, { provider: 'cpu', ...opts });
      try {
        assert.equal(engine.info.batchLanes, undefined, JSON.stringify(opts));
        await engine.prepareThoughtLoop();
        const held = engine.sessions;
        const batched = await engine.evalDataset(records(3), { batchSize: 3 });
        assert.equal(engine.sessions, held, JSON.stringify(opts));
        assert.equal(batched.batchRows, 3);
      } finally {
        await engine.dispose();
      }
    }
  });
});
