// A minimal safetensors reader: an 8-byte little-endian header length, a JSON header, then raw
// little-endian tensor data. Only F32 is needed by the probe; other dtypes are listed but not
// decoded so a useful error can name them. Errors are plain messages; model-dir.ts wraps them.

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** Byte range inside the data section (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Copy of the tensor's data as float32 (safe against misaligned offsets). */
  f32(name: string): Float32Array;
}

const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
  U16: 2,
  U32: 4,
  U64: 8,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

// A header this large means the file is not safetensors (or is corrupted), not a big model.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export class SafetensorsFormatError extends Error {}

export function parseSafetensors(buf: Uint8Array): SafetensorsFile {
  if (buf.byteLength < 8) {
    throw new SafetensorsFormatError(`the file is ${buf.byteLength} bytes, shorter than the 8-byte header length`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen64 = view.getBigUint64(0, true);
  if (headerLen64 > BigInt(Math.min(MAX_HEADER_BYTES, buf.byteLength - 8))) {
    throw new SafetensorsFormatError(`the header length field says ${headerLen64} bytes but the file has only ${buf.byteLength - 8} bytes after it`);
  }
  const headerLen = Number(headerLen64);
  const headerText = new TextDecoder('utf-8', { fatal: false }).decode(buf.subarray(8, 8 + headerLen));
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (e) {
    throw new SafetensorsFormatError(`the JSON header does not parse: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsFormatError('the JSON header is not an object');
  }
  const dataStart = 8 + headerLen;
  const dataLen = buf.byteLength - dataStart;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw === 'object' && raw !== null) metadata = raw as Record<string, string>;
      continue;
    }
    entries.set(name, checkEntry(name, raw, dataLen));
  }
  return {
    entries,
    metadata,
    f32(name: string): Float32Array {
      const e = entries.get(name);
      if (!e) throw new SafetensorsFormatError(`there is no tensor named "${name}"`);
      if (e.dtype !== 'F32') throw new SafetensorsFormatError(`tensor "${name}" is ${e.dtype}, not F32`);
      const bytes = buf.subarray(dataStart + e.begin, dataStart + e.end);
      // Copy into a fresh, aligned buffer; the data section need not be 4-byte aligned.
      const out = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(out.buffer).set(bytes);
      if (!LITTLE_ENDIAN) byteSwap32(out);
      return out;
    },
  };
}

function checkEntry(name: string, raw: unknown, dataLen: number): SafetensorsEntry {
  if (typeof raw !== 'object' || raw === null) {
    throw new SafetensorsFormatError(`header entry "${name}" is not an object`);
  }
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
    throw new SafetensorsFormatError(`tensor "${name}" has an unknown dtype ${JSON.stringify(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new SafetensorsFormatError(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0) || offsets[1] < offsets[0]) {
    throw new SafetensorsFormatError(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataLen) {
    throw new SafetensorsFormatError(`tensor "${name}" ends at byte ${end} of the data section, but the file has only ${dataLen} data bytes (truncated?)`);
  }
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const expected = count * DTYPE_BYTES[dtype];
  if (end - begin !== expected) {
    throw new SafetensorsFormatError(`tensor "${name}" has ${end - begin} bytes but shape ${JSON.stringify(shape)} of ${dtype} needs ${expected}`);
  }
  return { dtype, shape: shape as number[], begin, end };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function byteSwap32(a: Float32Array): void {
  const v = new DataView(a.buffer);
  for (let i = 0; i < a.length; i++) v.setUint32(i * 4, v.getUint32(i * 4, true), false);
}

/** Serializes F32 tensors; used by tests to build probes, and handy for exporting thoughts. */
export function writeSafetensors(tensors: Record<string, { shape: number[]; data: Float32Array }>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = Buffer.from(json, 'utf-8');
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}
