// decoder.onnx without its thought loop: the graph plain passes run on (prefill, one thought or
// token per pass, batches). onnxruntime runs a Loop node even for 0 iterations, and its body is a
// second copy of the pass to optimise when a session is created. Without it, on the shipped model,
// a step took 5-8 % less and a session was created 20 ms sooner (docs/performance.md). Thoughts in
// one call run on the whole file, in a session of its own (loop-session.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { THOUGHT_STEPS } from './decoder-io';
import { readLoadedDecoder } from './decoder-reread';
import { EngineError } from './errors';
import type { ManifestFile } from './manifest';
import { fields, readString, WireError, type WireField } from './onnx-wire';

/** decoder.onnx sizes above this keep one session, the whole file's, for the engine's life (the shipped model is 3.5 MB). */
export const SECOND_SESSION_MAX_BYTES = 64 * 1024 * 1024;

// Field numbers of onnx.proto (stable since ONNX 1.0).
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const GRAPH_VALUE_INFO = 13;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_OP_TYPE = 4;
const VALUE_INFO_NAME = 1;
const TENSOR_EXTERNAL_DATA = 13;
const SUBGRAPH_OPS = new Set(['Loop', 'If', 'Scan']);
/** Field 3, length-delimited: a number GraphProto reserves ("reserved 3, 4, 6 to 9"), so no parser gives it a meaning. */
const UNUSED_FIELD_TAG = (3 << 3) | 2;

/**
 * What the engine's plain passes run: decoder.onnx without its thought loop, or undefined where
 * the whole file serves (no loop, or a decoder so large that holding its weights in two sessions
 * costs more than the loop). `decoder`: the manifest's entry for the file, just verified by the
 * load (its size decides; without one, the whole file serves). `verified`: the bytes the load
 * hashed (loadModelDirBytes), edited in place; without them the file is read.
 */
export async function plainPassSource(
  decoderPath: string,
  decoder: Pick<ManifestFile, 'bytes' | 'sha256'>,
  verified?: Uint8Array,
): Promise<LoopFreeDecoder | undefined> {
  const { bytes, sha256 } = decoder;
  if (bytes === undefined || bytes > SECOND_SESSION_MAX_BYTES) return undefined;
  let file: Uint8Array;
  try {
    file = verified ?? (await fs.promises.readFile(decoderPath));
  } catch {
    return undefined; // the session's own load reports it
  }
  return stripThoughtLoop(file) ? new LoopFreeDecoder(decoderPath, sha256, file) : undefined;
}

/**
 * The edited decoder as a session source (session.ts). The bytes edited at load serve the first
 * session; later ones (the thread choice's, a dataset's batches') read the file again, check it is
 * still the one loaded (decoder-reread.ts) and edit it again, so the engine does not hold a copy of
 * the decoder in JS memory for its whole life.
 */
export class LoopFreeDecoder {
  constructor(
    readonly path: string,
    /** The manifest's sha256 of decoder.onnx, which a later read must match. */
    private readonly sha256: string,
    private first?: Uint8Array,
  ) {}

  async bytes(): Promise<Uint8Array> {
    const once = this.first;
    this.first = undefined;
    if (once) return once;
    const file = await readLoadedDecoder(this.path, this.sha256);
    // The bytes edited at load, again: the edit cannot fail unless this code changed under them.
    if (!stripThoughtLoop(file)) {
      throw new EngineError('INTERNAL', `${path.basename(this.path)} lost its thought loop between two reads of the same bytes`, 'load the model again');
    }
    return file;
  }
}

interface Node {
  f: WireField;
  op: string;
  inputs: string[];
  outputs: string[];
}

/**
 * Removes the Loop that `thought_steps` drives from `model`, in place: the loop, its outputs, its
 * input and the nodes that only fed it. Returns false (leaving `model` as it was) when the graph has
 * no such loop (exports before December 2026) or is laid out otherwise than training/onnx_graph.py
 * writes it: then the whole file serves.
 *
 * Nothing is moved: each removed entry keeps its bytes but is renumbered to a field GraphProto
 * reserves, which a protobuf parser skips as an unknown field. Copying the rest of a 3.6 MB model
 * to close the gaps cost 3 ms, more than the rest of the edit.
 */
