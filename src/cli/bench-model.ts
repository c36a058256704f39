// One model's bench: session creation, prefill / thought-step / token-step latency (interleaved
// with the PyTorch reference's with --vs-pytorch, after checking both give the same logits), warm
// inspect, and the fresh-process measurements of bench-process.ts.
import { median, promptWithBot, syntheticPrompt, timeSteps, type StepTimes } from '../engine/bench/steps';
import { PytorchReference } from '../engine/bench/pytorch';
import { Decoder } from '../engine/decoder';
import { CoconutEngine } from '../engine/engine';
import { runsDirect } from '../engine/direct-session';
import { thoughtLoopRunsOn } from '../engine/empty-tensors';
import { EngineError } from '../engine/errors';
import { createSession } from '../engine/session';
import { coldInspect, hostMemory } from './bench-process';
import { round, stat, type Stat } from './bench-report';

export interface BenchTarget {
  label: string;
  dir: string;
  note: string;
}

export interface ModelOpts {
  provider: string;
  /** Given with --threads: ours and PyTorch run exactly this many. Unset: the engine's own choice (session.ts). */
  threads?: number;
  /** PyTorch's threads: the count given, else the budget the engine chose within. */
  torchThreads: number;
  runs: number;
  vsPytorch: boolean;
  torchDevice: string;
  python: string;
  root: string;
  question: string;
  cold: boolean;
  kvOnGpu: boolean;
  log: (s: string) => void;
}

