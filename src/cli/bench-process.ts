// Measurements that need a fresh Node process: a cold `coconut-lens inspect` (process start to
// decoded thoughts), and the memory a loaded model costs a host that runs the engine worker.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runChild } from '../engine/bench/run-child';
import { round, stat } from './bench-report';
import { HOST_MEMORY_COMMAND } from './host-memory';

/** What a fresh process needs: the package root (for dist/), the thread count, the question. */
interface ProcessOpts {
  root: string;
  /** Unset: the child chooses as a user's command would (the parent's measurement is remembered). */
  threads?: number;
  question: string;
}

export /** A fresh `coconut-lens inspect --json` process per sample: process start to decoded thoughts. */
async function coldInspect(dir: string, provider: string, o: ProcessOpts, k: number): Promise<Record<string, unknown>> {
  const cli = path.join(o.root, 'dist', 'cli.js');
  if (!fs.existsSync(cli)) return { skipped: `${cli} is not built (npm run build)` };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coconut-lens-bench-'));
  try {
    const q = path.join(tmp, 'question.txt');
    fs.writeFileSync(q, o.question);
    const threads = o.threads === undefined ? [] : ['--threads', String(o.threads)];
    const args = [cli, 'inspect', q, '--model', dir, '--provider', provider, ...threads, '--thoughts', String(k), '--json'];
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await runChild(process.execPath, args);
      if (i > 0) times.push(r.ms); // the first warms the OS file cache
    }
    return { ...stat(times), thoughts: k, command: ['node dist/cli.js inspect FILE --model DIR --provider', provider, ...threads, '--json'].join(' ') };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * What the extension host pays for a loaded model: a fresh Node process (standing in for the
 * host, see host-memory.ts) starts dist/engine-worker.js through EngineClient, loads the model,
 * runs 20 inspects; its RSS before, after the load and after the runs.
 */
export async function hostMemory(dir: string, provider: string, o: ProcessOpts, k: number): Promise<Record<string, unknown>> {
  const worker = path.join(o.root, 'dist', 'engine-worker.js');
  const cli = path.join(o.root, 'dist', 'cli.js');
  for (const f of [worker, cli]) if (!fs.existsSync(f)) return { skipped: `${f} is not built (npm run build)` };
  const r = await runChild(process.execPath, [cli, HOST_MEMORY_COMMAND, worker, dir, provider, String(o.threads ?? 'unset'), o.question, String(k)]);
  const m = JSON.parse(r.stdout.trim().split('\n').pop()!);
  return { before: round(m.before), afterLoad: round(m.afterLoad), after20Inspects: round(m.afterRuns), growth: round(m.afterRuns - m.before) };
}
