// `node dist/provider-trial.js MODEL_DIR PROVIDER THREADS`: the child process of provider-trial.ts.
// Runs what the engine's first load and inspect run on a provider (the session of its plain passes,
// a prompt's pass, two thoughts fed back, a token) and prints one JSON line: {"ok": true}, or
// {"ok": false, "reason"} where the provider fell back or produced no numbers. A native crash
// kills only this process; the parent reads its signal.
import { syntheticPrompt } from './bench/steps';
import { Decoder } from './decoder';
import { plainPassSource } from './loop-free-graph';
import { fileForRole } from './manifest';
import { loadModelDir } from './model-dir';
import { createSession } from './session';
import type { ProviderName } from '../shared/types';

async function trial(dir: string, provider: ProviderName, threads: number): Promise<{ ok: boolean; reason?: string }> {
  const model = await loadModelDir(dir);
  const source = (await plainPassSource(model.decoderPath, fileForRole(model.manifest, 'decoder'))) ?? model.decoderPath;
  const created = await createSession(source, { provider, threads });
  if (created.provider !== provider) {
    const cause = /could not start \((.*)\); running on/s.exec(created.providerNotice ?? '')?.[1];
    return { ok: false, reason: cause ? `could not start (${cause})` : `could not start: it ran on ${created.provider}` };
  }
  const m = model.manifest;
  const s = m.special_tokens;
  const dec = new Decoder(created.session, m, model.probe);
  dec.reset();
  let out = await dec.step(dec.embed([...syntheticPrompt(8, m.architecture.vocab_size, [s.bot.id, s.eot.id, s.latent.id, s.eos.id]), s.bot.id]));
  for (let t = 0; t < 2; t++) out = await dec.step(out.lastHidden);
  out = await dec.step(dec.embed([s.eot.id]));
  if (!out.logits.every(Number.isFinite)) return { ok: false, reason: 'gave logits that are not finite numbers in a trial run' };
  await created.session.release();
  return { ok: true };
}

// A parent that went away (the editor closed mid-trial) has no use for the answer.
process.on('disconnect', () => process.exit(0));
// Exits once the line is written (pipes are asynchronous on Windows), also with an IPC channel open.
const say = (r: { ok: boolean; reason?: string }) => process.stdout.write(JSON.stringify(r) + '\n', () => process.exit(0));
const [dir, provider, threads] = process.argv.slice(2);
trial(dir, provider as ProviderName, Number(threads) || 1).then(say, (e) =>
  say({ ok: false, reason: `failed in a trial run: ${e instanceof Error ? e.message.split('\n')[0].slice(0, 300) : String(e)}` }),
);
