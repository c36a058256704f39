// Dataset evaluation in left-padded batches must give exactly the rows of the record-by-record run:
// on the random fixture (answers always run to max_new_tokens, one prompt too long) and on the
// shipped trained model (answers end at eos after different lengths, sharp attention).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AnalysisProgress, EvalRecord } from '../../src/shared/types';
import { CoconutEngine } from '../../src/engine/engine';
import { DEFAULT_BATCH_BUFFER_BYTES, defaultBatchSize, laneBatchSize } from '../../src/engine/analysis/dataset';
import { BatchDecoder } from '../../src/engine/batch-decoder';
import { createSession } from '../../src/engine/session';
import { FIXTURE, rejectsCode, ROOT, VALID_SET } from './helpers';

const SAMPLE = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'prosqa_sample.json'), 'utf-8'));
const SHIPPED = path.join(ROOT, 'models', 'prosqa-coconut');
const TRACED = path.join(ROOT, 'test', 'fixtures', 'tiny-model-traced');

describe('batched dataset evaluation: the fixture', () => {
  let engine: CoconutEngine;
  before(async () => {
    engine = await CoconutEngine.load(FIXTURE, { provider: 'cpu', threads: 1 });
  });
  after(async () => {
    await engine?.dispose();
  });
  const records: EvalRecord[] = SAMPLE.map((r: any, i: number) => ({ index: i, question: r.question, answer: r.answer, graph: r }));

  it('gives the rows of the record-by-record run for every batch size, a too-long record included', async () => {
    const one = await engine.evalDataset(records, { thoughts: [0, 1, 2], batchSize: 1 });
    assert.ok(one.records.some((r) => r.errorCode === 'PROMPT_TOO_LONG'));
    for (const batchSize of [2, 3, 4, 64, undefined]) {
      const progress: AnalysisProgress[] = [];
      const b = await engine.evalDataset(records, { thoughts: [0, 1, 2], batchSize, onProgress: (p) => progress.push(p) });
      assert.deepEqual(b.records, one.records, `batch size ${batchSize}`);
      assert.deepEqual(b.perK, one.perK);
      // Every record reported once, counted up to the total, whatever order the batches ran in.
      assert.deepEqual(
        progress.map((p) => p.done),
        [1, 2, 3, 4, 5],
      );
      assert.deepEqual(progress.flatMap((p) => p.records!.map((r) => r.index)).sort(), [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
    }
  });

  it('rejects a batch size that is not a whole number from 1 to 1024, and cancels between batches', async () => {
    for (const bad of [0, 1.5, -2, 2000, '8' as unknown as number]) {
      const e = await rejectsCode(engine.evalDataset(records, { batchSize: bad }), 'BAD_OPTION');
      assert.match(e.message, /batch size must be a whole number from 1 to 1024/);
    }
    const ac = new AbortController();
    await rejectsCode(engine.evalDataset(records, { thoughts: [0, 1], batchSize: 2, signal: ac.signal, onProgress: () => ac.abort() }), 'CANCELLED');
  });
});

describe('batched dataset evaluation: the shipped model', () => {
  let engine: CoconutEngine;
  before(async () => {
    engine = await CoconutEngine.load(SHIPPED, { provider: 'cpu', threads: 1 });
  });
  after(async () => {
    await engine?.dispose();
  });

  it('answers 40 official validation records at k = 0, 3 and 6 exactly as record by record', async () => {
    const valid = JSON.parse(fs.readFileSync(VALID_SET, 'utf-8')) as { question: string; answer: string }[];
    const records = valid.slice(0, 40).map((r, i) => ({ index: i, question: r.question, answer: r.answer }));
    const one = await engine.evalDataset(records, { thoughts: [0, 3, 6], batchSize: 1 });
    const b = await engine.evalDataset(records, { thoughts: [0, 3, 6], batchSize: 8 });
    assert.deepEqual(b.records, one.records);
    // Trained answers end at eos, with lengths that differ across a batch.
    const lengths = new Set(one.records.map((r) => r.text?.length));
    assert.ok(lengths.size > 1);
    assert.ok(one.perK[2].accuracy > 0.6, `k=6 accuracy ${one.perK[2].accuracy}`);
  });
});

describe('rows per batch when none is given', () => {
  it('16, or as many as fit 256 MB of cache buffers', () => {
    assert.equal(defaultBatchSize(400_000), 16, 'the shipped model: ~0.4 MB a row');
    assert.equal(defaultBatchSize(DEFAULT_BATCH_BUFFER_BYTES / 16), 16);
    assert.equal(defaultBatchSize(DEFAULT_BATCH_BUFFER_BYTES / 16 + 1), 15);
    assert.equal(defaultBatchSize(31e6), 8, 'a GPT-2-small-sized import');
    assert.equal(defaultBatchSize(DEFAULT_BATCH_BUFFER_BYTES + 1), 1, 'a row over the budget runs alone');
  });

  it("a row's bytes are what a batch allocates, and an evaluation reports the rows it ran", async () => {
    // The traced fixture has no prefix cache: its rows hold the prompt in every buffer.
    for (const dir of [FIXTURE, TRACED, SHIPPED]) {
      const engine = await CoconutEngine.load(dir, { provider: 'cpu', threads: 1 });
      try {
        const m = engine.model.manifest;
        const { session } = await createSession(engine.source, { provider: 'cpu', threads: 1 });
        try {
          const dec = new BatchDecoder(session, m, engine.model.probe);
          const prompts = [
            [1, 2, 3, 4, 5],
            [1, 2, 3],
          ].map((p) => [...p, m.special_tokens.bot.id]);
          await dec.start(prompts, 7);
          // The buffers start() allocated (private: this checks the estimate against them).
          const bufs = (dec as unknown as { bufs: Float32Array[][] }).bufs;
          const allocated = bufs.flat().reduce((n, b) => n + b.byteLength, 0);
          assert.equal(allocated, 2 * dec.bytesPerRow(6, 7), dir);
        } finally {
          await session.release();
        }
        const records = SAMPLE.slice(0, 3).map((r: { question: string; answer: string }, i: number) => ({ index: i, question: r.question, answer: r.answer }));
        // 16 rows, or fewer where that gives each lane a batch (batch-lanes.test.ts)
        assert.equal((await engine.evalDataset(records, { thoughts: [1] })).batchRows, laneBatchSize(16, 3, engine.info.batchLanes ?? 1));
        assert.equal((await engine.evalDataset(records, { thoughts: [1], batchSize: 2 })).batchRows, 2);
        assert.equal((await engine.evalDataset(records, { thoughts: [1], batchSize: 1 })).batchRows, 1);
      } finally {
        await engine.dispose();
      }
    }
  });
});
