// Remembered checksums of large model files. Loading a model verifies every file against the sha256
// in its manifest; for an imported GPT-2-sized decoder (~500 MB) that hash alone is 1-2 s on every
// load (each window, each model switch). A file whose size, modification time and inode are as they
// were when it last hashed to its manifest's sha256 is taken as verified. What the check is for,
// a damaged copy or a file from another export, changes the size or the modification time.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir, readKeyedCache, writeCacheFile } from './providers';

/** Files smaller than this are hashed every time (a few ms): the cache is for large decoders. */
export const REMEMBER_FROM_BYTES = 16 * 1024 * 1024;
/** Entries kept: the most recently verified files. */
const MAX_ENTRIES = 64;

interface Entry {
  size: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
  verifiedAt: number;
}

const CHECKSUMS_FORMAT = 'coconut-lens-checksums';

export function checksumCacheFile(): string {
  return path.join(cacheDir(), 'checksums.json');
}

function keyOf(full: string): string {
  try {
    return fs.realpathSync(full);
  } catch {
    return path.resolve(full);
  }
}

/** True when `full`, as `stat` describes it now, last hashed to `sha256`. */
export function rememberedAsVerified(full: string, stat: fs.Stats, sha256: string, file = checksumCacheFile()): boolean {
  if (stat.size < REMEMBER_FROM_BYTES) return false;
  const e = readKeyedCache<Entry>(file, CHECKSUMS_FORMAT)[keyOf(full)];
  return !!e && e.sha256 === sha256 && e.size === stat.size && e.mtimeMs === stat.mtimeMs && e.ino === stat.ino;
}

/** Remembers a file that hashed to its manifest's sha256; a cache that cannot be written only costs a hash next time. */
export function rememberVerified(full: string, stat: fs.Stats, sha256: string, file = checksumCacheFile()): void {
  if (stat.size < REMEMBER_FROM_BYTES) return;
  try {
    const entries = readKeyedCache<Entry>(file, CHECKSUMS_FORMAT);
    entries[keyOf(full)] = { size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino, sha256, verifiedAt: Date.now() };
    const kept = Object.entries(entries)
      .sort((a, b) => b[1].verifiedAt - a[1].verifiedAt)
      .slice(0, MAX_ENTRIES);
    writeCacheFile(file, { format: CHECKSUMS_FORMAT, version: 1, entries: Object.fromEntries(kept) });
  } catch {
    // read-only home, full disk: verification still works, it just hashes again
  }
}
