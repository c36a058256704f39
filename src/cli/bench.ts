// coconut-lens bench: how fast the engine runs a model here, and against the PyTorch reference.
//   coconut-lens bench [--model DIR] [--provider P] [--threads N] [--runs N] [--vs-pytorch]
//                      [--torch-device cpu|cuda] [--growth] [--dataset FILE --limit N] [--json]
// Timings are medians and p90s of many samples; with --vs-pytorch our blocks and PyTorch's
// alternate (ours, theirs, ours, …) so both see the same machine load. Nothing here is a test:
// numbers are recorded (docs/performance.md), never asserted.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { median, quantile, syntheticPrompt, timeGrowth, timeSteps, type StepTimes } from '../engine/bench/steps';
import { PytorchReference } from '../engine/bench/pytorch';
import { Decoder } from '../engine/coconut';
import { CoconutEngine } from '../engine/engine';
import { LensError } from '../engine/errors';
import { DEFAULT_MODEL_RELATIVE } from '../engine/model-dir';
import { cacheDir, checkCuda } from '../engine/providers';
import { checkProviderSetting, createSession, ort } from '../engine/session';
import { parsePromptFile } from '../prompts';
import { intOption, parseArgs, strOption, usageError } from './args';

export const BENCH_USAGE = `coconut-lens bench [--model DIR] [--provider P] [--threads N] [--runs N] [--vs-pytorch]
                   [--torch-device cpu|cuda] [--python PATH] [--growth] [--dataset FILE] [--limit N]
                   [--no-cold] [--kv-on-gpu] [--json]

Measures prefill, per-thought-step and per-token-step latency (median, p90), session creation,
warm inspect, cold inspect (a fresh process: start to decoded thoughts) and peak RSS.
--model DIR        the model (default ${DEFAULT_MODEL_RELATIVE}; while it is not shipped: the test fixture
                   and a random model of the default model's planned shape, 5 layers, d 256)
--runs N           sequences timed per block (default 10; 8 blocks with --vs-pytorch)
--vs-pytorch       also time the PyTorch reference loop (training/bench_reference.py) on the same
                   weights, inputs, thread count and device, alternating with ours
--torch-device D   device of the PyTorch reference (default cpu)
--growth           table of prefill + k thoughts (k = 0..16) for prompts of 64..1024 tokens, on a
                   random model of the same shape with 1100 positions
--kv-on-gpu        WebGPU: keep the KV cache in GPU buffers during the step timings
--dataset FILE     also time the reference scoring loop (inspect each record) over --limit N records`;

interface Stat {
  median: number;
  p90: number;
  n: number;
}

function stat(xs: number[]): Stat {
  return { median: round(median(xs)), p90: round(quantile(xs, 0.9)), n: xs.length };
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x;
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

interface BenchTarget {
  label: string;
  dir: string;
  note: string;
}

function pythonPath(p: string | undefined): string {
  if (p) return p;
  return fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** A random GPT-2-like model exported by training/export.py (cached: the shape is what matters). */
async function randomModel(root: string, python: string, shape: { n_layer: number; n_head: number; n_embd: number; n_positions: number }, io: Io): Promise<string> {
  const name = `random-${shape.n_layer}x${shape.n_embd}h${shape.n_head}-p${shape.n_positions}`;
  const dir = process.env.COCONUT_LENS_BENCH_MODELS ? path.join(process.env.COCONUT_LENS_BENCH_MODELS, name) : path.join(cacheDir(), 'bench-models', name);
  if (fs.existsSync(path.join(dir, 'coconut.json'))) return dir;
  io.err(`exporting ${name} (random weights) to ${dir} with training/bench_reference.py…`);
  const args = [
    path.join(root, 'training', 'bench_reference.py'),
    'make-random',
    '--out',
    dir,
    '--n-layer',
    String(shape.n_layer),
    '--n-head',
    String(shape.n_head),
    '--n-embd',
    String(shape.n_embd),
    '--n-positions',
    String(shape.n_positions),
  ];
  await runChild(python, args, { OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: '2' });
  return dir;
}

function runChild(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-3000)));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code === 0) resolve({ ms, stdout });
      else reject(new LensError('INTERNAL', `${path.basename(cmd)} ${args.slice(0, 2).join(' ')} failed (exit ${code}): ${stderr.trim().split('\n').slice(-4).join(' / ')}`, 'run it by hand to see the whole error'));
    });
  });
}

