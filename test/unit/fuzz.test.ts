// Fuzzing of the three parsers that read untrusted files: prompt files (src/prompts), coconut.json
// (src/engine/manifest.ts) and safetensors probes (src/engine/safetensors.ts through loadProbe).
// Thousands of generated and mutated inputs from a seeded PRNG (byte flips, truncations, random
// and deeply nested JSON, huge strings, invalid UTF-8, JSONL with bad lines): every input must be
// accepted or refused with a EngineError, never crash, and none may take long. The inputs run in a
// worker (fuzz-worker.ts) that is terminated if it stops reporting progress, so a hang fails the
// test instead of freezing it. FUZZ_SEED=N replays another stream; FUZZ_SCALE=k multiplies counts.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { FuzzJob, FuzzMessage, Target } from './fuzz-worker';
import { buildConfig, FIXTURE, ROOT } from './helpers';

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const COUNTS: Record<Target, number> = { prompts: 5000 * SCALE, manifests: 3000 * SCALE, safetensors: 2000 * SCALE };
/** No input may take longer than this (the largest are a few MB of text). */
const PER_INPUT_MS = 2000;
/** The worker reports every 100 inputs; silence this long means one input hangs. */
const STALL_MS = 20_000;

let bundle: string;
const done = new Map<Target, Extract<FuzzMessage, { type: 'done' }>>();

before(async () => {
  // Bundled (not run through a TypeScript loader) so the worker starts like the engine's does.
  bundle = path.join(ROOT, 'out', 'test', `fuzz-worker.${process.pid}.js`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const { nodeOptions } = await buildConfig();
  await esbuild.build({ ...nodeOptions, entryPoints: [path.join(__dirname, 'fuzz-worker.ts')], outfile: bundle, absWorkingDir: ROOT });
});

after(() => {
  fs.rmSync(bundle, { force: true });
  const n = (t: Target) => done.get(t)?.count ?? 0;
  const crashes = [...done.values()].reduce((s, d) => s + d.crashes.length, 0);
  console.log(`fuzz: ${n('prompts')} prompt inputs, ${n('manifests')} manifests, ${n('safetensors')} safetensors headers; ${crashes} crashes (seed ${SEED})`);
});

function fuzz(target: Target): Promise<Extract<FuzzMessage, { type: 'done' }>> {
  const sample = fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'prosqa_sample.json'), 'utf-8');
  const records = JSON.parse(sample) as Record<string, unknown>[];
  const job: FuzzJob = {
    target,
    count: COUNTS[target],
    seed: SEED,
    prompts: [
      sample,
      JSON.stringify(records[0], null, 2),
      records.map((r) => JSON.stringify(r)).join('\n') + '\n',
      String(records[1].question),
      `# Notes\n\n${String(records[2].question)}\n`,
    ],
    manifestText: fs.readFileSync(path.join(FIXTURE, 'coconut.json'), 'utf-8'),
    probe: new Uint8Array(fs.readFileSync(path.join(FIXTURE, 'probe.safetensors'))),
  };
  return new Promise((resolve, reject) => {
    const worker = new Worker(bundle, { workerData: job, execArgv: [] });
    let last = -1;
    let timer: NodeJS.Timeout;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        void worker.terminate();
        reject(new Error(`${target}: no progress for ${STALL_MS / 1000} s after input ${last} (seed ${SEED}): an input hangs`));
      }, STALL_MS);
    };
    arm();
    worker.on('message', (m: FuzzMessage) => {
      if (m.type === 'progress') {
        last = m.index;
        arm();
      } else {
        clearTimeout(timer);
        void worker.terminate();
        resolve(m);
      }
    });
    worker.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${target}: the worker died after input ${last}: ${e.stack ?? e}`));
    });
  });
}

describe('fuzzing the parsers of untrusted files', () => {
  for (const target of ['prompts', 'manifests', 'safetensors'] as Target[]) {
    it(`${target}: ${COUNTS[target]} inputs, each accepted or refused with a EngineError, none slow`, async () => {
      const r = await fuzz(target);
      done.set(target, r);
      const refusedTotal = Object.values(r.refused).reduce((a, b) => a + b, 0);
      console.log(
        `fuzz ${target}: ${r.count} inputs, ${r.accepted} accepted, ${refusedTotal} refused ${JSON.stringify(r.refused)}, ` +
          `${r.crashes.length} crashes, slowest ${r.slowestMs.toFixed(1)} ms (input ${r.slowestIndex}: ${r.slowestWhat}), ${r.slowCount} over 100 ms`,
      );
      assert.equal(r.count, COUNTS[target]);
      assert.deepEqual(r.crashes.slice(0, 5), [], `${r.crashes.length} inputs crashed (first 5 shown)`);
      assert.ok(r.slowestMs < PER_INPUT_MS, `input ${r.slowestIndex} took ${r.slowestMs.toFixed(0)} ms: ${r.slowestWhat}`);
      // A fuzzer whose inputs are all refused (or all accepted) is not exploring.
      assert.ok(refusedTotal > r.count * 0.2, 'most mutations are refused');
      assert.ok(r.accepted > 0 || target === 'safetensors', 'some inputs are still valid');
    });
  }
});
