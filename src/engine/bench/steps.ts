// Timing of the decoder's passes as the Coconut loop runs them: one prefill, then single-position
// thought steps (the previous last_hidden_state fed back) and token steps (a wte row fed). Shared by
// `auto` provider selection (a few steps) and `coconut-lens bench` (many).
import type { InferenceSession } from 'onnxruntime-node';
import { Decoder } from '../decoder';
import type { Manifest } from '../manifest';
import type { ModelDir, Probe } from '../model-dir';

export interface StepTimes {
  prefillMs: number[];
  thoughtMs: number[];
  tokenMs: number[];
  /**
   * Per run, the thoughts of a plain inspect in one call (Decoder.thoughts), divided by their
   * number: the cost of a thought where nothing intervenes. Empty for decoders without the loop.
   */
  thoughtInOneCallMs: number[];
}

export interface StepPlan {
  promptTokens: number;
  thoughts: number;
  answerTokens: number;
  /** Whole sequences to run; each gives one prefill and `thoughts`/`answerTokens` step samples. */
  runs: number;
  /** Sequences run first and thrown away (allocations, caches, GPU pipelines). */
  warmupRuns?: number;
  /** The prompt ids (ending in bot) to prefill; default `promptTokens` synthetic ids + bot. */
  prompt?: number[];
  /** false: skip the second prefill and the thoughts in one call (default: timed where the graph has the loop). */
  inOneCall?: boolean;
}

/** The ids the Coconut loop prefills for a question: question + question_suffix, then bot. */
export function promptWithBot(model: ModelDir, question: string): number[] {
  const m = model.manifest;
  return [...model.tokenizer.encode(question + m.prompt.question_suffix).ids, m.special_tokens.bot.id];
}

/** A prompt of `n` ordinary token ids (no specials), the same for every provider and for PyTorch. */
export function syntheticPrompt(n: number, vocab: number, specials: number[]): number[] {
  const ids: number[] = [];
  const skip = new Set(specials);
  for (let i = 0; ids.length < n; i++) {
    const id = (i * 7 + 3) % vocab;
    if (!skip.has(id)) ids.push(id);
  }
  return ids;
}

/** `loop`: the session with the thought loop, where `session` runs the graph without it (loop-free-graph.ts). */
export async function timeSteps(session: InferenceSession, m: Manifest, probe: Probe, plan: StepPlan, loop?: InferenceSession): Promise<StepTimes> {
  const dec = new Decoder(session, m, probe, loop ? () => loop : undefined);
  const s = m.special_tokens;
  const prompt = plan.prompt ?? [...syntheticPrompt(plan.promptTokens, m.architecture.vocab_size, [s.bot.id, s.eot.id, s.latent.id, s.eos.id]), s.bot.id];
  const times: StepTimes = { prefillMs: [], thoughtMs: [], tokenMs: [], thoughtInOneCallMs: [] };
  const warm = plan.warmupRuns ?? 1;
  for (let r = 0; r < warm + plan.runs; r++) {
    const keep = r >= warm;
    dec.reset();
    let t0 = performance.now();
    let out = await dec.step(dec.embed(prompt));
    if (keep) times.prefillMs.push(performance.now() - t0);
    for (let j = 0; j < plan.thoughts; j++) {
      t0 = performance.now();
      out = await dec.step(out.lastHidden);
      if (keep) times.thoughtMs.push(performance.now() - t0);
    }
    // Token steps as greedy decoding runs them (ids chosen by the model, eos or not: timing only).
    let id = s.eot.id;
    for (let j = 0; j < plan.answerTokens; j++) {
      t0 = performance.now();
      out = await dec.step(dec.embed([id]));
      if (keep) times.tokenMs.push(performance.now() - t0);
      id = argmaxOf(out.logits);
    }
    if (dec.hasThoughtLoop && plan.thoughts > 0 && plan.inOneCall !== false) {
      dec.reset();
      out = await dec.step(dec.embed(prompt));
      t0 = performance.now();
      await dec.thoughts(out.lastHidden, plan.thoughts);
      if (keep) times.thoughtInOneCallMs.push((performance.now() - t0) / plan.thoughts);
    }
  }
  return times;
}

