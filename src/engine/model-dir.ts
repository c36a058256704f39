// Loads and validates a model folder (models/README.md) before any inference: manifest, listed
// files and their checksums, tokenizer specials, the probe tensors. The decoder's inputs and outputs
// are checked once a session exists (decoder-io.ts), because only onnxruntime can read the graph.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { rememberedAsVerified, rememberVerified } from './checksum-cache';
import { EngineError } from './errors';
import { fileForRole, parseManifestText, type Manifest, type ManifestFile } from './manifest';
import { parseSafetensors, SafetensorsFormatError } from './safetensors';
import { ModelTokenizer } from './tokenizer';

export const MANIFEST_FILE = 'coconut.json';
export const DEFAULT_MODEL_RELATIVE = path.join('models', 'prosqa-coconut');

export interface Probe {
  /** [V, D] row-major. */
  wte: Float32Array;
  /** L2 norm of each wte row, for cosine similarity. */
  wteNorms: Float64Array;
  lnWeight: Float32Array;
  lnBias: Float32Array;
}

export interface ModelDir {
  dir: string;
  manifest: Manifest;
  tokenizer: ModelTokenizer;
  probe: Probe;
  decoderPath: string;
}

/**
 * A loaded folder, and decoder.onnx's bytes where the check read the file whole: the engine makes
 * its first session from exactly the bytes that matched the checksum (a file replaced between the
 * check and a second read would otherwise run unverified), and reads the file once, not twice.
 */
export interface LoadedModelDir {
  model: ModelDir;
  decoderBytes?: Uint8Array;
}

/** Files up to this size are read once, hashed in memory and parsed from those bytes; larger ones are hashed as a stream. */
const READ_WHOLE_MAX_BYTES = 64 * 1024 * 1024;

export interface LoadModelDirOptions {
  /** Set when `dir` is the shipped default, so the error can say it is not shipped yet. */
  isDefault?: boolean;
}

export function missingDefaultModelError(dir: string): EngineError {
  return new EngineError(
    'MODEL_NOT_FOUND',
    'the default model models/prosqa-coconut is not there yet (it is not shipped with this build); ' +
      `pass --model DIR or set coconutLens.modelPath (looked in ${dir})`,
    'point to a model folder that holds coconut.json (see models/README.md), e.g. ' + '--model test/fixtures/tiny-model for the tiny random test model',
  );
}

export async function loadModelDir(dirArg: string, opts: LoadModelDirOptions = {}): Promise<ModelDir> {
  return (await loadModelDirBytes(dirArg, opts)).model;
}

export async function loadModelDirBytes(dirArg: string, opts: LoadModelDirOptions = {}): Promise<LoadedModelDir> {
  const dir = path.resolve(dirArg);
  const manifestPath = path.join(dir, MANIFEST_FILE);
  if (!isDirectory(dir)) {
    if (opts.isDefault) throw missingDefaultModelError(dir);
    throw new EngineError(
      'MODEL_NOT_FOUND',
      `the model folder ${dir} does not exist`,
      'pass the path of a folder that holds coconut.json, decoder.onnx, probe.safetensors and tokenizer.json',
    );
  }
  if (!fs.existsSync(manifestPath)) {
    if (opts.isDefault) throw missingDefaultModelError(dir);
    throw new EngineError(
      'MODEL_NOT_FOUND',
      `${dir} is not a Coconut Lens model: it has no ${MANIFEST_FILE}`,
      'point to the model folder itself (the one holding coconut.json); the format is described in models/README.md',
    );
  }
  const manifest = parseManifestText(await fs.promises.readFile(manifestPath, 'utf-8'), MANIFEST_FILE);

  const verified = new Map<string, Buffer>();
  for (const f of manifest.files) {
    const bytes = await checkFile(dir, f);
    if (bytes) verified.set(f.path, bytes);
  }
  const read = async (f: ManifestFile) => verified.get(f.path) ?? (await fs.promises.readFile(path.join(dir, f.path)));

  const tokFile = fileForRole(manifest, 'tokenizer');
  const tokenizer = loadTokenizer(await read(tokFile), tokFile.path, manifest);
  const probeFile = fileForRole(manifest, 'probe');
  const probe = loadProbe(await read(probeFile), probeFile.path, manifest);
  const decoderFile = fileForRole(manifest, 'decoder');
  const decoderPath = path.join(dir, decoderFile.path);
  return { model: { dir, manifest, tokenizer, probe, decoderPath }, decoderBytes: verified.get(decoderFile.path) };
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Checks a listed file; returns its bytes where it was read whole to be hashed. */
async function checkFile(dir: string, f: ManifestFile): Promise<Buffer | undefined> {
  const full = path.join(dir, f.path);
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(full);
  } catch {
    throw new EngineError(
      'MODEL_FILE_MISSING',
      `${f.path} (role ${f.role}) is listed in ${MANIFEST_FILE} but missing from ${dir}`,
      `copy ${f.path} into the model folder, or re-export the model`,
    );
  }
  if (!stat.isFile()) {
    throw new EngineError('MODEL_FILE_MISSING', `${f.path} (role ${f.role}) in ${dir} is not a regular file`, `replace ${f.path} with the exported file`);
  }
  const fix = `the file is damaged or from another export: copy the matching ${f.path}, or re-export the model (which rewrites coconut.json)`;
  if (f.bytes !== undefined && stat.size !== f.bytes) {
    throw new EngineError('MODEL_CHECKSUM', `${f.path} has ${stat.size} bytes but ${MANIFEST_FILE} lists ${f.bytes}`, fix, {
      details: { file: f.path, expectedBytes: f.bytes, actualBytes: stat.size },
    });
  }
  if (rememberedAsVerified(full, stat, f.sha256)) return undefined;
  const bytes = stat.size <= READ_WHOLE_MAX_BYTES ? await fs.promises.readFile(full) : undefined;
  const actual = bytes ? createHash('sha256').update(bytes).digest('hex') : await sha256File(full);
  if (actual !== f.sha256) {
    throw new EngineError('MODEL_CHECKSUM', `${f.path} does not match its checksum: expected sha256 ${f.sha256}, actual ${actual}`, fix, {
      details: { file: f.path, expected: f.sha256, actual },
    });
  }
  rememberVerified(full, stat, f.sha256);
  return bytes;
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    fs.createReadStream(file)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

function loadTokenizer(bytes: Buffer, rel: string, m: Manifest): ModelTokenizer {
  const fix = `use the tokenizer.json exported with the model, with the Coconut special tokens at the ids in ${MANIFEST_FILE}`;
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf-8'));
  } catch (e) {
    throw new EngineError('MODEL_TOKENIZER', `${rel} is not valid JSON: ${(e as Error).message}`, fix);
  }
  let tok: ModelTokenizer;
  try {
    tok = ModelTokenizer.fromJson(json);
  } catch (e) {
    throw new EngineError('MODEL_TOKENIZER', `${rel} could not be loaded by @huggingface/tokenizers: ${(e as Error).message}`, fix);
  }
  for (const [key, t] of Object.entries(m.special_tokens)) {
    const id = tok.idOf(t.text);
    if (id === undefined) {
      throw new EngineError('MODEL_TOKENIZER', `${rel} has no token ${JSON.stringify(t.text)} (special_tokens.${key} in ${MANIFEST_FILE})`, fix);
    }
    if (id !== t.id) {
      throw new EngineError(
        'MODEL_TOKENIZER',
        `${rel} gives ${JSON.stringify(t.text)} the id ${id}, but special_tokens.${key}.id in ${MANIFEST_FILE} is ${t.id}`,
        fix,
      );
    }
  }
  const modelType = (json as { model?: { type?: unknown } }).model?.type;
  // Whole-word vocabularies must name an unknown token, or unknown words could not be reported.
  if ((modelType === 'WordPiece' || modelType === 'WordLevel') && tok.unkId === undefined) {
    throw new EngineError(
      'MODEL_TOKENIZER',
      `${rel} is a ${modelType} tokenizer without a usable unk_token, so unknown words could not be reported`,
      'add an unknown token (e.g. "[UNK]") to the vocabulary and set model.unk_token to it',
    );
  }
  if (tok.vocabSize > m.architecture.vocab_size) {
    throw new EngineError(
      'MODEL_TOKENIZER',
      `${rel} has ${tok.vocabSize} tokens but architecture.vocab_size in ${MANIFEST_FILE} is ${m.architecture.vocab_size}`,
      fix,
    );
  }
  return tok;
}

