// Entry point VS Code's test runner loads in the extension host (extensionTestsPath). Runs every
// compiled suite in ./suite with mocha 11 and writes the counts where the launcher reads them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import Mocha from 'mocha';

/** Marks extension-host console output so the launcher can tell it from the workbench's logs. */
export const CONSOLE_MARK = '[ext-host] ';

export interface SuiteResults {
  passed: number;
  failed: number;
  pending: number;
  failures: { title: string; error: string }[];
}

export async function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    color: false, // output goes to the browser console, then to a log
    timeout: Number(process.env.COCONUT_TEST_TIMEOUT_MS ?? 60_000),
    reporter: 'spec',
  });
  if (process.env.COCONUT_TEST_GREP) mocha.grep(process.env.COCONUT_TEST_GREP);

  const suiteDir = path.join(__dirname, 'suite');
  const files = fs
    .readdirSync(suiteDir)
    .filter((f) => f.endsWith('.test.js'))
    .sort();
  if (files.length === 0) throw new Error(`No compiled suites (*.test.js) in ${suiteDir}`);
  for (const f of files) mocha.addFile(path.join(suiteDir, f));

  const results: SuiteResults = { passed: 0, failed: 0, pending: 0, failures: [] };
  // The extension host forwards console calls to the browser console unformatted (format string
  // and arguments apart) and does not let `console` be replaced; give the reporter its own
  // function that formats and marks each line.
  Mocha.reporters.Base.consoleLog = (...args: unknown[]) => console.log(CONSOLE_MARK + format(...args));
  await runMocha(mocha, results);

  // A suite file that defines no test is broken (a bad edit, a lost describe), not passing.
  if (!process.env.COCONUT_TEST_GREP) {
    const withTests = new Set(allTests(mocha.suite).map((t) => t.file && path.basename(t.file)));
    for (const f of files.filter((f) => !withTests.has(f))) {
      results.failed++;
      results.failures.push({ title: f, error: `${f} defines no test` });
      console.log(`${CONSOLE_MARK}FAILED: ${f} defines no test`);
    }
  }

  const out = process.env.COCONUT_TEST_RESULTS;
  if (out) fs.writeFileSync(out, JSON.stringify(results, null, 2));
  if (results.failed > 0) throw new Error(`${results.failed} extension-host test(s) failed.`);
  if (results.passed === 0) throw new Error('No extension-host test ran.');
}

function allTests(suite: Mocha.Suite): Mocha.Test[] {
  return [...suite.tests, ...suite.suites.flatMap(allTests)];
}

function runMocha(mocha: Mocha, results: SuiteResults): Promise<void> {
  return new Promise<void>((resolve) => {
    const runner = mocha.run(() => resolve());
    runner.on('pass', () => results.passed++);
    runner.on('pending', () => results.pending++);
    runner.on('fail', (test, err: Error) => {
      results.failed++;
      results.failures.push({ title: test.fullTitle(), error: String(err?.stack ?? err) });
    });
  });
}
