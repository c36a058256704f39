import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parseSafetensors, SafetensorsFormatError, writeSafetensors } from '../../src/engine/safetensors';
import { FIXTURE, readManifest } from './helpers';

function header(json: object, data = new Uint8Array(0)): Uint8Array {
  const h = Buffer.from(JSON.stringify(json));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors reader', () => {
  it('round-trips F32 tensors and metadata', () => {
    const a = new Float32Array([1.5, -2, 3.25, 0, 1e-30, -1e30]);
    const b = new Float32Array([7]);
    const buf = writeSafetensors({ a: { shape: [2, 3], data: a }, b: { shape: [1], data: b } }, { note: 'x' });
    const st = parseSafetensors(buf);
    assert.deepEqual(st.entries.get('a'), { dtype: 'F32', shape: [2, 3], begin: 0, end: 24 });
    assert.deepEqual(Array.from(st.f32('a')), Array.from(a));
    assert.deepEqual(Array.from(st.f32('b')), [7]);
    assert.deepEqual(st.metadata, { note: 'x' });
  });

  it('reads data at offsets that are not 4-byte aligned', () => {
    const vals = new Float32Array([3.5, -1.25]);
    // Pad the JSON header so the data section starts at an odd byte offset.
    let hdr = JSON.stringify({ v: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    while ((8 + hdr.length) % 4 !== 3) hdr += ' ';
    const body = Buffer.from(hdr);
    const out = new Uint8Array(8 + body.length + 8);
    new DataView(out.buffer).setBigUint64(0, BigInt(body.length), true);
    out.set(body, 8);
    out.set(new Uint8Array(vals.buffer), 8 + body.length);
    assert.deepEqual(Array.from(parseSafetensors(out).f32('v')), [3.5, -1.25]);
  });

  it('reads the fixture probe with the shapes of its manifest', () => {
    const m = readManifest(FIXTURE);
    const st = parseSafetensors(fs.readFileSync(path.join(FIXTURE, 'probe.safetensors')));
    const { vocab_size: V, n_embd: D } = m.architecture;
    assert.deepEqual(st.entries.get('wte')?.shape, [V, D]);
    assert.deepEqual(st.entries.get('ln_f.weight')?.shape, [D]);
    assert.deepEqual(st.entries.get('ln_f.bias')?.shape, [D]);
    const wte = st.f32('wte');
    assert.equal(wte.length, V * D);
    assert.ok(wte.every(Number.isFinite));
  });

  it('rejects malformed files with a precise reason', () => {
    const bad = (buf: Uint8Array, re: RegExp) =>
      assert.throws(
        () => parseSafetensors(buf),
        (e: unknown) => e instanceof SafetensorsFormatError && re.test(e.message),
      );
    bad(new Uint8Array(4), /shorter than the 8-byte header length/);
    const big = new Uint8Array(16);
    new DataView(big.buffer).setBigUint64(0, 1000n, true);
    bad(big, /header length field says 1000 bytes but the file has only 8/);
    const notJson = header({});
    notJson[8] = 0x7b;
    notJson[9] = 0x7b;
    bad(notJson, /JSON header does not parse/);
    bad(header({ w: { dtype: 'Q7', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /unknown dtype "Q7"/);
    bad(header({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)), /has 4 bytes but shape \[2\] of F32 needs 8/);
    bad(header({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), /truncated/);
    bad(header({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }), /invalid shape/);
    bad(header({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, new Uint8Array(4)), /invalid data_offsets/);
    const f16 = parseSafetensors(header({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)));
    assert.throws(() => f16.f32('h'), /is F16, not F32/);
    assert.throws(() => f16.f32('nope'), /no tensor named "nope"/);
  });
});
