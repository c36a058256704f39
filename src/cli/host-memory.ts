// `coconut-lens __host-memory WORKER MODEL PROVIDER THREADS|unset QUESTION K`: the child process of the
// bench's host-memory measurement (bench-process.ts). It stands in for the extension host: an
// EngineClient starts the worker as the extension does, loads the model and runs 20 inspects; the
// process's RSS (the worker's memory included) is printed as one JSON line. Not for users, so it
// is in no help text.
import { EngineClient } from '../engine/client';
import { checkProviderSetting } from '../engine/session';
import type { Io } from './common';

export const HOST_MEMORY_COMMAND = '__host-memory';

export async function hostMemoryProbe(argv: string[], io: Io): Promise<number> {
  const [workerPath, modelDir, provider, threads, question, k] = argv;
  const mb = () => process.memoryUsage().rss / 1048576;
  const before = mb();
  const client = new EngineClient({ workerPath });
  try {
    await client.load(modelDir, checkProviderSetting(provider), threads === 'unset' ? {} : { threads: Number(threads) });
    const afterLoad = mb();
    for (let i = 0; i < 20; i++) await client.inspect({ question, thoughts: Number(k) });
    const afterRuns = mb();
    io.out(JSON.stringify({ before, afterLoad, afterRuns }));
    return 0;
  } finally {
    client.dispose();
  }
}
