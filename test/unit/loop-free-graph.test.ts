// Plain passes run decoder.onnx without its thought loop (loop-free-graph.ts), and thoughts in one
// call run on a second session with it, made at the engine's second run (loop-session.ts). The edited
// graph must give exactly the numbers of the whole one, refuse graphs it does not recognise, and the
// engine must keep running (one pass per thought) until, or without, the second session.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { InferenceSession } from 'onnxruntime-node';
import { Decoder } from '../../src/engine/decoder';
import { decoderFeatures, checkDecoderIO } from '../../src/engine/decoder-io';
import { CoconutEngine } from '../../src/engine/engine';
import { LoopFreeDecoder, plainPassSource, SECOND_SESSION_MAX_BYTES, stripThoughtLoop } from '../../src/engine/loop-free-graph';
import { loadModelDir } from '../../src/engine/model-dir';
import { fields, WireError } from '../../src/engine/onnx-wire';
import { createSession } from '../../src/engine/session';
import { fileForRole } from '../../src/engine/manifest';
import { copyFixture, FIXTURE, readManifest, ROOT } from './helpers';

const SHIPPED = path.join(ROOT, 'models', 'prosqa-coconut');
const FIXTURE_RSC = path.join(ROOT, 'test', 'fixtures', 'tiny-model-rsc');
const TRACED = path.join(ROOT, 'test', 'fixtures', 'tiny-model-traced');

/** Prefill, 5 thoughts and 3 tokens on `session`: every output the engine reads, in order. */
async function plainPasses(session: InferenceSession, dir: string): Promise<Float32Array[]> {
  const model = await loadModelDir(dir);
  const dec = new Decoder(session, model.manifest, model.probe);
  dec.reset();
  const outs: Float32Array[] = [];
  let out = await dec.step(dec.embed([1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => i % model.manifest.architecture.vocab_size)));
  for (let j = 0; j < 8; j++) {
    outs.push(out.logits, out.lastHidden, ...out.hiddenStates);
    out = await dec.step(j < 5 ? out.lastHidden : dec.embed([j]));
  }
  return outs;
}

for (const [label, dir] of [
  ['fixture (learned positions)', FIXTURE],
  ['fixture (rotary, smeared keys)', FIXTURE_RSC],
  ['shipped model', SHIPPED],
] as const) {
  describe(`the decoder without its thought loop: ${label}`, () => {
    it('loses the loop, its input and outputs, and gives bit for bit what the whole graph gives', async () => {
      const model = await loadModelDir(dir);
      const file = fs.readFileSync(model.decoderPath);
      const bytes = new Uint8Array(file);
      assert.equal(stripThoughtLoop(bytes), true);
      assert.equal(bytes.length, file.length, 'edited in place');
      const whole = (await createSession(model.decoderPath, { provider: 'cpu', threads: 1 })).session;
      const sha256 = fileForRole(model.manifest, 'decoder').sha256;
      const plain = (await createSession(new LoopFreeDecoder(model.decoderPath, sha256, bytes), { provider: 'cpu', threads: 1 })).session;
      try {
        assert.equal(decoderFeatures(whole).thoughtLoop, true);
        assert.equal(decoderFeatures(plain).thoughtLoop, false);
        assert.equal(decoderFeatures(plain).prefixCache, decoderFeatures(whole).prefixCache);
        assert.ok(!plain.outputNames.some((n) => n.startsWith('thought_')), 'no thought_* outputs');
        checkDecoderIO(plain, model.manifest, 'decoder.onnx');
        const a = await plainPasses(whole, dir);
        const b = await plainPasses(plain, dir);
        assert.equal(a.length, b.length);
        a.forEach((x, i) => assert.deepEqual(b[i], x, `output ${i}`));
      } finally {
        await whole.release();
        await plain.release();
      }
    });
  });
}

