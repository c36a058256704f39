// Reads a zip (a VSIX) from its central directory: its file names and single files; no unzip tool needed.
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

/** The zip's bytes and its central directory: one { name, method, size, local } per file. */
function centralDirectory(file) {
  const buf = readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file} is not a zip file`);
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error(`${file}: bad central directory entry ${n}`);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    entries.push({
      name: buf.toString('utf8', at + 46, at + 46 + nameLen),
      method: buf.readUInt16LE(at + 10),
      size: buf.readUInt32LE(at + 20),
      local: buf.readUInt32LE(at + 42),
    });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return { buf, entries };
}

/** File names in a zip, read from its central directory (no unzip tool needed). */
export function zipEntries(file) {
  return centralDirectory(file).entries.map((e) => e.name);
}

/** The content of one file in a zip (stored or deflated), or undefined when it is not there. */
export function zipRead(file, name) {
  const { buf, entries } = centralDirectory(file);
  const e = entries.find((x) => x.name === name);
  if (!e) return undefined;
  const start = e.local + 30 + buf.readUInt16LE(e.local + 26) + buf.readUInt16LE(e.local + 28);
  const data = buf.subarray(start, start + e.size);
  if (e.method === 0) return data;
  if (e.method === 8) return inflateRawSync(data);
  throw new Error(`${file}: ${name} uses compression method ${e.method}`);
}