export function stripThoughtLoop(model: Uint8Array): boolean {
  let removed: WireField[] | undefined;
  try {
    removed = entriesToRemove(model);
  } catch (e) {
    if (e instanceof WireError) return false; // onnxruntime reports a broken file better
    throw e;
  }
  if (!removed) return false;
  for (const f of removed) model[f.start] = UNUSED_FIELD_TAG;
  return true;
}

function entriesToRemove(model: Uint8Array): WireField[] | undefined {
  const graphs = fields(model).filter((f) => f.field === MODEL_GRAPH && f.wire === 2);
  if (graphs.length !== 1) return undefined;
  const graph = graphs[0];
  const parts = fields(model, graph.valueStart, graph.end);
  // Weights in a file beside the model are found relative to its path, which a session created
  // from bytes does not have.
  const inits = parts.filter((f) => f.field === GRAPH_INITIALIZER && f.wire === 2);
  if (inits.some((f) => fields(model, f.valueStart, f.end).some((x) => x.field === TENSOR_EXTERNAL_DATA))) return undefined;
  const nodes: Node[] = parts.filter((f) => f.field === GRAPH_NODE && f.wire === 2).map((f) => readNode(model, f));
  const loops = nodes.filter((n) => n.op === 'Loop' && n.inputs[0] === THOUGHT_STEPS);
  if (loops.length !== 1) return undefined;
  const removed = new Set<WireField>([loops[0].f]);
  const gone = new Set(loops[0].outputs);
  const valueName = (f: WireField) => nameOf(model, f);
  const outputs = parts.filter((f) => f.field === GRAPH_OUTPUT && f.wire === 2);
  for (const f of outputs) if (gone.has(valueName(f))) removed.add(f);
  const kept = () => nodes.filter((n) => !removed.has(n.f));
  // Nodes whose every output nobody reads any more (the loop's start values) go too.
  for (let changed = true; changed;) {
    changed = false;
    const read = new Set(outputs.filter((f) => !removed.has(f)).map(valueName));
    for (const n of kept()) n.inputs.forEach((i) => read.add(i));
    for (const n of kept()) {
      if (n.outputs.every((o) => !read.has(o))) {
        removed.add(n.f);
        n.outputs.forEach((o) => gone.add(o));
        changed = true;
      }
    }
  }
  // What is left must not need the loop: no other subgraph (its outer reads are not listed) and
  // nothing reading thought_steps or a removed value.
  for (const n of kept()) {
    if (SUBGRAPH_OPS.has(n.op) || n.inputs.some((i) => i === THOUGHT_STEPS || gone.has(i))) return undefined;
  }
  for (const f of parts) {
    if (f.wire !== 2) continue;
    if (f.field === GRAPH_INPUT && valueName(f) === THOUGHT_STEPS) removed.add(f);
    if (f.field === GRAPH_VALUE_INFO && gone.has(valueName(f))) removed.add(f);
  }
  // Renumbering rewrites one byte: every entry touched must have a one-byte tag (fields 1-15).
  if ([...removed].some((f) => f.valueStart - f.start < 2 || model[f.start] >= 0x80)) return undefined;
  return [...removed];
}

function readNode(buf: Uint8Array, f: WireField): Node {
  const node: Node = { f, op: '', inputs: [], outputs: [] };
  for (const x of fields(buf, f.valueStart, f.end)) {
    if (x.wire !== 2) continue;
    if (x.field === NODE_INPUT) node.inputs.push(readString(buf, x));
    else if (x.field === NODE_OUTPUT) node.outputs.push(readString(buf, x));
    else if (x.field === NODE_OP_TYPE) node.op = readString(buf, x);
  }
  return node;
}

/** The name of a ValueInfoProto. */
function nameOf(buf: Uint8Array, f: WireField): string {
  for (const x of fields(buf, f.valueStart, f.end)) if (x.field === VALUE_INFO_NAME && x.wire === 2) return readString(buf, x);
  return '';
}
