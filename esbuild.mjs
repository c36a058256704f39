// `npm run build` (and `npm run watch`): every bundle of esbuild.config.mjs into dist/.
import * as esbuild from 'esbuild';
import { bundles } from './esbuild.config.mjs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const builds = Object.values(bundles).map((b) => ({ ...b, sourcemap: !production, minify: production }));

if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
