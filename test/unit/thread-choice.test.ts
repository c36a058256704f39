// An unset thread count: 1 or the budget, whichever ran a short inspect faster, measured once per
// model, machine and budget and remembered in threads.json; a given count or a one-thread budget is
// never measured.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { InferenceSession } from 'onnxruntime-node';
import { CoconutEngine } from '../../src/engine/engine';
import { cacheKey } from '../../src/engine/providers';
import { chooseThreads, threadCacheFile } from '../../src/engine/thread-choice';
import { FIXTURE, readManifest, rm, tempCacheDir } from './helpers';

const cache = tempCacheDir();

const sha = readManifest(FIXTURE).files.find((f: { role: string }) => f.role === 'decoder').sha256 as string;

/** Stand-in sessions that take `ms[threads]` to measure and record their release. */
function fakeSessions(ms: Record<number, number>) {
  const released: number[] = [];
  const created: number[] = [];
  const create = async (threads: number) => {
    created.push(threads);
    return { threads, release: async () => void released.push(threads) } as unknown as InferenceSession;
  };
  const measure = async (s: InferenceSession) => ms[(s as unknown as { threads: number }).threads];
  return { create, measure, released, created };
}

describe('choosing the thread count', () => {
  it('keeps the budget where it ran faster, one thread where that did or they tied, and releases both sessions', async () => {
    const file = path.join(cache, 'choose.json');
    for (const [ms, want] of [
      [{ 1: 5, 3: 3 }, 3],
      [{ 1: 3, 3: 5 }, 1],
      [{ 1: 4, 3: 4 }, 1],
    ] as const) {
      rm(file);
      const f = fakeSessions(ms);
      const c = await chooseThreads(3, { modelSha256: 'abc', measure: f.measure, cacheFile: file }, f.create);
      assert.equal(c.threads, want);
      assert.equal(c.source, 'measured');
      assert.deepEqual(c.measuredMs, { 1: ms[1], 3: ms[3] });
      assert.deepEqual(f.created, [1, 3]);
      assert.deepEqual(f.released.sort(), [1, 3]);
      assert.equal(JSON.parse(fs.readFileSync(file, 'utf-8')).entries[cacheKey('abc', 3)].threads, want);
    }
  });

  it('reads a remembered choice without creating a session, and measures over one it cannot use', async () => {
    const file = path.join(cache, 'remembered.json');
    rm(file);
    await chooseThreads(2, { modelSha256: 'abc', measure: fakeSessions({ 1: 9, 2: 1 }).measure, cacheFile: file }, fakeSessions({ 1: 9, 2: 1 }).create);
    const again = fakeSessions({ 1: 1, 2: 9 });
    const c = await chooseThreads(2, { modelSha256: 'abc', measure: again.measure, cacheFile: file }, again.create);
    assert.deepEqual([c.threads, c.source, again.created.length], [2, 'cache', 0]);
    // Another budget is another key; a count that is neither 1 nor the budget is measured over.
    const other = fakeSessions({ 1: 1, 4: 9 });
    assert.equal((await chooseThreads(4, { modelSha256: 'abc', measure: other.measure, cacheFile: file }, other.create)).source, 'measured');
    const data = JSON.parse(fs.readFileSync(file, 'utf-8'));
    data.entries[cacheKey('abc', 2)].threads = 3;
    fs.writeFileSync(file, JSON.stringify(data));
    const over = fakeSessions({ 1: 1, 2: 9 });
    const d = await chooseThreads(2, { modelSha256: 'abc', measure: over.measure, cacheFile: file }, over.create);
    assert.deepEqual([d.threads, d.source], [1, 'measured']);
    fs.writeFileSync(file, '{ not json');
    const broken = fakeSessions({ 1: 9, 2: 1 });
    assert.equal((await chooseThreads(2, { modelSha256: 'abc', measure: broken.measure, cacheFile: file }, broken.create)).threads, 2);
  });

  it('a measurement that fails is the error, with every session it created released', async () => {
    const f = fakeSessions({ 1: 1, 2: 1 });
    const measure = async () => {
      throw new Error('cannot run this decoder');
    };
    await assert.rejects(chooseThreads(2, { modelSha256: 'abc', measure, cacheFile: path.join(cache, 'failed.json') }, f.create), /cannot run this decoder/);
    assert.deepEqual(f.released.sort(), [1, 2]);
    assert.equal(fs.existsSync(path.join(cache, 'failed.json')), false);
  });
});

describe('an engine loaded without a thread count', () => {
  it('measures a short inspect at 1 thread and at the budget, runs at the faster, and remembers it', async () => {
    rm(threadCacheFile());
    const first = await CoconutEngine.load(FIXTURE, { provider: 'cpu', threadBudget: 2 });
    try {
      const c = first.info.threadChoice!;
      assert.equal(c.source, 'measured');
      assert.deepEqual(Object.keys(c.measuredMs).sort(), ['1', '2']);
      for (const ms of Object.values(c.measuredMs)) assert.ok(ms > 0 && Number.isFinite(ms));
      assert.equal(first.info.threads, c.measuredMs['2'] < c.measuredMs['1'] ? 2 : 1);
      const r = await first.inspect({ question: 'Is Tom a wumpus?', thoughts: 2 });
      assert.equal(r.thoughts.length, 2);
    } finally {
      await first.dispose();
    }
    // The remembered entry decides the next load: mark it to see it come back.
    const file = threadCacheFile();
    const data = JSON.parse(fs.readFileSync(file, 'utf-8'));
    data.entries[cacheKey(sha, 2)] = { threads: 2, measuredMs: { 1: 7.5, 2: 2.5 }, decidedAt: 'marked' };
    fs.writeFileSync(file, JSON.stringify(data));
    const second = await CoconutEngine.load(FIXTURE, { provider: 'cpu', threadBudget: 2 });
    try {
      assert.deepEqual([second.info.threads, second.info.threadChoice], [2, { source: 'cache', measuredMs: { 1: 7.5, 2: 2.5 } }]);
    } finally {
      await second.dispose();
    }
  });

  it('is not measured with a count given, a one-thread budget, or a GPU named outright', async () => {
    rm(threadCacheFile());
    for (const [opts, threads] of [
      [{ provider: 'cpu', threads: 2, threadBudget: 4 }, 2],
      [{ provider: 'cpu', threadBudget: 1 }, 1],
      [{ provider: 'webgpu', threadBudget: 2 }, 2],
    ] as const) {
      const e = await CoconutEngine.load(FIXTURE, opts);
      try {
        assert.equal(e.info.threads, threads, JSON.stringify(opts));
        assert.equal(e.info.threadChoice, undefined, JSON.stringify(opts));
      } finally {
        await e.dispose();
      }
    }
    assert.equal(fs.existsSync(threadCacheFile()), false);
  });
});
