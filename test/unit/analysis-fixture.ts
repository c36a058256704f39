// The shared ground of the analysis tests (analysis-interventions-sweep.test.ts,
// analysis-attribution-eval.test.ts): the fixture model loaded as the engine runs it, and beside it
// a plain decoder on a session of its own, for full forwards from an empty cache (no KV-cache
// branching involved) that the analyses are checked against.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before } from 'node:test';
import type { InspectResult, ProsQAGraph } from '../../src/shared/types';
import { Decoder } from '../../src/engine/decoder';
import { CoconutEngine } from '../../src/engine/engine';
import { loadModelDir, type ModelDir } from '../../src/engine/model-dir';
import { createSession } from '../../src/engine/session';
import { FIXTURE, ROOT } from './helpers';

export const SAMPLE = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'prosqa_sample.json'), 'utf-8'));
export const REC = SAMPLE[0];
export const Q: string = REC.question;
export const GRAPH: ProsQAGraph = {
  idx_to_symbol: REC.idx_to_symbol,
  edges: REC.edges,
  root: REC.root,
  target: REC.target,
  neg_target: REC.neg_target,
};
export const D = 32;

export interface AnalysisFixture {
  engine: CoconutEngine;
  model: ModelDir;
  /** One pass over a whole sequence from an empty cache, on a session of its own. */
  forward(embeds: Float32Array): ReturnType<Decoder['step']>;
  /** Embeddings of question + suffix + bot: the prefix every run starts with. */
  prefix(r: InspectResult): Float32Array;
  embed(ids: number[]): Float32Array;
}

/** Loads the fixture before the file's tests and releases it after; the fields are set from the first test on. */
export function useAnalysisFixture(): AnalysisFixture {
  let naive: Decoder;
  let releaseNaive: () => Promise<void>;
  const f = {
    forward: async (embeds: Float32Array) => {
      naive.reset();
      return naive.step(embeds);
    },
    prefix: (r: InspectResult) => naive.embed([...r.promptTokens.map((t) => t.id), f.model.manifest.special_tokens.bot.id]),
    embed: (ids: number[]) => naive.embed(ids),
  } as AnalysisFixture;
  before(async () => {
    f.engine = await CoconutEngine.load(FIXTURE, { provider: 'cpu', threads: 1 });
    f.model = await loadModelDir(FIXTURE);
    const s = await createSession(f.model.decoderPath, { provider: 'cpu', threads: 1 });
    naive = new Decoder(s.session, f.model.manifest, f.model.probe);
    releaseNaive = () => s.session.release();
  });
  after(async () => {
    await f.engine.dispose();
    await releaseNaive();
  });
  return f;
}

export function concat(...parts: ArrayLike<number>[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const sumLog = (r: InspectResult) => r.answer.tokens.reduce((s, t) => s + Math.log(t.p), 0);
