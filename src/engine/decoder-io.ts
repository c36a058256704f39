// The decoder graph's contract (models/README.md, "decoder.onnx"): the input and output names
// implied by n_layer, their element types, and every dimension the manifest fixes.
import type { InferenceSession } from 'onnxruntime-node';
import { EngineError } from './errors';
import type { Manifest } from './manifest';

interface Expected {
  name: string;
  type: 'float32' | 'int64';
  /** Per dimension: a number the graph must have if it states a static size, or null (any). */
  dims: (number | null)[];
}

/** The sizes a decoder pass is built from: layers, heads, width, head size, vocabulary. */
export interface DecoderShape {
  L: number;
  H: number;
  D: number;
  Dh: number;
  V: number;
}

export function decoderShape(m: Manifest): DecoderShape {
  const a = m.architecture;
  return { L: a.n_layer, H: a.n_head, D: a.n_embd, Dh: a.n_embd / a.n_head, V: a.vocab_size };
}

/** The input that runs thoughts inside the graph (models/README.md, "Thoughts in one call"). */
export const THOUGHT_STEPS = 'thought_steps';

export function pastKey(i: number): string {
  return `past_key_values.${i}.key`;
}
export function pastValue(i: number): string {
  return `past_key_values.${i}.value`;
}
/** The prefix cache, the tier a pass reads but never copies (models/README.md, "The prefix cache"). */
export function prefixKey(i: number): string {
  return `prefix_key_values.${i}.key`;
}
export function prefixValue(i: number): string {
  return `prefix_key_values.${i}.value`;
}
export function presentKey(i: number): string {
  return `present.${i}.key`;
}
export function presentValue(i: number): string {
  return `present.${i}.value`;
}

/** What a decoder graph can do beyond version 1's single pass, read from its input names. */
export interface DecoderFeatures {
  /** It runs thoughts itself (input thought_steps, outputs thought_*): format version 2 on. */
  thoughtLoop: boolean;
  /** It reads a prefix cache (inputs prefix_key_values.*): format version 3 on. */
  prefixCache: boolean;
}

export function decoderFeatures(session: Pick<InferenceSession, 'inputNames'>): DecoderFeatures {
  return { thoughtLoop: session.inputNames.includes(THOUGHT_STEPS), prefixCache: session.inputNames.includes(prefixKey(0)) };
}

/** The names and shapes the manifest implies, for a graph with `features`. */
export function expectedIO(m: Manifest, features: Partial<DecoderFeatures> = {}): { inputs: Expected[]; outputs: Expected[] } {
  const { n_layer: L, n_head: H, n_embd: D, vocab_size: V } = m.architecture;
  const Dh = D / H;
  const inputs: Expected[] = [
    { name: 'inputs_embeds', type: 'float32', dims: [null, null, D] },
    { name: 'attention_mask', type: 'int64', dims: [null, null] },
    { name: 'position_ids', type: 'int64', dims: [null, null] },
  ];
  const outputs: Expected[] = [
    { name: 'logits', type: 'float32', dims: [null, null, V] },
    { name: 'last_hidden_state', type: 'float32', dims: [null, null, D] },
    { name: 'hidden_states', type: 'float32', dims: [L + 1, null, null, D] },
  ];
  for (let i = 0; i < L; i++) {
    inputs.push({ name: pastKey(i), type: 'float32', dims: [null, H, null, Dh] });
    inputs.push({ name: pastValue(i), type: 'float32', dims: [null, H, null, Dh] });
    outputs.push({ name: presentKey(i), type: 'float32', dims: [null, H, null, Dh] });
    outputs.push({ name: presentValue(i), type: 'float32', dims: [null, H, null, Dh] });
  }
  if (features.prefixCache) {
    for (let i = 0; i < L; i++) {
      inputs.push({ name: prefixKey(i), type: 'float32', dims: [null, H, null, Dh] });
      inputs.push({ name: prefixValue(i), type: 'float32', dims: [null, H, null, Dh] });
    }
  }
  if (features.thoughtLoop) {
    inputs.push({ name: THOUGHT_STEPS, type: 'int64', dims: [] });
    outputs.push({ name: 'thought_logits', type: 'float32', dims: [null, null, null, V] });
    outputs.push({ name: 'thought_last_hidden_state', type: 'float32', dims: [null, null, null, D] });
    outputs.push({ name: 'thought_hidden_states', type: 'float32', dims: [null, L + 1, null, null, D] });
    for (let i = 0; i < L; i++) {
      outputs.push({ name: `thought_${presentKey(i)}`, type: 'float32', dims: [null, H, null, Dh] });
      outputs.push({ name: `thought_${presentValue(i)}`, type: 'float32', dims: [null, H, null, Dh] });
    }
  }
  return { inputs, outputs };
}

