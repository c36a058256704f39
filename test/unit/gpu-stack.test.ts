// The driver stack's fingerprint (src/engine/gpu-stack.ts), read from a fake machine: it moves
// when a driver is updated and stays put otherwise; and a provider trial remembered under one
// fingerprint is run again under another.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { gpuStackFingerprint, stackParts, type StackProbe } from '../../src/engine/gpu-stack';
import { childProviderTrial } from '../../src/engine/provider-trial';
import { FIXTURE, readManifest } from './helpers';

type Machine = Record<string, { text?: string; size?: number; mtimeMs?: number }>;

/** A machine of files (a folder is listed from the paths under it). */
function probe(files: Machine, release = '23.1.0'): StackProbe {
  return {
    stat: (f) => (files[f] ? { size: files[f].size ?? files[f].text?.length ?? 0, mtimeMs: files[f].mtimeMs ?? 1 } : undefined),
    read: (f) => files[f]?.text,
    list: (d) =>
      Object.keys(files)
        .filter((f) => path.dirname(f) === d)
        .map((f) => path.basename(f))
        .sort(),
    release: () => release,
  };
}

const NVIDIA: Machine = {
  '/proc/driver/nvidia/version': { text: 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159.04\n' },
  '/usr/lib/x86_64-linux-gnu/libvulkan.so.1': { size: 400_000, mtimeMs: 1000 },
  '/usr/share/vulkan/icd.d/nvidia_icd.json': { text: JSON.stringify({ ICD: { library_path: 'libGLX_nvidia.so.0' } }) },
  '/usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0': { size: 1_500_000, mtimeMs: 2000 },
  '/usr/share/vulkan/icd.d/radeon_icd.x86_64.json': { text: JSON.stringify({ ICD: { library_path: '/usr/lib/x86_64-linux-gnu/libvulkan_radeon.so' } }) },
  '/usr/lib/x86_64-linux-gnu/libvulkan_radeon.so': { size: 9_000_000, mtimeMs: 3000 },
};
const linux = (m: Machine) => gpuStackFingerprint('linux', probe(m), {});

describe('the driver stack fingerprint', () => {
  it('on Linux reads the NVIDIA module, the Vulkan loader and the libraries the ICD manifests name', () => {
    const parts = stackParts('linux', probe(NVIDIA), {});
    assert.ok(
      parts.some((p) => p.includes('580.159.04')),
      parts.join('\n'),
    );
    assert.ok(
      parts.some((p) => p.startsWith('/usr/lib/x86_64-linux-gnu/libvulkan.so.1 ')),
      parts.join('\n'),
    );
    assert.ok(
      parts.some((p) => p.startsWith('/usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0 1500000 2000')),
      'a bare library name is found in the library folders',
    );
    assert.ok(
      parts.some((p) => p.startsWith('/usr/lib/x86_64-linux-gnu/libvulkan_radeon.so 9000000 3000')),
      parts.join('\n'),
    );
    assert.equal(linux(NVIDIA), linux({ ...NVIDIA }), 'the same machine, the same fingerprint');
  });

  it('moves when a driver is updated, and not for anything else', () => {
    const base = linux(NVIDIA);
    const moved: [string, Machine][] = [
      ['the NVIDIA module', { ...NVIDIA, '/proc/driver/nvidia/version': { text: 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  590.10.01\n' } }],
      ['the NVIDIA user-space library', { ...NVIDIA, '/usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0': { size: 1_500_000, mtimeMs: 9999 } }],
      ['Mesa', { ...NVIDIA, '/usr/lib/x86_64-linux-gnu/libvulkan_radeon.so': { size: 9_100_000, mtimeMs: 3000 } }],
      ['the Vulkan loader', { ...NVIDIA, '/usr/lib/x86_64-linux-gnu/libvulkan.so.1': { size: 410_000, mtimeMs: 1000 } }],
      ['a new ICD', { ...NVIDIA, '/etc/vulkan/icd.d/intel_icd.json': { text: JSON.stringify({ ICD: { library_path: 'libvulkan_intel.so' } }) } }],
    ];
    for (const [what, m] of moved) assert.notEqual(linux(m), base, what);
    assert.equal(linux({ ...NVIDIA, '/usr/lib/x86_64-linux-gnu/libunrelated.so': { size: 1 } }), base, 'an unrelated library');
    assert.equal(linux({ ...NVIDIA, '/usr/share/vulkan/icd.d/README': { text: 'x' } }), base, 'a file that is no manifest');
  });

  it('takes a broken manifest and a missing driver in its stride', () => {
    const broken = { ...NVIDIA, '/usr/share/vulkan/icd.d/nvidia_icd.json': { text: '{ not json' } };
    assert.match(linux(broken), /^[0-9a-f]{16}$/);
    assert.notEqual(linux(broken), linux(NVIDIA));
    assert.match(linux({}), /^[0-9a-f]{16}$/, 'no GPU at all');
  });

  it('on Windows follows the driver store and on macOS the system release', () => {
    const store = 'C:\\Windows\\System32\\DriverStore\\FileRepository';
    const win = (mtimeMs: number) => gpuStackFingerprint('win32', probe({ [store]: { size: 4096, mtimeMs } }), { SystemRoot: 'C:\\Windows' });
    assert.equal(win(1), win(1));
    assert.notEqual(win(1), win(2), 'a driver package installed');
    assert.notEqual(gpuStackFingerprint('darwin', probe({}, '23.1.0'), {}), gpuStackFingerprint('darwin', probe({}, '24.0.0'), {}));
  });
});

describe('a provider trial remembered under a driver stack', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coconut-stack-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const SHA = readManifest(FIXTURE).files.find((f: { role: string }) => f.role === 'decoder').sha256 as string;

  it('is run again once the stack changed', async () => {
    const crash = path.join(tmp, 'crash.js');
    fs.writeFileSync(crash, "process.kill(process.pid, 'SIGSEGV');\n");
    const cacheFile = path.join(tmp, 'trials.json');
    const trial = (script: string, stack: string) =>
      childProviderTrial(FIXTURE, { modelSha256: SHA, threads: 1, script, cacheFile, gpuStack: () => stack })('webgpu');
    const crashed = await trial(crash, 'driver-580');
    assert.match(crashed.reason ?? '', /crashed in a trial process \(SIGSEGV\)/);
    // Same stack: remembered, no child (the script does not exist).
    assert.deepEqual(await trial(path.join(tmp, 'missing.js'), 'driver-580'), crashed);
    // Another stack: a child runs again (and fails in its own way here).
    const after590 = await trial(path.join(tmp, 'missing.js'), 'driver-590');
    assert.match(after590.reason ?? '', /failed in a trial process \(exit code 1\)/);
  });
});