export async function benchModel(t: BenchTarget, o: ModelOpts): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const engine = await CoconutEngine.load(t.dir, { provider: o.provider as never, threads: o.threads });
  const loadMs = performance.now() - t0;
  const info = engine.info;
  // Every session timed here runs the thread count the engine chose or was given.
  const threads = info.threads;
  const m = engine.model.manifest;
  const a = m.architecture;
  const res: Record<string, unknown> = {
    label: t.label,
    dir: t.dir,
    note: t.note,
    architecture: { n_layer: a.n_layer, n_head: a.n_head, n_embd: a.n_embd, vocab_size: a.vocab_size, n_positions: a.n_positions },
    provider: info.provider,
    ...(info.providerNotice ? { providerNotice: info.providerNotice } : {}),
    threads,
    ...(info.threadChoice ? { threadChoice: info.threadChoice } : {}),
    loadMs: round(loadMs),
  };
  try {
    // Session creation alone (the graph plain passes run, optimised for the provider), a few times.
    const creates: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c0 = performance.now();
      const c = await createSession(engine.source, { provider: info.provider, threads });
      creates.push(performance.now() - c0);
      await c.session.release();
    }
    res.sessionCreateMs = stat(creates);

    const kvOnGpuLayers = o.kvOnGpu && info.provider === 'webgpu' ? a.n_layer : undefined;
    if (kvOnGpuLayers) res.kvOnGpu = true;
    // The sessions the engine runs: plain passes on `session`; where that graph has no thought loop,
    // thoughts in one call on the whole decoder's (loop-session.ts).
    const { session } = await createSession(engine.source, { provider: info.provider, threads, kvOnGpuLayers });
    // Whether the passes timed call the native run at once (direct-session.ts) or through onnxruntime-node's setImmediate.
    res.directRun = runsDirect(session);
    // As the engine: thoughts in one call on the CPU only, for now (empty-tensors.ts).
    const loop =
      engine.source === engine.model.decoderPath || !thoughtLoopRunsOn(info.provider)
        ? undefined
        : (await createSession(engine.model.decoderPath, { provider: info.provider, threads })).session;
    try {
      const thoughts = Math.min(m.thoughts.max, 6);
      const answer = 8;
      // The steps run on the example question when it fits: a trained model's activations on real
      // input (sharp attention, tiny probabilities) cost what users see; synthetic ids may not.
      const s = m.special_tokens;
      const real = benchPrompt(engine, o.question, thoughts + answer + 2);
      const prompt = real ?? [...syntheticPrompt(Math.min(64, a.n_positions - 40), a.vocab_size, [s.bot.id, s.eot.id, s.latent.id, s.eos.id]), s.bot.id];
      const plan = { promptTokens: prompt.length - 1, thoughts, answerTokens: answer, prompt };
      res.plan = {
        promptTokens: plan.promptTokens,
        thoughts,
        answerTokens: answer,
        note: `prompt: ${real ? 'the example question' : 'synthetic token ids'} + bot; thought steps feed last_hidden_state back; token steps feed wte rows`,
      };
      const ours: StepTimes = { prefillMs: [], thoughtMs: [], tokenMs: [], thoughtInOneCallMs: [] };
      const add = (x: StepTimes) => {
        ours.prefillMs.push(...x.prefillMs);
        ours.thoughtMs.push(...x.thoughtMs);
        ours.tokenMs.push(...x.tokenMs);
        ours.thoughtInOneCallMs.push(...x.thoughtInOneCallMs);
      };
      // A plain inspect's thoughts run in one call (the graph's thought loop); interventions and
      // branches step one by one. Both are reported: the step is what every thought cost before.
      const inOneCall = () => {
        if (ours.thoughtInOneCallMs.length === 0) return;
        res.thoughtInOneCallMs = stat(ours.thoughtInOneCallMs);
      };
      if (o.vsPytorch) {
        const { ref, hello } = await PytorchReference.start({
          python: o.python,
          root: o.root,
          modelDir: t.dir,
          threads: o.torchThreads,
          device: o.torchDevice,
        });
        try {
          res.pytorch = { ...hello, parity: await checkParity(session, engine, ref, prompt, 3) };
          const theirs = { prefill: [] as number[], thought: [] as number[], token: [] as number[] };
          const blocks = 8;
          const per = Math.max(1, Math.ceil(o.runs / 2));
          await ref.block(prompt, thoughts, answer, 1, 1); // warm up theirs
          add(await timeSteps(session, m, engine.model.probe, { ...plan, runs: 0, warmupRuns: 2 }, loop));
          for (let b = 0; b < blocks; b++) {
            add(await timeSteps(session, m, engine.model.probe, { ...plan, runs: per, warmupRuns: 0 }, loop));
            const r = await ref.block(prompt, thoughts, answer, per, 0);
            theirs.prefill.push(...r.prefill_ms);
            theirs.thought.push(...r.thought_ms);
            theirs.token.push(...r.token_ms);
            o.log(`  block ${b + 1}/${blocks}: ours ${median(ours.thoughtMs).toFixed(3)} ms/thought, pytorch ${median(theirs.thought).toFixed(3)} ms/thought`);
          }
          // The whole reference loop on the example question, for the warm inspect row: theirs
          // runs the loop only, ours also decodes every thought.
          const k = m.thoughts.default;
          const whole = await ref.answers(new Array(Math.max(8, o.runs)).fill(prompt), k, s.eot.id, s.eos.id, engine.info.maxNewTokens);
          Object.assign(res.pytorch as object, {
            wholeRunMs: { ...stat(whole.ms.slice(3)), thoughts: k },
            prefillMs: stat(theirs.prefill),
            thoughtStepMs: stat(theirs.thought),
            tokenStepMs: stat(theirs.token),
            interleavedBlocks: blocks,
          });
          res.prefillMs = stat(ours.prefillMs);
          res.thoughtStepMs = stat(ours.thoughtMs);
          res.tokenStepMs = stat(ours.tokenMs);
          res.thought_step_speedup_vs_pytorch = round(median(theirs.thought) / median(ours.thoughtMs));
          inOneCall();
          if (res.thoughtInOneCallMs) res.thought_in_one_call_speedup_vs_pytorch = round(median(theirs.thought) / median(ours.thoughtInOneCallMs));
          res.token_step_speedup_vs_pytorch = round(median(theirs.token) / median(ours.tokenMs));
          res.prefill_speedup_vs_pytorch = round(median(theirs.prefill) / median(ours.prefillMs));
        } finally {
          await ref.close();
        }
      } else {
        add(await timeSteps(session, m, engine.model.probe, { ...plan, runs: o.runs * 4, warmupRuns: 2 }, loop));
        res.prefillMs = stat(ours.prefillMs);
        res.thoughtStepMs = stat(ours.thoughtMs);
        res.tokenStepMs = stat(ours.tokenMs);
        inOneCall();
      }
    } finally {
      await session.release();
      await loop?.release();
    }

    // Warm inspect: the engine as the extension uses it (tokenize, loop, decode every thought).
    const k = m.thoughts.default;
    // Three runs first: onnxruntime plans memory for each new sequence length once. The engine makes
    // its thought loop's session at its second run; a warm engine has it.
    await engine.prepareThoughtLoop();
    for (let i = 0; i < 3; i++) await engine.inspect({ question: o.question, thoughts: k });
    const warm: number[] = [];
    const parts = { tokenizeMs: [] as number[], prefillMs: [] as number[], thoughtsMs: [] as number[], answerMs: [] as number[], decodeMs: [] as number[] };
    let shape = { promptTokens: 0, answerTokens: 0 };
    for (let i = 0; i < Math.max(5, o.runs); i++) {
      const w0 = performance.now();
      const r = await engine.inspect({ question: o.question, thoughts: k });
      warm.push(performance.now() - w0);
      for (const key of Object.keys(parts) as (keyof typeof parts)[]) parts[key].push(r.timings[key]);
      shape = { promptTokens: r.promptTokens.length, answerTokens: r.answer.tokens.length + (r.answer.stoppedBy === 'eos' ? 1 : 0) };
    }
    const theirRun = (res.pytorch as { wholeRunMs?: Stat } | undefined)?.wholeRunMs;
    if (theirRun) res.warm_inspect_speedup_vs_pytorch_loop = round(theirRun.median / median(warm));
    res.warmInspectMs = {
      ...stat(warm),
      thoughts: k,
      ...shape,
      medians: Object.fromEntries(Object.entries(parts).map(([key, xs]) => [key, round(median(xs))])),
      decodeMs: stat(parts.decodeMs),
    };
    if (o.cold) res.coldInspectMs = await coldInspect(t.dir, info.provider, o, k);
    if (o.cold) res.hostMemoryMB = await hostMemory(t.dir, info.provider, o, k);
  } finally {
    await engine.dispose();
  }
  o.log(`  ${t.label}: thought step ${JSON.stringify(res.thoughtStepMs)} ms, warm inspect ${JSON.stringify((res.warmInspectMs as Stat).median)} ms`);
  return res;
}

