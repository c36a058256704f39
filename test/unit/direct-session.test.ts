// The engine's CPU sessions call onnxruntime-node's native run directly (direct-session.ts). With the
// onnxruntime-node this project pins they must: be made that way (a version whose binding moved
// would silently fall back and lose the speed, so this fails instead); describe the graph exactly as
// the public session does; give bit-identical outputs; still turn the event loop between runs, so a
// cancel or a worker message is seen during a long run of passes; and fail as the public session does.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { createDirect, fetchesOf, runPass, runsDirect, YIELD_MS } from '../../src/engine/direct-session';
import { stripThoughtLoop } from '../../src/engine/loop-free-graph';
import { ort } from '../../src/engine/ort';
import { createSession, sessionOptions } from '../../src/engine/session';
import { ROOT } from './helpers';

// What is tested is the default; the way out (COCONUT_LENS_DIRECT_RUN=0) is tested through the CLI (cli.test.ts).
delete process.env.COCONUT_LENS_DIRECT_RUN;

const DECODER = path.join(ROOT, 'models', 'prosqa-coconut', 'decoder.onnx');
const OPTIONS = { ...sessionOptions(1), executionProviders: ['cpu'] };

/** A prompt's pass of the shipped decoder: 5 positions after an empty cache, every input named. */
function feeds(session: InferenceSession): Record<string, Tensor> {
  const { Tensor } = ort();
  const S = 5;
  const embeds = Float32Array.from({ length: S * 192 }, (_, i) => Math.sin(i * 0.37) * 0.5);
  const f: Record<string, Tensor> = {
    inputs_embeds: new Tensor('float32', embeds, [1, S, 192]),
    attention_mask: new Tensor('int64', new BigInt64Array(S).fill(1n), [1, S]),
    position_ids: new Tensor(
      'int64',
      BigInt64Array.from({ length: S }, (_, i) => BigInt(i)),
      [1, S],
    ),
  };
  for (const name of session.inputNames) {
    if (name.includes('key_values')) f[name] = new Tensor('float32', new Float32Array(0), [1, 6, 0, 32]);
    if (name === 'thought_steps') f[name] = new Tensor('int64', BigInt64Array.of(2n), []);
  }
  return f;
}

/** `test` on a public and a direct session of the shipped decoder, both released after it. */
async function withBoth(test: (s: { pub: InferenceSession; direct: InferenceSession; bytes: Uint8Array }) => Promise<void>): Promise<void> {
  const bytes = new Uint8Array(fs.readFileSync(DECODER));
  const pub = await ort().InferenceSession.create(bytes, OPTIONS);
  const direct = createDirect(bytes, OPTIONS);
  try {
    assert.ok(direct, 'onnxruntime-node binding not reachable: check direct-session.ts against the installed onnxruntime-node');
    await test({ pub, direct, bytes });
  } finally {
    await pub.release();
    await direct?.release();
  }
}

describe('direct CPU sessions', () => {
  it('are what createSession makes on the CPU with the pinned onnxruntime-node, from a path and from bytes', async () => {
    const fromPath = await createSession(DECODER, { provider: 'cpu', threads: 1 });
    const bytes = new Uint8Array(fs.readFileSync(DECODER));
    stripThoughtLoop(bytes);
    const fromBytes = await createSession({ path: DECODER, bytes: async () => bytes }, { provider: 'cpu', threads: 1 });
    try {
      assert.ok(runsDirect(fromPath.session));
      assert.ok(runsDirect(fromBytes.session));
      assert.ok(fromPath.session.inputNames.includes('thought_steps'));
      assert.ok(!fromBytes.session.inputNames.includes('thought_steps'), 'the bytes given are the graph loaded');
    } finally {
      await fromPath.session.release();
      await fromBytes.session.release();
    }
  });

  it('name and describe inputs and outputs as the public session does', async () => {
    await withBoth(async ({ pub, direct }) => {
      assert.deepEqual(direct.inputNames, pub.inputNames);
      assert.deepEqual(direct.outputNames, pub.outputNames);
      assert.deepEqual(direct.inputMetadata, pub.inputMetadata);
      assert.deepEqual(direct.outputMetadata, pub.outputMetadata);
    });
  });

  it('give bit-identical outputs, the thought loop included, and fetch only what is asked', async () => {
    await withBoth(async ({ pub, direct }) => {
      const a = await pub.run(feeds(pub));
      const b = await direct.run(feeds(direct));
      assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
      for (const name of Object.keys(a)) {
        assert.deepEqual(b[name].dims, a[name].dims, name);
        assert.deepEqual(b[name].data, a[name].data, name);
      }
      assert.equal((a.thought_logits as Tensor).dims[0], 2, 'the loop ran its two thoughts');
      const only = await direct.run(feeds(direct), ['logits']);
      assert.deepEqual(Object.keys(only), ['logits']);
      assert.deepEqual(only.logits.data, a.logits.data);
    });
  });

  it('run a pass with prebuilt fetches, direct or not, to the same outputs', async () => {
    await withBoth(async ({ pub, direct }) => {
      const fetches = fetchesOf(['logits', 'present.1.value']);
      const a = await runPass(pub, feeds(pub), fetches);
      const b = await runPass(direct, feeds(direct), fetches);
      assert.deepEqual(Object.keys(a).sort(), ['logits', 'present.1.value']);
      assert.deepEqual(Object.keys(b).sort(), ['logits', 'present.1.value']);
      for (const name of Object.keys(a)) assert.deepEqual(b[name].data, a[name].data, name);
      assert.ok(!runsDirect(pub));
    });
  });

  it('turn the event loop while passes run back to back', async () => {
    await withBoth(async ({ direct }) => {
      const f = feeds(direct);
      let turned = -1;
      let runs = 0;
      setImmediate(() => (turned = runs));
      const t0 = performance.now();
      // Passes awaited one after the other, as a decoder runs them, for a few times YIELD_MS.
      while (performance.now() - t0 < 6 * YIELD_MS || runs < 20) {
        await direct.run(f, ['logits']);
        runs++;
      }
      assert.ok(turned >= 0, 'an immediate queued before the passes ran while they were still running');
      assert.ok(turned < runs, `the loop turned after ${turned} of ${runs} passes`);
    });
  });

  it('reject missing and wrongly shaped feeds as onnxruntime does, and rethrow a graph it cannot load', async () => {
    await withBoth(async ({ pub, direct, bytes }) => {
      const f = feeds(direct);
      delete f.position_ids;
      await assert.rejects(direct.run(f), /input 'position_ids' is missing/);
      const g = feeds(direct);
      g.inputs_embeds = new (ort().Tensor)('float32', new Float32Array(5 * 191), [1, 5, 191]);
      const theirs = await pub.run(g).then(
        () => 'ran',
        (e: Error) => e.message,
      );
      await assert.rejects(direct.run(g), (e: Error) => e.message === theirs);
      assert.notEqual(theirs, 'ran');
      assert.throws(() => createDirect(bytes.subarray(0, 1000), OPTIONS));
    });
  });
});