type SessionIO = Pick<InferenceSession, 'inputNames' | 'outputNames'> & Partial<Pick<InferenceSession, 'inputMetadata' | 'outputMetadata'>>;

export function checkDecoderIO(session: SessionIO, m: Manifest, file: string): void {
  const exp = expectedIO(m, decoderFeatures(session));
  const fix =
    `re-export the decoder so its inputs and outputs follow models/README.md for n_layer=${m.architecture.n_layer} ` +
    '(training/export.py does), or correct architecture in coconut.json if it describes another model';
  const problems = [...compareNames('input', exp.inputs, session.inputNames), ...compareNames('output', exp.outputs, session.outputNames)];
  if (problems.length === 0) {
    problems.push(...compareMetadata('input', exp.inputs, session.inputMetadata));
    problems.push(...compareMetadata('output', exp.outputs, session.outputMetadata));
  }
  if (problems.length > 0) {
    throw new EngineError('MODEL_ONNX_IO', `${file} does not match the decoder contract: ${problems.join('; ')}`, fix, {
      details: { problems, inputNames: [...session.inputNames], outputNames: [...session.outputNames] },
    });
  }
}

function compareNames(kind: string, expected: Expected[], actual: readonly string[]): string[] {
  const want = new Set(expected.map((e) => e.name));
  const have = new Set(actual);
  const missing = expected.map((e) => e.name).filter((n) => !have.has(n));
  const extra = actual.filter((n) => !want.has(n));
  const out: string[] = [];
  if (missing.length) out.push(`missing ${kind}${missing.length > 1 ? 's' : ''} ${abbreviate(missing)}`);
  if (extra.length) out.push(`unexpected ${kind}${extra.length > 1 ? 's' : ''} ${abbreviate(extra)}`);
  return out;
}

function compareMetadata(kind: string, expected: Expected[], meta: readonly InferenceSession.ValueMetadata[] | undefined): string[] {
  if (!meta || meta.length === 0) return []; // older runtimes: names were all we could check
  const byName = new Map(meta.map((m) => [m.name, m]));
  const out: string[] = [];
  for (const e of expected) {
    const m = byName.get(e.name);
    if (!m) continue;
    if (!m.isTensor) {
      out.push(`${kind} ${e.name} is not a tensor`);
      continue;
    }
    if (m.type !== e.type) out.push(`${kind} ${e.name} is ${m.type}, expected ${e.type}`);
    const shape = m.shape;
    if (shape.length > 0 && shape.length !== e.dims.length) {
      out.push(`${kind} ${e.name} has rank ${shape.length}, expected ${e.dims.length}`);
      continue;
    }
    shape.forEach((d, i) => {
      const want = e.dims[i];
      if (typeof d === 'number' && d >= 0 && want !== null && d !== want) {
        out.push(`${kind} ${e.name} dimension ${i} is ${d}, expected ${want}`);
      }
    });
  }
  return out;
}

function abbreviate(names: string[]): string {
  const shown = names.slice(0, 6).join(', ');
  return names.length > 6 ? `${shown} and ${names.length - 6} more` : shown;
}
