// A provider other than the CPU is first tried in a child process (src/engine/provider-trial.ts): a
// provider whose trial process crashes is never started in the engine's own process, the user is
// told why, and the crash is remembered; the real trial entry loads a model and runs it (its
// numbers checked against the CPU's); `auto` and an explicit provider both go through it. The
// crash is a real one (the child kills itself with SIGSEGV), so the parent is checked to survive
// exactly what WebGPU once did to it.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoconutEngine } from '../../src/engine/engine';
import { childProviderTrial, runTrialProcess, TRIAL_TOLERANCE, trialDisagreement, type ProviderTrial } from '../../src/engine/provider-trial';
import { FIXTURE, readManifest } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coconut-trial-'));
const CRASH = path.join(tmp, 'crash.js');
const SHA = readManifest(FIXTURE).files.find((f: { role: string }) => f.role === 'decoder').sha256 as string;
let savedCache: string | undefined;
let savedLd: string | undefined;

before(() => {
  fs.writeFileSync(CRASH, "process.kill(process.pid, 'SIGSEGV');\n");
  savedCache = process.env.COCONUT_LENS_CACHE_DIR;
  process.env.COCONUT_LENS_CACHE_DIR = path.join(tmp, 'cache');
  savedLd = process.env.LD_LIBRARY_PATH;
});
after(() => {
  if (savedCache === undefined) delete process.env.COCONUT_LENS_CACHE_DIR;
  else process.env.COCONUT_LENS_CACHE_DIR = savedCache;
  if (savedLd === undefined) delete process.env.LD_LIBRARY_PATH;
  else process.env.LD_LIBRARY_PATH = savedLd;
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Trials whose child crashes, counted. */
function crashing(cacheFile: string): { trial: ProviderTrial; calls: () => number } {
  let n = 0;
  const inner = childProviderTrial(FIXTURE, { modelSha256: SHA, threads: 1, script: CRASH, cacheFile });
  return {
    trial: (p) => {
      n++;
      return inner(p);
    },
    calls: () => n,
  };
}

describe('provider trial: the child process', () => {
  it('a crash in the child is a reason, not the end of this process, and it is remembered', async () => {
    const cacheFile = path.join(tmp, 'trials-1.json');
    const first = await childProviderTrial(FIXTURE, { modelSha256: SHA, threads: 1, script: CRASH, cacheFile })('webgpu');
    assert.equal(first.ok, false);
    assert.match(first.reason ?? '', /crashed in a trial process \(SIGSEGV\)/);
    // Remembered: a second trial with no script to run gives the same answer without a child.
    const again = await childProviderTrial(FIXTURE, { modelSha256: SHA, threads: 1, script: path.join(tmp, 'missing.js'), cacheFile })('webgpu');
    assert.deepEqual(again, first);
    // Another provider is another key.
    const other = await childProviderTrial(FIXTURE, { modelSha256: SHA, threads: 1, script: path.join(tmp, 'missing.js'), cacheFile })('cuda');
    assert.equal(other.ok, false);
    assert.match(other.reason ?? '', /failed in a trial process \(exit code 1\)/);
    assert.equal(Object.keys(JSON.parse(fs.readFileSync(cacheFile, 'utf-8')).entries).length, 1, 'a clean failure is tried again next time');
  });

  it('the real trial entry loads the model and runs it (CPU), or says why a provider could not start', async () => {
    const ran = await runTrialProcess(FIXTURE, 'cpu', { modelSha256: SHA, threads: 1 });
    assert.deepEqual(ran.outcome, { ok: true });
    assert.equal(ran.conclusive, true);
    // A missing model folder fails in the child, with the engine's own message.
    const missing = await runTrialProcess(path.join(tmp, 'no-model'), 'cpu', { modelSha256: SHA, threads: 1 });
    assert.equal(missing.outcome.ok, false);
    assert.match(missing.outcome.reason ?? '', /failed in a trial run: .*no-model/);
    assert.equal(missing.conclusive, false);
  });

  it('a trial that runs out of time is killed and not remembered', async () => {
    const hang = path.join(tmp, 'hang.js');
    fs.writeFileSync(hang, 'setInterval(() => {}, 1000);\n');
    const cacheFile = path.join(tmp, 'trials-2.json');
    const r = await childProviderTrial(FIXTURE, { modelSha256: SHA, threads: 1, script: hang, cacheFile, timeoutMs: 300 })('webgpu');
    assert.equal(r.ok, false);
    assert.match(r.reason ?? '', /did not finish a trial run in 0 s/);
    assert.equal(fs.existsSync(cacheFile), false);
  });
});

describe("provider trial: the provider's numbers against the CPU's", () => {
  it('passes float rounding, and nothing near a wrong kernel, a NaN or a missing output', () => {
    const cpu = [Float32Array.from([10, -3, 0.5]), Float32Array.from([0.1, 0.2])];
    const near = [Float32Array.from([10 + 1e-5, -3, 0.5]), Float32Array.from([0.1, 0.2 + 1e-6])];
    assert.equal(trialDisagreement(cpu, cpu), 0);
    assert.ok(trialDisagreement(near, cpu) <= TRIAL_TOLERANCE);
    // 0.05 off a vector of scale 10: 5e-3 of it; on a vector of scale below 1 the scale is 1.
    assert.ok(Math.abs(trialDisagreement([Float32Array.from([10.05, -3, 0.5]), cpu[1]], cpu) - 5e-3) < 1e-6);
    assert.ok(trialDisagreement([cpu[0], Float32Array.from([0.1, 0.2021])], cpu) > TRIAL_TOLERANCE);
    assert.equal(trialDisagreement([Float32Array.from([NaN, -3, 0.5]), cpu[1]], cpu), Infinity);
    assert.equal(trialDisagreement([cpu[0]], cpu), Infinity);
  });
});

describe('provider trial: the engine', () => {
  it('an explicit provider whose trial crashes runs on the CPU, with the reason, and is never started here', async () => {
    const c = crashing(path.join(tmp, 'trials-3.json'));
    const engine = await CoconutEngine.load(FIXTURE, { provider: 'webgpu', threads: 1, providerTrial: c.trial });
    try {
      assert.equal(engine.info.provider, 'cpu');
      // The in-process attempt would have said why WebGPU could not start (no adapter here); the trial's reason came first.
      assert.match(engine.info.providerNotice ?? '', /^the webgpu execution provider crashed in a trial process \(SIGSEGV\); running on the CPU instead$/);
      assert.equal(c.calls(), 1);
      const r = await engine.inspect({ question: 'Is Tom a wumpus?', thoughts: 1 });
      assert.equal(r.thoughts.length, 1);
    } finally {
      await engine.dispose();
    }
  });

  it('auto skips a provider whose trial crashes and names the crash among the failures', async () => {
    // A Vulkan loader on the library path makes WebGPU a candidate on Linux (providers.ts); elsewhere it always is.
    const lib = path.join(tmp, 'lib');
    fs.mkdirSync(lib, { recursive: true });
    fs.writeFileSync(path.join(lib, 'libvulkan.so.1'), '');
    process.env.LD_LIBRARY_PATH = lib;
    const c = crashing(path.join(tmp, 'trials-4.json'));
    const engine = await CoconutEngine.load(FIXTURE, { provider: 'auto', threads: 1, providerTrial: c.trial });
    try {
      assert.equal(engine.info.provider, 'cpu');
      assert.equal(engine.info.providerChoice?.source, 'measured');
      assert.match(engine.info.providerChoice?.failed.webgpu ?? '', /crashed in a trial process \(SIGSEGV\)/);
      assert.equal(engine.info.providerChoice?.measuredMs.webgpu, undefined, 'never measured in this process');
      assert.ok(c.calls() >= 1);
    } finally {
      await engine.dispose();
    }
  });
});
