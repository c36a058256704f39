// `npm run typecheck`: one tsc run per layer, each with only the libraries that layer may use, so a
// wrong import (the webview reaching for Node, the engine for the DOM) fails to compile. The root
// tsconfig.json covers tests and scripts. Exits non-zero if any program has errors.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Every tsconfig of the repository: the layers (docs/architecture.md) and the test program. */
const TSCONFIGS = [
  'src/shared/tsconfig.json', // shared types and the protocol: neither Node nor the DOM
  'src/engine/tsconfig.json', // engine and prompt parsing: Node
  'src/cli/tsconfig.json', // command line: Node
  'src/extension/tsconfig.json', // extension host: Node + vscode
  'webview/tsconfig.json', // panel: DOM
  'tsconfig.json', // tests and scripts
];

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
let failed = 0;
for (const config of TSCONFIGS) {
  const r = spawnSync(process.execPath, [tsc, '-p', config], { cwd: repoRoot, stdio: 'inherit' });
  console.log(`${r.status === 0 ? 'ok  ' : 'FAIL'}  tsc -p ${config}`);
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
