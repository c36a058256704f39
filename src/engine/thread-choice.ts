// How many intra-op threads the CPU provider gets when nobody says: one, or the whole budget
// (cores − 1, at most 4), whichever ran a short inspect faster on this machine. Measured once per
// model (decoder sha256), machine and budget, and remembered in threads.json beside providers.json.
//
// Why measure instead of always using the budget: onnxruntime splits every product bigger than
// ~64 K multiply-adds across its threads, and without spinning (session.ts) each split wakes a
// sleeping thread. A thought step of a small model is a few dozen such products, so on the shipped
// model two threads made a step 0.32 → 0.43 ms and a warm inspect 6.6 → 7.3 ms slower, while on a
// 6 × 512 model they made its prompt's pass ×1.4 faster (docs/performance.md). Only running both
// tells which side of that line a model sits on here.
import * as path from 'node:path';
import type { InferenceSession as OrtSession } from 'onnxruntime-node';
import { cacheDir, cacheKey, readKeyedCache, rememberEntry } from './providers';

export interface ThreadChoice {
  threads: number;
  /** Milliseconds of the short inspect at each thread count tried (the best of the rounds). */
  measuredMs: Record<string, number>;
  decidedAt: string;
}

export interface ThreadMeasure {
  /** sha256 of decoder.onnx: with the machine and the budget, the key of the remembered choice. */
  modelSha256: string;
  /** Milliseconds of a short inspect on `session`; throws if it cannot run the model. */
  measure(session: OrtSession): Promise<number>;
  /** The cache file (default: threads.json under cacheDir()). */
  cacheFile?: string;
}

const THREADS_FORMAT = 'coconut-lens-threads';

/** Rounds of alternating measurements: one round on a shared machine can land on a busy moment. */
const ROUNDS = 2;

export function threadCacheFile(): string {
  return path.join(cacheDir(), 'threads.json');
}

/**
 * The thread count for a CPU session of this model within `budget` (> 1): remembered, or measured
 * now by running `measure` alternately on a one-thread session and a `budget`-thread session (each
 * created by `create`, both released before returning).
 */
export async function chooseThreads(
  budget: number,
  m: ThreadMeasure,
  create: (threads: number) => Promise<OrtSession>,
): Promise<ThreadChoice & { source: 'measured' | 'cache' }> {
  const key = cacheKey(m.modelSha256, budget);
  const file = m.cacheFile ?? threadCacheFile();
  const cached = readKeyedCache<ThreadChoice>(file, THREADS_FORMAT)[key];
  if (cached && (cached.threads === 1 || cached.threads === budget)) return { ...cached, source: 'cache' };
  const candidates = [1, budget];
  const sessions: OrtSession[] = [];
  try {
    for (const t of candidates) sessions.push(await create(t));
    const best = candidates.map(() => Infinity);
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < candidates.length; i++) best[i] = Math.min(best[i], await m.measure(sessions[i]));
    }
    // A tie keeps one thread: it leaves the other cores to the editor.
    const threads = best[1] < best[0] ? budget : 1;
    const choice: ThreadChoice = {
      threads,
      measuredMs: Object.fromEntries(candidates.map((t, i) => [String(t), Math.round(best[i] * 1000) / 1000])),
      decidedAt: new Date().toISOString(),
    };
    rememberEntry(file, THREADS_FORMAT, key, choice);
    return { ...choice, source: 'measured' };
  } finally {
    for (const s of sessions) await s.release().catch(() => undefined);
  }
}
