// The extension as users install it: builds the linux-x64 VSIX (scripts/package.mjs), checks what
// it carries, installs it into the test VS Code server with the server's own command line and runs
// the UI tests (ui.test.mjs, ui-sidebar.test.mjs, ui-shipped-model.test.mjs) against the installed
// copy; no extensionDevelopmentPath is given, so the development folder is not loaded at all.
//
//   node --test test/vscode/vsix.test.mjs          (COCONUT_TEST_VSIX=FILE skips the build)
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { zipEntries, zipRead } from '../../scripts/zip-entries.mjs';
import { repoRoot } from './harness.mjs';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));

describe('linux-x64 VSIX', { timeout: 900_000 }, () => {
  let vsix = process.env.COCONUT_TEST_VSIX;

  before(() => {
    if (vsix) return;
    const outDir = join(repoRoot, 'out', 'vsix-test');
    execFileSync(process.execPath, [join(repoRoot, 'scripts/package.mjs'), '--target', 'linux-x64', '--out', outDir], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 300_000,
    });
    vsix = join(outDir, `${pkg.name}-linux-x64-${pkg.version}.vsix`);
  });

  it('carries the bundles and linux-x64 onnxruntime only', () => {
    const names = zipEntries(vsix);
    for (const f of ['extension.js', 'engine-worker.js', 'provider-trial.js', 'batch-lane.js', 'webview.js', 'cli.js'])
      assert.ok(names.includes(`extension/dist/${f}`), f);
    assert.ok(names.includes('extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node'));
    assert.ok(names.includes('extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1'));
    assert.ok(names.includes('extension/node_modules/onnxruntime-common/package.json'));
    assert.deepEqual(
      names.filter((n) => n.includes('/napi-v6/') && !n.includes('/napi-v6/linux/x64/')),
      [],
    );
    assert.deepEqual(
      names.filter((n) => n.endsWith('.map') || n.includes('/src/') || n.includes('/test/')),
      [],
    );
    const manifest = zipRead(vsix, 'extension.vsixmanifest')?.toString('utf8') ?? '';
    assert.match(manifest, /TargetPlatform="linux-x64"/, 'the VSIX manifest names its target platform');
  });

  it('carries exactly what the extension needs, and its page is the user-facing README with every picture inside', () => {
    const names = zipEntries(vsix).filter((n) => !n.endsWith('/'));
    // Everything the extension loads, shows or documents, and nothing else (no sources, tests,
    // training code, other platforms' binaries or development files).
    const allowed = [
      /^extension\.vsixmanifest$/,
      /^\[Content_Types\]\.xml$/,
      // vsce stores the page and the changelog as readme.md and changelog.md
      /^extension\/(package\.json|package\.nls\.json|readme\.md|changelog\.md|LICENSE(\.txt)?)$/,
      /^extension\/dist\/(extension|engine-worker|provider-trial|batch-lane|webview|cli)\.js$/,
      /^extension\/bin\/[^/]+$/,
      /^extension\/media\/.+\.(css|png|svg|md)$/,
      /^extension\/examples\/[^/]+$/,
      /^extension\/syntaxes\/[^/]+$/,
      /^extension\/models\/README\.md$/,
      /^extension\/models\/prosqa-coconut\/(coconut\.json|decoder\.onnx|probe\.safetensors|tokenizer\.json|README\.md)$/,
      /^extension\/node_modules\/onnxruntime-(node|common)\/(package\.json|LICENSE)$/,
      /^extension\/node_modules\/onnxruntime-(node|common)\/dist\/.+\.(js|cjs|mjs|json)$/,
      /^extension\/node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/[^/]+$/,
    ];
    assert.deepEqual(
      names.filter((n) => !allowed.some((re) => re.test(n))),
      [],
      'files the extension does not need',
    );
    for (const f of ['package.json', 'package.nls.json', 'readme.md', 'changelog.md', 'models/prosqa-coconut/decoder.onnx', 'media/icon.png']) {
      assert.ok(names.includes(`extension/${f}`), `${f} is missing`);
    }
    const readme = zipRead(vsix, 'extension/readme.md')?.toString('utf8') ?? '';
    assert.equal(readme, readFileSync(join(repoRoot, 'MARKETPLACE.md'), 'utf8'), 'the page is MARKETPLACE.md, not the developer README');
    const pictures = [...readme.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]);
    assert.ok(pictures.length >= 4, 'a picture of each view');
    for (const p of pictures) assert.ok(names.includes(`extension/${p}`), `the page shows ${p}, which the VSIX does not carry`);
  });

  // A new user's path on the installed copy: the walkthrough inspects the example, a hover, the run
  // found again in the side bar (ui-sidebar); the shipped model's thoughts and graph (ui-shipped-model).
  it("passes the UI tests when installed into VS Code's server", () => {
    const files = ['test/vscode/ui.test.mjs', 'test/vscode/ui-sidebar.test.mjs', 'test/vscode/ui-shipped-model.test.mjs'];
    const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
      cwd: repoRoot,
      // Without NODE_TEST_CONTEXT the child is a test run of its own, not a nested one.
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), COCONUT_TEST_VSIX: vsix },
      encoding: 'utf8',
      timeout: 600_000,
    });
    const output = `${r.stdout}\n${r.stderr}`;
    process.stdout.write(output.replace(/^/gm, '  | '));
    const count = (key) => Number(new RegExp(`^ℹ ${key} (\\d+)`, 'm').exec(output)?.[1] ?? NaN);
    assert.match(output, /installed .*coconut-lens\.coconut-lens-/i, 'the UI test ran against the installed VSIX');
    assert.ok(count('pass') >= 6, 'the UI tests of the three files ran');
    assert.equal(count('fail'), 0, 'no UI test failed');
    assert.equal(r.status, 0);
  });
});
