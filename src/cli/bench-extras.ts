// The bench's optional tables: latency growth with the prompt length (--growth) and the reference
// scoring loop over a dataset (--dataset).
import * as fs from 'node:fs';
import { promptWithBot, timeGrowth, timePrefills } from '../engine/bench/steps';
import { CoconutEngine } from '../engine/engine';
import { PytorchReference } from '../engine/bench/pytorch';
import { createSession } from '../engine/session';
import { parsePromptFile } from '../prompts';
import type { EvalRecord } from '../shared/types';
import { round } from './bench-report';

export async function benchGrowth(
  dir: string,
  provider: string,
  threads: number,
  runs: number,
  kvOnGpu: boolean,
  log: (s: string) => void,
): Promise<Record<string, unknown>> {
  const engine = await CoconutEngine.load(dir, { provider: provider as never, threads });
  const kvOnGpuLayers = kvOnGpu && engine.info.provider === 'webgpu' ? engine.model.manifest.architecture.n_layer : undefined;
  const { session } = await createSession(engine.source, { provider: engine.info.provider, threads, kvOnGpuLayers });
  const ks = [0, 1, 2, 4, 8, 16];
  const rows: Record<string, unknown>[] = [];
  try {
    for (const P of [64, 128, 256, 512, 1024]) {
      const g = await timeGrowth(session, engine.model.manifest, engine.model.probe, P, ks, runs);
      rows.push({
        promptTokens: P,
        thoughtStepMs: round(g.thoughtStepMs),
        cumulativeMs: Object.fromEntries(Object.entries(g.cumulativeMs).map(([k, v]) => [k, round(v)])),
      });
      log(`  growth P=${P}: prefill ${g.cumulativeMs[0].toFixed(2)} ms, +16 thoughts ${g.cumulativeMs[16].toFixed(2)} ms`);
    }
  } finally {
    await session.release();
    await engine.dispose();
  }
  return {
    model: dir,
    note: 'random weights, same shape as the benchmarked model but 1100 positions, exported at bench time by training/export.py',
    provider: engine.info.provider,
    ...(kvOnGpuLayers ? { kvOnGpu: true } : {}),
    threads,
    runs,
    ks,
    rows,
  };
}

/**
 * The dataset two ways in one process, alternating: the engine's evaluation record by record
 * (batch 1) and in batches (left-padded), with the answers compared row by row; then the inspect
 * loop (top-1, no lens) as the panel's per-record cost.
 */
export async function benchDataset(
  dir: string,
  file: string,
  limit: number,
  provider: string,
  /** --threads: exactly this many for every session; unset: the engine's own choice, as users get it. */
  threads: number | undefined,
  log: (s: string) => void,
  opts: { batchSize?: number; pytorch?: { python: string; root: string; device: string; threads: number } } = {},
): Promise<Record<string, unknown>> {
  const recs = parsePromptFile(fs.readFileSync(file, 'utf-8'), file).records.slice(0, limit);
  const engine = await CoconutEngine.load(dir, { provider: provider as never, threads });
  // Unset: the rows per batch an evaluation chooses when none is given (what users get).
  const batchSize = opts.batchSize;
  try {
    const k = engine.info.thoughts.default;
    const evalRecs = recs.filter((r) => r.answer !== undefined).map((r) => ({ index: r.index, question: r.question, answer: r.answer! }));
    const one = await timeEval(engine, evalRecs, [k], batchSize, log);
    const { single, batched, differing, accuracy, batchRows } = one;
    const ours = one.rows;
    // The accuracy-against-k curve (the paper's main figure) evaluates every k, branching answers
    // off one run of thoughts: more passes per prompt, so batching has more to share.
    const ks = Array.from({ length: k + 1 }, (_, i) => i);
    const everyK = await timeEval(engine, evalRecs, ks, batchSize, log);
    const prefill = await prefillBound(engine, evalRecs, log);
    const pytorch = opts.pytorch ? await referenceEval(engine, dir, evalRecs, k, opts.pytorch, log) : undefined;
    const t0 = performance.now();
    let answerTokens = 0;
    for (const r of recs) {
      const res = await engine.inspect({ question: r.question, thoughts: k, topK: 1, lens: false });
      answerTokens += res.answer.tokens.length;
    }
    const seconds = (performance.now() - t0) / 1000;
    log(`  dataset: ${recs.length} records inspected one by one in ${seconds.toFixed(1)} s`);
    return {
      file,
      records: recs.length,
      thoughts: k,
      seconds: round(seconds),
      msPerRecord: round((seconds * 1000) / recs.length),
      answerTokens,
      maxNewTokens: engine.info.maxNewTokens,
      eval: {
        note: 'engine.evalDataset, best of 2 alternating rounds each after a first round (firstRound: the lanes start, the JS is compiled)',
        recordByRecordSeconds: round(best(single)),
        batchedSeconds: round(best(batched)),
        firstRound: one.first,
        batchSize: batchRows,
        threads: engine.info.threads,
        // On the CPU batches run in lanes, several at once (batch-lanes.ts).
        ...(engine.info.batchLanes ? { batchLanes: engine.info.batchLanes } : {}),
        answersDiffering: differing,
        accuracy,
      },
      batched_eval_speedup: round(best(single) / best(batched)),
      // What no batching reaches while a prompt's pass costs the same batched: record-by-record
      // time over the time of its prompts' passes alone, on the session the batches run on.
      prefillSeconds: round(prefill),
      batched_eval_ceiling: round(best(single) / prefill),
      everyK: {
        thoughts: ks,
        recordByRecordSeconds: round(best(everyK.single)),
        batchedSeconds: round(best(everyK.batched)),
        firstRound: everyK.first,
        answersDiffering: everyK.differing,
      },
      batched_eval_every_k_speedup: round(best(everyK.single) / best(everyK.batched)),
      batched_eval_every_k_ceiling: round(best(everyK.single) / prefill),
      ...(pytorch
        ? {
            pytorch: {
              ...pytorch.summary,
              answersDifferingFromOurs: pytorch.answers.filter((ids, i) => engine.tokenizer.decode(ids) !== ours[i]?.text).length,
            },
            batched_eval_speedup_vs_pytorch: round(pytorch.summary.seconds / best(batched)),
          }
        : {}),
    };
  } finally {
    await engine.dispose();
  }
}