/** Same inputs into both loops: the largest difference of the LM-head logits, prefill + thoughts. */
async function checkParity(
  session: import('onnxruntime-node').InferenceSession,
  engine: CoconutEngine,
  ref: PytorchReference,
  prompt: number[],
  thoughts: number,
) {
  const theirs = await ref.check(prompt, thoughts);
  const dec = new Decoder(session, engine.model.manifest, engine.model.probe);
  dec.reset();
  let out = await dec.step(dec.embed(prompt));
  const ours = [out.logits];
  for (let j = 0; j < thoughts; j++) {
    out = await dec.step(out.lastHidden);
    ours.push(out.logits);
  }
  let maxAbs = 0;
  ours.forEach((l, i) => l.forEach((v, j) => (maxAbs = Math.max(maxAbs, Math.abs(v - theirs[i][j])))));
  const ok = maxAbs < 1e-3;
  if (!ok) {
    throw new EngineError(
      'INTERNAL',
      `the PyTorch reference and the engine disagree on the same inputs: max |Δlogit| = ${maxAbs}`,
      'the timings would compare different models; check training/bench_reference.py against the export',
    );
  }
  return { passes: ours.length, maxAbsLogitDiff: maxAbs, ok };
}

/** The question's ids + bot, or undefined when it cannot be encoded or leaves no room for `after` positions. */
function benchPrompt(engine: CoconutEngine, question: string, after: number): number[] | undefined {
  try {
    const ids = promptWithBot(engine.model, question);
    return ids.length + after <= engine.model.manifest.architecture.n_positions ? ids : undefined;
  } catch {
    return undefined;
  }
}
