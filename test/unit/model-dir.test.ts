import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { checkDecoderIO } from '../../src/engine/decoder-io';
import { CoconutEngine } from '../../src/engine/engine';
import { EngineError } from '../../src/engine/errors';
import { validateManifest } from '../../src/engine/manifest';
import { loadModelDir } from '../../src/engine/model-dir';
import { writeSafetensors } from '../../src/engine/safetensors';
import { BAD_ONNX, copyFixture, editManifest, FIXTURE, readManifest, replaceListedFile, rm, tmpDir } from './helpers';

async function rejectsLens(p: Promise<unknown>, code: string, ...patterns: RegExp[]): Promise<EngineError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof EngineError, `expected a EngineError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const re of patterns) assert.match(caught.message, re);
  assert.ok(caught.fix.length > 10);
  return caught;
}

function manifestError(edit: (m: any) => void, ...patterns: RegExp[]): void {
  const m = readManifest(FIXTURE);
  edit(m);
  let caught: unknown;
  try {
    validateManifest(m);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof EngineError, 'expected MODEL_MANIFEST');
  assert.equal(caught.code, 'MODEL_MANIFEST');
  for (const re of patterns) assert.match(caught.message, re);
}

const made: string[] = [];
function copy(): string {
  const d = copyFixture();
  made.push(d);
  return d;
}
after(() => made.forEach(rm));

describe('coconut.json validation', () => {
  it('accepts the fixture manifest', () => {
    const m = validateManifest(readManifest(FIXTURE));
    assert.equal(m.architecture.vocab_size, 69);
    assert.equal(m.files.length, 3);
  });

  it('names a missing field', () => {
    manifestError((m) => delete m.architecture.n_layer, /coconut\.json architecture\.n_layer: the field is missing/);
    manifestError((m) => delete m.special_tokens.eot, /special_tokens\.eot: the field is missing/);
    manifestError((m) => delete m.special_tokens.bot.id, /special_tokens\.bot\.id: the field is missing/);
    manifestError((m) => delete m.files, /coconut\.json files: the field is missing/);
    manifestError((m) => delete m.prompt.answer_marker, /prompt\.answer_marker: the field is missing/);
    manifestError((m) => delete m.name, /coconut\.json name: the field is missing/);
  });

  it('names a field of the wrong type, with what was found', () => {
    manifestError((m) => (m.architecture.n_layer = '2'), /architecture\.n_layer: expected an integer, found the string "2"/);
    manifestError((m) => (m.architecture.n_embd = 32.5), /architecture\.n_embd: expected an integer, found the number 32\.5/);
    manifestError((m) => (m.architecture.tie_word_embeddings = 1), /tie_word_embeddings: expected true or false, found the integer 1/);
    manifestError((m) => (m.thoughts = [3, 8]), /coconut\.json thoughts: expected an object, found an array/);
    manifestError((m) => (m.files[1].sha256 = 'abc'), /files\[1\]\.sha256: expected 64 hexadecimal digits/);
    manifestError((m) => (m.files[0].path = 42), /files\[0\]\.path: expected a string, found the integer 42/);
    manifestError((m) => (m.format = 'other'), /format: expected "coconut-lens-model", found "other"/);
    manifestError((m) => (m.architecture.layer_norm_epsilon = null), /layer_norm_epsilon: expected a number, found null/);
  });

  it('checks values and cross-field rules', () => {
    manifestError((m) => (m.special_tokens.eos.id = 69), /special_tokens\.eos\.id: expected an integer between 0 and 68, found 69/);
    manifestError((m) => (m.special_tokens.eot.id = m.special_tokens.bot.id), /bot and eot have the same id 66/);
    manifestError((m) => (m.thoughts.default = 9), /thoughts\.default: expected an integer between 0 and 8, found 9/);
    manifestError((m) => (m.architecture.n_head = 3), /n_embd \(32\) must be divisible by n_head \(3\)/);
    manifestError((m) => (m.architecture.family = 'llama'), /only "gpt2" is supported/);
    manifestError((m) => (m.files = m.files.slice(1)), /no file has role "decoder"/);
    manifestError((m) => (m.files[0].path = '../decoder.onnx'), /must be a path inside the model folder/);
    manifestError((m) => (m.files[0].path = '/etc/passwd'), /must be a path inside the model folder/);
    assert.throws(
      () => validateManifest({ ...readManifest(FIXTURE), format_version: 4 }),
      (e: EngineError) => /reads versions 1 to 3, the model is version 4/.test(e.message) && /update Coconut Lens/.test(e.fix),
    );
    // version 1 (every position out, no thought loop): still read
    assert.equal(validateManifest({ ...readManifest(FIXTURE), format_version: 1 }).format_version, 1);
  });

  it('rejects a manifest that is not JSON', async () => {
    const d = copy();
    fs.writeFileSync(path.join(d, 'coconut.json'), '{ "format": ');
    await rejectsLens(loadModelDir(d), 'MODEL_MANIFEST', /coconut\.json is not valid JSON/);
  });
});

describe('model folder validation', () => {
  it('loads the fixture', async () => {
    const m = await loadModelDir(FIXTURE);
    assert.equal(m.manifest.name, 'tiny-random');
    assert.equal(m.probe.wte.length, 69 * 32);
    assert.equal(m.tokenizer.idOf('<|latent|>'), 68);
  });

  it('reads decoder.onnx once at a load, and the first session runs the bytes that matched the checksum', async () => {
    const question = 'Every wumpus is a yumpus. Tom is a wumpus. Is Tom a yumpus or a zumpus?';
    const expected = await (async () => {
      const e = await CoconutEngine.load(FIXTURE, { provider: 'cpu', threads: 1 });
      try {
        return (await e.inspect({ question, thoughts: 2 })).thoughts.map((t) => Array.from(t.vector));
      } finally {
        await e.dispose();
      }
    })();
    const dir = copyFixture();
    const decoder = path.join(dir, 'decoder.onnx');
    // Every read of decoder.onnx is counted, whether whole or as a stream. Right after the first one
    // (the checksum's), another valid decoder of the same inputs takes the file's place: what a
    // re-export in the middle of a load does.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself: the namespace import's bindings are read-only
    const realFs = require('node:fs') as typeof fs;
    const { createReadStream } = realFs;
    const promises = realFs.promises as { readFile: typeof fs.promises.readFile };
    const readFile = promises.readFile;
    let reads = 0;
    const afterRead = (file: unknown) => {
      if (path.resolve(String(file)) !== decoder) return;
      if (++reads === 1) fs.copyFileSync(path.join(FIXTURE, '..', 'tiny-model-rsc', 'decoder.onnx'), decoder);
    };
    promises.readFile = (async (...args: Parameters<typeof fs.promises.readFile>) => {
      const out = await readFile(...args);
      afterRead(args[0]);
      return out;
    }) as typeof fs.promises.readFile;
    realFs.createReadStream = ((...args: Parameters<typeof fs.createReadStream>) =>
      createReadStream(...args).on('close', () => afterRead(args[0]))) as typeof fs.createReadStream;
    let engine: CoconutEngine | undefined;
    try {
      engine = await CoconutEngine.load(dir, { provider: 'cpu', threads: 1 });
      assert.equal(reads, 1, 'decoder.onnx was read once');
      const got = (await engine.inspect({ question, thoughts: 2 })).thoughts.map((t) => Array.from(t.vector));
      assert.deepEqual(got, expected, 'the thoughts are those of the model that was checked');
    } finally {
      promises.readFile = readFile;
      realFs.createReadStream = createReadStream;
      await engine?.dispose();
      rm(dir);
    }
  });

  it('reports a missing folder, a folder without coconut.json, and the missing default model', async () => {
    await rejectsLens(loadModelDir('/nonexistent/model'), 'MODEL_NOT_FOUND', /\/nonexistent\/model does not exist/);
    const empty = tmpDir();
    made.push(empty);
    await rejectsLens(loadModelDir(empty), 'MODEL_NOT_FOUND', /has no coconut\.json/);
    const e = await rejectsLens(
      loadModelDir(path.join(empty, 'models', 'prosqa-coconut'), { isDefault: true }),
      'MODEL_NOT_FOUND',
      /^the default model models\/prosqa-coconut is not there yet/,
    );
    assert.match(e.message, /pass --model DIR/);
    assert.match(e.fix, /coconut\.json/);
  });

  it('names a listed file that is missing', async () => {
    const d = copy();
    fs.rmSync(path.join(d, 'probe.safetensors'));
    await rejectsLens(loadModelDir(d), 'MODEL_FILE_MISSING', /probe\.safetensors \(role probe\) is listed in coconut\.json but missing/);
  });

  it('names the file whose sha256 does not match, with expected and actual', async () => {
    const d = copy();
    const f = path.join(d, 'tokenizer.json');
    const text = fs.readFileSync(f, 'utf-8');
    fs.writeFileSync(f, text.replace('"version": "1.0"', '"version": "1.1"')); // same size, other bytes
    assert.equal(fs.statSync(f).size, fs.statSync(path.join(FIXTURE, 'tokenizer.json')).size);
    const expected = readManifest(d).files.find((x: any) => x.role === 'tokenizer').sha256;
    const e = await rejectsLens(
      loadModelDir(d),
      'MODEL_CHECKSUM',
      /tokenizer\.json does not match its checksum/,
      new RegExp(`expected sha256 ${expected}, actual [0-9a-f]{64}`),
    );
    assert.equal((e.details as any).file, 'tokenizer.json');
  });

  it('reports a size mismatch before hashing', async () => {
    const d = copy();
    fs.appendFileSync(path.join(d, 'decoder.onnx'), Buffer.from([0]));
    const listed = readManifest(d).files.find((x: any) => x.role === 'decoder').bytes;
    await rejectsLens(loadModelDir(d), 'MODEL_CHECKSUM', new RegExp(`decoder\\.onnx has ${listed + 1} bytes but coconut\\.json lists ${listed}`));
  });

  it('checks that the tokenizer has the special tokens with the manifest ids', async () => {
    const d = copy();
    const latent = readManifest(d).special_tokens.latent.id;
    editManifest(d, (m) => (m.special_tokens.latent.id = 5));
    await rejectsLens(
      loadModelDir(d),
      'MODEL_TOKENIZER',
      new RegExp(`gives "<\\|latent\\|>" the id ${latent}, but special_tokens\\.latent\\.id in coconut\\.json is 5`),
    );
    const d2 = copy();
    editManifest(d2, (m) => (m.special_tokens.bot.text = '<|bot|>'));
    await rejectsLens(loadModelDir(d2), 'MODEL_TOKENIZER', /has no token "<\|bot\|>" \(special_tokens\.bot/);
    const d3 = copy();
    replaceListedFile(d3, 'tokenizer', '{"model": ');
    await rejectsLens(loadModelDir(d3), 'MODEL_TOKENIZER', /tokenizer\.json is not valid JSON/);
  });

  it('checks the probe tensors and their shapes', async () => {
    const d = copy();
    const { vocab_size: V, n_embd: D } = readManifest(d).architecture;
    replaceListedFile(
      d,
      'probe',
      Buffer.from(
        writeSafetensors({
          wte: { shape: [V - 1, D], data: new Float32Array((V - 1) * D) },
          'ln_f.weight': { shape: [D], data: new Float32Array(D) },
          'ln_f.bias': { shape: [D], data: new Float32Array(D) },
        }),
      ),
    );
    await rejectsLens(
      loadModelDir(d),
      'MODEL_PROBE',
      new RegExp(`vocab_size in coconut\\.json is ${V}, but the embedding matrix "wte" in probe\\.safetensors has ${V - 1} rows`),
    );
    const d2 = copy();
    replaceListedFile(d2, 'probe', Buffer.from(writeSafetensors({ wte: { shape: [V, D], data: new Float32Array(V * D) } })));
    await rejectsLens(loadModelDir(d2), 'MODEL_PROBE', /"ln_f\.weight" is missing \(found: wte\)/);
    const d3 = copy();
    replaceListedFile(d3, 'probe', Buffer.from('not a safetensors file at all'));
    await rejectsLens(loadModelDir(d3), 'MODEL_PROBE', /not a readable safetensors file/);
  });

  it('refuses a decoder graph with other input/output names', async () => {
    const d = copy();
    replaceListedFile(d, 'decoder', fs.readFileSync(BAD_ONNX), 'wrong-io.onnx');
    const e = await rejectsLens(
      CoconutEngine.load(d, { provider: 'cpu', threads: 1 }),
      'MODEL_ONNX_IO',
      /wrong-io\.onnx does not match the decoder contract/,
      /missing inputs inputs_embeds, position_ids, past_key_values\.0\.value, past_key_values\.1\.key/,
      /unexpected input input_ids/,
      /missing outputs last_hidden_state, hidden_states/,
    );
    assert.match(e.fix, /n_layer=2/);
  });

  it('refuses a decoder whose layer count differs from the manifest', async () => {
    const d = copy();
    editManifest(d, (m) => (m.architecture.n_layer = 3));
    await rejectsLens(
      CoconutEngine.load(d, { provider: 'cpu', threads: 1 }),
      'MODEL_ONNX_IO',
      /missing inputs past_key_values\.2\.key, past_key_values\.2\.value/,
      /missing outputs present\.2\.key/,
    );
  });

  it('checks element types and fixed dimensions from the graph metadata', () => {
    const m = validateManifest(readManifest(FIXTURE));
    const names = {
      inputNames: [
        'inputs_embeds',
        'attention_mask',
        'position_ids',
        'past_key_values.0.key',
        'past_key_values.0.value',
        'past_key_values.1.key',
        'past_key_values.1.value',
      ],
      outputNames: ['logits', 'last_hidden_state', 'hidden_states', 'present.0.key', 'present.0.value', 'present.1.key', 'present.1.value'],
    };
    const meta = (n: string, type: string, shape: (number | string)[]) => ({ name: n, isTensor: true as const, type: type as 'float32', shape });
    const session = {
      ...names,
      inputMetadata: [meta('inputs_embeds', 'float32', ['b', 's', 16]), meta('attention_mask', 'float32', ['b', 't'])],
      outputMetadata: [meta('logits', 'float32', ['b', 's', 70]), meta('hidden_states', 'float32', [2, 'b', 's', 32])],
    };
    assert.throws(
      () => checkDecoderIO(session, m, 'decoder.onnx'),
      (e: EngineError) =>
        e.code === 'MODEL_ONNX_IO' &&
        /input inputs_embeds dimension 2 is 16, expected 32/.test(e.message) &&
        /input attention_mask is float32, expected int64/.test(e.message) &&
        /output logits dimension 2 is 70, expected 69/.test(e.message) &&
        /output hidden_states dimension 0 is 2, expected 3/.test(e.message),
    );
    assert.doesNotThrow(() => checkDecoderIO(names, m, 'decoder.onnx'));
  });
});
