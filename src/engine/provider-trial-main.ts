// `node dist/provider-trial.js MODEL_DIR PROVIDER THREADS`: the child process of provider-trial.ts.
// Runs what the engine's first load and inspect run on a provider (the session of its plain passes,
// a prompt's pass, two thoughts fed back, a token), the same on the CPU, and prints one JSON line:
// {"ok": true}, or {"ok": false, "reason"} where the provider fell back, or its numbers are not
// finite or not the CPU's (a wrong number is worse than a slow one to someone reading thoughts).
// A native crash kills only this process; the parent reads its signal.
import type { InferenceSession } from 'onnxruntime-node';
import { syntheticPrompt } from './bench/steps';
import { Decoder } from './decoder';
import { plainPassSource } from './loop-free-graph';
import { fileForRole } from './manifest';
import { loadModelDir, type ModelDir } from './model-dir';
import { TRIAL_TOLERANCE, trialDisagreement } from './provider-trial';
import { createSession } from './session';
import type { ProviderName } from '../shared/types';

async function trial(dir: string, provider: ProviderName, threads: number): Promise<{ ok: boolean; reason?: string }> {
  const model = await loadModelDir(dir);
  const source = (await plainPassSource(model.decoderPath, fileForRole(model.manifest, 'decoder'))) ?? model.decoderPath;
  const created = await createSession(source, { provider, threads });
  if (created.provider !== provider)
    return { ok: false, reason: `could not start in a trial process (${created.providerFailure ?? `it ran on ${created.provider}`})` };
  const cpu = await createSession(source, { provider: 'cpu', threads });
  try {
    const theirs = await trialPasses(created.session, model);
    if (!theirs.every((x) => x.every(Number.isFinite))) return { ok: false, reason: 'gave numbers that are not finite in a trial run' };
    const d = trialDisagreement(theirs, await trialPasses(cpu.session, model));
    if (d > TRIAL_TOLERANCE)
      return { ok: false, reason: `gave numbers ${d.toExponential(1)} of their scale away from the CPU's in a trial run (more than ${TRIAL_TOLERANCE})` };
    return { ok: true };
  } finally {
    await created.session.release();
    await cpu.session.release();
  }
}

/** A prompt's pass, two thoughts fed back and a token: each pass's logits and last hidden state. */
async function trialPasses(session: InferenceSession, model: ModelDir): Promise<Float32Array[]> {
  const m = model.manifest;
  const s = m.special_tokens;
  const dec = new Decoder(session, m, model.probe);
  dec.reset();
  const seen: Float32Array[] = [];
  let out = await dec.step(dec.embed([...syntheticPrompt(8, m.architecture.vocab_size, [s.bot.id, s.eot.id, s.latent.id, s.eos.id]), s.bot.id]));
  seen.push(out.logits, out.lastHidden);
  for (let t = 0; t < 2; t++) {
    out = await dec.step(out.lastHidden);
    seen.push(out.logits, out.lastHidden);
  }
  out = await dec.step(dec.embed([s.eot.id]));
  seen.push(out.logits, out.lastHidden);
  return seen;
}

// A parent that went away (the editor closed mid-trial) has no use for the answer.
process.on('disconnect', () => process.exit(0));
// Exits once the line is written (pipes are asynchronous on Windows), also with an IPC channel open.
const say = (r: { ok: boolean; reason?: string }) => process.stdout.write(JSON.stringify(r) + '\n', () => process.exit(0));
const [dir, provider, threads] = process.argv.slice(2);
trial(dir, provider as ProviderName, Number(threads) || 1).then(say, (e) =>
  say({ ok: false, reason: `failed in a trial run: ${e instanceof Error ? e.message.split('\n')[0].slice(0, 300) : String(e)}` }),
);