/**
 * Seconds the prompts' passes take one by one: the share of a record-by-record evaluation that
 * batching cannot remove, where a prompt's pass costs the same in a batch (compute-bound on the CPU).
 */
export async function timePrefills(session: InferenceSession, m: Manifest, probe: Probe, prompts: number[][]): Promise<number> {
  const dec = new Decoder(session, m, probe);
  let ms = 0;
  for (const p of prompts) {
    dec.reset();
    const t0 = performance.now();
    await dec.step(dec.embed(p));
    ms += performance.now() - t0;
  }
  dec.reset();
  return ms / 1000;
}

function argmaxOf(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/** The median thought step of a few sequences: what `auto` compares providers by. */
export async function quickThoughtStepMs(session: InferenceSession, m: Manifest, probe: Probe): Promise<number> {
  const prompt = Math.min(32, Math.max(1, m.architecture.n_positions - 16));
  const thoughts = Math.min(6, m.architecture.n_positions - prompt - 2);
  const t = await timeSteps(session, m, probe, { promptTokens: prompt, thoughts, answerTokens: 0, runs: 3, warmupRuns: 1 });
  return median(t.thoughtMs);
}

/**
 * A short inspect's decoder time: the prefill of a ProsQA-sized prompt (~120 tokens), 6 thought
 * steps and 8 answer tokens, each part's median over two runs after one thrown away. What an unset thread count is
 * chosen by (thread-choice.ts): threads speed the prefill and can slow the steps.
 */
export async function quickInspectMs(session: InferenceSession, m: Manifest, probe: Probe): Promise<number> {
  const room = m.architecture.n_positions;
  const thoughts = Math.min(6, Math.max(0, room - 12));
  const answerTokens = Math.min(8, Math.max(0, room - thoughts - 4));
  const promptTokens = Math.max(1, Math.min(120, room - thoughts - answerTokens - 2));
  // Thoughts step by step: the loop runs the same kernels, and a second prefill would double the cost
  // of measuring a large model on its first load.
  const t = await timeSteps(session, m, probe, { promptTokens, thoughts, answerTokens, runs: 2, warmupRuns: 1, inOneCall: false });
  const part = (xs: number[], n: number) => (n > 0 && xs.length ? median(xs) * n : 0);
  return median(t.prefillMs) + part(t.thoughtMs, thoughts) + part(t.tokenMs, answerTokens);
}

export function median(xs: number[]): number {
  return quantile(xs, 0.5);
}

/** Linear-interpolated quantile (q in [0, 1]); NaN for an empty list. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return s[lo] + (s[hi] - s[lo]) * (at - lo);
}

/**
 * How the cost of prefill + k thoughts grows with the prompt: per run, the cumulative time after
 * the prefill (k = 0) and after each thought step; returns the median cumulative ms per k in `ks`.
 */
export async function timeGrowth(
  session: InferenceSession,
  m: Manifest,
  probe: Probe,
  promptTokens: number,
  ks: number[],
  runs: number,
): Promise<{ cumulativeMs: Record<number, number>; thoughtStepMs: number }> {
  const dec = new Decoder(session, m, probe);
  const s = m.special_tokens;
  const prompt = [...syntheticPrompt(promptTokens, m.architecture.vocab_size, [s.bot.id, s.eot.id, s.latent.id, s.eos.id]), s.bot.id];
  const kMax = Math.max(...ks);
  const samples: Record<number, number[]> = {};
  const steps: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const keep = r > 0; // the first run warms up
    dec.reset();
    const t0 = performance.now();
    let out = await dec.step(dec.embed(prompt));
    const at: number[] = [performance.now() - t0];
    for (let j = 1; j <= kMax; j++) {
      const t1 = performance.now();
      out = await dec.step(out.lastHidden);
      const now = performance.now();
      if (keep) steps.push(now - t1);
      at.push(now - t0);
    }
    if (keep) for (const k of ks) (samples[k] ??= []).push(at[k]);
  }
  const cumulativeMs: Record<number, number> = {};
  for (const k of ks) cumulativeMs[k] = median(samples[k]);
  return { cumulativeMs, thoughtStepMs: median(steps) };
}
