// Which execution providers this machine can offer, and the remembered outcome of `auto`: the
// fastest provider measured once per model (decoder sha256) and machine, kept in a small JSON file
// under the OS cache folder so later loads skip the measurement.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProviderName } from '../shared/types';
import { findLinuxLibrary } from './gpu-stack';

/** The per-user cache folder of Coconut Lens (COCONUT_LENS_CACHE_DIR overrides it, e.g. in tests). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = os.homedir()): string {
  if (env.COCONUT_LENS_CACHE_DIR) return env.COCONUT_LENS_CACHE_DIR;
  if (platform === 'win32') return path.join(env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'), 'coconut-lens', 'Cache');
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', 'coconut-lens');
  return path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'coconut-lens');
}

/** Writes a cache file whole (a temporary file renamed over it), so a reader never sees half of one. */
export function writeCacheFile(file: string, data: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

/** The entries of a keyed cache file (providers.json, threads.json, checksums.json); none when missing, unreadable or of another format. */
export function readKeyedCache<T>(file: string, format: string): Record<string, T> {
  try {
    const data = JSON.parse(fs.readFileSync(file, 'utf-8'));
    if (data?.format === format && data.version === 1 && data.entries && typeof data.entries === 'object') return data.entries as Record<string, T>;
  } catch {
    // missing or unreadable: measure again
  }
  return {};
}

/** Adds one entry to a keyed cache file; false when it cannot be written (that only costs a new measurement). */
export function rememberEntry<T>(file: string, format: string, key: string, value: T): boolean {
  try {
    const entries = readKeyedCache<T>(file, format);
    entries[key] = value;
    writeCacheFile(file, { format, version: 1, entries });
    return true;
  } catch {
    return false;
  }
}

export function providerCacheFile(): string {
  return path.join(cacheDir(), 'providers.json');
}

/** onnxruntime-node's folder of native files for this platform (where its binding lives). */
export function bindingDir(): string | undefined {
  try {
    const main = require.resolve('onnxruntime-node');
    const dir = path.join(path.dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
    return fs.existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

const CUDA_LIB: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'libonnxruntime_providers_cuda.so',
  win32: 'onnxruntime_providers_cuda.dll',
};

export interface CudaCheck {
  present: boolean;
  /** The file looked for, and where. */
  library?: string;
  dir?: string;
  /** Why CUDA cannot run here and how to get it (set when !present). */
  reason?: string;
}

/**
 * onnxruntime-node's npm tarball has no CUDA provider; its install script downloads
 * libonnxruntime_providers_cuda.so (CUDA 12) next to the binding unless told to skip.
 */
export function checkCuda(dir = bindingDir()): CudaCheck {
  const lib = CUDA_LIB[process.platform];
  if (!lib || process.arch !== 'x64') {
    return { present: false, reason: `onnxruntime-node has no CUDA provider for ${process.platform}-${process.arch}` };
  }
  if (!dir) return { present: false, library: lib, reason: 'onnxruntime-node is not installed for this platform' };
  if (fs.existsSync(path.join(dir, lib))) return { present: true, library: lib, dir };
  return {
    present: false,
    library: lib,
    dir,
    reason:
      `onnxruntime-node's CUDA provider libraries are not installed (${lib} is not in ${dir}); ` +
      'with internet, run ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node (it was installed ' +
      'with ONNXRUNTIME_NODE_INSTALL=skip; see README, "Execution providers")',
  };
}

/**
 * Whether the Vulkan loader that WebGPU (Dawn) needs on Linux can be found. Without it Dawn prints
 * "Couldn't load Vulkan" on stderr and WebGPU cannot start, so `auto` does not try it.
 */
export function vulkanLoaderPresent(env: NodeJS.ProcessEnv = process.env, exists: (p: string) => boolean = fs.existsSync): boolean {
  return findLinuxLibrary('libvulkan.so.1', env, exists) !== undefined;
}

/** The providers worth trying on this platform, CPU last (it always exists). */
export function candidateProviders(platform: NodeJS.Platform = process.platform, arch: string = process.arch, vulkan = vulkanLoaderPresent): ProviderName[] {
  const list: ProviderName[] = [];
  if (checkCuda().present) list.push('cuda');
  // onnxruntime-node ships WebGPU (Dawn) for these; on Linux it needs the Vulkan loader and a driver.
  if (['linux', 'win32', 'darwin'].includes(platform) && ['x64', 'arm64'].includes(arch) && (platform !== 'linux' || vulkan())) {
    list.push('webgpu');
  }
  list.push('cpu');
  return list;
}

function ortVersion(): string {
  try {
    const main = require.resolve('onnxruntime-node');
    return JSON.parse(fs.readFileSync(path.join(path.dirname(main), '..', 'package.json'), 'utf-8')).version ?? '?';
  } catch {
    return '?';
  }
}

/**
 * The machine part of the cache key: what changes which provider is fastest (CPU model and count,
 * platform, onnxruntime version, threads, and whether CUDA libraries are present).
 */
export function machineKey(threads: number): string {
  const cpus = os.cpus();
  const parts = [
    process.platform,
    process.arch,
    cpus[0]?.model ?? '?',
    cpus.length,
    `threads=${threads}`,
    `ort=${ortVersion()}`,
    `cuda=${checkCuda().present}`,
  ];
  return createHash('sha256').update(parts.join('|')).digest('hex').slice(0, 16);
}

export interface AutoChoice {
  provider: ProviderName;
  /** Median thought-step milliseconds of each provider that ran. */
  measuredMs: Partial<Record<ProviderName, number>>;
  /** Why each provider that could not start failed. */
  failed: Partial<Record<ProviderName, string>>;
  decidedAt: string;
}

export function cacheKey(modelSha256: string, threads: number): string {
  return `${modelSha256}:${machineKey(threads)}`;
}

const PROVIDERS_FORMAT = 'coconut-lens-providers';

export function cachedChoice(key: string, file = providerCacheFile()): AutoChoice | undefined {
  const c = readKeyedCache<AutoChoice>(file, PROVIDERS_FORMAT)[key];
  if (c && ['cpu', 'webgpu', 'cuda'].includes(c.provider)) return c;
  return undefined;
}

/** Remembers a choice; a cache that cannot be written only costs a new measurement next time. */
export function rememberChoice(key: string, choice: AutoChoice, file = providerCacheFile()): boolean {
  return rememberEntry(file, PROVIDERS_FORMAT, key, choice);
}
