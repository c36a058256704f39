// Where the engine keeps fewer threads than the budget, a dataset's batches run on a second session
// with the budget, spinning only within runs; their rows stay exactly those of the record-by-record run.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { batchSessionMaxBytes, batchThreads, SECOND_SESSION_MAX_BYTES } from '../../src/engine/batch-session';
import { CoconutEngine } from '../../src/engine/engine';
import { cacheKey, rememberEntry } from '../../src/engine/providers';
import { defaultBatchThreads } from '../../src/engine/session';
import { threadCacheFile } from '../../src/engine/thread-choice';
import type { EvalRecord } from '../../src/shared/types';
import { FIXTURE, readManifest, ROOT, tempCacheDir, tmpDir, VALID_SET } from './helpers';

tempCacheDir();
const SHIPPED = path.join(ROOT, 'models', 'prosqa-coconut');
const sha = readManifest(SHIPPED).files.find((f: { role: string }) => f.role === 'decoder').sha256 as string;

/** Makes the next load with a budget of 2 find `threads` remembered for the shipped model. */
function remember(threads: number): void {
  rememberEntry(threadCacheFile(), 'coconut-lens-threads', cacheKey(sha, 2), { threads, measuredMs: { 1: 1, 2: 2 }, decidedAt: 'test' });
}

describe('a second session for batches', () => {
  it('is wanted only on the CPU, below the budget, for a model small enough to hold twice', () => {
    const base = { provider: 'cpu' as const, threads: 1 };
    assert.equal(batchThreads(base, 3, 4e6), 3);
    assert.equal(batchThreads({ ...base, provider: 'webgpu' }, 3, 4e6), undefined);
    assert.equal(batchThreads(base, undefined, 4e6), undefined, 'a thread count given: no budget');
    assert.equal(batchThreads({ ...base, threads: 3 }, 3, 4e6), undefined);
    assert.equal(batchThreads(base, 1, 4e6), undefined);
    assert.equal(batchThreads(base, 3, SECOND_SESSION_MAX_BYTES + 1, SECOND_SESSION_MAX_BYTES), undefined);
    // Larger models get one where their copy is at most 1/32 of the memory.
    const gb = 1024 ** 3;
    assert.equal(batchSessionMaxBytes(24 * gb), 0.75 * gb);
    assert.equal(batchSessionMaxBytes(1 * gb), SECOND_SESSION_MAX_BYTES);
    assert.equal(batchThreads(base, 2, 77e6, batchSessionMaxBytes(24 * gb)), 2, 'a 6 x 512 model with 24 GB');
    assert.equal(batchThreads(base, 2, 77e6, batchSessionMaxBytes(2 * gb)), undefined, 'the same with 2 GB');
  });

  it('takes every core up to 4 when no budget is given, where the engine keeps fewer', async () => {
    const engine = await CoconutEngine.load(SHIPPED, { provider: 'cpu' });
    try {
      const all = Math.min(4, os.availableParallelism());
      assert.equal(defaultBatchThreads(), all);
      assert.equal(engine.info.batchThreads, engine.info.threads < all ? all : undefined);
    } finally {
      await engine.dispose();
    }
  });

  it('runs the batches of a model that keeps one thread, with the rows of the record-by-record run', async () => {
    remember(1);
    const engine = await CoconutEngine.load(SHIPPED, { provider: 'cpu', threadBudget: 2 });
    try {
      assert.deepEqual([engine.info.threads, engine.info.batchThreads], [1, 2]);
      await engine.prepareThoughtLoop(); // the thought loop's session, made at the second run otherwise
      const held = engine.sessions;
      const valid = JSON.parse(fs.readFileSync(VALID_SET, 'utf-8'));
      const records: EvalRecord[] = valid.slice(0, 24).map((r: any, i: number) => ({ index: i, question: r.question, answer: r.answer }));
      const one = await engine.evalDataset(records, { thoughts: [0, 6], batchSize: 1 });
      assert.equal(engine.sessions, held, 'record by record needs no session for batches');
      const batched = await engine.evalDataset(records, { thoughts: [0, 6], batchSize: 8 });
      assert.equal(engine.sessions, held + 1);
      assert.deepEqual(batched.records, one.records);
      assert.ok(one.perK[1].accuracy > 0.8, 'the trained model answers');
      // Its pool spins only while a pass runs: spinning on after each run would burn ~40 ms of a core.
      const before = process.cpuUsage();
      await new Promise((r) => setTimeout(r, 300));
      const idle = process.cpuUsage(before);
      assert.ok((idle.user + idle.system) / 1000 < 20, `the idle engine used ${(idle.user + idle.system) / 1000} ms of CPU in 300 ms`);
      // The engine's own session still runs single inspects after the batches.
      const r = await engine.inspect({ question: records[0].question });
      assert.equal(r.thoughts.length, 6);
    } finally {
      await engine.dispose();
    }
  });

  it('is not made from a decoder.onnx replaced after the load: the evaluation says so, and record by record goes on', async () => {
    remember(1);
    const dir = tmpDir('coconut-lens-shipped-');
    for (const f of fs.readdirSync(SHIPPED)) fs.copyFileSync(path.join(SHIPPED, f), path.join(dir, f));
    const engine = await CoconutEngine.load(dir, { provider: 'cpu', threadBudget: 2 });
    try {
      assert.equal(engine.info.batchThreads, 2);
      const valid = JSON.parse(fs.readFileSync(VALID_SET, 'utf-8'));
      const records: EvalRecord[] = valid.slice(0, 4).map((r: any, i: number) => ({ index: i, question: r.question, answer: r.answer }));
      const before = await engine.evalDataset(records, { batchSize: 1 });
      fs.copyFileSync(path.join(FIXTURE, 'decoder.onnx'), path.join(dir, 'decoder.onnx'));
      await assert.rejects(
        engine.evalDataset(records, { batchSize: 4 }),
        (e: any) => e.code === 'MODEL_CHECKSUM' && /decoder\.onnx changed since the model was loaded/.test(e.message) && /run the command again/.test(e.fix),
      );
      const after = await engine.evalDataset(records, { batchSize: 1 });
      assert.deepEqual(after.records, before.records, 'the loaded model still answers');
    } finally {
      await engine.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is not made where the engine already runs the budget, or was given its count', async () => {
    remember(2);
    for (const opts of [{ threadBudget: 2 }, { threads: 1, threadBudget: 2 }]) {
      const engine = await CoconutEngine.load(SHIPPED, { provider: 'cpu', ...opts });
      try {
        assert.equal(engine.info.batchThreads, undefined, JSON.stringify(opts));
        await engine.prepareThoughtLoop();
        const held = engine.sessions;
        const valid = JSON.parse(fs.readFileSync(VALID_SET, 'utf-8'));
        await engine.evalDataset(
          [
            { index: 0, question: valid[0].question, answer: valid[0].answer },
            { index: 1, question: valid[1].question, answer: valid[1].answer },
          ],
          { batchSize: 2 },
        );
        assert.equal(engine.sessions, held, JSON.stringify(opts));
      } finally {
        await engine.dispose();
      }
    }
  });
});
