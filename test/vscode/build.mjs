// Compiles the extension-host test runner and suites (TypeScript) to out/test/vscode/, one
// CommonJS file per entry; `vscode` and packages stay external (the host and node_modules give them).
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { nodeOptions } from '../../esbuild.config.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const compiledDir = join(here, '../../out/test/vscode');
export const compiledRunner = join(compiledDir, 'runner.js');

export async function compileSuites() {
  const suites = readdirSync(join(here, 'suite'))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(here, 'suite', f));
  if (suites.length === 0) throw new Error(`No suites (*.test.ts) in ${join(here, 'suite')}`);
  // A suite deleted from the source tree must not keep running from a stale build.
  rmSync(compiledDir, { recursive: true, force: true });
  await esbuild.build({
    ...nodeOptions,
    entryPoints: [join(here, 'runner.ts'), ...suites],
    outbase: here,
    outdir: compiledDir,
    packages: 'external',
    external: ['vscode'],
    sourcemap: 'inline',
  });
  return suites.length;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = await compileSuites();
  console.log(`compiled ${n} extension-host suite(s) to ${compiledDir}`);
}
