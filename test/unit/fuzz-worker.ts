// The fuzzing itself, run in a worker thread by test/unit/fuzz.test.ts so the test can stop it if
// one input hangs (a synchronous loop cannot be interrupted from its own thread). Every input is
// derived from (seed, target, index), so a reported failure can be replayed exactly.
import { parentPort, workerData } from 'node:worker_threads';
import { EngineError } from '../../src/engine/errors';
import { parseManifestText, validateManifest } from '../../src/engine/manifest';
import { loadProbe } from '../../src/engine/model-dir';
import { parseSafetensors, SafetensorsFormatError } from '../../src/engine/safetensors';
import { parsePromptFile, type PromptFormat } from '../../src/prompts';

export type Target = 'prompts' | 'manifests' | 'safetensors';

export interface FuzzJob {
  target: Target;
  count: number;
  seed: number;
  /** Seeds to mutate: prompt texts, the fixture's coconut.json text, its probe bytes. */
  prompts: string[];
  manifestText: string;
  probe: Uint8Array;
}

export interface Crash {
  index: number;
  what: string;
  error: string;
}

export type FuzzMessage =
  | { type: 'progress'; target: Target; index: number }
  | {
      type: 'done';
      target: Target;
      count: number;
      accepted: number;
      refused: Record<string, number>;
      crashes: Crash[];
      slowestMs: number;
      slowestIndex: number;
      slowestWhat: string;
      slowCount: number;
    };

/** mulberry32: small, fast, and the same stream everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly r: () => number) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  /** Any UTF-16 code unit, lone surrogates included (what a mis-decoded file can contain). */
  char(): string {
    const kind = this.int(6);
    if (kind === 0) return String.fromCharCode(0xd800 + this.int(0x800)); // lone surrogate
    if (kind === 1) return String.fromCharCode(this.int(0x20)); // control, NUL
    if (kind === 2) return this.pick(['"', '{', '}', '[', ']', ',', ':', '\\', '\n', '\r', '\t', ' ', '\uFEFF', '\uFFFD', '#', '<|latent|>']);
    if (kind === 3) return String.fromCodePoint(0x80 + this.int(0x10ff7f));
    return String.fromCharCode(0x20 + this.int(0x5f));
  }
  str(max: number): string {
    let s = '';
    const n = this.int(max);
    for (let i = 0; i < n; i++) s += this.char();
    return s;
  }
  /** A random JSON-able value, depth-bounded. */
  value(depth = 0): unknown {
    const k = this.int(depth > 4 ? 6 : 9);
    switch (k) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick([0, -1, 1, 1.5, -0.0, 1e308, -1e308, 2 ** 53, 2 ** 31, 4294967296, 5e-324, 69, 68]);
      case 3:
        return this.int(1000) - 10;
      case 4:
        return this.str(20);
      case 5:
        return this.pick(['', 'gpt2', 'coconut-lens-model', '../x', '/etc/passwd', 'C:\\x', '0'.repeat(64), 'decoder.onnx', '__proto__']);
      case 6:
        return Array.from({ length: this.int(5) }, () => this.value(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        const n = this.int(5);
        for (let i = 0; i < n; i++)
          o[this.pick(['question', 'steps', 'answer', 'id', 'text', 'role', 'path', 'sha256', 'bytes', '__proto__', 'constructor', this.str(6)])] = this.value(
            depth + 1,
          );
        return o;
      }
    }
  }
  deep(n: number): string {
    const open = this.pick(['[', '{"a":', '{"question":']);
    const close = open === '[' ? ']' : '}';
    return open.repeat(n) + (this.chance(0.5) ? '1' : '') + (this.chance(0.7) ? close.repeat(n) : '');
  }
  /** Byte-level-ish mutations of a string. */
  mutate(s: string): string {
    let out = s;
    const n = 1 + this.int(6);
    for (let i = 0; i < n; i++) {
      const at = this.int(out.length + 1);
      switch (this.int(7)) {
        case 0:
          out = out.slice(0, at);
          break; // truncate
        case 1:
          out = out.slice(0, at) + this.char() + out.slice(at + 1);
          break; // flip
        case 2:
          out = out.slice(0, at) + this.str(8) + out.slice(at);
          break; // insert
        case 3:
          out = out.slice(0, at) + out.slice(at + this.int(40));
          break; // delete
        case 4: {
          const b = this.int(out.length + 1);
          out = out.slice(0, at) + out.slice(Math.min(at, b), Math.max(at, b)) + out.slice(at);
          break;
        } // duplicate
        case 5:
          out = out.slice(0, at) + this.pick(['\n', '{', '}', ',', '"', '\\u12', '\\', ']']) + out.slice(at);
          break;
        default:
          out = out
            .split('\n')
            .sort(() => this.r() - 0.5)
            .join('\n'); // shuffle lines
      }
    }
    return out;
  }
}