function machine() {
  const cpus = os.cpus();
  let ortVersion = '?';
  try {
    ortVersion = ort().env.versions.common ?? '?';
  } catch {
    // reported as '?'
  }
  return {
    date: new Date().toISOString(),
    host: os.hostname(),
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus[0]?.model ?? '?',
    cores: cpus.length,
    loadavg: os.loadavg().map(round),
    memoryGB: round(os.totalmem() / 2 ** 30),
    node: process.version,
    onnxruntime: ortVersion,
    cudaProviderLibraries: checkCuda().present,
  };
}

export async function benchCommand(argv: string[], io: Io, root: string): Promise<number> {
  const p = parseArgs(
    argv,
    {
      model: { value: true },
      provider: { value: true },
      threads: { value: true },
      runs: { value: true },
      'vs-pytorch': { value: false },
      'torch-device': { value: true },
      python: { value: true },
      growth: { value: false },
      dataset: { value: true },
      limit: { value: true },
      'no-cold': { value: false },
      'kv-on-gpu': { value: false },
      json: { value: false },
      help: { value: false },
    },
    'bench',
  );
  if (p.options.has('help')) {
    io.out(BENCH_USAGE);
    return 0;
  }
  if (p.positionals.length) throw usageError(`bench takes no positional arguments, got ${p.positionals.join(' ')}`, 'use --model DIR');
  const provider = checkProviderSetting(strOption(p, 'provider') ?? 'cpu');
  const threads = intOption(p, 'threads', 1) ?? 2;
  const runs = intOption(p, 'runs', 1) ?? 10;
  const torchDevice = strOption(p, 'torch-device') ?? 'cpu';
  if (!['cpu', 'cuda'].includes(torchDevice)) throw usageError(`--torch-device must be cpu or cuda, got ${torchDevice}`, 'pass --torch-device cpu or --torch-device cuda');
  const python = pythonPath(strOption(p, 'python'));
  const vsPytorch = p.options.has('vs-pytorch');
  const datasetFile = strOption(p, 'dataset');
  const limit = intOption(p, 'limit', 1) ?? 500;
  const log = (s: string) => io.err(s);

  const targets: BenchTarget[] = [];
  const modelOpt = strOption(p, 'model');
  if (modelOpt) {
    targets.push({ label: path.basename(path.resolve(modelOpt)), dir: path.resolve(modelOpt), note: 'given with --model' });
  } else if (fs.existsSync(path.join(root, DEFAULT_MODEL_RELATIVE, 'coconut.json'))) {
    targets.push({ label: 'prosqa-coconut', dir: path.join(root, DEFAULT_MODEL_RELATIVE), note: 'the shipped default model' });
  } else {
    targets.push({ label: 'tiny-fixture', dir: path.join(root, 'test', 'fixtures', 'tiny-model'), note: 'test fixture (2 layers, d 32): too small to say much' });
    const planned = await randomModel(root, python, { n_layer: 5, n_head: 8, n_embd: 256, n_positions: 512 }, io);
    targets.push({
      label: 'planned-default-shape',
      dir: planned,
      note: `${DEFAULT_MODEL_RELATIVE} is not shipped yet: random weights in its planned shape (training/configs/prosqa-h100.json: 5 layers, d 256, 8 heads, vocab 69, 512 positions), exported at bench time by training/export.py`,
    });
  }

  const question = benchQuestion(root);
  const results: Record<string, unknown>[] = [];
  for (const t of targets) {
    log(`── ${t.label}: ${t.dir}`);
    results.push(await benchModel(t, { provider, threads, runs, vsPytorch, torchDevice, python, root, question, cold: !p.options.has('no-cold'), kvOnGpu: p.options.has('kv-on-gpu'), log }));
  }

  let growth: Record<string, unknown> | undefined;
  if (p.options.has('growth')) {
    const a = JSON.parse(fs.readFileSync(path.join(targets[targets.length - 1].dir, 'coconut.json'), 'utf-8')).architecture;
    const dir = await randomModel(root, python, { n_layer: a.n_layer, n_head: a.n_head, n_embd: a.n_embd, n_positions: 1100 }, io);
    growth = await benchGrowth(dir, results[results.length - 1].provider as string, threads, Math.max(3, Math.ceil(runs / 2)), p.options.has('kv-on-gpu'), log);
  }

  let dataset: Record<string, unknown> | undefined;
  if (datasetFile) dataset = await benchDataset(targets[targets.length - 1].dir, datasetFile, limit, results[results.length - 1].provider as string, threads, log);

  const primary = results[results.length - 1];
  const report: Record<string, unknown> = {
    bench: 'coconut-lens/bench@1',
    command: `coconut-lens bench ${argv.join(' ')}`.trim(),
    machine: machine(),
    settings: { provider, threads, runs, torchDevice: vsPytorch ? torchDevice : undefined },
    models: results,
    ...(growth ? { growth } : {}),
    ...(dataset ? { dataset } : {}),
    peakRssMB: round(process.resourceUsage().maxRSS / 1024),
    ...(primary.thought_step_speedup_vs_pytorch !== undefined ? { thought_step_speedup_vs_pytorch: primary.thought_step_speedup_vs_pytorch } : {}),
    noise: 'medians over interleaved blocks; the machine may be shared, compare numbers from one run only',
  };
  io.out(p.options.has('json') ? JSON.stringify(report, null, 2) : formatReport(report));
  return 0;
}

