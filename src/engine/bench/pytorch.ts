// The bench's bridge to PyTorch: everything the TypeScript side asks of training/bench_reference.py
// goes through this module. The Python side documents the same contract in its docstring; change
// both together.
//
// `python3 training/bench_reference.py serve --model DIR --threads N --device cpu|cuda`
//   A long-lived child speaking JSON lines: one request per stdin line, one answer per stdout line,
//   in order, so the bench can alternate blocks of its own steps with blocks of PyTorch's in the
//   same time window. stderr is free text (kept for error messages).
//   first line, unasked    {"ready": true, "torch": VERSION, "threads": N, "device": D, "sdpa": BOOL,
//                           "gpu"?: NAME}  or  {"error": TEXT} and exit (e.g. CUDA not available)
//   {"cmd": "check", "prompt": [ids], "thoughts": k}
//                       -> {"logits": [[V floats] per pass: the prefill, then each thought step]}
//   {"cmd": "block", "prompt": [ids], "thoughts": k, "answer": t, "runs": r, "warmup": w}
//                       -> {"prefill_ms": [...], "thought_ms": [...], "token_ms": [...]}
//   {"cmd": "answers", "prompts": [[ids]], "thoughts": k, "eot": id, "eos": id, "max_new_tokens": n}
//                       -> {"ms": [per prompt], "answers": [[ids] per prompt]}: the whole reference
//                          loop per prompt (ids ending in bot), greedy, eos excluded
//   anything else       -> {"error": TEXT}
//   {"cmd": "quit"}     -> no answer; the process exits (killed 2 s later if it does not)
//
// `python3 training/bench_reference.py make-random --out DIR --n-layer L --n-head H --n-embd D
//   --n-positions P` exports a model folder with random weights (its last stdout line is JSON:
//   {"out", "name", "parameters"}); only the exit code is read here.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { EngineError } from '../errors';
import { cacheDir } from '../providers';
import { runChild } from './run-child';

export interface ReferenceHello {
  ready: true;
  torch: string;
  threads: number;
  device: string;
  sdpa: boolean;
  gpu?: string;
}

export interface ReferenceBlock {
  prefill_ms: number[];
  thought_ms: number[];
  token_ms: number[];
}

/** training/bench_reference.py of the package at `root`. */
function referenceScript(root: string): string {
  return path.join(root, 'training', 'bench_reference.py');
}

export class PytorchReference {
  private readonly lines: AsyncIterableIterator<string>;
  private stderr = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    // A reference that died is reported by next(); writes to its closed stdin must not crash us.
    child.stdin.on('error', () => undefined);
    child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
  }

  static async start(opts: {
    python: string;
    root: string;
    modelDir: string;
    threads: number;
    device: string;
  }): Promise<{ ref: PytorchReference; hello: ReferenceHello }> {
    const script = referenceScript(opts.root);
    const env = {
      ...process.env,
      OMP_WAIT_POLICY: 'PASSIVE',
      OMP_NUM_THREADS: String(opts.threads),
      MKL_NUM_THREADS: String(opts.threads),
      OPENBLAS_NUM_THREADS: String(opts.threads),
    };
    const child = spawn(opts.python, [script, 'serve', '--model', opts.modelDir, '--threads', String(opts.threads), '--device', opts.device], { env });
    const ref = new PytorchReference(child);
    const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(e)));
    try {
      const hello = (await Promise.race([ref.next(), spawnError])) as ReferenceHello & { error?: string };
      if (!hello.ready) throw new Error(hello.error ?? 'no ready line');
      return { ref, hello };
    } catch (e) {
      void ref.close(); // not awaited: a process that failed to spawn never exits
      throw new EngineError(
        'BAD_OPTION',
        `the PyTorch reference (${opts.python} ${script}) did not start: ${(e as Error).message}${ref.stderr ? `\n${ref.stderr.trim().split('\n').slice(-5).join('\n')}` : ''}`,
        'install PyTorch, numpy and onnx for that Python (Debian: apt-get install python3-torch python3-onnx) or pass --python PATH',
      );
    }
  }

  private async next(): Promise<unknown> {
    const r = await this.lines.next();
    if (r.done) throw new Error(`the reference process ended${this.stderr ? `: ${this.stderr.trim().split('\n').slice(-3).join(' / ')}` : ''}`);
    return JSON.parse(r.value);
  }

  private async request<T>(req: Record<string, unknown>): Promise<T> {
    this.child.stdin.write(JSON.stringify(req) + '\n');
    const res = (await this.next()) as T & { error?: string };
    if (res.error) throw new EngineError('INTERNAL', `PyTorch reference: ${res.error}`, 'check training/bench_reference.py');
    return res;
  }

  /** LM-head logits of the prefill and each of `thoughts` thought steps (last position). */
  async check(prompt: number[], thoughts: number): Promise<number[][]> {
    return (await this.request<{ logits: number[][] }>({ cmd: 'check', prompt, thoughts })).logits;
  }

  /** The whole reference loop per prompt (ids ending in bot): its milliseconds and greedy answer ids. */
  answers(prompts: number[][], thoughts: number, eot: number, eos: number, maxNewTokens: number): Promise<{ ms: number[]; answers: number[][] }> {
    return this.request({ cmd: 'answers', prompts, thoughts, eot, eos, max_new_tokens: maxNewTokens });
  }

  block(prompt: number[], thoughts: number, answer: number, runs: number, warmup = 0): Promise<ReferenceBlock> {
    return this.request<ReferenceBlock>({ cmd: 'block', prompt, thoughts, answer, runs, warmup });
  }

  /**
   * Asks the reference to quit; resolves once its process has exited (killed after 2 s). Awaited by
   * the bench: a Python process tearing torch down competes for the cores with what is timed next
   * (the cold inspects read ~260 ms while it did, ~200 ms on a quiet machine).
   */
  close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      this.child.stdin.end(JSON.stringify({ cmd: 'quit' }) + '\n');
    } catch {
      // already gone
    }
    const kill = setTimeout(() => this.child.kill(), 2000);
    kill.unref();
    return exited.finally(() => clearTimeout(kill));
  }
}

/** A random GPT-2-like model exported by training/export.py (cached: the shape is what matters). */
export async function randomModel(
  root: string,
  python: string,
  shape: { n_layer: number; n_head: number; n_embd: number; n_positions: number },
  log: (s: string) => void,
): Promise<string> {
  const name = `random-${shape.n_layer}x${shape.n_embd}h${shape.n_head}-p${shape.n_positions}`;
  const dir = process.env.COCONUT_LENS_BENCH_MODELS ? path.join(process.env.COCONUT_LENS_BENCH_MODELS, name) : path.join(cacheDir(), 'bench-models', name);
  if (fs.existsSync(path.join(dir, 'coconut.json'))) return dir;
  log(`exporting ${name} (random weights) to ${dir} with training/bench_reference.py…`);
  const args = [
    referenceScript(root),
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
