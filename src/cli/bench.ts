// coconut-lens bench: how fast the engine runs a model here, and against the PyTorch reference.
//   coconut-lens bench [--model DIR] [--provider P] [--threads N] [--runs N] [--vs-pytorch]
//                      [--torch-device cpu|cuda] [--growth] [--dataset FILE --limit N | --no-dataset] [--json]
// Timings are medians and p90s of many samples; with --vs-pytorch our blocks and PyTorch's
// alternate (ours, theirs, ours, …) so both see the same machine load. Nothing here is a test:
// numbers are recorded (docs/performance.md), never asserted.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomModel } from '../engine/bench/pytorch';
import { DEFAULT_MODEL_RELATIVE } from '../engine/model-dir';
import { checkProviderSetting, defaultThreads } from '../engine/session';
import { parsePromptFile } from '../prompts';
import { intOption, parseArgs, strOption, usageError } from './args';
import { benchDataset, benchGrowth } from './bench-extras';
import { benchModel, type BenchTarget } from './bench-model';
import { formatReport, machine, round } from './bench-report';

/** The official ProsQA validation set in a clone of the project (data/prosqa/README.md). */
const OFFICIAL_VALID_RELATIVE = path.join('data', 'prosqa', 'prosqa_valid.json');

export const BENCH_USAGE = `coconut-lens bench [--model DIR] [--provider P] [--threads N] [--runs N] [--vs-pytorch]
                   [--torch-device cpu|cuda] [--python PATH] [--growth] [--dataset FILE] [--limit N]
                   [--no-dataset] [--no-cold] [--kv-on-gpu] [--json]

Measures prefill, per-thought-step and per-token-step latency (median, p90), session creation,
warm inspect, cold inspect (a fresh process: start to decoded thoughts) and peak RSS.
--model DIR        the model (default ${DEFAULT_MODEL_RELATIVE}; while it is not shipped: the test fixture
                   and a random model of the default model's planned shape, 5 layers, d 256)
--threads N        intra-op threads, ours and PyTorch's (default: the engine's own choice, 1 or the
                   cores it leaves the editor, whichever runs the model faster; PyTorch gets the latter)
--runs N           sequences timed per block (default 10; 8 blocks with --vs-pytorch)
--vs-pytorch       also time the PyTorch reference loop (training/bench_reference.py) on the same
                   weights, inputs, thread count and device, alternating with ours
--torch-device D   device of the PyTorch reference (default cpu)
--growth           table of prefill + k thoughts (k = 0..16) for prompts of 64..1024 tokens, on a
                   random model of the same shape with 1100 positions
--kv-on-gpu        WebGPU: keep the KV cache in GPU buffers during the step timings
--dataset FILE     also evaluate --limit N records (default 500) record by record and in batches, and
                   inspect each (default with the shipped model: the official validation set,
                   ${OFFICIAL_VALID_RELATIVE}, where this folder has it; --no-dataset skips it)`;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

