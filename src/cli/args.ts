// A small, strict argument parser: unknown options and missing values are usage errors (exit 2)
// with a message that names the option, rather than being silently ignored.
import { EngineError } from '../engine/errors';

export interface OptionSpec {
  /** Takes a value (--model DIR) rather than being a switch (--json). */
  value: boolean;
  /** May be given several times (--intervene A --intervene B); values go to ParsedArgs.lists. */
  repeat?: boolean;
}

export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string | true>;
  /** Values of repeatable options, in the order given. */
  lists: Map<string, string[]>;
}

export function usageError(message: string, fix: string): EngineError {
  return new EngineError('BAD_OPTION', message, fix);
}

export function parseArgs(argv: string[], spec: Record<string, OptionSpec>, command: string): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  const lists = new Map<string, string[]>();
  const help = `run "coconut-lens ${command} --help" for the options`;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = (eq >= 0 ? a.slice(0, eq) : a).replace(/^-+/, '');
    const s = spec[name];
    if (!s) throw usageError(`unknown option ${a.split('=')[0]} for "${command}"`, help);
    if (options.has(name) && !s.repeat) throw usageError(`--${name} is given more than once`, `pass --${name} once`);
    if (!s.value) {
      if (eq >= 0) throw usageError(`--${name} takes no value`, `write --${name} alone`);
      options.set(name, true);
      continue;
    }
    let v: string | undefined;
    if (eq >= 0) v = a.slice(eq + 1);
    else if (i + 1 < argv.length) v = argv[++i];
    if (v === undefined || v === '') throw usageError(`--${name} needs a value`, help);
    options.set(name, v);
    if (s.repeat) lists.set(name, [...(lists.get(name) ?? []), v]);
  }
  return { positionals, options, lists };
}

export function intOption(p: ParsedArgs, name: string, min: number): number | undefined {
  const v = p.options.get(name);
  if (v === undefined) return undefined;
  const s = String(v);
  if (!/^-?\d+$/.test(s)) throw usageError(`--${name} must be a whole number, got ${JSON.stringify(s)}`, `pass --${name} N with N ≥ ${min}`);
  const n = Number(s);
  if (n < min) throw usageError(`--${name} must be at least ${min}, got ${n}`, `pass --${name} N with N ≥ ${min}`);
  return n;
}

export function strOption(p: ParsedArgs, name: string): string | undefined {
  const v = p.options.get(name);
  return v === undefined ? undefined : String(v);
}
