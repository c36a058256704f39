// `npm run package`: platform-specific VSIX files, each with only its own onnxruntime binaries.
//
//   node scripts/package.mjs [--target linux-x64,win32-x64,...] [--out DIR] [--keep-stage]
//
// 1. Production bundles: `node esbuild.mjs --production` (the development bundles are rebuilt at
//    the end, so dist/ keeps its source maps for tests and debugging).
// 2. Per target, a staging folder out/vsix/stage/<target>/ with exactly what the extension needs:
//    package.json, package.nls.json, README (from MARKETPLACE.md)/CHANGELOG/LICENSE, examples/, dist/{extension,engine-worker,provider-trial,webview,cli}.js, bin/, media/,
//    the files package.json's contributes name (grammars, ...), models/README.md, the default model models/prosqa-coconut/ when it exists, and
//    node_modules/{onnxruntime-node,onnxruntime-common} with onnxruntime-node's
//    bin/napi-v6/<os>/<arch> for that target only. The repository's node_modules is never touched.
// 3. `vsce package --target <target>` in the staging folder (vsce finds onnxruntime-node through
//    `npm list`, offline; the copied .vscodeignore applies), then a check that the VSIX holds the
//    target's native binding and no other platform's.
// Prints each VSIX with its size. Default targets: every platform onnxruntime-node ships binaries
// for (darwin-x64 is not among them in onnxruntime-node 1.30).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { zipEntries } from './zip-entries.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ORT_BIN = join(root, 'node_modules/onnxruntime-node/bin/napi-v6');
const ALL_TARGETS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'darwin-x64', 'win32-x64', 'win32-arm64'];
const BUNDLES = ['extension.js', 'engine-worker.js', 'provider-trial.js', 'batch-lane.js', 'webview.js', 'cli.js'];
const DEFAULT_MODEL = 'models/prosqa-coconut';

const { values: opts } = parseArgs({
  options: {
    target: { type: 'string' },
    out: { type: 'string', default: join(root, 'out', 'vsix') },
    'keep-stage': { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false },
  },
});

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const outDir = opts.out;
const stageRoot = join(outDir, 'stage');

function ortDir(target) {
  const [os, arch] = target.split('-');
  return join(ORT_BIN, os, arch);
}

const requested = opts.target
  ? opts.target
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  : ALL_TARGETS;
const unknown = requested.filter((t) => !ALL_TARGETS.includes(t));
if (unknown.length) {
  console.error(`Unknown target(s) ${unknown.join(', ')}; known: ${ALL_TARGETS.join(', ')}.`);
  process.exit(2);
}
const targets = [];
for (const t of requested) {
  if (existsSync(join(ortDir(t), 'onnxruntime_binding.node'))) targets.push(t);
  else console.warn(`warning: skipping ${t}: onnxruntime-node ${ortVersion()} has no binaries for it (${relative(root, ortDir(t))}).`);
}
if (targets.length === 0) {
  console.error('No target can be packaged.');
  process.exit(1);
}

const hasModel = existsSync(join(root, DEFAULT_MODEL, 'coconut.json'));
if (!hasModel) {
  console.warn(
    `warning: ${DEFAULT_MODEL}/ does not exist, so the VSIX files carry no default model; users must add ` +
      'one (Coconut Lens: Add Model…) before the first run. Train or import a model into it, then package again.',
  );
}

const run = (cmd, args, cwd = root) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });

if (!opts['skip-build']) {
  console.log('Building production bundles (node esbuild.mjs --production)…');
  run(process.execPath, ['esbuild.mjs', '--production']);
}
for (const b of BUNDLES) {
  if (!existsSync(join(root, 'dist', b))) {
    console.error(`dist/${b} is missing: the build did not produce it.`);
    process.exit(1);
  }
}

const vsce = join(root, 'node_modules/@vscode/vsce/vsce');
mkdirSync(outDir, { recursive: true });
const results = [];
let failed = false;
try {
  for (const target of targets) {
    const stage = join(stageRoot, target);
    rmSync(stage, { recursive: true, force: true });
    mkdirSync(stage, { recursive: true });
    stageTarget(stage, target);
    const vsix = join(outDir, `${pkg.name}-${target}-${pkg.version}.vsix`);
    rmSync(vsix, { force: true });
    console.log(`\nPackaging ${target}…`);
    run(
      process.execPath,
      [vsce, 'package', '--target', target, '--dependencies', '--no-yarn', '--allow-missing-repository', '--skip-license', ...imageLinks(), '--out', vsix],
      stage,
    );
    const problems = checkVsix(vsix, target);
    if (problems.length) {
      failed = true;
      console.error(`${relative(root, vsix)}: ${problems.join('; ')}`);
    }
    results.push({ target, vsix, bytes: statSync(vsix).size });
    if (!opts['keep-stage']) rmSync(stage, { recursive: true, force: true });
  }
} finally {
  if (!opts['skip-build']) {
    // Back to the development bundles (source maps) that the tests and the debugger expect.
    run(process.execPath, ['esbuild.mjs']);
  }
  if (!opts['keep-stage']) rmSync(stageRoot, { recursive: true, force: true });
}