function benchQuestion(root: string): string {
  const f = path.join(root, 'examples', 'prosqa.json');
  try {
    return parsePromptFile(fs.readFileSync(f, 'utf-8'), f).records[0].question;
  } catch {
    return 'Every wumpus is a yumpus. Tom is a wumpus. Is Tom a yumpus or a zumpus?';
  }
}

interface ModelOpts {
  provider: string;
  threads: number;
  runs: number;
  vsPytorch: boolean;
  torchDevice: string;
  python: string;
  root: string;
  question: string;
  cold: boolean;
  kvOnGpu: boolean;
  log: (s: string) => void;
}

async function benchModel(t: BenchTarget, o: ModelOpts): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const engine = await CoconutEngine.load(t.dir, { provider: o.provider as never, threads: o.threads });
  const loadMs = performance.now() - t0;
  const info = engine.info;
  const m = engine.model.manifest;
  const a = m.architecture;
  const res: Record<string, unknown> = {
    label: t.label,
    dir: t.dir,
    note: t.note,
    architecture: { n_layer: a.n_layer, n_head: a.n_head, n_embd: a.n_embd, vocab_size: a.vocab_size, n_positions: a.n_positions },
    provider: info.provider,
    ...(info.providerNotice ? { providerNotice: info.providerNotice } : {}),
    threads: info.threads,
    loadMs: round(loadMs),
  };
  try {
    // Session creation alone (the decoder graph, optimised for the provider), a few times.
    const creates: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c0 = performance.now();
      const c = await createSession(engine.model.decoderPath, { provider: info.provider, threads: o.threads });
      creates.push(performance.now() - c0);
      await c.session.release();
    }
    res.sessionCreateMs = stat(creates);

    const kvOnGpuLayers = o.kvOnGpu && info.provider === 'webgpu' ? a.n_layer : undefined;
    if (kvOnGpuLayers) res.kvOnGpu = true;
    const { session } = await createSession(engine.model.decoderPath, { provider: info.provider, threads: o.threads, kvOnGpuLayers });
    try {
      const promptTokens = Math.min(64, a.n_positions - 40);
      const thoughts = Math.min(m.thoughts.max, 6);
      const answer = 8;
      const plan = { promptTokens, thoughts, answerTokens: answer };
      res.plan = { ...plan, note: 'prompt of synthetic token ids + bot; thought steps feed last_hidden_state back; token steps feed wte rows' };
      const ours: StepTimes = { prefillMs: [], thoughtMs: [], tokenMs: [] };
      const add = (x: StepTimes) => {
        ours.prefillMs.push(...x.prefillMs);
        ours.thoughtMs.push(...x.thoughtMs);
        ours.tokenMs.push(...x.tokenMs);
      };
      if (o.vsPytorch) {
        const { ref, hello } = await PytorchReference.start({
          python: o.python,
          script: path.join(o.root, 'training', 'bench_reference.py'),
          modelDir: t.dir,
          threads: o.threads,
          device: o.torchDevice,
        });
        try {
          const s = m.special_tokens;
          const prompt = [...syntheticPrompt(promptTokens, a.vocab_size, [s.bot.id, s.eot.id, s.latent.id, s.eos.id]), s.bot.id];
          res.pytorch = { ...hello, parity: await checkParity(session, engine, ref, prompt, 3) };
          const theirs = { prefill: [] as number[], thought: [] as number[], token: [] as number[] };
          const blocks = 8;
          const per = Math.max(1, Math.ceil(o.runs / 2));
          await ref.block(prompt, thoughts, answer, 1, 1); // warm up theirs
          add(await timeSteps(session, m, engine.model.probe, { ...plan, runs: 0, warmupRuns: 2 }));
          for (let b = 0; b < blocks; b++) {
            add(await timeSteps(session, m, engine.model.probe, { ...plan, runs: per, warmupRuns: 0 }));
            const r = await ref.block(prompt, thoughts, answer, per, 0);
            theirs.prefill.push(...r.prefill_ms);
            theirs.thought.push(...r.thought_ms);
            theirs.token.push(...r.token_ms);
            o.log(`  block ${b + 1}/${blocks}: ours ${median(ours.thoughtMs).toFixed(3)} ms/thought, pytorch ${median(theirs.thought).toFixed(3)} ms/thought`);
          }
          Object.assign(res.pytorch as object, { prefillMs: stat(theirs.prefill), thoughtStepMs: stat(theirs.thought), tokenStepMs: stat(theirs.token), interleavedBlocks: blocks });
          res.prefillMs = stat(ours.prefillMs);
          res.thoughtStepMs = stat(ours.thoughtMs);
          res.tokenStepMs = stat(ours.tokenMs);
          res.thought_step_speedup_vs_pytorch = round(median(theirs.thought) / median(ours.thoughtMs));
          res.token_step_speedup_vs_pytorch = round(median(theirs.token) / median(ours.tokenMs));
          res.prefill_speedup_vs_pytorch = round(median(theirs.prefill) / median(ours.prefillMs));
        } finally {
          ref.close();
        }
      } else {
        add(await timeSteps(session, m, engine.model.probe, { ...plan, runs: o.runs * 4, warmupRuns: 2 }));
        res.prefillMs = stat(ours.prefillMs);
        res.thoughtStepMs = stat(ours.thoughtMs);
        res.tokenStepMs = stat(ours.tokenMs);
      }
    } finally {
      await session.release();
    }

    // Warm inspect: the engine as the extension uses it (tokenize, loop, decode every thought).
    const k = m.thoughts.default;
    await engine.inspect({ question: o.question, thoughts: k });
    const warm: number[] = [];
    const parts = { tokenizeMs: [] as number[], prefillMs: [] as number[], thoughtsMs: [] as number[], answerMs: [] as number[], decodeMs: [] as number[] };
    let shape = { promptTokens: 0, answerTokens: 0 };
    for (let i = 0; i < Math.max(5, o.runs); i++) {
      const w0 = performance.now();
      const r = await engine.inspect({ question: o.question, thoughts: k });
      warm.push(performance.now() - w0);
      for (const key of Object.keys(parts) as (keyof typeof parts)[]) parts[key].push(r.timings[key]);
      shape = { promptTokens: r.promptTokens.length, answerTokens: r.answer.tokens.length + (r.answer.stoppedBy === 'eos' ? 1 : 0) };
    }
    res.warmInspectMs = {
      ...stat(warm),
      thoughts: k,
      ...shape,
      medians: Object.fromEntries(Object.entries(parts).map(([key, xs]) => [key, round(median(xs))])),
      decodeMs: stat(parts.decodeMs),
    };
    if (o.cold) res.coldInspectMs = await coldInspect(t.dir, info.provider, o, k);
    if (o.cold) res.hostMemoryMB = await hostMemory(t.dir, info.provider, o, k);
  } finally {
    await engine.dispose();
  }
  o.log(`  ${t.label}: thought step ${JSON.stringify(res.thoughtStepMs)} ms, warm inspect ${JSON.stringify((res.warmInspectMs as Stat).median)} ms`);
  return res;
}