const best = (xs: number[]) => Math.min(...xs);

/**
 * Record by record and in batches, alternating: a first round, then two timed rounds whose best is
 * kept; the rows compared (text and score). The first round is reported apart: it pays what a
 * second evaluation does not (the lanes' start and V8 compiling the passes' JS, which on a 2-core
 * machine competes with the lanes for the cores: a lane's batches ran ~40 % slower in the lanes'
 * second evaluation than in their third, docs/performance.md).
 */
async function timeEval(engine: CoconutEngine, records: EvalRecord[], ks: number[], batchSize: number | undefined, log: (s: string) => void) {
  const single: number[] = [];
  const batched: number[] = [];
  let differing = 0;
  let accuracy = { single: 0, batched: 0 };
  let rows: { text?: string }[] = [];
  let batchRows: number | undefined;
  for (let r = 0; r < 3; r++) {
    let t0 = performance.now();
    const a = await engine.evalDataset(records, { thoughts: ks, batchSize: 1 });
    single.push((performance.now() - t0) / 1000);
    t0 = performance.now();
    const b = await engine.evalDataset(records, { thoughts: ks, batchSize });
    batched.push((performance.now() - t0) / 1000);
    differing = Math.max(differing, a.records.filter((x, i) => x.text !== b.records[i]?.text || x.correct !== b.records[i]?.correct).length);
    accuracy = { single: a.perK[a.perK.length - 1].accuracy, batched: b.perK[b.perK.length - 1].accuracy };
    rows = b.records;
    batchRows = b.batchRows;
    log(
      `  dataset, k ${ks.length > 1 ? `${ks[0]}..${ks[ks.length - 1]}` : ks[0]}, ${r === 0 ? 'first round' : `round ${r}`}: record by record ${single[r].toFixed(2)} s, ` +
        `batches of ${batchRows} ${batched[r].toFixed(2)} s, ${differing} rows differ`,
    );
  }
  return {
    single: single.slice(1),
    batched: batched.slice(1),
    first: { recordByRecordSeconds: round(single[0]), batchedSeconds: round(batched[0]) },
    differing,
    accuracy,
    rows,
    batchRows,
  };
}

/**
 * The prompts' passes alone, one by one on a session made as the batches' is (a lane's: one
 * thread), best of 2; over the lanes, which run their share of them at once.
 */
async function prefillBound(engine: CoconutEngine, records: EvalRecord[], log: (s: string) => void): Promise<number> {
  const lanes = engine.info.batchLanes;
  const { session } = await createSession(engine.source, { provider: engine.info.provider, threads: lanes ? 1 : engine.info.threads });
  try {
    const prompts = records.map((r) => promptWithBot(engine.model, r.question));
    const times: number[] = [];
    for (let round = 0; round < 2; round++) times.push(await timePrefills(session, engine.model.manifest, engine.model.probe, prompts));
    const bound = best(times) / (lanes ?? 1);
    log(`  dataset: the ${prompts.length} prompts' passes alone ${best(times).toFixed(2)} s${lanes ? `, ${bound.toFixed(2)} s over ${lanes} lanes` : ''}`);
    return bound;
  } finally {
    await session.release();
  }
}

/** The PyTorch reference loop over the same records, one by one (the way training/evaluate.py runs). */
async function referenceEval(
  engine: CoconutEngine,
  dir: string,
  recs: { question: string }[],
  k: number,
  py: { python: string; root: string; device: string; threads: number },
  log: (s: string) => void,
): Promise<{ summary: { seconds: number; msPerRecord: number }; answers: number[][] }> {
  const m = engine.model.manifest;
  const s = m.special_tokens;
  const prompts = recs.map((r) => promptWithBot(engine.model, r.question));
  const { ref } = await PytorchReference.start({ ...py, modelDir: dir });
  try {
    await ref.answers(prompts.slice(0, 2), k, s.eot.id, s.eos.id, engine.info.maxNewTokens); // warm up
    const r = await ref.answers(prompts, k, s.eot.id, s.eos.id, engine.info.maxNewTokens);
    const seconds = r.ms.reduce((a, b) => a + b, 0) / 1000;
    log(`  dataset: PyTorch reference loop ${seconds.toFixed(2)} s`);
    return { summary: { seconds: round(seconds), msPerRecord: round((seconds * 1000) / recs.length) }, answers: r.answers };
  } finally {
    await ref.close();
  }
}
