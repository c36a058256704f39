// Validation of coconut.json (models/README.md). Each problem is reported with the JSON path of the
// field, what was expected and what was found, so a model author can fix the file without guessing.
import { EngineError } from './errors';

export interface SpecialToken {
  id: number;
  text: string;
}

export interface ManifestFile {
  role: string;
  path: string;
  sha256: string;
  bytes?: number;
}

export interface Manifest {
  format: 'coconut-lens-model';
  /**
   * 1: decoders return every position; 2: the last position only, and may run thoughts; 3: they
   * also read a prefix cache (models/README.md).
   */
  format_version: 1 | 2 | 3;
  name: string;
  architecture: {
    family: 'gpt2';
    n_layer: number;
    n_head: number;
    n_embd: number;
    vocab_size: number;
    n_positions: number;
    layer_norm_epsilon: number;
    tie_word_embeddings: boolean;
    /** How positions enter the model; the decoder graph applies them, this says what it does. */
    positions: 'learned' | 'rotary';
    /** Keys mix in the previous position's key inside attention (the cache keeps raw keys). */
    smear_keys: boolean;
  };
  special_tokens: { bot: SpecialToken; eot: SpecialToken; latent: SpecialToken; eos: SpecialToken };
  thoughts: { default: number; max: number; per_step: number };
  prompt: { question_suffix: string; answer_marker: string };
  generation: { max_new_tokens: number };
  /**
   * Where the latent-search view reads a node's value after t thoughts: "cue" (the paper's
   * analysis: force eot then the cue, read p(concept)), or "thought" (the concept's probability in
   * thought t's own decoded distribution; for models trained with a frontier loss on the thoughts,
   * which write no language steps after eot).
   */
  node_values: { source: 'cue'; cue: string } | { source: 'thought' };
  files: ManifestFile[];
  onnx?: { opset?: number };
  provenance?: Record<string, unknown>;
}

export const REQUIRED_ROLES = ['decoder', 'probe', 'tokenizer'] as const;
export type FileRole = (typeof REQUIRED_ROLES)[number];

const FIX = 'correct coconut.json (the format is described in models/README.md), or re-export the model';

