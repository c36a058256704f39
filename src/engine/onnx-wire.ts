// The protobuf wire format, just enough to find things in an ONNX model: walk the fields of a
// message, read a string. Nothing is decoded beyond what a caller asks for, so a model's
// initializers (most of its bytes) are skipped by their lengths. A protobuf library would decode
// every tensor and needs onnx.proto's schema besides.

/** One field of a message: where it starts (its tag), where its value starts and where it ends. */
export interface WireField {
  field: number;
  wire: number;
  start: number;
  valueStart: number;
  end: number;
}

export class WireError extends Error {}

/** [value, next offset] of the varint at `at`. Values past 2^53 are not needed here and rejected. */
export function readVarint(buf: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < buf.length && i < at + 8; i++) {
    const b = buf[i];
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, i + 1];
    scale *= 128;
  }
  throw new WireError(`a varint at byte ${at} is cut short or too long`);
}

/** The fields of the message in buf[start, end), in order. Throws WireError on malformed bytes. */
export function fields(buf: Uint8Array, start = 0, end = buf.length): WireField[] {
  // A plain loop, not a generator: a model is read once, by code the JIT has not compiled yet.
  const out: WireField[] = [];
  let at = start;
  while (at < end) {
    const [tag, afterTag] = readVarint(buf, at);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    let valueStart = afterTag;
    let next: number;
    if (wire === 0) next = readVarint(buf, afterTag)[1];
    else if (wire === 1) next = afterTag + 8;
    else if (wire === 5) next = afterTag + 4;
    else if (wire === 2) {
      const [len, afterLen] = readVarint(buf, afterTag);
      valueStart = afterLen;
      next = afterLen + len;
    } else throw new WireError(`field ${field} at byte ${at} has wire type ${wire}, which ONNX does not use`);
    if (field === 0 || next > end) throw new WireError(`field ${field} at byte ${at} runs past its message`);
    out.push({ field, wire, start: at, valueStart, end: next });
    at = next;
  }
  return out;
}

const utf8 = new TextDecoder('utf-8');

export function readString(buf: Uint8Array, f: WireField): string {
  // Names in a graph are ASCII: building those directly is ~20× faster than a TextDecoder call,
  // whose fixed cost made reading a model's ~600 names take 3-5 ms.
  let ascii = '';
  for (let i = f.valueStart; i < f.end; i++) {
    if (buf[i] >= 0x80) return utf8.decode(buf.subarray(f.valueStart, f.end));
    ascii += String.fromCharCode(buf[i]);
  }
  return ascii;
}