export function loadProbe(buf: Uint8Array, rel: string, m: Manifest): Probe {
  const { vocab_size: V, n_embd: D } = m.architecture;
  const fix = 're-export probe.safetensors with the model (float32 wte [vocab_size, n_embd], ln_f.weight and ln_f.bias [n_embd])';
  const fail = (msg: string) => new EngineError('MODEL_PROBE', `${rel}: ${msg}`, fix);
  let st;
  try {
    st = parseSafetensors(buf);
  } catch (e) {
    if (e instanceof SafetensorsFormatError) throw fail(`not a readable safetensors file: ${e.message}`);
    throw e;
  }
  const want: [string, number[]][] = [
    ['wte', [V, D]],
    ['ln_f.weight', [D]],
    ['ln_f.bias', [D]],
  ];
  for (const [name, shape] of want) {
    const e = st.entries.get(name);
    if (!e) throw fail(`the tensor "${name}" is missing (found: ${[...st.entries.keys()].join(', ') || 'none'})`);
    if (e.dtype !== 'F32') throw fail(`the tensor "${name}" is ${e.dtype}, expected F32`);
    if (name === 'wte' && e.shape.length === 2 && e.shape[1] === D && e.shape[0] !== V) {
      // The likeliest slip when a model is assembled by hand: say which two numbers disagree.
      throw new EngineError(
        'MODEL_PROBE',
        `architecture.vocab_size in ${MANIFEST_FILE} is ${V}, but the embedding matrix "wte" in ${rel} has ${e.shape[0]} rows; ` +
          'they must agree (one row, and one logit, per token)',
        `set architecture.vocab_size to ${e.shape[0]} if ${rel} is right, or re-export the model so both come from the same checkpoint`,
        { details: { field: 'architecture.vocab_size', manifest: V, embeddingRows: e.shape[0] } },
      );
    }
    if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
      throw fail(
        `the tensor "${name}" has shape [${e.shape.join(', ')}], expected [${shape.join(', ')}] ` + `(from vocab_size=${V}, n_embd=${D} in ${MANIFEST_FILE})`,
      );
    }
  }
  const wte = st.f32('wte');
  const wteNorms = new Float64Array(V);
  for (let v = 0; v < V; v++) {
    let s = 0;
    const row = v * D;
    for (let d = 0; d < D; d++) s += wte[row + d] * wte[row + d];
    wteNorms[v] = Math.sqrt(s);
  }
  return { wte, wteNorms, lnWeight: st.f32('ln_f.weight'), lnBias: st.f32('ln_f.bias') };
}
