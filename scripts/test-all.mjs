// `npm test`: builds, typechecks and runs every test suite of the project in order, then prints one
// summary line `tests: N passed, M failed`. Exits non-zero if any step failed or any suite ran no
// tests (an empty suite is a broken suite, not a passing one).
//
//   node scripts/test-all.mjs [--only build,typecheck,lint,unit,python,pipeline,vscode,ui,clone]
//
// `npm test` runs scripts/setup-test-env.sh first (the `pretest` script) for Chromium, PyTorch and
// VS Code's server.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from './vscode-server.mjs';

const PYTHON = '/usr/bin/python3'; // Debian's, with python3-torch; the first python3 on PATH may lack it
const unitDir = join(repoRoot, 'test/unit');
const vscodeDir = join(repoRoot, 'test/vscode');
const DEFAULT_MINUTES = 15;

/**
 * Each step: cmd() gives [command, args, counts?] (or { error }), where counts reads the pass/fail
 * counts from the output (else step.counts). Steps without counts (build, typecheck) only pass or
 * fail. A step still running after its `minutes` (default DEFAULT_MINUTES; several times what it
 * takes on a 2-core machine) is killed with its children and fails: a hung test then costs minutes
 * and names itself, instead of taking CI's whole time.
 */
const STEPS = [
  { name: 'build', title: 'build (npm run build)', cmd: () => ['npm', ['run', 'build']] },
  { name: 'typecheck', title: 'typecheck (tsc, one program per layer)', cmd: () => [process.execPath, ['scripts/typecheck.mjs']] },
  { name: 'lint', title: 'lint (ESLint: the layer walls and the code rules; Prettier)', cmd: () => ['npm', ['run', 'lint']] },
  {
    name: 'unit',
    title: 'unit tests (node:test + tsx)',
    cmd: () => {
      const files = existsSync(unitDir)
        ? readdirSync(unitDir)
            .filter((f) => f.endsWith('.test.ts'))
            .sort()
        : [];
      if (files.length === 0) return { error: 'no unit test files (test/unit/*.test.ts)' };
      return nodeTest(
        files.map((f) => join('test/unit', f)),
        ['--import', 'tsx'],
      );
    },
  },
  {
    name: 'python',
    title: 'Python tests (pytest)',
    cmd: () => [PYTHON, ['-m', 'pytest', 'training/tests', '-q', '-p', 'no:cacheprovider']],
    env: { OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '2' },
    counts: pytestCounts,
  },
  {
    // Issue 6's end-to-end check on CPU: generate, train every stage a few steps, export, then
    // PyTorch and the TypeScript engine must score the exported model identically. Counts as one test.
    name: 'pipeline',
    title: 'training pipeline end to end (training/pipeline_tiny.sh)',
    cmd: () => ['bash', ['training/pipeline_tiny.sh']],
    env: { OMP_WAIT_POLICY: 'PASSIVE' },
    counts: (output) => (/^pipeline OK: /m.test(output) ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 }),
  },
  {
    name: 'vscode',
    title: 'extension-host suites (VS Code server + Chromium)',
    cmd: () => [process.execPath, ['test/vscode/run.mjs']],
    counts: vscodeCounts,
    minutes: 25,
  },
  {
    name: 'ui',
    title: 'UI tests (Playwright: test/vscode/*.test.mjs)',
    cmd: () => {
      const files = readdirSync(vscodeDir)
        .filter((f) => f.endsWith('.test.mjs'))
        .sort();
      if (files.length === 0) return { error: 'no UI test files (test/vscode/*.test.mjs)' };
      // One at a time: each starts its own VS Code server and browser on 2 cores.
      return nodeTest(
        files.map((f) => join('test/vscode', f)),
        [],
        ['--test-concurrency=1'],
      );
    },
    minutes: 30,
  },
  {
    // Issue 13: a fresh clone in an empty folder (no ../shared beside it) passes the offline suites
    // and runs `npm start`. Counts its checks, not the suites' tests again.
    name: 'clone',
    title: 'a clone in an empty folder (scripts/test-clone.mjs)',
    cmd: () => [process.execPath, ['scripts/test-clone.mjs']],
    counts: (output) => {
      const m = /^clone checks: (\d+) passed, (\d+) failed$/m.exec(output);
      return m ? { passed: Number(m[1]), failed: Number(m[2]), skipped: 0 } : undefined;
    },
    minutes: 30,
  },
];

/** A node:test run of `files`, with the counts read from its spec reporter's summary. */
function nodeTest(files, nodeArgs = [], testArgs = []) {
  return [process.execPath, [...nodeArgs, '--test', '--test-reporter=spec', ...testArgs, ...files], (output) => nodeTestCounts(output, files)];
}

const { values: opts } = parseArgs({ options: { only: { type: 'string' } } });
let selected = STEPS;
if (opts.only) {
  const names = opts.only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !STEPS.some((s) => s.name === n));
  if (unknown.length) {
    console.error(`Unknown step(s) for --only: ${unknown.join(', ')}. Steps: ${STEPS.map((s) => s.name).join(', ')}`);
    process.exit(2);
  }
  // The VS Code tests load dist/extension.js: build first whenever they run.
  if (names.some((n) => n === 'vscode' || n === 'ui') && !names.includes('build')) names.push('build');
  selected = STEPS.filter((s) => names.includes(s.name));
}

