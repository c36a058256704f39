// Measurements that need a fresh Node process: a cold `coconut-lens inspect` (process start to
// decoded thoughts), and the memory a loaded model costs a host that runs the engine worker.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runChild } from '../engine/bench/run-child';
import { round, stat } from './bench-report';

/** What a fresh process needs: the package root (for dist/), the thread count, the question. */
interface ProcessOpts {
  root: string;
  threads: number;
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
    const args = [cli, 'inspect', q, '--model', dir, '--provider', provider, '--threads', String(o.threads), '--thoughts', String(k), '--json'];
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await runChild(process.execPath, args);
      if (i > 0) times.push(r.ms); // the first warms the OS file cache
    }
    return { ...stat(times), thoughts: k, command: `node dist/cli.js inspect FILE --model DIR --provider ${provider} --threads ${o.threads} --json` };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * What the extension host pays for a loaded model: a fresh Node process (standing in for the
 * host) starts dist/engine-worker.js as the extension does, loads the model, runs 20 inspects;
 * its RSS before, after the load and after the runs (the worker's memory is the process's).
 */
export async function hostMemory(dir: string, provider: string, o: ProcessOpts, k: number): Promise<Record<string, unknown>> {
  const worker = path.join(o.root, 'dist', 'engine-worker.js');
  if (!fs.existsSync(worker)) return { skipped: `${worker} is not built (npm run build)` };
  const script = `
const { Worker } = require('node:worker_threads');
const [workerPath, modelDir, provider, threads, question, k] = process.argv.slice(1);
const mb = () => process.memoryUsage().rss / 1048576;
const before = mb();
const w = new Worker(workerPath);
let id = 0;
const call = (msg) => new Promise((res, rej) => {
  const my = ++id;
  const on = (m) => { if (m.id !== my || m.kind === 'progress') return; w.off('message', on); m.kind === 'ok' ? res(m.value) : rej(new Error(m.error.message)); };
  w.on('message', on);
  w.postMessage({ ...msg, id: my });
});
(async () => {
  await call({ kind: 'load', params: { modelDir, provider, threads: Number(threads) } });
  const afterLoad = mb();
  for (let i = 0; i < 20; i++) await call({ kind: 'inspect', request: { question, thoughts: Number(k) } });
  const afterRuns = mb();
  console.log(JSON.stringify({ before, afterLoad, afterRuns }));
  process.exit(0);
})().catch((e) => { console.error(e.message); process.exit(1); });`;
  const r = await runChild(process.execPath, ['-e', script, worker, dir, provider, String(o.threads), o.question, String(k)]);
  const m = JSON.parse(r.stdout.trim().split('\n').pop()!);
  return { before: round(m.before), afterLoad: round(m.afterLoad), after20Inspects: round(m.afterRuns), growth: round(m.afterRuns - m.before) };
}
