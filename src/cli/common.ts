// What every coconut-lens command shares: the common options, the output streams, loading the
// model the options name, reading the prompt file, and progress lines on stderr.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CoconutEngine } from '../engine/engine';
import { EngineError } from '../engine/errors';
import { DEFAULT_MODEL_RELATIVE } from '../engine/model-dir';
import { checkProviderSetting } from '../engine/session';
import { parsePromptFile, type PromptFile } from '../prompts';
import type { ProviderSetting } from '../shared/types';
import { intOption, strOption, usageError, type OptionSpec, type ParsedArgs } from './args';

export const COMMON: Record<string, OptionSpec> = {
  model: { value: true },
  thoughts: { value: true },
  provider: { value: true },
  threads: { value: true },
  json: { value: false },
  help: { value: false },
};

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  stderrIsTTY: boolean;
}

/** The package root: where package.json names this package (dist/ or src/cli/ below it). */
export function packageRoot(start = __dirname): string {
  let dir = start;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if (JSON.parse(fs.readFileSync(pj, 'utf-8')).name === 'coconut-lens') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(start, '..');
    dir = up;
  }
}

export async function loadEngine(p: ParsedArgs, io: Io): Promise<{ engine: CoconutEngine; loadMs: number }> {
  const modelOpt = strOption(p, 'model');
  const dir = modelOpt ? path.resolve(modelOpt) : path.join(packageRoot(), DEFAULT_MODEL_RELATIVE);
  const provider: ProviderSetting = checkProviderSetting(strOption(p, 'provider') ?? 'auto');
  const threads = intOption(p, 'threads', 1);
  const t0 = performance.now();
  const engine = await CoconutEngine.load(dir, { provider, threads, isDefault: !modelOpt, onNotice: (m) => io.err(`note: ${m}`) });
  if (engine.info.providerNotice) io.err(`note: ${engine.info.providerNotice}`);
  return { engine, loadMs: performance.now() - t0 };
}

function readPromptFile(file: string | undefined, what: string): { text: string; name: string } {
  if (!file) throw usageError(`missing ${what}`, `give the path of a prompt file, e.g. coconut-lens inspect question.txt`);
  const full = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(full, 'utf-8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EngineError(
      'PROMPT_EMPTY',
      code === 'ENOENT' ? `${file} does not exist` : code === 'EISDIR' ? `${file} is a folder, not a file` : `${file} cannot be read (${code})`,
      'give the path of a .json, .jsonl or .txt prompt file',
    );
  }
  return { text, name: full };
}

/** The one prompt file a command takes (`what` names it in messages), read and parsed. */
export function promptFileArg(p: ParsedArgs, command: string, what: 'FILE' | 'DATASET'): { file: PromptFile; name: string } {
  if (p.positionals.length > 1) {
    throw usageError(`${command} takes one ${what}, got ${p.positionals.length}`, what === 'DATASET' ? 'pass one dataset file' : 'pass one prompt file');
  }
  const { text, name } = readPromptFile(p.positionals[0], what);
  return { file: parsePromptFile(text, name), name };
}

export function thoughtsOption(p: ParsedArgs): number | undefined {
  // No lower bound here: the engine's THOUGHTS_RANGE message states the model's range.
  return intOption(p, 'thoughts', Number.MIN_SAFE_INTEGER);
}

export function progress(io: Io, done: number, total: number, correct: number, ms: number): void {
  const line = `[${done}/${total}] ${correct} correct (${((correct / done) * 100).toFixed(1)}%), ${(ms / done).toFixed(0)} ms/record`;
  if (io.stderrIsTTY) {
    process.stderr.write(`\r${line}`);
  } else if (done === total || done % Math.max(1, Math.ceil(total / 20)) === 0) {
    io.err(line);
  }
}
