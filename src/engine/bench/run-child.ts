// A child process timed from spawn to exit, its stdout kept and the tail of its stderr reported on
// failure: the bench's cold starts, its host-memory probe and the PyTorch helper commands.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { EngineError } from '../errors';

export function runChild(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ ms: number; stdout: string }> {
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
      else
        reject(
          new EngineError(
            'INTERNAL',
            `${path.basename(cmd)} ${args.slice(0, 2).join(' ')} failed (exit ${code}): ${stderr.trim().split('\n').slice(-4).join(' / ')}`,
            'run it by hand to see the whole error',
          ),
        );
    });
  });
}
