// The PyTorch reference loop as a child process (training/bench_reference.py serve): one JSON
// request per line, one JSON answer per line, so the bench can alternate blocks of its own steps
// with blocks of PyTorch's in the same time window.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as readline from 'node:readline';
import { LensError } from '../errors';

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

  static async start(opts: { python: string; script: string; modelDir: string; threads: number; device: string }): Promise<{ ref: PytorchReference; hello: ReferenceHello }> {
    const env = { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: String(opts.threads), MKL_NUM_THREADS: String(opts.threads), OPENBLAS_NUM_THREADS: String(opts.threads) };
    const child = spawn(opts.python, [opts.script, 'serve', '--model', opts.modelDir, '--threads', String(opts.threads), '--device', opts.device], { env });
    const ref = new PytorchReference(child);
    const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(e)));
    try {
      const hello = (await Promise.race([ref.next(), spawnError])) as ReferenceHello & { error?: string };
      if (!hello.ready) throw new Error(hello.error ?? 'no ready line');
      return { ref, hello };
    } catch (e) {
      ref.close();
      throw new LensError(
        'BAD_OPTION',
        `the PyTorch reference (${opts.python} ${opts.script}) did not start: ${(e as Error).message}${ref.stderr ? `\n${ref.stderr.trim().split('\n').slice(-5).join('\n')}` : ''}`,
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
    if (res.error) throw new LensError('INTERNAL', `PyTorch reference: ${res.error}`, 'check training/bench_reference.py');
    return res;
  }

  /** LM-head logits of the prefill and each of `thoughts` thought steps (last position). */
  async check(prompt: number[], thoughts: number): Promise<number[][]> {
    return (await this.request<{ logits: number[][] }>({ cmd: 'check', prompt, thoughts })).logits;
  }

  block(prompt: number[], thoughts: number, answer: number, runs: number, warmup = 0): Promise<ReferenceBlock> {
    return this.request<ReferenceBlock>({ cmd: 'block', prompt, thoughts, answer, runs, warmup });
  }

  close(): void {
    try {
      this.child.stdin.end(JSON.stringify({ cmd: 'quit' }) + '\n');
    } catch {
      // already gone
    }
    setTimeout(() => this.child.kill(), 2000).unref();
  }
}
