import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { after, before, describe, it } from 'node:test';
import { EngineClient } from '../../src/engine/client';
import type { InspectProgress } from '../../src/shared/types';
import type { HostToWorker, WorkerToHost } from '../../src/engine/worker-protocol';
import { buildBundles, copyFixture, FIXTURE, golden, rejectsCode } from './helpers';

let workerPath: string;
const g = golden();
const Q = g.cases[1].question as string;
// About 110 passes (8 thoughts, then an answer that never meets eos on this random model): long
// enough that a cancel sent after the first thought always lands half way.
const LONG = { question: g.cases[0].question as string, thoughts: 8, maxNewTokens: 100 };

before(async () => {
  workerPath = (await buildBundles()).worker;
});

describe('EngineClient and the engine worker', () => {
  let client: EngineClient;
  before(async () => {
    client = new EngineClient({ workerPath });
  });
  after(() => client.dispose());

  it('refuses to inspect before a model is loaded', async () => {
    const e = await rejectsCode(client.inspect({ question: Q }), 'NOT_LOADED');
    assert.match(e.fix, /load a model/);
  });

  it('re-creates engine errors as EngineError with code, message and fix', async () => {
    const e = await rejectsCode(client.load('/nonexistent/model-dir', 'cpu'), 'MODEL_NOT_FOUND');
    assert.match(e.message, /\/nonexistent\/model-dir does not exist/);
    assert.match(e.fix, /coconut\.json/);
    const d = await rejectsCode(client.load(path.join('/nonexistent', 'models', 'prosqa-coconut'), 'auto', { isDefault: true }), 'MODEL_NOT_FOUND');
    assert.match(d.message, /^the default model models\/prosqa-coconut is not there yet/);
  });

  it('loads a model and runs a round trip identical to the in-process golden run', async () => {
    const info = await client.load(FIXTURE, 'cpu', { threads: 1 });
    assert.equal(info.name, 'tiny-random');
    assert.equal(info.provider, 'cpu');
    assert.equal(client.info?.name, 'tiny-random');
    const c = g.cases.find((x: any) => x.k === 3);
    const progress: InspectProgress[] = [];
    const r = await client.inspect({ question: c.question, thoughts: 3, topK: 5 }, { onProgress: (p) => progress.push(p) });
    assert.equal(r.thoughts.length, 3);
    assert.deepEqual(
      r.thoughts[0].topk.map((t) => t.id),
      c.thoughts[0].topk.map((t: any) => t.id),
    );
    assert.equal(r.answer.text, c.answer_text);
    assert.equal(r.thoughts[2].vector.length, 32);
    assert.deepEqual(
      progress.filter((p) => p.stage === 'thoughts').map((p) => p.done),
      [1, 2, 3],
    );
    assert.equal(progress.find((p) => p.stage === 'thoughts')!.thought!.index, 1);
  });

  it('keeps error details across the boundary (unknown words)', async () => {
    const e = await rejectsCode(client.inspect({ question: 'Is Zed a lempus?' }), 'PROMPT_OOV');
    assert.deepEqual(
      (e.details as any).unknown.map((u: any) => u.word),
      ['Zed'],
    );
  });

  it('rejects a second inspect while one runs with BUSY, and the first completes', async () => {
    const first = client.inspect(LONG);
    assert.equal(client.busy, true);
    const e = await rejectsCode(client.inspect({ question: Q, thoughts: 1 }), 'BUSY');
    assert.equal(e.message, 'a run is already in progress; cancel it or wait');
    await rejectsCode(client.load(FIXTURE, 'cpu'), 'BUSY');
    const r = await first;
    assert.equal(r.thoughts.length, 8);
    assert.equal(client.busy, false);
    const again = await client.inspect({ question: Q, thoughts: 1 });
    assert.equal(again.thoughts.length, 1);
  });

  it('forwards cancellation to the worker: cancel() and an AbortSignal', async () => {
    let cancelled = false;
    const viaCancel = client.inspect(LONG, {
      onProgress: (p) => {
        if (p.stage === 'thoughts' && p.done === 1 && !cancelled) {
          cancelled = true;
          client.cancel();
        }
      },
    });
    const e = await rejectsCode(viaCancel, 'CANCELLED');
    assert.match(e.message, /cancelled/);
    assert.equal(client.busy, false);
    const ac = new AbortController();
    // The worker may finish all 8 cheap thought passes before the abort reaches it; what must not
    // happen is the run going on to the end of its ~100 answer passes.
    let passes = 0;
    const viaSignal = client.inspect(LONG, {
      signal: ac.signal,
      onProgress: (p) => {
        if (p.stage === 'thoughts' || p.stage === 'answer') passes++;
        if (p.stage === 'thoughts' && p.done === 1) ac.abort();
      },
    });
    await rejectsCode(viaSignal, 'CANCELLED');
    assert.ok(passes < 8 + LONG.maxNewTokens, `the run stopped half way (saw ${passes} of ${8 + LONG.maxNewTokens} passes)`);
    const pre = new AbortController();
    pre.abort();
    await rejectsCode(client.inspect({ question: Q }, { signal: pre.signal }), 'CANCELLED');
    const r = await client.inspect({ question: Q, thoughts: 2 });
    assert.equal(r.thoughts.length, 2, 'the worker still works after cancellations');
  });

  it('rejects pending calls with CANCELLED on dispose and refuses later calls', async () => {
    const c2 = new EngineClient({ workerPath });
    await c2.load(FIXTURE, 'cpu', { threads: 1 });
    const pending = c2.inspect(LONG);
    c2.dispose();
    await rejectsCode(pending, 'CANCELLED');
    await rejectsCode(c2.inspect({ question: Q }), 'NOT_LOADED');
  });

  it('stops the worker by itself when disposed mid-pass: no native abort of the whole process', async () => {
    // Terminating the thread while onnxruntime-node runs a pass for it aborted this test process
    // about one time in twenty; ten disposals at the first progress of a run, each answered by a
    // clean exit (code 0, not terminate's 1), keep that from coming back.
    for (let i = 0; i < 10; i++) {
      const c = new EngineClient({ workerPath });
      await c.load(FIXTURE, 'cpu', { threads: 1 });
      let started!: () => void;
      const firstProgress = new Promise<void>((resolve) => (started = resolve));
      const pending = c.inspect(LONG, { onProgress: () => started() });
      await firstProgress;
      const exited = c.dispose();
      await rejectsCode(pending, 'CANCELLED');
      assert.equal(await exited, 0, 'the worker exits by itself');
      assert.equal(await c.dispose(), 0, 'a second dispose reports the same exit');
    }
    assert.equal(await new EngineClient({ workerPath }).dispose(), undefined, 'no worker was started');
  });

  it("passes the engine's notices to the host: a thought loop session that cannot be made", async () => {
    const dir = copyFixture();
    const notices: string[] = [];
    const c = new EngineClient({ workerPath, onNotice: (m) => notices.push(m) });
    try {
      await c.load(dir, 'cpu', { threads: 1 });
      const first = await c.inspect({ question: Q, thoughts: 2 });
      fs.writeFileSync(path.join(dir, 'decoder.onnx'), 'damaged after the load');
      // The second run makes the session with the loop (loop-session.ts), from the damaged file.
      const second = await c.inspect({ question: Q, thoughts: 2 });
      assert.deepEqual(
        second.thoughts.map((t) => t.topk[0]?.id),
        first.thoughts.map((t) => t.topk[0]?.id),
        'the run itself goes on, stepping',
      );
      assert.equal(notices.length, 1, JSON.stringify(notices));
      assert.match(notices[0]!, /thoughts in one call are off for this model/);
    } finally {
      await c.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says when the worker script is missing', async () => {
    const c3 = new EngineClient({ workerPath: '/nonexistent/engine-worker.js' });
    const e = await rejectsCode(c3.load(FIXTURE, 'cpu'), 'INTERNAL');
    assert.match(e.fix, /npm run build/);
    c3.dispose();
  });
});

describe('the worker protocol itself', () => {
  it('answers every request id, refusing an overlapping inspect with BUSY', async () => {
    const w = new Worker(workerPath);
    const replies = new Map<number, WorkerToHost>();
    const done = new Promise<void>((resolve) => {
      w.on('message', (m: WorkerToHost) => {
        if (m.kind !== 'progress' && m.kind !== 'notice') replies.set(m.id, m);
        if (replies.size === 3) resolve();
      });
    });
    const send = (m: HostToWorker) => w.postMessage(m);
    const loaded = new Promise<WorkerToHost>((resolve) => w.once('message', resolve));
    send({ kind: 'load', id: 1, params: { modelDir: FIXTURE, provider: 'cpu', threads: 1 } });
    assert.equal((await loaded).kind, 'ok');
    send({ kind: 'inspect', id: 2, request: LONG });
    send({ kind: 'inspect', id: 3, request: { question: Q, thoughts: 1 } });
    await done;
    assert.equal(replies.get(2)?.kind, 'ok');
    const busy = replies.get(3);
    assert.ok(busy?.kind === 'error');
    assert.equal(busy.error.code, 'BUSY');
    await w.terminate();
  });
});
