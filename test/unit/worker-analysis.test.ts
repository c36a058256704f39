// The analyses through EngineClient and the worker thread: same results as in-process, progress
// streamed, BUSY while any run goes on, CANCELLED on cancel, EngineErrors intact across the boundary.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AnalysisProgress } from '../../src/shared/types';
import { EngineClient } from '../../src/engine/client';
import { CoconutEngine } from '../../src/engine/engine';
import { buildBundles, FIXTURE, rejectsCode, ROOT } from './helpers';

const SAMPLE = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'prosqa_sample.json'), 'utf-8'));
const Q: string = SAMPLE[0].question;
const GRAPH = {
  idx_to_symbol: SAMPLE[0].idx_to_symbol,
  edges: SAMPLE[0].edges,
  root: SAMPLE[0].root,
  target: SAMPLE[0].target,
  neg_target: SAMPLE[0].neg_target,
};
// Long enough (9 branches of up to 100 tokens on this random model) that a cancel lands half way.
const LONG_SWEEP = { question: Q, maxNewTokens: 100 };

let client: EngineClient;
let local: CoconutEngine;

before(async () => {
  const { worker } = await buildBundles();
  client = new EngineClient({ workerPath: worker });
  await client.load(FIXTURE, 'cpu', { threads: 1 });
  local = await CoconutEngine.load(FIXTURE, { provider: 'cpu', threads: 1 });
});
after(async () => {
  client.dispose();
  await local.dispose();
});

describe('analyses through EngineClient', () => {
  it('refuses analyses before a model is loaded', async () => {
    const c = new EngineClient({ workerPath: (await buildBundles()).worker });
    await rejectsCode(c.sweep({ question: Q }), 'NOT_LOADED');
    await rejectsCode(c.evalDataset([{ question: Q, answer: 'x' }]), 'NOT_LOADED');
    c.dispose();
  });

  it('sweep, intervene, attribution and inspect with a graph equal the in-process engine', async () => {
    const seen: AnalysisProgress[] = [];
    const s = await client.sweep({ question: Q }, { from: 0, to: 3, expected: SAMPLE[0].answer, onProgress: (p) => seen.push(p) });
    assert.deepEqual(s.points, (await local.sweep({ question: Q }, { from: 0, to: 3, expected: SAMPLE[0].answer })).points);
    assert.deepEqual(
      seen.map((p) => [p.task, p.done]),
      [
        ['sweep', 1],
        ['sweep', 2],
        ['sweep', 3],
        ['sweep', 4],
      ],
    );

    const req = { question: Q, thoughts: 3, interventions: [{ thought: 2, kind: 'token' as const, token: 'lempus' }] };
    const iv = await client.intervene(req);
    const ivLocal = await local.intervene(req);
    assert.deepEqual(iv.divergence, ivLocal.divergence);
    assert.deepEqual(iv.intervened.thoughts[1].intervened, ivLocal.intervened.thoughts[1].intervened);

    const a = await client.attribution({ question: Q, thoughts: 3 });
    assert.deepEqual(a, await local.attribution({ question: Q, thoughts: 3 }));

    const g = await client.inspect({ question: Q, thoughts: 2, graph: GRAPH });
    assert.deepEqual(g.nodeValues, (await local.inspect({ question: Q, thoughts: 2, graph: GRAPH })).nodeValues);
  });

  it('evaluates a dataset with progress, and keeps error codes across the boundary', async () => {
    const records = SAMPLE.map((r: any, i: number) => ({ index: i, question: r.question, answer: r.answer, graph: r }));
    const progress: AnalysisProgress[] = [];
    const r = await client.evalDataset(records, { thoughts: [0, 1], limit: 3, onProgress: (p) => progress.push(p) });
    assert.deepEqual(
      progress.map((p) => p.done),
      [1, 2, 3],
    );
    assert.equal(r.records.length, 6);
    assert.deepEqual(r.perK, (await local.evalDataset(records, { thoughts: [0, 1], limit: 3 })).perK);
    const e = await rejectsCode(client.intervene({ question: Q, thoughts: 6, interventions: [{ thought: 9, kind: 'zero' }] }), 'THOUGHTS_RANGE');
    assert.equal(e.message, 'thought 9 does not exist: this run has 6 thoughts');
  });

  it('answers BUSY while any run goes on, and CANCELLED on cancel', async () => {
    const first = client.sweep(LONG_SWEEP, { to: 2 });
    await rejectsCode(client.inspect({ question: Q, thoughts: 1 }), 'BUSY');
    await rejectsCode(client.attribution({ question: Q, thoughts: 1 }), 'BUSY');
    await rejectsCode(client.evalDataset([{ question: Q, answer: 'x' }]), 'BUSY');
    assert.equal((await first).points.length, 3);

    let points = 0;
    const cancelled = client.sweep(LONG_SWEEP, {
      onProgress: () => {
        if (++points === 1) client.cancel();
      },
    });
    await rejectsCode(cancelled, 'CANCELLED');
    assert.ok(points < 9, `stopped half way (${points} of 9 points)`);

    const ac = new AbortController();
    // 40 records that fit the fixture's context, 9 values of k each: far longer than a cancel takes.
    const fitting = SAMPLE.filter((_: unknown, i: number) => i !== 2).map((r: any) => ({ question: r.question, answer: r.answer }));
    const records = Array.from({ length: 10 }, () => fitting).flat();
    let done = 0;
    await rejectsCode(
      client.evalDataset(records, {
        thoughts: [0, 1, 2, 3, 4, 5, 6, 7, 8],
        maxNewTokens: 100,
        // Five batches: the cancel sent at the first record's progress lands while four remain
        // (with the default 16 rows the last two batches ran out before it arrived).
        batchSize: 8,
        signal: ac.signal,
        onProgress: () => {
          if (++done === 1) ac.abort();
        },
      }),
      'CANCELLED',
    );
    assert.ok(done < records.length, `stopped half way (${done} of ${records.length} records)`);
    assert.equal(client.busy, false);
    assert.equal((await client.sweep({ question: Q }, { from: 0, to: 0 })).points.length, 1, 'works after cancellations');
  });
});
