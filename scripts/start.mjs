// `npm start`: the main job on the shipped default model. Prints the decoded thoughts of an
// official ProsQA record in the terminal, then opens VS Code (its own server, in the browser) with
// the extension loaded and the example prompt folder, and prints the URL. Ctrl-C stops it.
//
//   npm start                      terminal inspect + VS Code in the browser
//   npm start -- --no-server       terminal inspect only
//   npm start -- --model DIR       another model folder (default: models/prosqa-coconut)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot, startServer } from './vscode-server.mjs';
import { workbenchUrl, writeUserSettings } from '../test/vscode/harness.mjs';

const args = process.argv.slice(2);
const modelArg = args.includes('--model') ? resolve(args[args.indexOf('--model') + 1]) : undefined;
const modelDir = modelArg ?? join(repoRoot, 'models/prosqa-coconut');
const examples = join(repoRoot, 'examples');

if (!existsSync(join(modelDir, 'coconut.json'))) {
  console.error(
    `No model at ${modelDir}.\n` +
      'The default model is models/prosqa-coconut (see models/README.md and training/README.md);\n' +
      'pass --model DIR to use another one, e.g. npm start -- --model test/fixtures/tiny-model',
  );
  process.exit(2);
}

// 1. The same engine headless: decoded thoughts of record 0 in the terminal.
const cli = spawnSync(
  process.execPath,
  [join(repoRoot, 'bin/coconut-lens.js'), 'inspect', join(examples, 'prosqa.json'), '--record', '0', '--model', modelDir],
  { stdio: 'inherit' },
);
if (cli.status !== 0) process.exit(cli.status ?? 1);
if (args.includes('--no-server')) process.exit(0);

// 2. VS Code in the browser with the extension under development and the examples folder open.
const server = await startServer({ timeoutMs: 120_000 });
writeUserSettings(server, modelArg ? { 'coconutLens.modelPath': modelDir } : {});
const url = workbenchUrl(server, { folder: examples, extensionDevelopmentPath: repoRoot });
console.log(
  `\nVS Code with Coconut Lens is running (server pid ${server.pid}). Open in a browser:\n\n  ${url}\n\n` +
    'Open prosqa.json, put the cursor in a record and run "Coconut Lens: Inspect Latent Thoughts" from\n' +
    'the command palette (F1). On a remote machine, forward the port first (ssh -L PORT:127.0.0.1:PORT).\n' +
    'Ctrl-C stops the server.',
);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
await new Promise(() => {});
