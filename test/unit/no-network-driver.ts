// Run by test/unit/no-network.test.ts under no-network-guard.cjs: loads the fixture model, inspects
// a question in this thread and through the worker (EngineClient, as the extension does), parses a
// prompt file, and exits 0 only if every step worked.
import { EngineClient } from '../../src/engine/client';
import { CoconutEngine } from '../../src/engine/engine';
import { parsePromptFile } from '../../src/prompts';

async function main(): Promise<void> {
  const [modelDir, workerPath, question] = process.argv.slice(2);
  const engine = await CoconutEngine.load(modelDir, { provider: 'cpu', threads: 1 });
  const direct = await engine.inspect({ question, thoughts: 2 });
  await engine.dispose();
  const client = new EngineClient({ workerPath });
  await client.load(modelDir, 'cpu', { threads: 1 });
  const viaWorker = await client.inspect({ question, thoughts: 2 });
  client.dispose();
  if (direct.answer.text !== viaWorker.answer.text) throw new Error('worker and direct runs differ');
  const parsed = parsePromptFile(JSON.stringify([{ question, answer: 'x' }]), 'prompts.json');
  process.stdout.write(JSON.stringify({ answer: direct.answer.text, thoughts: direct.thoughts.length, records: parsed.records.length }) + '\n');
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
