// Restricted Mode in a real VS Code: the same server + browser as run.mjs, but with workspace trust
// switched on and the trust prompt off, so the workspace opens untrusted. Runs only the suites
// "workspace trust" (test/vscode/suite/restricted.test.ts), whose restricted-mode tests register
// only here.
//
//   node --test test/vscode/restricted.test.mjs
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compiledRunner, compileSuites } from './build.mjs';
import { openWorkbench, outputDir, prepareWorkspace, repoRoot } from './harness.mjs';
import { extensionUnderTest } from './vsix.mjs';

const CONSOLE_MARK = '[ext-host] ';
const resultsFile = join(outputDir, 'vscode-restricted.json');
const TRUST_ON = {
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.banner': 'never',
  'security.workspace.trust.untrustedFiles': 'open',
};

describe('Restricted Mode (untrusted workspace)', { timeout: 600_000 }, () => {
  let workbench;
  let results;

  before(async () => {
    const main = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).main;
    if (!existsSync(join(repoRoot, main))) throw new Error(`The extension is not built (${main}); run npm run build.`);
    await compileSuites();
    rmSync(resultsFile, { force: true });
    const workspace = prepareWorkspace();
    workbench = await openWorkbench({
      folder: workspace,
      ...extensionUnderTest(),
      extensionTestsPath: compiledRunner,
      userSettings: TRUST_ON,
      env: { COCONUT_TEST_RESULTS: resultsFile, COCONUT_TEST_GREP: 'workspace trust', COCONUT_TEST_RESTRICTED: '1' },
      logName: 'vscode-restricted',
      onConsole: (text) => {
        const at = text.indexOf(CONSOLE_MARK);
        if (at >= 0) process.stdout.write(text.slice(at + CONSOLE_MARK.length) + '\n');
      },
    });
    const code = await Promise.race([workbench.exited, new Promise((r) => setTimeout(() => r('timeout'), 300_000).unref())]);
    assert.notEqual(code, 'timeout', 'the extension tests did not finish within 300 s (see test-output/vscode-restricted-console.log)');
    assert.ok(existsSync(resultsFile), 'the extension host wrote no results');
    results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  });

  after(async () => {
    await workbench?.close();
  });

  it('runs the restricted-mode suite in an untrusted workspace, all passing', () => {
    assert.deepEqual(results.failures, []);
    assert.equal(results.failed, 0);
    assert.ok(results.passed >= 7, `${results.passed} workspace-trust tests passed`);
  });
});
