// Sessions whose provider must never see a zero-length tensor. WebGPU (onnxruntime-node 1.30,
// Dawn on Vulkan, NVIDIA H200) kills the whole process, with no error to catch, when a pass reads
// an empty prefix tier: a prompt's pass of a format-3 decoder, whose attention multiplies by
// prefix_key_values.* of no positions (docs/performance.md, "GPU runs"). The decoders feed such
// sessions one masked position instead (decoder.ts, batch-decoder.ts); the CPU keeps its empty
// tensors, whose results and speed every parity test and bench already pin down.
// Such sessions also run no thoughts in one call (engine-sessions.ts, decoder.ts): the graph's loop
// ran there in a bare onnxruntime test once the prefix was not empty, but nothing has checked it
// through the engine on a GPU yet, and a wrong guess costs the user's whole process.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { ProviderName } from '../shared/types';
import { prefixKey, prefixValue, type DecoderShape } from './decoder-io';

const noEmptyTensors = new WeakSet<InferenceSession>();

/** Marks a session created on a provider other than the CPU (session.ts). */
export function markNoEmptyTensors(session: InferenceSession): InferenceSession {
  noEmptyTensors.add(session);
  return session;
}

/** Whether thoughts run in one call (the thought loop's session) on a provider: the CPU only, for now. */
export function thoughtLoopRunsOn(provider: ProviderName): boolean {
  return provider === 'cpu';
}

/** Whether this session's passes must read a masked position where the prefix tier is empty. */
export function needsMaskedPrefix(session: InferenceSession): boolean {
  return noEmptyTensors.has(session);
}

/**
 * The prefix tier as one zeroed position per row, for `B` rows: fed with a 0 at the front of each
 * row's attention mask, it takes no attention weight (its bias is float32's lowest, as at padding)
 * and, being the prefix, is never copied into present.*, so nothing after the pass sees it.
 */
export function maskedPrefixTier(Tensor: typeof import('onnxruntime-node').Tensor, s: DecoderShape, B: number): Record<string, Tensor> {
  const tier: Record<string, Tensor> = {};
  for (let i = 0; i < s.L; i++)
    for (const name of [prefixKey(i), prefixValue(i)]) tier[name] = new Tensor('float32', new Float32Array(B * s.H * s.Dh), [B, s.H, 1, s.Dh]);
  return tier;
}

/** [rows, width] mask rows with a 0 in front of each: the masked prefix position's column. */
export function prependMaskedColumn(mask: BigInt64Array, rows: number, width: number): BigInt64Array {
  const out = new BigInt64Array(rows * (width + 1));
  for (let r = 0; r < rows; r++) out.set(mask.subarray(r * width, (r + 1) * width), r * (width + 1) + 1);
  return out;
}
