// Shared test helpers: the committed fixture, temp copies to break, and bundles of the worker/CLI.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';
import { pathToFileURL } from 'node:url';
import { decodeThought } from '../../src/engine/decode';
import type { CoconutEngine } from '../../src/engine/engine';
import { EngineError } from '../../src/engine/errors';

export const ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'tiny-model');
export const BAD_ONNX = path.join(ROOT, 'test', 'fixtures', 'bad', 'wrong-io.onnx');
/** The official ProsQA validation set (test/prosqa-data.cjs finds it). */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous load of the one locator, which is CommonJS
export const VALID_SET = (require('../prosqa-data.cjs') as { prosqaValidPath(): string }).prosqaValidPath();

export function tmpDir(prefix = 'coconut-lens-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A writable copy of the fixture model (without golden.json unless asked). */
export function copyFixture(withGolden = false): string {
  const dir = tmpDir('coconut-lens-model-');
  for (const f of fs.readdirSync(FIXTURE)) {
    if (f === 'golden.json' && !withGolden) continue;
    fs.copyFileSync(path.join(FIXTURE, f), path.join(dir, f));
  }
  return dir;
}

export function readManifest(dir: string): any {
  return JSON.parse(fs.readFileSync(path.join(dir, 'coconut.json'), 'utf-8'));
}

export function writeManifest(dir: string, m: unknown): void {
  fs.writeFileSync(path.join(dir, 'coconut.json'), JSON.stringify(m, null, 2));
}

export function editManifest(dir: string, edit: (m: any) => void): void {
  const m = readManifest(dir);
  edit(m);
  writeManifest(dir, m);
}

/** Replaces a listed file and updates its sha256/bytes so only the content check can object. */
export function replaceListedFile(dir: string, role: string, content: Buffer | string, newName?: string): void {
  editManifest(dir, (m) => {
    const f = m.files.find((x: any) => x.role === role);
    if (newName) f.path = newName;
    const buf = Buffer.isBuffer(content) ? content : Buffer.from(content);
    fs.writeFileSync(path.join(dir, f.path), buf);
    f.sha256 = createHash('sha256').update(buf).digest('hex');
    f.bytes = buf.byteLength;
  });
}

export function golden(dir = FIXTURE): any {
  return JSON.parse(fs.readFileSync(path.join(dir, 'golden.json'), 'utf-8'));
}

export function rm(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Points the cache folder (COCONUT_LENS_CACHE_DIR: providers.json, threads.json, checksums.json) at
 * a fresh folder for this test file, so no test reads or writes the user's; restored and removed after.
 */
export function tempCacheDir(): string {
  const dir = tmpDir('coconut-lens-cache-');
  const saved = process.env.COCONUT_LENS_CACHE_DIR;
  process.env.COCONUT_LENS_CACHE_DIR = dir;
  after(() => {
    if (saved === undefined) delete process.env.COCONUT_LENS_CACHE_DIR;
    else process.env.COCONUT_LENS_CACHE_DIR = saved;
    rm(dir);
  });
  return dir;
}

/** esbuild.config.mjs, the one description of the bundles (an ES module, hence the dynamic import). */
export interface BuildConfig {
  nodeOptions: import('esbuild').BuildOptions;
  noVscode: import('esbuild').Plugin;
  bundles: Record<
    'extension' | 'worker' | 'cli' | 'webview' | 'providerTrial' | 'batchLane',
    import('esbuild').BuildOptions & { entryPoints: string[]; outfile: string }
  >;
}

export async function buildConfig(): Promise<BuildConfig> {
  const url = pathToFileURL(path.join(ROOT, 'esbuild.config.mjs')).href;
  return (await import(url)) as BuildConfig;
}

let bundled: Promise<{ worker: string; cli: string }> | undefined;

/**
 * Bundles src/engine/worker.ts and src/cli/main.ts (with the provider trial's child and the batch
 * lanes, which both start) into dist/ as `npm run build` does, so these tests do not depend on the other bundles building.
 */
export function buildBundles(): Promise<{ worker: string; cli: string }> {
  bundled ??= (async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const esbuild = require('esbuild') as typeof import('esbuild');
    const { bundles } = await buildConfig();
    const worker = path.join(ROOT, 'dist', 'engine-worker.js');
    const cli = path.join(ROOT, 'dist', 'cli.js');
    for (const [options, outfile] of [
      [bundles.worker, worker],
      [bundles.cli, cli],
      [bundles.providerTrial, path.join(ROOT, 'dist', 'provider-trial.js')],
      [bundles.batchLane, path.join(ROOT, 'dist', 'batch-lane.js')],
    ] as const) {
      const r = await esbuild.build({ ...options, sourcemap: true, outfile, write: false, absWorkingDir: ROOT });
      // Test files run in parallel processes: write to a unique name, then rename (atomic).
      for (const f of r.outputFiles) {
        fs.mkdirSync(path.dirname(f.path), { recursive: true });
        const tmp = `${f.path}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, f.contents);
        fs.renameSync(tmp, f.path);
      }
    }
    return { worker, cli };
  })();
  return bundled;
}

/** Awaits `p`, which must reject with a EngineError of `code`; returns that error. */
export async function rejectsCode(p: Promise<unknown>, code: string): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof EngineError, `expected EngineError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/**
 * The first 2, 3, … sentences of the first `n` sample questions: prompts of `n` lengths, each known
 * to the fixtures' small vocabulary (cut mid-word, a question would not be).
 */
export function shortSampleQuestions(n: number): string[] {
  const sample = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'prosqa_sample.json'), 'utf-8')) as { question: string }[];
  return sample.slice(0, n).map(
    (r, i) =>
      r.question
        .split('. ')
        .slice(0, 2 + i)
        .join('. ') + '.',
  );
}

/** The first `n` questions of the official validation set. */
export function officialQuestions(n: number): string[] {
  return (JSON.parse(fs.readFileSync(VALID_SET, 'utf-8')) as { question: string }[]).slice(0, n).map((r) => r.question);
}

/** |a - b| over the scale of a (its largest |value|, at least 1): float rounding grows with it. */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
  return maxAbsDiff(a, b) / scale;
}

/**
 * Runs one golden case (training/reference.py's golden.json) through the raw Coconut loop and
 * decodes every thought as the engine does: what the parity tests compare to PyTorch.
 */
export async function replayGoldenCase(engine: CoconutEngine, c: any, topK: number, maxNewTokens: number) {
  const { n_embd: D, layer_norm_epsilon: eps } = engine.model.manifest.architecture;
  const thoughts: ReturnType<typeof decodeThought>[] = [];
  const thoughtLogits: Float32Array[] = [];
  const answerLogits: Float32Array[] = [];
  const answerIds: number[] = []; // every token chosen, the final eos included
  const run = await engine.runRaw(c.question, c.k, maxNewTokens, {
    onThought: (index, out) => {
      thoughtLogits.push(out.logits);
      thoughts.push(
        decodeThought(
          { index, h: out.lastHidden, logits: out.logits, hiddenStates: out.hiddenStates },
          engine.model.probe,
          D,
          eps,
          { topK, lensTopK: topK },
          engine.tokenizer,
        ),
      );
    },
    onAnswerToken: (_n, id, out) => {
      answerIds.push(id);
      answerLogits.push(out.logits);
    },
  });
  return { run, thoughts, thoughtLogits, answerLogits, answerIds };
}
