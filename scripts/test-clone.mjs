// A clone anywhere passes: `git clone` of the committed repository into an empty temporary folder
// (no siblings, so nothing like ../shared can be reached), `npm ci` there, then the offline suites
// (build, typecheck, lint, unit, Python, the training pipeline) and `npm start`'s two parts: the terminal
// inspect and VS Code's server opening the examples. Reports one check per part:
//   clone checks: N passed, M failed
//
//   node scripts/test-clone.mjs [--keep]
//
// It tests what is committed (HEAD), not uncommitted edits. The VS Code server cache (.vscode-test,
// which `npm test`'s pretest installs) is linked in from this checkout: it is a downloaded tool,
// not project state, and installing it twice would cost minutes and 600 MB.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './vscode-server.mjs';

const keep = process.argv.includes('--keep');
const parent = mkdtempSync(join(tmpdir(), 'coconut-lens-clone-'));
const clone = join(parent, 'coconut-lens');
// The clone's environment: nothing pointing back at this checkout or the team's shared folder.
const env = { ...process.env };
for (const k of Object.keys(env)) if (/^npm_/i.test(k) || k === 'PROSQA_VALID' || k === 'INIT_CWD') delete env[k];

const checks = [];
function check(name, ok, detail = '') {
  checks.push({ name, ok });
  console.log(`${ok ? 'ok  ' : 'FAIL'}  clone ${name}${detail ? `  (${detail})` : ''}`);
}

function run(cmd, args, opts = {}) {
  console.log(`\n$ ${cmd} ${args.join(' ')}   (in ${opts.cwd ?? clone})`);
  const r = spawnSync(cmd, args, { cwd: clone, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 2 ** 20, ...opts });
  process.stdout.write(r.stdout ?? '');
  process.stderr.write(r.stderr ?? '');
  return { code: r.status ?? 1, out: `${r.stdout ?? ''}\n${r.stderr ?? ''}` };
}

/** `npm start` (without its pretest-style setup, which the clone shares): waits for the URL, then stops it. */
function startAndStop(timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['scripts/start.mjs'], { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      resolve({ ok, out });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const onData = (chunk) => {
      out += chunk.toString();
      if (/VS Code with Coconut Lens is running/.test(out) && /http:\/\/127\.0\.0\.1:\d+\//.test(out)) finish(true);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', () => finish(/VS Code with Coconut Lens is running/.test(out)));
  });
}

try {
  const cloned = run('git', ['clone', '--quiet', '--no-hardlinks', repoRoot, clone], { cwd: parent });
  check('git clone into an empty folder', cloned.code === 0 && readdirSync(parent).length === 1);
  if (cloned.code !== 0) throw new Error('git clone failed');

  const ci = run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund']);
  check('npm ci', ci.code === 0);

  const suites = run(process.execPath, ['scripts/test-all.mjs', '--only', 'build,typecheck,lint,unit,python,pipeline']);
  const m = /^tests: (\d+) passed, (\d+) failed$/m.exec(suites.out);
  check(
    'offline suites (build, typecheck, lint, unit, python, pipeline)',
    suites.code === 0 && !!m && Number(m[2]) === 0,
    m ? `${m[1]} passed, ${m[2]} failed` : 'no summary line',
  );

  const cache = join(repoRoot, '.vscode-test');
  if (existsSync(cache)) symlinkSync(cache, join(clone, '.vscode-test'));
  const started = await startAndStop(180_000);
  check('npm start: terminal inspect of an official record', /Thought 1\b/.test(started.out) && /Question \(record 0\)/.test(started.out));
  check(
    'npm start: VS Code server with the examples folder',
    started.ok,
    existsSync(cache) ? '' : 'no .vscode-test cache: run scripts/setup-test-env.sh first',
  );
  if (!started.ok) console.log(started.out.slice(-4000));
} catch (e) {
  check('clone run', false, String(e?.message ?? e));
} finally {
  if (keep) console.log(`kept ${clone}`);
  else rmSync(parent, { recursive: true, force: true });
}

const failed = checks.filter((c) => !c.ok).length;
console.log(`\nclone checks: ${checks.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
