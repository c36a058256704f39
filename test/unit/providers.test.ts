// Execution providers: fallback to the CPU with a notice naming the cause, CUDA library detection,
// `auto` measuring once and remembering its choice per model and machine, and a decoder that
// passes its checksum but cannot be loaded reported as a model error.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CoconutEngine } from '../../src/engine/engine';
import type { EngineError } from '../../src/engine/errors';
import { cacheDir, cacheKey, candidateProviders, checkCuda, providerCacheFile, vulkanLoaderPresent } from '../../src/engine/providers';
import { copyFixture, FIXTURE, readManifest, replaceListedFile, rm, tempCacheDir } from './helpers';

const cache = tempCacheDir();

describe('cache folder', () => {
  it('follows each OS convention', () => {
    assert.equal(cacheDir({ XDG_CACHE_HOME: '/x/cache' }, 'linux', '/home/u'), path.join('/x/cache', 'coconut-lens'));
    assert.equal(cacheDir({}, 'linux', '/home/u'), path.join('/home/u', '.cache', 'coconut-lens'));
    assert.equal(cacheDir({}, 'darwin', '/Users/u'), path.join('/Users/u', 'Library', 'Caches', 'coconut-lens'));
    assert.equal(
      cacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', 'C:\\Users\\u'),
      path.join('C:\\Users\\u\\AppData\\Local', 'coconut-lens', 'Cache'),
    );
    assert.equal(cacheDir({ COCONUT_LENS_CACHE_DIR: '/t/c', XDG_CACHE_HOME: '/x' }, 'linux', '/h'), '/t/c');
  });
});

describe('provider fallback', () => {
  it('cuda without its provider libraries falls back to the CPU and says how to get them', async () => {
    const cuda = checkCuda();
    const e = await CoconutEngine.load(FIXTURE, { provider: 'cuda', threads: 1 });
    try {
      if (cuda.present) {
        assert.ok(['cuda', 'cpu'].includes(e.info.provider)); // libraries present: it may run (or lack a GPU)
      } else {
        assert.equal(e.info.provider, 'cpu');
        assert.match(
          e.info.providerNotice ?? '',
          /^the cuda execution provider could not start \(.*libonnxruntime_providers_cuda\.so is not in .*ONNXRUNTIME_NODE_INSTALL=skip.*\); running on the CPU instead$/,
        );
      }
      const r = await e.inspect({ question: 'Is Tom a wumpus?', thoughts: 2 });
      assert.equal(r.provider, e.info.provider);
      assert.equal(r.thoughts.length, 2);
    } finally {
      await e.dispose();
    }
  });

  it('webgpu that cannot start (no adapter here) falls back to the CPU with the cause, found by its trial process', async () => {
    const e = await CoconutEngine.load(FIXTURE, { provider: 'webgpu', threads: 1 });
    try {
      if (e.info.provider === 'cpu') {
        // Tried in a child process first (provider-trial.ts), whose own attempt says why.
        assert.match(e.info.providerNotice ?? '', /^the webgpu execution provider could not start in a trial process \(.+\); running on the CPU instead$/);
      } else {
        assert.equal(e.info.provider, 'webgpu'); // a machine with a GPU and a driver
        assert.equal(e.info.providerNotice, undefined);
      }
    } finally {
      await e.dispose();
    }
  });
});

describe('candidate providers', () => {
  it('tries WebGPU on Linux only where the Vulkan loader is, and always keeps the CPU last', () => {
    const found = (dir: string) => (p: string) => p === path.join(dir, 'libvulkan.so.1');
    assert.equal(vulkanLoaderPresent({}, found('/usr/lib/x86_64-linux-gnu')), true);
    assert.equal(vulkanLoaderPresent({ LD_LIBRARY_PATH: '/opt/vk/lib' }, found('/opt/vk/lib')), true);
    assert.equal(
      vulkanLoaderPresent({}, () => false),
      false,
    );
    assert.ok(candidateProviders('linux', 'x64', () => true).includes('webgpu'));
    assert.ok(!candidateProviders('linux', 'x64', () => false).includes('webgpu'));
    assert.ok(candidateProviders('win32', 'x64', () => false).includes('webgpu'), 'the loader check is for Linux only');
    assert.ok(!candidateProviders('linux', 'ia32', () => true).includes('webgpu'));
    assert.equal(candidateProviders('linux', 'x64', () => false).at(-1), 'cpu');
  });
});