function pythonPath(p: string | undefined): string {
  if (p) return p;
  return fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
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
      'no-dataset': { value: false },
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
  // Unset, the engine runs what it would for a user (its measured choice within the budget) and
  // PyTorch gets the whole budget; --threads N runs both at exactly N.
  const threads = intOption(p, 'threads', 1);
  const torchThreads = threads ?? defaultThreads();
  const runs = intOption(p, 'runs', 1) ?? 10;
  const torchDevice = strOption(p, 'torch-device') ?? 'cpu';
  if (!['cpu', 'cuda'].includes(torchDevice))
    throw usageError(`--torch-device must be cpu or cuda, got ${torchDevice}`, 'pass --torch-device cpu or --torch-device cuda');
  const python = pythonPath(strOption(p, 'python'));
  const vsPytorch = p.options.has('vs-pytorch');
  if (p.options.has('dataset') && p.options.has('no-dataset')) throw usageError('--dataset and --no-dataset contradict each other', 'pass one of them');
  const limit = intOption(p, 'limit', 1) ?? 500;
  const log = (s: string) => io.err(s);

  const targets: BenchTarget[] = [];
  const modelOpt = strOption(p, 'model');
  if (modelOpt) {
    targets.push({ label: path.basename(path.resolve(modelOpt)), dir: path.resolve(modelOpt), note: 'given with --model' });
  } else if (fs.existsSync(path.join(root, DEFAULT_MODEL_RELATIVE, 'coconut.json'))) {
    targets.push({ label: 'prosqa-coconut', dir: path.join(root, DEFAULT_MODEL_RELATIVE), note: 'the shipped default model' });
  } else {
    targets.push({
      label: 'tiny-fixture',
      dir: path.join(root, 'test', 'fixtures', 'tiny-model'),
      note: 'test fixture (2 layers, d 32): too small to say much',
    });
    const planned = await randomModel(root, python, { n_layer: 5, n_head: 8, n_embd: 256, n_positions: 512 }, log);
    targets.push({
      label: 'planned-default-shape',
      dir: planned,
      note: `${DEFAULT_MODEL_RELATIVE} is not shipped yet: random weights in its planned shape (training/configs/prosqa-h100.json: 5 layers, d 256, 8 heads, vocab 69, 512 positions), exported at bench time by training/export.py`,
    });
  }

  // The shipped model is evaluated on the official validation set, both ways, where this folder has
  // it (a clone does, the VSIX does not): what issue 11's command reads its batched figure from.
  const official = path.join(root, OFFICIAL_VALID_RELATIVE);
  const shipped = !modelOpt && targets[0].label === 'prosqa-coconut';
  const datasetFile = strOption(p, 'dataset') ?? (shipped && !p.options.has('no-dataset') && fs.existsSync(official) ? official : undefined);

  const question = benchQuestion(root);
  const results: Record<string, unknown>[] = [];
  // The growth table runs the last model's thread count on its own sessions; the dataset loads the
  // engine as users do (its own choice unless --threads).
  const primaryThreads = () => results[results.length - 1].threads as number;
  for (const t of targets) {
    log(`── ${t.label}: ${t.dir}`);
    results.push(
      await benchModel(t, {
        provider,
        threads,
        torchThreads,
        runs,
        vsPytorch,
        torchDevice,
        python,
        root,
        question,
        cold: !p.options.has('no-cold'),
        kvOnGpu: p.options.has('kv-on-gpu'),
        log,
      }),
    );
  }

  let growth: Record<string, unknown> | undefined;
  if (p.options.has('growth')) {
    const a = JSON.parse(fs.readFileSync(path.join(targets[targets.length - 1].dir, 'coconut.json'), 'utf-8')).architecture;
    const dir = await randomModel(root, python, { n_layer: a.n_layer, n_head: a.n_head, n_embd: a.n_embd, n_positions: 1100 }, log);
    growth = await benchGrowth(
      dir,
      results[results.length - 1].provider as string,
      primaryThreads(),
      Math.max(3, Math.ceil(runs / 2)),
      p.options.has('kv-on-gpu'),
      log,
    );
  }

  let dataset: Record<string, unknown> | undefined;
  if (datasetFile)
    dataset = await benchDataset(targets[targets.length - 1].dir, datasetFile, limit, results[results.length - 1].provider as string, threads, log, {
      pytorch: vsPytorch ? { python, root, device: torchDevice, threads: torchThreads } : undefined,
    });

  const primary = results[results.length - 1];
  const report: Record<string, unknown> = {
    bench: 'coconut-lens/bench@1',
    command: `coconut-lens bench ${argv.join(' ')}`.trim(),
    machine: machine(),
    settings: {
      provider,
      threads: threads ?? `unset: the engine's choice within ${torchThreads}`,
      torchThreads: vsPytorch ? torchThreads : undefined,
      runs,
      torchDevice: vsPytorch ? torchDevice : undefined,
    },
    models: results,
    ...(growth ? { growth } : {}),
    ...(dataset ? { dataset } : {}),
    peakRssMB: round(process.resourceUsage().maxRSS / 1024),
    ...(primary.thought_step_speedup_vs_pytorch !== undefined ? { thought_step_speedup_vs_pytorch: primary.thought_step_speedup_vs_pytorch } : {}),
    ...(primary.thought_in_one_call_speedup_vs_pytorch !== undefined
      ? { thought_in_one_call_speedup_vs_pytorch: primary.thought_in_one_call_speedup_vs_pytorch }
      : {}),
    ...(dataset ? { batched_eval_speedup: dataset.batched_eval_speedup } : {}),
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