const FILE_NAMES = ['prompts.json', 'valid.jsonl', 'q.txt', 'notes.md', 'untitled', 'x.ndjson', 'run.coconut', 'weird.JSON'];
const FORMATS: (PromptFormat | undefined)[] = [undefined, undefined, 'json', 'jsonl', 'text', 'coconut'];

function promptInput(g: Gen, seeds: string[]): { text: string; name: string; format?: PromptFormat } {
  const name = g.pick(FILE_NAMES);
  const format = g.pick(FORMATS);
  const base = g.pick(seeds);
  const k = g.int(100);
  let text: string;
  if (k < 45) text = g.mutate(base);
  else if (k < 60) text = JSON.stringify(g.value());
  else if (k < 70)
    text = Array.from({ length: 1 + g.int(8) }, () => (g.chance(0.6) ? JSON.stringify(g.value()) : g.mutate(JSON.stringify({ question: g.str(30) })))).join(
      '\n',
    );
  else if (k < 78) text = g.deep(g.pick([10, 255, 256, 257, 1000, 100_000]));
  else if (k < 84) text = g.str(300);
  else if (k < 87) {
    // huge: a long question, a long line, or many records
    const big = g.int(3);
    text =
      big === 0
        ? JSON.stringify({ question: 'Is Tom a lempus? '.repeat(60_000) })
        : big === 1
          ? 'x'.repeat(1_500_000)
          : Array.from({ length: 5000 }, (_, i) => JSON.stringify({ question: `q${i}` })).join('\n');
  } else if (k < 92) {
    // invalid UTF-8 bytes as an editor would decode them
    const bytes = new Uint8Array(1 + g.int(200)).map(() => g.int(256));
    text = new TextDecoder('utf-8', { fatal: false }).decode(bytes) + g.mutate(base.slice(0, 200));
  } else text = g.mutate(base).replace(/"/g, () => (g.chance(0.05) ? "'" : '"'));
  return { text, name, format };
}

function manifestInput(g: Gen, text: string): { kind: 'text' | 'object'; value: unknown } {
  if (g.chance(0.3)) return { kind: 'text', value: g.chance(0.9) ? g.mutate(text) : g.deep(g.pick([100, 10_000])) };
  const m = JSON.parse(text) as Record<string, unknown>;
  const n = 1 + g.int(3);
  for (let i = 0; i < n; i++) {
    // Walk to a random object in the manifest and change, delete or retype one field.
    let obj: any = m;
    for (let d = 0; d < 3; d++) {
      const keys = Object.keys(obj).filter((k) => typeof obj[k] === 'object' && obj[k] !== null);
      if (keys.length === 0 || g.chance(0.3)) break;
      obj = obj[g.pick(keys)];
    }
    const keys = Object.keys(obj);
    const key = keys.length && g.chance(0.9) ? g.pick(keys) : g.pick(['__proto__', 'constructor', 'extra', '0']);
    const op = g.int(4);
    if (op === 0) delete obj[key];
    else if (op === 1) obj[key] = g.value();
    else if (op === 2) obj[key] = g.pick([null, [], {}, '', '1', 1e400, -1, 0.5, true, 'x'.repeat(100_000)]);
    else {
      let v: unknown = g.value();
      for (let d = g.pick([5, 50, 500]); d > 0; d--) v = g.chance(0.5) ? [v] : { a: v };
      obj[key] = v;
    }
  }
  return { kind: 'object', value: m };
}

function safetensorsInput(g: Gen, probe: Uint8Array): Uint8Array {
  const headerLen = Number(new DataView(probe.buffer, probe.byteOffset, probe.byteLength).getBigUint64(0, true));
  const header = new TextDecoder().decode(probe.subarray(8, 8 + headerLen));
  const data = probe.subarray(8 + headerLen);
  const k = g.int(10);
  let headerText = header;
  let lenField: bigint | undefined;
  let body: Uint8Array = data;
  if (k < 3) headerText = g.mutate(header);
  else if (k < 5) {
    const h = JSON.parse(header) as Record<string, any>;
    const name = g.pick([...Object.keys(h), 'wte', '__metadata__', 'ln_f.weight']);
    const field = g.pick(['dtype', 'shape', 'data_offsets', '*']);
    if (field === '*') h[name] = g.value();
    else
      h[name] = {
        ...(h[name] ?? {}),
        [field]: g.pick([g.value(), [-1, 4], [0, 2 ** 53], [2 ** 31, 2 ** 31], [1e300], [0.5, 1], 'F32', 'F64', 'Q4', [69, 32], [2 ** 40, 2 ** 40]]),
      };
    headerText = JSON.stringify(h);
  } else if (k < 6) lenField = g.pick([0n, 1n, 7n, 2n ** 63n, 2n ** 64n - 1n, BigInt(headerLen + 1), BigInt(headerLen - 1), 100n * 1024n * 1024n + 1n]);
  else if (k < 7) body = data.subarray(0, g.int(data.length));
  else if (k < 8) headerText = g.chance(0.5) ? g.deep(g.pick([100, 5000])) : JSON.stringify(g.value());
  else if (k < 9) {
    const out = probe.slice(0, g.int(probe.length));
    for (let i = 0; i < 1 + g.int(8) && out.length; i++) out[g.int(out.length)] = g.int(256);
    return out;
  } else {
    const out = probe.slice();
    for (let i = 0; i < 1 + g.int(16); i++) out[g.int(Math.min(out.length, 8 + headerLen))] = g.int(256);
    return out;
  }
  const hb = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + hb.length + body.length);
  new DataView(out.buffer).setBigUint64(0, lenField ?? BigInt(hb.length), true);
  out.set(hb, 8);
  out.set(body, 8 + hb.length);
  return out;
}

