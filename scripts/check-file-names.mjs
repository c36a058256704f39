// `npm run lint`: every source file under src/, webview/ and test/unit/ is named in kebab-case
// (run-history.ts, not runHistory.ts), so a reader can guess a module's file from its name.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from './vscode-server.mjs';

const bad = [];
function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\.(ts|mjs|cjs|js)$/.test(e.name) && !/^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+)*$/.test(e.name)) bad.push(relative(repoRoot, p));
  }
}
for (const d of ['src', 'webview', 'test/unit']) walk(join(repoRoot, d));
if (bad.length) {
  console.error(`file names not in kebab-case (rename them, e.g. runHistory.ts -> run-history.ts):\n  ${bad.join('\n  ')}`);
  process.exit(1);
}
console.log('every file name under src/, webview/ and test/unit/ is kebab-case');