const rows = [];
const started = Date.now();
for (const step of selected) {
  banner(step.title);
  const t0 = Date.now();
  const cmd = step.cmd();
  let row;
  if (!Array.isArray(cmd)) {
    console.error(cmd.error);
    row = { step, passed: 0, failed: 0, ok: false, why: cmd.error };
  } else {
    const [command, args, counts = step.counts] = cmd;
    const minutes = step.minutes ?? DEFAULT_MINUTES;
    const { code, output, timedOut } = await run(command, args, step.env, minutes * 60_000);
    row = timedOut
      ? { step, passed: 0, failed: 0, ok: false, why: `still running after ${minutes} min: killed (a hung test? its output above ends where it stopped)` }
      : { step, ...judge(counts, code, output) };
  }
  row.seconds = (Date.now() - t0) / 1000;
  rows.push(row);
}

banner('summary');
let passed = 0;
let failed = 0;
for (const r of rows) {
  passed += r.passed;
  // A step that failed without naming failed tests (a crash, a build error, an empty suite)
  // still counts once, so the total never reads "0 failed" for a broken run.
  failed += r.ok ? 0 : Math.max(r.failed, 1);
  const counts = r.counted ? `${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}` : '';
  console.log(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.step.name.padEnd(9)} ${r.seconds.toFixed(1).padStart(6)} s  ${counts}${r.why ? `  (${r.why})` : ''}`);
}
console.log(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(rows.every((r) => r.ok) ? 0 : 1);

/** Pass/fail of one step from its exit code and the counts its output reports. */
function judge(counts, code, output) {
  if (!counts) return { passed: 0, failed: 0, ok: code === 0, why: code === 0 ? '' : `exit code ${code}` };
  const read = counts(output);
  if (!read) return { passed: 0, failed: 0, ok: false, why: `no test counts in its output (exit code ${code})` };
  const c = { ...read, counted: true };
  if (c.empty?.length) return { ...c, ok: false, why: `ran no tests: ${c.empty.join(', ')}` };
  if (c.passed + c.failed === 0) return { ...c, ok: false, why: 'ran no tests' };
  if (c.failed > 0) return { ...c, ok: false, why: `exit code ${code}` };
  if (code !== 0) return { ...c, ok: false, why: `exit code ${code} although no test failed` };
  return { ...c, ok: true, why: '' };
}

/**
 * node --test's spec summary ("ℹ pass 12"); cancelled tests failed. A file that defines no test is
 * reported as one passing test named by its path: that is an empty suite, not a pass.
 */
function nodeTestCounts(output, files) {
  const get = (key) => {
    const all = [...output.matchAll(new RegExp(`^ℹ ${key} (\\d+)\\s*$`, 'gm'))];
    return all.length ? Number(all.at(-1)[1]) : undefined;
  };
  const pass = get('pass');
  if (pass === undefined) return undefined;
  const empty = files.filter((f) => new RegExp(`^✔ ${escapeRegExp(resolve(repoRoot, f))} \\(`, 'm').test(output));
  return {
    passed: pass - empty.length,
    failed: (get('fail') ?? 0) + (get('cancelled') ?? 0),
    skipped: (get('skipped') ?? 0) + (get('todo') ?? 0),
    empty,
  };
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** pytest's last line, e.g. "3 failed, 40 passed, 1 skipped, 2 warnings in 5.1s". */
function pytestCounts(output) {
  const line = output
    .split('\n')
    .reverse()
    .find((l) => / in [\d.]+s/.test(l) && /(passed|failed|error|no tests ran|skipped)/.test(l));
  if (!line) return undefined;
  const n = (re) => Number(re.exec(line)?.[1] ?? 0);
  return {
    passed: n(/(\d+) passed/) + n(/(\d+) xfailed/),
    failed: n(/(\d+) failed/) + n(/(\d+) errors?/) + n(/(\d+) xpassed/),
    skipped: n(/(\d+) skipped/),
  };
}

/** test/vscode/run.mjs ends with "##vscode-results {...}". */
function vscodeCounts(output) {
  const m = /^##vscode-results (\{.*\})\s*$/m.exec(output);
  if (!m) return undefined;
  const r = JSON.parse(m[1]);
  return { passed: r.passed, failed: r.failed, skipped: 0 };
}

/**
 * Runs a command in the repository, streaming its output, and resolves with code and output; past
 * `limitMs` it kills the command's whole process group (a test runner's children too).
 */
function run(command, args, env = {}, limitMs = Infinity) {
  return new Promise((resolve) => {
    // Its own process group, so that a kill reaches the servers and browsers a step starts.
    const detached = process.platform !== 'win32';
    const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached });
    const killGroup = () => {
      try {
        if (detached) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // already gone
      }
    };
    // Ctrl+C and a CI runner's SIGTERM reach only our group now: pass them on.
    const onSignal = (signal) => {
      killGroup();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        killGroup();
      },
      Math.min(limitMs, 2 ** 31 - 1),
    );
    let output = '';
    const relay = (stream) => (chunk) => {
      output += chunk.toString();
      stream.write(chunk);
    };
    child.stdout.on('data', relay(process.stdout));
    child.stderr.on('data', relay(process.stderr));
    const done = (r) => {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve({ ...r, timedOut });
    };
    child.on('error', (e) => done({ code: 127, output: `${output}\n${e.message}` }));
    child.on('close', (code, signal) => done({ code: code ?? 128, output: signal ? `${output}\nkilled by ${signal}` : output }));
  });
}

function banner(title) {
  console.log(`\n=== ${title} ${'='.repeat(Math.max(3, 70 - title.length))}`);
}