function run(job: FuzzJob): void {
  const g = new Gen(prng(job.seed ^ { prompts: 0x1111, manifests: 0x2222, safetensors: 0x3333 }[job.target]));
  const manifest = validateManifest(JSON.parse(job.manifestText));
  const refused: Record<string, number> = {};
  const crashes: Crash[] = [];
  let accepted = 0;
  let slowestMs = 0;
  let slowestIndex = -1;
  let slowestWhat = '';
  let slowCount = 0;
  for (let i = 0; i < job.count; i++) {
    if (i % 100 === 0) parentPort!.postMessage({ type: 'progress', target: job.target, index: i } satisfies FuzzMessage);
    let what = '';
    const t0 = performance.now();
    try {
      if (job.target === 'prompts') {
        const p = promptInput(g, job.prompts);
        what = `${p.name} (${p.format ?? 'detected'}), ${p.text.length} chars: ${JSON.stringify(p.text.slice(0, 80))}`;
        const f = parsePromptFile(p.text, p.name, p.format);
        if (!Array.isArray(f.records) || f.records.length === 0) throw new Error('parsed without records');
        for (const r of f.records) if (typeof r.question !== 'string') throw new Error('a record without a question string');
      } else if (job.target === 'manifests') {
        const m = manifestInput(g, job.manifestText);
        what = `${m.kind}: ${String(m.kind === 'text' ? m.value : JSON.stringify(m.value)).slice(0, 120)}`;
        const v = m.kind === 'text' ? parseManifestText(m.value as string) : validateManifest(m.value);
        // Whatever is accepted must satisfy what the engine relies on afterwards.
        const a = v.architecture;
        if (a.n_embd % a.n_head !== 0) throw new Error('accepted n_embd not divisible by n_head');
        for (const t of Object.values(v.special_tokens)) if (!(t.id >= 0 && t.id < a.vocab_size)) throw new Error('accepted a special id out of range');
        if (v.files.some((f) => f.path.includes('..') || f.path.startsWith('/'))) throw new Error('accepted a path outside the folder');
      } else {
        const buf = safetensorsInput(g, job.probe);
        what = `${buf.length} bytes: ${JSON.stringify(new TextDecoder().decode(buf.subarray(8, 90)))}`;
        try {
          parseSafetensors(buf);
        } catch (e) {
          if (!(e instanceof SafetensorsFormatError)) throw e;
        }
        loadProbe(buf, 'probe.safetensors', manifest);
      }
      accepted++;
    } catch (e) {
      if (e instanceof EngineError) refused[e.code] = (refused[e.code] ?? 0) + 1;
      else crashes.push({ index: i, what, error: e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 300) : String(e) });
    }
    const ms = performance.now() - t0;
    if (ms > 100) slowCount++;
    if (ms > slowestMs) {
      slowestMs = ms;
      slowestIndex = i;
      slowestWhat = what.slice(0, 200);
    }
  }
  parentPort!.postMessage({
    type: 'done',
    target: job.target,
    count: job.count,
    accepted,
    refused,
    crashes,
    slowestMs,
    slowestIndex,
    slowestWhat,
    slowCount,
  } satisfies FuzzMessage);
}

if (parentPort && workerData) run(workerData as FuzzJob);
