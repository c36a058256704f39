// Large model files verified once are not hashed again while their size, modification time and
// inode stay as they were (src/engine/checksum-cache.ts). A file changed in any of those is hashed
// and rejected as before; small files are always hashed; a broken cache costs only a hash.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checksumCacheFile, REMEMBER_FROM_BYTES } from '../../src/engine/checksum-cache';
import { loadModelDir } from '../../src/engine/model-dir';
import { copyFixture, rejectsCode, replaceListedFile, rm, tmpDir } from './helpers';

const FIXED_TIME = 1_700_000_000;

describe('remembered checksums of large model files', () => {
  const saved = process.env.COCONUT_LENS_CACHE_DIR;
  const cache = tmpDir('coconut-lens-checksums-');
  const dirs: string[] = [cache];
  before(() => {
    process.env.COCONUT_LENS_CACHE_DIR = cache;
  });
  after(() => {
    if (saved === undefined) delete process.env.COCONUT_LENS_CACHE_DIR;
    else process.env.COCONUT_LENS_CACHE_DIR = saved;
    dirs.forEach(rm);
  });

  /** A fixture copy whose decoder.onnx is `bytes` long (loadModelDir never parses it). */
  function modelWithDecoderOf(bytes: number): { dir: string; decoder: string } {
    const dir = copyFixture();
    dirs.push(dir);
    const content = Buffer.alloc(bytes, 7);
    replaceListedFile(dir, 'decoder', content);
    const decoder = path.join(dir, 'decoder.onnx');
    fs.utimesSync(decoder, FIXED_TIME, FIXED_TIME); // whole seconds, so that it can be put back exactly
    return { dir, decoder };
  }

  /** Flips a byte in place and puts the modification time back: a change only a hash can see. */
  function flipByteKeepingTime(file: string): void {
    const before = fs.statSync(file).mtimeMs;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([8]), 0, 1, 1000);
    fs.closeSync(fd);
    fs.utimesSync(file, FIXED_TIME, FIXED_TIME);
    assert.equal(fs.statSync(file).mtimeMs, before);
  }

  it('skips the hash of a large file verified before, and hashes it again once its time changes', async () => {
    const { dir, decoder } = modelWithDecoderOf(REMEMBER_FROM_BYTES);
    await loadModelDir(dir);
    const entries = JSON.parse(fs.readFileSync(checksumCacheFile(), 'utf-8')).entries;
    assert.ok(entries[fs.realpathSync(decoder)], 'the verified decoder is remembered');
    // Same size, same time, same inode: taken as verified (the documented limit of the cache).
    flipByteKeepingTime(decoder);
    await loadModelDir(dir);
    // Touched: hashed, and the flipped byte is found.
    fs.utimesSync(decoder, FIXED_TIME + 1, FIXED_TIME + 1);
    const e = await rejectsCode(loadModelDir(dir), 'MODEL_CHECKSUM');
    assert.match(e.message, /decoder\.onnx does not match its checksum/);
  });

  it('always hashes a small file, and a broken cache file costs only a hash', async () => {
    const { dir, decoder } = modelWithDecoderOf(REMEMBER_FROM_BYTES - 1);
    await loadModelDir(dir);
    assert.ok(!fs.existsSync(checksumCacheFile()) || !JSON.parse(fs.readFileSync(checksumCacheFile(), 'utf-8')).entries[fs.realpathSync(decoder)]);
    flipByteKeepingTime(decoder);
    await rejectsCode(loadModelDir(dir), 'MODEL_CHECKSUM');

    const big = modelWithDecoderOf(REMEMBER_FROM_BYTES);
    fs.writeFileSync(checksumCacheFile(), '{ not json');
    await loadModelDir(big.dir);
    flipByteKeepingTime(big.decoder);
    await loadModelDir(big.dir); // remembered again after the broken cache was replaced
    fs.writeFileSync(checksumCacheFile(), '{ not json');
    await rejectsCode(loadModelDir(big.dir), 'MODEL_CHECKSUM');
  });
});
