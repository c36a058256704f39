// Runs the extension-host mocha suites (test/vscode/suite/*.test.ts) inside a real VS Code: VS Code's
// server from code-server, its web workbench in headless Chromium, the extension loaded in the
// remote (Node) extension host, and VS Code's own test runner calling runner.js's run().
//
//   node test/vscode/run.mjs [--grep TEXT] [--timeout SECONDS] [--keep]
//
// --grep runs only the tests whose title matches; --keep leaves the temp workspace and the
// server's user data (HOME, logs) in place for a look afterwards.
//
// Prints the mocha output (relayed from the browser console) and, last, a line
//   ##vscode-results {"passed":N,"failed":M}
// which scripts/test-all.mjs reads. Exit code 0 only when every test passed and at least one ran.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compiledRunner, compileSuites } from './build.mjs';
import { openWorkbench, outputDir, prepareWorkspace, repoRoot, screenshotDir } from './harness.mjs';

const { values: opts } = parseArgs({
  options: {
    grep: { type: 'string' },
    timeout: { type: 'string', default: '600' },
    keep: { type: 'boolean', default: false },
  },
});
const timeoutMs = Number(opts.timeout) * 1000;
const resultsFile = join(outputDir, 'vscode-suites.json');
const CONSOLE_MARK = '[ext-host] '; // as in runner.ts

if (!existsSync(join(repoRoot, 'dist/extension.js'))) {
  console.error('The extension is not built (dist/extension.js is missing). Run: npm run build');
  process.exit(1);
}

await compileSuites();
mkdirSync(outputDir, { recursive: true });
rmSync(resultsFile, { force: true });
const workspace = prepareWorkspace({}, { keep: opts.keep });

let exitCode = 1;
let workbench;
try {
  workbench = await openWorkbench({
    folder: workspace,
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: compiledRunner,
    env: { COCONUT_TEST_RESULTS: resultsFile, ...(opts.grep ? { COCONUT_TEST_GREP: opts.grep } : {}) },
    logName: 'vscode-suites',
    keep: opts.keep,
    // The extension host's console (the mocha reporter, marked by runner.ts) is what a reader
    // wants to see; the workbench's own logs stay in the saved console log.
    onConsole: (text) => {
      const at = text.indexOf(CONSOLE_MARK);
      if (at >= 0) process.stdout.write(text.slice(at + CONSOLE_MARK.length) + '\n');
    },
  });
  const timedOut = Symbol('timeout');
  const code = await Promise.race([workbench.exited, sleep(timeoutMs).then(() => timedOut)]);
  if (code === timedOut) {
    const shot = join(screenshotDir, 'vscode-suites-timeout.png');
    await workbench.page.screenshot({ path: shot }).catch(() => {});
    console.error(
      `\nTIMEOUT: the extension tests did not finish within ${timeoutMs / 1000} s ` +
        '(window.codeAutomationExit was never called). The workbench may have failed to load the ' +
        `extension, or a test hangs. Screenshot: ${shot}; browser console: ` +
        `${join(outputDir, 'vscode-suites-console.log')}.`,
    );
  } else {
    exitCode = code;
  }
} catch (e) {
  console.error(`\nThe VS Code test run could not be carried out: ${e.stack ?? e}`);
} finally {
  await workbench?.close();
}

let results = { passed: 0, failed: 0, failures: [] };
if (existsSync(resultsFile)) {
  results = JSON.parse(readFileSync(resultsFile, 'utf8'));
} else {
  console.error('No results came back from the extension host (runner.js did not finish).');
  exitCode ||= 1;
}
if (results.passed === 0 && exitCode === 0) {
  console.error('No extension-host test ran.');
  exitCode = 1;
}
console.log(`##vscode-results ${JSON.stringify({ passed: results.passed, failed: results.failed })}`);
process.exit(exitCode === 0 && results.failed === 0 ? 0 : 1);

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms).unref());
}