describe('graphs the edit does not recognise are left whole', () => {
  it('a decoder exported before the loop (traced, no thought_steps)', () => {
    const file = new Uint8Array(fs.readFileSync(path.join(TRACED, 'decoder.onnx')));
    const before = Buffer.from(file);
    assert.equal(stripThoughtLoop(file), false);
    assert.ok(before.equals(file), 'untouched');
  });

  it('bytes that are not a model, and a model cut short, without throwing', () => {
    assert.equal(stripThoughtLoop(new TextEncoder().encode('not an onnx file at all')), false);
    const cut = new Uint8Array(fs.readFileSync(path.join(FIXTURE, 'decoder.onnx'))).subarray(0, 5000);
    const before = Buffer.from(cut);
    assert.equal(stripThoughtLoop(cut), false);
    assert.ok(before.equals(cut));
    assert.throws(() => fields(Uint8Array.of(0x0a, 0x05, 0x01)), WireError, 'a field longer than its message');
    assert.throws(() => fields(Uint8Array.of(0x0b)), WireError, 'a group (wire type 3)');
  });

  it('a model whose weights lie in a file beside it (external data), which bytes alone cannot find', () => {
    // The smallest model the edit would take: a Loop on thought_steps whose output is the graph's.
    const loop = msg([str(1, 'thought_steps'), str(2, 'out'), str(4, 'Loop')]);
    const graph = (init: Uint8Array[]) =>
      msg([field(7, msg([field(1, loop), ...init, field(11, msg([str(1, 'thought_steps')])), field(12, msg([str(1, 'out')]))]))]);
    assert.equal(stripThoughtLoop(graph([])), true, 'taken without external data');
    const external = msg([str(8, 'w'), field(13, msg([str(1, 'location'), str(2, 'weights.bin')]))]);
    const bytes = graph([field(5, external)]);
    const before = Buffer.from(bytes);
    assert.equal(stripThoughtLoop(bytes), false);
    assert.ok(before.equals(bytes));
  });

  it('a second session of the edited decoder reads the file again, and says so when it changed since the load', async () => {
    const dir = copyFixture();
    try {
      const file = path.join(dir, 'decoder.onnx');
      const source = await plainPassSource(file, fileForRole(readManifest(dir), 'decoder'));
      assert.ok(source);
      const first = await source.bytes();
      const again = await source.bytes();
      assert.notEqual(again, first, 'read afresh, not kept');
      assert.deepEqual(again, first);
      // Another valid decoder with the same inputs and outputs (a re-export into the loaded folder):
      // it would load, and give other numbers than the model the engine loaded.
      fs.copyFileSync(path.join(FIXTURE_RSC, 'decoder.onnx'), file);
      await assert.rejects(source.bytes(), (e: any) => e.code === 'MODEL_CHECKSUM' && /changed since the model was loaded/.test(e.message));
      fs.rmSync(file);
      await assert.rejects(source.bytes(), (e: any) => e.code === 'MODEL_FILE_MISSING' && /cannot be read since the model was loaded/.test(e.message));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('no edited copy for a decoder too large to hold twice, or of unknown size', async () => {
    const p = path.join(FIXTURE, 'decoder.onnx');
    const sha256 = fileForRole(readManifest(FIXTURE), 'decoder').sha256;
    assert.notEqual(await plainPassSource(p, { bytes: fs.statSync(p).size, sha256 }), undefined);
    assert.equal(await plainPassSource(p, { bytes: SECOND_SESSION_MAX_BYTES + 1, sha256 }), undefined);
    assert.equal(await plainPassSource(p, { bytes: undefined, sha256 }), undefined);
    assert.equal(await plainPassSource(path.join(TRACED, 'decoder.onnx'), { bytes: 1000, sha256 }), undefined);
  });
});

describe('the thought loop in a session of its own', () => {
  const question = 'Alex is a wumpus. Every wumpus is a yumpus. Is Alex a yumpus or a zumpus?';

  it('a first run steps its thoughts; the second makes the loop session and takes it; both give the same thoughts', async () => {
    const engine = await CoconutEngine.load(FIXTURE, { provider: 'cpu', threads: 1 });
    try {
      assert.equal(typeof engine.source, 'object', 'plain passes run the edited graph');
      assert.equal(engine.info.thoughtLoopSession, true, 'said to the output channel');
      assert.equal(engine.thoughtLoop, 'waiting');
      assert.equal(engine.thoughtsInOneCall, true);
      assert.equal(engine.thoughtsInOneCallReady, false);
      const first = await engine.inspect({ question, thoughts: 4 });
      // Nothing runs between requests: a host may stop the worker then (loop-session.ts).
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(engine.thoughtLoop, 'waiting', 'not made after the first run');
      assert.equal(engine.sessions, 1);
      const second = await engine.inspect({ question, thoughts: 4 });
      assert.equal(engine.thoughtLoop, 'ready', 'made by the second');
      assert.equal(engine.thoughtsInOneCallReady, true);
      assert.equal(engine.sessions, 2);
      assert.equal(await engine.prepareThoughtLoop(), true);
      assert.deepEqual(
        second.thoughts.map((t) => Array.from(t.vector)),
        first.thoughts.map((t) => Array.from(t.vector)),
      );
      assert.equal(second.answer.text, first.answer.text);
    } finally {
      await engine.dispose();
    }
  });

  it('a loop session that cannot be made leaves the engine stepping, with the same answers', async () => {
    const dir = copyFixture();
    const notices: string[] = [];
    const engine = await CoconutEngine.load(dir, { provider: 'cpu', threads: 1, onNotice: (m) => notices.push(m) });
    try {
      const before = await engine.inspect({ question, thoughts: 3 });
      assert.deepEqual(notices, []);
      fs.writeFileSync(path.join(dir, 'decoder.onnx'), 'damaged after the load');
      assert.equal(await engine.prepareThoughtLoop(), false);
      assert.equal(engine.thoughtLoop, 'failed');
      // The host is told once why (nothing else would show it: the thoughts come out the same, slower).
      assert.equal(notices.length, 1, JSON.stringify(notices));
      assert.match(
        notices[0]!,
        /^thoughts in one call are off for this model: the session with the thought loop could not be made \(.+\); thoughts step one by one/,
      );
      assert.equal(await engine.prepareThoughtLoop(), false);
      assert.equal(notices.length, 1, 'told once, not at every run');
      assert.equal(engine.thoughtsInOneCallReady, false);
      const after = await engine.inspect({ question, thoughts: 3 });
      assert.deepEqual(
        after.thoughts.map((t) => Array.from(t.vector)),
        before.thoughts.map((t) => Array.from(t.vector)),
      );
    } finally {
      await engine.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is not made from a decoder.onnx replaced after the load: thoughts keep stepping on the model loaded', async () => {
    const dir = copyFixture();
    const engine = await CoconutEngine.load(dir, { provider: 'cpu', threads: 1 });
    try {
      const before = await engine.inspect({ question, thoughts: 3 });
      // A valid decoder of the same shape and inputs (another model re-exported into the folder).
      fs.copyFileSync(path.join(FIXTURE_RSC, 'decoder.onnx'), path.join(dir, 'decoder.onnx'));
      assert.equal(await engine.prepareThoughtLoop(), false);
      assert.equal(engine.thoughtLoop, 'failed');
      assert.match(engine.thoughtLoopFailure ?? '', /decoder\.onnx changed since the model was loaded/);
      const after = await engine.inspect({ question, thoughts: 3 });
      assert.deepEqual(
        after.thoughts.map((t) => Array.from(t.vector)),
        before.thoughts.map((t) => Array.from(t.vector)),
      );
      assert.equal(after.answer.text, before.answer.text);
    } finally {
      await engine.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is never made where there is no loop, or thoughts in one call are off', async () => {
    const traced = await CoconutEngine.load(TRACED, { provider: 'cpu', threads: 1 });
    const off = await CoconutEngine.load(FIXTURE, { provider: 'cpu', threads: 1, thoughtsInOneCall: false });
    try {
      assert.equal(traced.source, traced.model.decoderPath, 'the whole file serves');
      assert.equal(traced.info.thoughtLoopSession, undefined);
      for (const e of [traced, off]) {
        assert.equal(e.thoughtLoop, 'none');
        assert.equal(await e.prepareThoughtLoop(), false);
        await e.inspect({ question, thoughts: 2 });
        assert.equal(e.sessions, 1);
      }
    } finally {
      await traced.dispose();
      await off.dispose();
    }
  });
});

/** Protobuf by hand, for the smallest models: length-delimited fields only. */
function field(n: number, payload: Uint8Array): Uint8Array {
  assert.ok(payload.length < 128 && n < 16, 'one-byte tags and lengths only');
  return Uint8Array.from([(n << 3) | 2, payload.length, ...payload]);
}
function str(n: number, s: string): Uint8Array {
  return field(n, new TextEncoder().encode(s));
}
function msg(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}