/** Same inputs into both loops: the largest difference of the LM-head logits, prefill + thoughts. */
async function checkParity(session: import('onnxruntime-node').InferenceSession, engine: CoconutEngine, ref: PytorchReference, prompt: number[], thoughts: number) {
  const theirs = await ref.check(prompt, thoughts);
  const dec = new Decoder(session, engine.model.manifest, engine.model.probe);
  dec.reset();
  let out = await dec.step(dec.embed(prompt));
  const ours = [out.logits];
  for (let j = 0; j < thoughts; j++) {
    out = await dec.step(out.lastHidden);
    ours.push(out.logits);
  }
  let maxAbs = 0;
  ours.forEach((l, i) => l.forEach((v, j) => (maxAbs = Math.max(maxAbs, Math.abs(v - theirs[i][j])))));
  const ok = maxAbs < 1e-3;
  if (!ok) {
    throw new LensError('INTERNAL', `the PyTorch reference and the engine disagree on the same inputs: max |Δlogit| = ${maxAbs}`, 'the timings would compare different models; check training/bench_reference.py against the export');
  }
  return { passes: ours.length, maxAbsLogitDiff: maxAbs, ok };
}

/** A fresh `coconut-lens inspect --json` process per sample: process start to decoded thoughts. */
async function coldInspect(dir: string, provider: string, o: ModelOpts, k: number): Promise<Record<string, unknown>> {
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
async function hostMemory(dir: string, provider: string, o: ModelOpts, k: number): Promise<Record<string, unknown>> {
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

async function benchGrowth(dir: string, provider: string, threads: number, runs: number, kvOnGpu: boolean, log: (s: string) => void): Promise<Record<string, unknown>> {
  const engine = await CoconutEngine.load(dir, { provider: provider as never, threads });
  const kvOnGpuLayers = kvOnGpu && engine.info.provider === 'webgpu' ? engine.model.manifest.architecture.n_layer : undefined;
  const { session } = await createSession(engine.model.decoderPath, { provider: engine.info.provider, threads, kvOnGpuLayers });
  const ks = [0, 1, 2, 4, 8, 16];
  const rows: Record<string, unknown>[] = [];
  try {
    for (const P of [64, 128, 256, 512, 1024]) {
      const g = await timeGrowth(session, engine.model.manifest, engine.model.probe, P, ks, runs);
      rows.push({ promptTokens: P, thoughtStepMs: round(g.thoughtStepMs), cumulativeMs: Object.fromEntries(Object.entries(g.cumulativeMs).map(([k, v]) => [k, round(v)])) });
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

/** The eval loop (inspect each record, top-1, no lens) over the first `limit` records. */
async function benchDataset(dir: string, file: string, limit: number, provider: string, threads: number, log: (s: string) => void): Promise<Record<string, unknown>> {
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
    return { file, records: recs.length, thoughts: k, seconds: round(seconds), msPerRecord: round((seconds * 1000) / recs.length), answerTokens, maxNewTokens: engine.info.maxNewTokens };
  } finally {
    await engine.dispose();
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the report is the JSON assembled in run(); it gets a type when bench.ts is split
function formatReport(r: Record<string, any>): string {
  const lines: string[] = [];
  const mc = r.machine;
  lines.push(`coconut-lens bench — ${mc.date}, ${mc.cpu} × ${mc.cores}, load ${mc.loadavg.join(' ')}, node ${mc.node}, onnxruntime ${mc.onnxruntime}`);
  const s = (x: Stat | undefined) => (x ? `${x.median.toFixed(3)} (p90 ${x.p90.toFixed(3)})` : '—');
  for (const m of r.models) {
    lines.push('');
    lines.push(`${m.label} [${m.architecture.n_layer}×${m.architecture.n_embd}, V ${m.architecture.vocab_size}] on ${m.provider}, ${m.threads} threads — ${m.note}`);
    if (m.providerNotice) lines.push(`  note: ${m.providerNotice}`);
    lines.push(`  session creation ms   ${s(m.sessionCreateMs)}`);
    lines.push(`  prefill ms (${m.plan.promptTokens + 1} tok)   ${s(m.prefillMs)}${m.pytorch ? `   pytorch ${s(m.pytorch.prefillMs)}` : ''}`);
    lines.push(`  thought step ms       ${s(m.thoughtStepMs)}${m.pytorch ? `   pytorch ${s(m.pytorch.thoughtStepMs)}   speed-up ×${m.thought_step_speedup_vs_pytorch}` : ''}`);
    lines.push(`  token step ms         ${s(m.tokenStepMs)}${m.pytorch ? `   pytorch ${s(m.pytorch.tokenStepMs)}   speed-up ×${m.token_step_speedup_vs_pytorch}` : ''}`);
    const w = m.warmInspectMs;
    lines.push(`  warm inspect ms (k=${w.thoughts}) ${s(w)}: ${w.promptTokens} prompt tokens, ${w.answerTokens} answer tokens`);
    lines.push(`    medians: tokenize ${w.medians.tokenizeMs}, prefill ${w.medians.prefillMs}, thoughts ${w.medians.thoughtsMs}, answer ${w.medians.answerMs}, decoding ${w.medians.decodeMs}`);
    if (m.coldInspectMs) lines.push(`  cold inspect ms       ${m.coldInspectMs.skipped ?? s(m.coldInspectMs)}`);
    if (m.hostMemoryMB) lines.push(`  host memory MB        ${m.hostMemoryMB.skipped ?? `${m.hostMemoryMB.before} → ${m.hostMemoryMB.afterLoad} loaded → ${m.hostMemoryMB.after20Inspects} after 20 inspects (growth ${m.hostMemoryMB.growth})`}`);
    if (m.pytorch) lines.push(`  pytorch ${m.pytorch.torch} on ${m.pytorch.device}, ${m.pytorch.threads} threads; max |Δlogit| ${m.pytorch.parity.maxAbsLogitDiff.toExponential(2)}`);
  }
  if (r.growth) {
    lines.push('');
    lines.push(`prefill + k thoughts, ms (${r.growth.model})`);
    lines.push(`  prompt  ${r.growth.ks.map((k: number) => `k=${k}`.padStart(9)).join('')}   ms/thought`);
    for (const row of r.growth.rows) {
      lines.push(`  ${String(row.promptTokens).padStart(6)}  ${r.growth.ks.map((k: number) => row.cumulativeMs[k].toFixed(2).padStart(9)).join('')}   ${row.thoughtStepMs.toFixed(3)}`);
    }
  }
  if (r.dataset) lines.push('', `dataset: ${r.dataset.records} records in ${r.dataset.seconds} s (${r.dataset.msPerRecord} ms/record)`);
  lines.push('', `peak RSS ${r.peakRssMB} MB`);
  return lines.join('\n');
}
