// What a GPU provider's fate depends on besides the model and onnxruntime: the graphics driver and
// the loader in front of it. A provider trial's outcome (provider-trial.ts) is remembered under
// this fingerprint, so a crash remembered under one driver is tried again after an update, and a
// run remembered under one driver is checked again before a new one is trusted in-process.
// Platform-specific paths live here and nowhere else; a file that is missing is simply not part
// of the fingerprint.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** What the fingerprint reads; tests pass a fake machine. */
export interface StackProbe {
  /** Size and modification time, or undefined where there is no such file. */
  stat(file: string): { size: number; mtimeMs: number } | undefined;
  read(file: string): string | undefined;
  /** The names in a folder (none where it does not exist). */
  list(dir: string): string[];
  release(): string;
}

/** Where Linux keeps shared libraries: the Vulkan loader and the drivers' libraries are looked for here. */
function linuxLibDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  return [
    ...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/lib/x86_64-linux-gnu',
    '/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/usr/local/lib',
  ];
}

/** The first of the library folders that holds `name`, as the dynamic loader would find it. */
export function findLinuxLibrary(name: string, env: NodeJS.ProcessEnv, exists: (file: string) => boolean): string | undefined {
  return linuxLibDirs(env)
    .map((d) => path.join(d, name))
    .find(exists);
}

const realProbe: StackProbe = {
  stat(file) {
    try {
      const s = fs.statSync(file);
      return { size: s.size, mtimeMs: s.mtimeMs };
    } catch {
      return undefined;
    }
  },
  read(file) {
    try {
      return fs.readFileSync(file, 'utf-8');
    } catch {
      return undefined;
    }
  },
  list(dir) {
    try {
      return fs.readdirSync(dir).sort();
    } catch {
      return [];
    }
  },
  release: () => os.release(),
};

/** A short hash of the driver stack on this machine. */
export function gpuStackFingerprint(platform: NodeJS.Platform = process.platform, probe: StackProbe = realProbe, env: NodeJS.ProcessEnv = process.env): string {
  return createHash('sha256')
    .update(stackParts(platform, probe, env).join('\n'))
    .digest('hex')
    .slice(0, 16);
}

/** The readable parts the fingerprint hashes (exported for the tests' messages). */
export function stackParts(platform: NodeJS.Platform, probe: StackProbe, env: NodeJS.ProcessEnv): string[] {
  const stamp = (file: string) => {
    const s = probe.stat(file);
    return s ? `${file} ${s.size} ${Math.round(s.mtimeMs)}` : undefined;
  };
  const parts: (string | undefined)[] = [platform];
  if (platform === 'linux') {
    // NVIDIA's kernel module names its version; Mesa drivers (and NVIDIA's user-space side) are the
    // libraries the Vulkan ICD manifests point at, which a driver update replaces.
    parts.push(probe.read('/proc/driver/nvidia/version')?.trim());
    const exists = (f: string) => probe.stat(f) !== undefined;
    const loader = findLinuxLibrary('libvulkan.so.1', env, exists);
    if (loader) parts.push(stamp(loader));
    const manifests = [
      ...(env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES ?? '').split(':').filter(Boolean),
      ...['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d'].flatMap((d) =>
        probe
          .list(d)
          .filter((f) => f.endsWith('.json'))
          .map((f) => path.join(d, f)),
      ),
    ];
    for (const m of manifests) {
      parts.push(stamp(m));
      const lib = icdLibrary(probe.read(m));
      if (!lib) continue;
      // A bare name is found by the dynamic loader: look in the usual folders.
      const found = path.isAbsolute(lib) ? lib : lib.includes('/') ? path.join(path.dirname(m), lib) : findLinuxLibrary(lib, env, exists);
      parts.push(found ? (stamp(found) ?? lib) : lib);
    }
  } else if (platform === 'win32') {
    // A driver package installed or updated lands in the driver store; WebGPU runs on D3D12.
    const root = env.SystemRoot ?? env.windir ?? 'C:\\Windows';
    parts.push(stamp(path.win32.join(root, 'System32', 'DriverStore', 'FileRepository')), stamp(path.win32.join(root, 'System32', 'vulkan-1.dll')));
  } else {
    // macOS ships its Metal drivers with the system.
    parts.push(probe.release());
  }
  return parts.filter((p): p is string => p !== undefined);
}

function icdLibrary(manifest: string | undefined): string | undefined {
  if (!manifest) return undefined;
  try {
    const lib = JSON.parse(manifest)?.ICD?.library_path;
    return typeof lib === 'string' && lib.length > 0 ? lib : undefined;
  } catch {
    return undefined;
  }
}
