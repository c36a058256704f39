import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { argmax, cosines, layerNorm, softmax, topKIndices } from '../../src/engine/decode';
import type { Probe } from '../../src/engine/model-dir';

describe('decoding math', () => {
  it('softmax is stable for huge logits and matches a direct computation', () => {
    const d = softmax([1000, 1001, 999]);
    const e = [Math.exp(-1), 1, Math.exp(-2)];
    const z = e[0] + e[1] + e[2];
    d.probs.forEach((p, i) => assert.ok(Math.abs(p - e[i] / z) < 1e-15));
    const h = -e.reduce((s, x) => s + (x / z) * Math.log(x / z), 0);
    assert.ok(Math.abs(d.entropy - h) < 1e-12);
    const tiny = softmax([-1e4, 0, -1e4]);
    assert.equal(tiny.probs[1], 1);
    assert.ok(Number.isFinite(tiny.entropy) && tiny.entropy >= 0 && tiny.entropy < 1e-12);
  });

  it('entropy of a uniform distribution is log(V)', () => {
    const d = softmax(new Float32Array(50257).fill(3.5));
    assert.ok(Math.abs(d.entropy - Math.log(50257)) < 1e-9);
  });

  it('top-k is sorted descending with ties broken by the lower index', () => {
    assert.deepEqual(topKIndices([0.1, 0.5, 0.3, 0.5, 0.9, 0.3], 4), [4, 1, 3, 2]);
    assert.deepEqual(topKIndices([1, 2], 5), [1, 0]);
    assert.deepEqual(topKIndices([1, 2], 0), []);
    const big = Float64Array.from({ length: 10000 }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1);
    const ref = Array.from(big.keys())
      .sort((a, b) => big[b] - big[a] || a - b)
      .slice(0, 25);
    assert.deepEqual(topKIndices(big, 25), ref);
    assert.equal(argmax([3, 7, 7, 1]), 1);
  });

  it('layer norm matches the definition; cosine handles zero rows', () => {
    const D = 4;
    const probe: Probe = {
      wte: new Float32Array([1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0]),
      wteNorms: new Float64Array([1, 0, Math.SQRT2]),
      lnWeight: new Float32Array([1, 2, 1, 1]),
      lnBias: new Float32Array([0, 0, 0, 1]),
    };
    const y = layerNorm([1, 2, 3, 4], probe, 1e-5);
    const mean = 2.5;
    const sd = Math.sqrt(1.25 + 1e-5);
    assert.ok(Math.abs(y[0] - (1 - mean) / sd) < 1e-12);
    assert.ok(Math.abs(y[1] - (2 * (2 - mean)) / sd) < 1e-12);
    assert.ok(Math.abs(y[3] - ((4 - mean) / sd + 1)) < 1e-12);
    const c = cosines([2, 0, 0, 0], probe, D);
    assert.deepEqual(
      Array.from(c).map((v) => Math.round(v * 1e12) / 1e12),
      [1, 0, Math.round(Math.SQRT1_2 * 1e12) / 1e12],
    );
    assert.deepEqual(Array.from(cosines([0, 0, 0, 0], probe, D)), [0, 0, 0]);
  });
});