console.log('\nVSIX files:');
for (const r of results) console.log(`  ${relative(root, r.vsix)}  ${(r.bytes / 1024 / 1024).toFixed(1)} MiB (${r.bytes} bytes)`);
if (!hasModel) console.log(`  (no default model: ${DEFAULT_MODEL}/ is missing)`);
writeFileSync(
  join(outDir, 'sizes.json'),
  JSON.stringify({ defaultModel: hasModel, vsix: results.map((r) => ({ target: r.target, file: relative(root, r.vsix), bytes: r.bytes })) }, null, 2) + '\n',
);
process.exit(failed ? 1 : 0);

/** Copies what the extension needs for `target` into `stage`. */
function stageTarget(stage, target) {
  const copy = (rel, to = rel, filter) => cpSync(join(root, rel), join(stage, to), { recursive: true, filter });
  const stagedPkg = { ...pkg };
  // Nothing in the VSIX runs npm. The tokenizer library is bundled into dist/, so onnxruntime-node
  // (native, external to the bundles) is the one runtime dependency vsce must find and pack.
  delete stagedPkg.scripts;
  delete stagedPkg.devDependencies;
  stagedPkg.dependencies = { 'onnxruntime-node': pkg.dependencies['onnxruntime-node'] };
  writeFileSync(join(stage, 'package.json'), JSON.stringify(stagedPkg, null, 2) + '\n');
  // The extension page is MARKETPLACE.md (for people who install it); the repository's README.md
  // is for the people who build it.
  copy('MARKETPLACE.md', 'README.md');
  copy('CHANGELOG.md');
  if (existsSync(join(root, 'LICENSE'))) copy('LICENSE');
  for (const b of BUNDLES) copy(join('dist', b));
  copy('bin');
  copy('media');
  // The titles package.json names by %key%, and the prompt files the walkthrough and Examples view open.
  copy('package.nls.json');
  copy('examples');
  // Files the manifest points at (grammars, language configurations, icons).
  for (const rel of manifestFiles()) copy(rel);
  copy('models/README.md');
  if (hasModel) copy(DEFAULT_MODEL);
  const noMaps = (src) => !src.endsWith('.map') && !src.endsWith('.ts');
  for (const dep of ['onnxruntime-common', 'onnxruntime-node']) {
    const base = join('node_modules', dep);
    const depPkg = JSON.parse(readFileSync(join(root, base, 'package.json'), 'utf8'));
    if (dep === 'onnxruntime-node') {
      // adm-zip and global-agent serve only its install script (a CUDA download), which the VSIX
      // does not carry; onnxruntime-common is what it loads at run time.
      depPkg.dependencies = { 'onnxruntime-common': depPkg.dependencies['onnxruntime-common'] };
      delete depPkg.scripts;
    }
    mkdirSync(join(stage, base), { recursive: true });
    writeFileSync(join(stage, base, 'package.json'), JSON.stringify(depPkg, null, 2) + '\n');
    copy(join(base, 'dist'), join(base, 'dist'), noMaps);
    if (existsSync(join(root, base, 'LICENSE'))) copy(join(base, 'LICENSE'));
  }
  const [os, arch] = target.split('-');
  copy(join('node_modules/onnxruntime-node/bin/napi-v6', os, arch));
  copy('.vscodeignore');
}

/** Paths of files that package.json's contributes (and icon) reference, e.g. ./syntaxes/x.json. */
function manifestFiles() {
  const found = new Set();
  const walk = (v) => {
    if (typeof v === 'string') {
      if (v.startsWith('./') && !v.startsWith('./dist/') && existsSync(join(root, v))) found.add(v.slice(2));
    } else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  walk(pkg.contributes);
  if (typeof pkg.icon === 'string') found.add(pkg.icon.replace(/^\.\//, ''));
  return [...found];
}

/** Lists the VSIX (a zip) and checks the native binding of `target` is there, and no other. */
function checkVsix(vsix, target) {
  const names = zipEntries(vsix);
  const [os, arch] = target.split('-');
  const problems = [];
  const mine = `extension/node_modules/onnxruntime-node/bin/napi-v6/${os}/${arch}/onnxruntime_binding.node`;
  if (!names.includes(mine)) problems.push(`${mine} is missing`);
  const others = names.filter((n) => n.includes('/bin/napi-v6/') && !n.includes(`/bin/napi-v6/${os}/${arch}/`));
  if (others.length) problems.push(`holds other platforms' binaries: ${others.slice(0, 3).join(', ')}`);
  for (const b of BUNDLES) if (!names.includes(`extension/dist/${b}`)) problems.push(`extension/dist/${b} is missing`);
  if (!names.includes('extension/node_modules/onnxruntime-common/package.json')) problems.push('onnxruntime-common is missing');
  if (names.some((n) => n.endsWith('.map'))) problems.push('holds source maps');
  for (const f of manifestFiles()) if (!names.includes(`extension/${f}`)) problems.push(`extension/${f} (named in package.json) is missing`);
  return problems;
}

function ortVersion() {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules/onnxruntime-node/package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

/**
 * The page's screenshots are files in the VSIX (media/screenshots). VS Code shows them from there;
 * the Marketplace needs them at a public URL: COCONUT_LENS_BASE_URL (the raw URL of the published
 * repository's root) rewrites the relative links to it. Without it the links stay relative.
 */
function imageLinks() {
  const base = process.env.COCONUT_LENS_BASE_URL;
  return base ? ['--baseContentUrl', base, '--baseImagesUrl', base] : ['--no-rewrite-relative-links'];
}