function bad(where: string, message: string): EngineError {
  return new EngineError('MODEL_MANIFEST', `${where}: ${message}`, FIX);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && Number.isInteger(v)) return `the integer ${v}`;
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v === 'object' ? 'an object' : `a ${typeof v}`}`;
}

/** Field accessors that know their path, so messages read "coconut.json architecture.n_layer: …". */
class Obj {
  constructor(
    private readonly value: Record<string, unknown>,
    private readonly path: string,
    private readonly file: string,
  ) {}

  private where(key: string): string {
    return `${this.file} ${this.path ? this.path + '.' : ''}${key}`;
  }

  private get(key: string): unknown {
    if (!(key in this.value) || this.value[key] === undefined) {
      throw bad(this.where(key), 'the field is missing');
    }
    return this.value[key];
  }

  has(key: string): boolean {
    return key in this.value && this.value[key] !== undefined;
  }

  obj(key: string): Obj {
    const v = this.get(key);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw bad(this.where(key), `expected an object, found ${typeName(v)}`);
    }
    return new Obj(v as Record<string, unknown>, this.path ? `${this.path}.${key}` : key, this.file);
  }

  str(key: string, opts: { nonEmpty?: boolean; oneOf?: readonly string[] } = {}): string {
    const v = this.get(key);
    if (typeof v !== 'string') throw bad(this.where(key), `expected a string, found ${typeName(v)}`);
    if (opts.nonEmpty && v.length === 0) throw bad(this.where(key), 'must not be empty');
    if (opts.oneOf && !opts.oneOf.includes(v)) {
      throw bad(this.where(key), `expected ${opts.oneOf.map((s) => JSON.stringify(s)).join(' or ')}, found ${JSON.stringify(v)}`);
    }
    return v;
  }

  int(key: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.get(key);
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      throw bad(this.where(key), `expected an integer, found ${typeName(v)}`);
    }
    if (v < min || v > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
      throw bad(this.where(key), `expected an integer ${range}, found ${v}`);
    }
    return v;
  }

  num(key: string, opts: { positive?: boolean } = {}): number {
    const v = this.get(key);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(this.where(key), `expected a number, found ${typeName(v)}`);
    if (opts.positive && !(v > 0)) throw bad(this.where(key), `expected a positive number, found ${v}`);
    return v;
  }

  bool(key: string): boolean {
    const v = this.get(key);
    if (typeof v !== 'boolean') throw bad(this.where(key), `expected true or false, found ${typeName(v)}`);
    return v;
  }

  arr(key: string): { items: unknown[]; where: string } {
    const v = this.get(key);
    if (!Array.isArray(v)) throw bad(this.where(key), `expected an array, found ${typeName(v)}`);
    return { items: v, where: this.where(key) };
  }
}

export function parseManifestText(text: string, file = 'coconut.json'): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new EngineError('MODEL_MANIFEST', `${file} is not valid JSON: ${(e as Error).message}`, FIX);
  }
  return validateManifest(raw, file);
}

export function validateManifest(raw: unknown, file = 'coconut.json'): Manifest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new EngineError('MODEL_MANIFEST', `${file} must hold a JSON object, found ${typeName(raw)}`, FIX);
  }
  const root = new Obj(raw as Record<string, unknown>, '', file);
  root.str('format', { oneOf: ['coconut-lens-model'] });
  const version = root.int('format_version', 0);
  if (version !== 1 && version !== 2 && version !== 3) {
    throw new EngineError(
      'MODEL_MANIFEST',
      `${file} format_version: this engine reads versions 1 to 3, the model is version ${version}`,
      version > 3 ? 'update Coconut Lens to a version that reads this model format' : FIX,
    );
  }
  const name = root.str('name', { nonEmpty: true });

  const a = root.obj('architecture');
  const family = a.str('family');
  if (family !== 'gpt2') {
    throw bad(`${file} architecture.family`, `only "gpt2" is supported in format version 1, found ${JSON.stringify(family)}`);
  }
  const architecture = {
    family: 'gpt2' as const,
    n_layer: a.int('n_layer', 1),
    n_head: a.int('n_head', 1),
    n_embd: a.int('n_embd', 1),
    vocab_size: a.int('vocab_size', 1),
    n_positions: a.int('n_positions', 2),
    layer_norm_epsilon: a.num('layer_norm_epsilon', { positive: true }),
    tie_word_embeddings: a.bool('tie_word_embeddings'),
    positions: 'learned' as 'learned' | 'rotary',
    smear_keys: a.has('smear_keys') ? a.bool('smear_keys') : false,
  };
  if (a.has('positions')) {
    const p = a.str('positions');
    if (p !== 'learned' && p !== 'rotary') {
      throw bad(`${file} architecture.positions`, `expected "learned" or "rotary", found ${JSON.stringify(p)}`);
    }
    architecture.positions = p;
  }
  if (architecture.n_embd % architecture.n_head !== 0) {
    throw bad(`${file} architecture.n_embd`, `n_embd (${architecture.n_embd}) must be divisible by n_head (${architecture.n_head})`);
  }
  if (!architecture.tie_word_embeddings) {
    throw bad(`${file} architecture.tie_word_embeddings`, 'format version 1 (gpt2) needs a tied LM head (true)');
  }

  const st = root.obj('special_tokens');
  const special = (key: string): SpecialToken => {
    const t = st.obj(key);
    return { id: t.int('id', 0, architecture.vocab_size - 1), text: t.str('text', { nonEmpty: true }) };
  };
  const special_tokens = { bot: special('bot'), eot: special('eot'), latent: special('latent'), eos: special('eos') };
  const ids = Object.entries(special_tokens).map(([k, t]) => [k, t.id] as const);
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      if (ids[i][1] === ids[j][1]) {
        throw bad(`${file} special_tokens`, `${ids[i][0]} and ${ids[j][0]} have the same id ${ids[i][1]}`);
      }
    }
  }

  const th = root.obj('thoughts');
  const max = th.int('max', 0);
  const thoughts = { default: th.int('default', 0, max), max, per_step: th.int('per_step', 1) };

  const pr = root.obj('prompt');
  const prompt = { question_suffix: pr.str('question_suffix'), answer_marker: pr.str('answer_marker', { nonEmpty: true }) };

  const generation = { max_new_tokens: root.obj('generation').int('max_new_tokens', 1) };

  let node_values: Manifest['node_values'] = { source: 'cue', cue: 'Every' };
  if (root.has('node_values')) {
    const nv = root.obj('node_values');
    const source = nv.str('source');
    if (source === 'thought') node_values = { source };
    else if (source === 'cue') node_values = { source, cue: nv.has('cue') ? nv.str('cue', { nonEmpty: true }) : 'Every' };
    else throw bad(`${file} node_values.source`, `expected "cue" or "thought", found ${JSON.stringify(source)}`);
  }

  const filesArr = root.arr('files');
  const files: ManifestFile[] = filesArr.items.map((item, i) => {
    const where = `${file} files[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw bad(where, `expected an object, found ${typeName(item)}`);
    }
    const f = new Obj(item as Record<string, unknown>, `files[${i}]`, file);
    const path = f.str('path', { nonEmpty: true });
    checkRelativePath(path, `${where}.path`);
    const sha256 = f.str('sha256');
    if (!/^[0-9a-fA-F]{64}$/.test(sha256)) {
      throw bad(`${where}.sha256`, `expected 64 hexadecimal digits, found ${JSON.stringify(sha256)}`);
    }
    const entry: ManifestFile = { role: f.str('role', { nonEmpty: true }), path, sha256: sha256.toLowerCase() };
    if (f.has('bytes')) entry.bytes = f.int('bytes', 0);
    return entry;
  });
  for (const role of REQUIRED_ROLES) {
    const n = files.filter((f) => f.role === role).length;
    if (n === 0) throw bad(`${file} files`, `no file has role "${role}" (needed: ${REQUIRED_ROLES.join(', ')})`);
    if (n > 1) throw bad(`${file} files`, `${n} files have role "${role}"; exactly one is allowed`);
  }

  const manifest: Manifest = {
    format: 'coconut-lens-model',
    format_version: version,
    name,
    architecture,
    special_tokens,
    thoughts,
    prompt,
    generation,
    node_values,
    files,
  };
  // onnx and provenance are informational: type-checked when present, never required.
  if (root.has('onnx')) {
    const o = root.obj('onnx');
    manifest.onnx = o.has('opset') ? { opset: o.int('opset', 1) } : {};
  }
  if (root.has('provenance')) {
    const p = root.obj('provenance');
    if (p.has('accuracy')) p.arr('accuracy');
    manifest.provenance = (raw as Record<string, unknown>).provenance as Record<string, unknown>;
  }
  return manifest;
}

/** Listed files must stay inside the model folder: a workspace model must not point elsewhere. */
function checkRelativePath(p: string, where: string): void {
  const parts = p.split(/[\\/]/);
  if (p.startsWith('/') || p.startsWith('\\') || /^[a-zA-Z]:/.test(p) || parts.includes('..')) {
    throw bad(where, `${JSON.stringify(p)} must be a path inside the model folder (relative, without "..")`);
  }
}

export function fileForRole(m: Manifest, role: FileRole): ManifestFile {
  return m.files.find((f) => f.role === role)!;
}
