// The invalid-model corpus: one broken copy of the tiny fixture per way a model folder can be wrong,
// built at test time. Each must be refused by CoconutEngine.load (what the CLI and the extension
// call) with its own code and a message that names the file or the coconut.json field, plus a fix.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { CoconutEngine } from '../../src/engine/engine';
import { EngineError } from '../../src/engine/errors';
import { BAD_ONNX, copyFixture, editManifest, readManifest, replaceListedFile, rm } from './helpers';

interface Case {
  name: string;
  /** Breaks a fresh copy of the fixture. */
  breakIt: (dir: string) => void;
  code: string;
  /** Must all match the message; `message` is built per folder (its path may appear). */
  message: (dir: string) => RegExp[];
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function removeToken(tokenizerJson: any, text: string): void {
  tokenizerJson.added_tokens = tokenizerJson.added_tokens.filter((t: any) => t.content !== text);
  delete tokenizerJson.model.vocab[text];
}

const CASES: Case[] = [
  {
    name: 'a listed file is missing',
    breakIt: (d) => fs.rmSync(path.join(d, 'decoder.onnx')),
    code: 'MODEL_FILE_MISSING',
    message: (d) => [new RegExp(`^decoder\\.onnx \\(role decoder\\) is listed in coconut\\.json but missing from ${esc(d)}$`)],
  },
  {
    name: 'a file does not match its sha256',
    breakIt: (d) => {
      const f = path.join(d, 'probe.safetensors');
      const buf = fs.readFileSync(f);
      buf[buf.length - 1] ^= 0x01; // same size, one bit different
      fs.writeFileSync(f, buf);
    },
    code: 'MODEL_CHECKSUM',
    message: (d) => [
      new RegExp(
        `^probe\\.safetensors does not match its checksum: expected sha256 ${readManifest(d).files.find((f: any) => f.role === 'probe').sha256}, actual [0-9a-f]{64}$`,
      ),
    ],
  },
  {
    name: 'a manifest field is missing',
    breakIt: (d) => editManifest(d, (m) => delete m.architecture.vocab_size),
    code: 'MODEL_MANIFEST',
    message: () => [/^coconut\.json architecture\.vocab_size: the field is missing$/],
  },
  {
    name: 'a manifest field has the wrong type',
    breakIt: (d) => editManifest(d, (m) => (m.thoughts.max = '8')),
    code: 'MODEL_MANIFEST',
    message: () => [/^coconut\.json thoughts\.max: expected an integer, found the string "8"$/],
  },
  {
    name: 'a nested manifest object has the wrong type',
    breakIt: (d) => editManifest(d, (m) => (m.special_tokens.latent = 68)),
    code: 'MODEL_MANIFEST',
    message: () => [/^coconut\.json special_tokens\.latent: expected an object, found the integer 68$/],
  },
  {
    name: 'the ONNX graph inputs/outputs do not match the manifest',
    breakIt: (d) => replaceListedFile(d, 'decoder', fs.readFileSync(BAD_ONNX), 'decoder.onnx'),
    code: 'MODEL_ONNX_IO',
    message: () => [
      /^decoder\.onnx does not match the decoder contract: /,
      /missing inputs inputs_embeds, position_ids/,
      /unexpected input input_ids/,
      /missing outputs last_hidden_state, hidden_states/,
    ],
  },
  {
    name: 'the ONNX graph has another layer count than the manifest',
    breakIt: (d) => editManifest(d, (m) => (m.architecture.n_layer = 3)),
    code: 'MODEL_ONNX_IO',
    // Checked on the graph plain passes run (without the thought loop, loop-free-graph.ts); the
    // loop's own session checks its thought_present.* when it is made.
    message: () => [
      /^decoder\.onnx does not match the decoder contract: missing inputs past_key_values\.2\.key, past_key_values\.2\.value, prefix_key_values\.2\.key, prefix_key_values\.2\.value; missing outputs present\.2\.key, present\.2\.value$/,
    ],
  },
  {
    name: 'vocab_size disagrees with the embedding matrix',
    breakIt: (d) => editManifest(d, (m) => (m.architecture.vocab_size = 75)),
    code: 'MODEL_PROBE',
    message: () => [/^architecture\.vocab_size in coconut\.json is 75, but the embedding matrix "wte" in probe\.safetensors has 69 rows/],
  },
  {
    name: 'a special token is missing from the tokenizer',
    breakIt: (d) => {
      const tok = JSON.parse(fs.readFileSync(path.join(d, 'tokenizer.json'), 'utf-8'));
      removeToken(tok, '<|latent|>');
      replaceListedFile(d, 'tokenizer', JSON.stringify(tok));
    },
    code: 'MODEL_TOKENIZER',
    message: () => [/^tokenizer\.json has no token "<\|latent\|>" \(special_tokens\.latent in coconut\.json\)$/],
  },
  {
    name: 'a special token has another id in the tokenizer',
    breakIt: (d) => editManifest(d, (m) => (m.special_tokens.eos.id = 1)),
    code: 'MODEL_TOKENIZER',
    message: () => [/^tokenizer\.json gives "<\|endoftext\|>" the id 0, but special_tokens\.eos\.id in coconut\.json is 1$/],
  },
  {
    name: 'coconut.json is not JSON',
    breakIt: (d) => fs.writeFileSync(path.join(d, 'coconut.json'), '{"format": "coconut-lens-model",'),
    code: 'MODEL_MANIFEST',
    message: () => [/^coconut\.json is not valid JSON: /],
  },
  {
    name: 'a listed path leaves the model folder',
    breakIt: (d) => editManifest(d, (m) => (m.files[1].path = '../../etc/probe.safetensors')),
    code: 'MODEL_MANIFEST',
    message: () => [/^coconut\.json files\[1\]\.path: "\.\.\/\.\.\/etc\/probe\.safetensors" must be a path inside the model folder/],
  },
  {
    name: 'the probe is not a safetensors file',
    breakIt: (d) => replaceListedFile(d, 'probe', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3])),
    code: 'MODEL_PROBE',
    message: () => [/^probe\.safetensors: not a readable safetensors file: /],
  },
];

const made: string[] = [];
after(() => made.forEach(rm));

async function loadError(dir: string): Promise<EngineError> {
  try {
    const engine = await CoconutEngine.load(dir, { provider: 'cpu', threads: 1 });
    await engine.dispose();
  } catch (e) {
    assert.ok(e instanceof EngineError, `expected a EngineError, got ${String(e)}`);
    return e;
  }
  assert.fail('the broken model loaded');
}

describe('invalid model corpus', () => {
  const seen = new Map<string, string>();

  for (const c of CASES) {
    it(`refuses: ${c.name}`, async () => {
      const dir = copyFixture();
      made.push(dir);
      c.breakIt(dir);
      const e = await loadError(dir);
      assert.equal(e.code, c.code, `${c.name}: ${e.message}`);
      for (const re of c.message(dir)) assert.match(e.message, re);
      assert.ok(e.fix.length > 20, `${c.name}: the error says how to fix it`);
      const other = seen.get(e.message);
      assert.equal(other, undefined, `"${c.name}" gives the same message as "${other}"`);
      seen.set(e.message, c.name);
    });
  }

  it('the unbroken copy loads (the corpus breaks exactly one thing each)', async () => {
    const dir = copyFixture();
    made.push(dir);
    const engine = await CoconutEngine.load(dir, { provider: 'cpu', threads: 1 });
    await engine.dispose();
  });
});
