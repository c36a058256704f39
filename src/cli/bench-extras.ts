// The bench's optional tables: latency growth with the prompt length (--growth) and the reference
// scoring loop over a dataset (--dataset).
import * as fs from 'node:fs';
import { timeGrowth } from '../engine/bench/steps';
import { CoconutEngine } from '../engine/engine';
import { createSession } from '../engine/session';
import { parsePromptFile } from '../prompts';
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
  const { session } = await createSession(engine.model.decoderPath, { provider: engine.info.provider, threads, kvOnGpuLayers });
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

export /** The eval loop (inspect each record, top-1, no lens) over the first `limit` records. */
async function benchDataset(
  dir: string,
  file: string,
  limit: number,
  provider: string,
  threads: number,
  log: (s: string) => void,
): Promise<Record<string, unknown>> {
  const recs = parsePromptFile(fs.readFileSync(file, 'utf-8'), file).records.slice(0, limit);
  const engine = await CoconutEngine.load(dir, { provider: provider as never, threads });
  try {
    const k = engine.info.thoughts.default;
    const t0 = performance.now();
    let answerTokens = 0;
    for (const r of recs) {
      const res = await engine.inspect({ question: r.question, thoughts: k, topK: 1, lens: false });
      answerTokens += res.answer.tokens.length;
    }
    const seconds = (performance.now() - t0) / 1000;
    log(`  dataset: ${recs.length} records in ${seconds.toFixed(1)} s`);
    return {
      file,
      records: recs.length,
      thoughts: k,
      seconds: round(seconds),
      msPerRecord: round((seconds * 1000) / recs.length),
      answerTokens,
      maxNewTokens: engine.info.maxNewTokens,
    };
  } finally {
    await engine.dispose();
  }
}