describe('auto', () => {
  it('measures the providers once, writes the choice to the cache file, and reuses it', async () => {
    const file = providerCacheFile();
    assert.equal(path.dirname(file), cache);
    rm(file);
    const sha = readManifest(FIXTURE).files.find((f: any) => f.role === 'decoder').sha256;
    const first = await CoconutEngine.load(FIXTURE, { provider: 'auto', threads: 1 });
    try {
      assert.equal(first.info.providerChoice?.source, 'measured');
      const cpuMs = first.info.providerChoice!.measuredMs.cpu;
      assert.ok(typeof cpuMs === 'number' && cpuMs > 0, 'the CPU was measured');
      const data = JSON.parse(fs.readFileSync(file, 'utf-8'));
      const entry = data.entries[cacheKey(sha, 1)];
      assert.ok(entry, 'an entry keyed by the decoder sha256 and this machine');
      assert.equal(entry.provider, first.info.provider);
      assert.deepEqual(entry.measuredMs, first.info.providerChoice!.measuredMs);
      // Providers that could not start are named with their cause, and the winner ran at least once.
      for (const [p, why] of Object.entries(entry.failed)) assert.ok(p !== entry.provider && typeof why === 'string' && why.length > 0);
      assert.ok(entry.measuredMs[entry.provider] <= Math.min(...(Object.values(entry.measuredMs) as number[])));
    } finally {
      await first.dispose();
    }
    // A second load reads the file instead of measuring: mark the entry to see it come back.
    const data = JSON.parse(fs.readFileSync(file, 'utf-8'));
    data.entries[cacheKey(sha, 1)].measuredMs = { cpu: 123.25 };
    fs.writeFileSync(file, JSON.stringify(data));
    const second = await CoconutEngine.load(FIXTURE, { provider: 'auto', threads: 1 });
    try {
      assert.equal(second.info.providerChoice?.source, 'cache');
      assert.deepEqual(second.info.providerChoice?.measuredMs, { cpu: 123.25 });
      const r = await second.inspect({ question: 'Is Tom a wumpus?', thoughts: 1 });
      assert.equal(r.thoughts.length, 1);
    } finally {
      await second.dispose();
    }
    // Another thread count is another machine key: measured again.
    const third = await CoconutEngine.load(FIXTURE, { provider: 'auto', threads: 2 });
    try {
      assert.equal(third.info.providerChoice?.source, 'measured');
    } finally {
      await third.dispose();
    }
  });

  it('a corrupt cache file is measured over, not an error', async () => {
    fs.mkdirSync(cache, { recursive: true });
    fs.writeFileSync(providerCacheFile(), '{ not json');
    const e = await CoconutEngine.load(FIXTURE, { provider: 'auto', threads: 1 });
    try {
      assert.equal(e.info.providerChoice?.source, 'measured');
      assert.ok(JSON.parse(fs.readFileSync(providerCacheFile(), 'utf-8')).entries);
    } finally {
      await e.dispose();
    }
  });
});

describe('a decoder.onnx that onnxruntime cannot load', () => {
  for (const provider of ['cpu', 'webgpu', 'auto'] as const) {
    it(`is a model error (MODEL_ONNX_INVALID), not PROVIDER_FAILED (provider ${provider})`, async () => {
      const dir = copyFixture();
      try {
        // Valid checksum, broken content: the truncated protobuf of the real decoder.
        const bytes = fs.readFileSync(path.join(FIXTURE, 'decoder.onnx'));
        replaceListedFile(dir, 'decoder', bytes.subarray(0, Math.floor(bytes.length / 3)));
        await assert.rejects(CoconutEngine.load(dir, { provider, threads: 1 }), (e: EngineError) => {
          assert.equal(e.code, 'MODEL_ONNX_INVALID');
          assert.match(e.message, /^decoder\.onnx matches its checksum but onnxruntime cannot load it: /);
          assert.match(e.fix, /export the model again/);
          return true;
        });
      } finally {
        rm(dir);
      }
    });
  }
});
