// Starts VS Code's own server (from the code-server npm package, installed by setup-test-env.sh)
// with Node 24, in a throwaway HOME, and stops it again by PID.
//
//   node scripts/vscode-server.mjs           start, print the URL, stop on Ctrl-C (for debugging)
//   node scripts/vscode-server.mjs --check   start, then stop; exit 0 when it listened
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const serverCache = join(repoRoot, '.vscode-test', 'server');
export const node24 = join(serverCache, 'node', 'bin', 'node');
export const serverMain = join(serverCache, 'code-server/node_modules/code-server/lib/vscode/out/server-main.js');

const LISTENING = /Extension host agent listening on (\d+)/;

/**
 * The environment for the server and its extension host: the caller's, minus what an outer npm
 * exported, with HOME, XDG_* and TMPDIR inside `home` (VS Code and onnxruntime cache under HOME).
 */
function isolatedEnv(home) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || k === 'NODE_OPTIONS' || k === 'INIT_CWD' || k.startsWith('VSCODE_')) continue;
    env[k] = v;
  }
  const dirs = {
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_DATA_HOME: join(home, '.local/share'),
    XDG_STATE_HOME: join(home, '.local/state'),
    XDG_RUNTIME_DIR: join(home, '.run'),
    TMPDIR: join(home, 'tmp'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true, mode: 0o700 });
  return { ...env, ...dirs };
}

/**
 * Starts the server on a free port. Resolves to { port, url, root, pid, stop(), log() }.
 * `root` is the temp folder holding HOME, user data and extensions; stop() removes it unless
 * `keep` is set. `env` adds variables for the server and the extension host it forks.
 */
export async function startServer({ timeoutMs = 60_000, keep = false, env: extraEnv = {} } = {}) {
  if (!existsSync(node24) || !existsSync(serverMain)) {
    throw new Error(`VS Code's server is not installed (${serverMain}). Run: bash scripts/setup-test-env.sh`);
  }
  const root = mkdtempSync(join(tmpdir(), 'coconut-vscode-'));
  const env = { ...isolatedEnv(join(root, 'home')), ...extraEnv };
  const args = [
    serverMain,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--without-connection-token',
    '--accept-server-license-terms',
    '--telemetry-level',
    'off',
    '--enable-smoke-test-driver',
    '--user-data-dir',
    join(root, 'user-data'),
    '--server-data-dir',
    join(root, 'server-data'),
    '--extensions-dir',
    join(root, 'extensions'),
  ];
  // Own process group, so stop() reaches the extension host and pty host it forks, by our PID.
  const child = spawn(node24, args, { env, cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const forget = cleanupOnExit(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    if (!keep) rmSync(root, { recursive: true, force: true });
  });
  let output = '';
  let exited = null;
  const exitPromise = new Promise((res) => child.on('exit', (code, signal) => res((exited = { code, signal }))));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await killGroup(child.pid, exitPromise, () => exited);
    if (!keep) rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    forget();
  };

  const port = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`VS Code's server printed no "listening on" within ${timeoutMs} ms.\n${output}`)), timeoutMs);
    const onData = (chunk) => {
      const text = chunk.toString();
      output += text;
      const m = LISTENING.exec(output);
      if (m) {
        clearTimeout(timer);
        res(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    exitPromise.then(({ code, signal }) => {
      clearTimeout(timer);
      rej(new Error(`VS Code's server exited (code ${code}, signal ${signal}) before listening.\n${output}`));
    });
  }).catch(async (e) => {
    await stop();
    throw e;
  });

  return { port, url: `http://127.0.0.1:${port}`, root, pid: child.pid, log: () => output, stop };
}

/** Synchronous clean-ups still due; run on exit and on a terminating signal. */
const cleanups = new Set();
let exitHooked = false;

/**
 * Registers `fn` (synchronous) to run if this process ends before the returned function is called
 * to unregister it: a detached server does not get the terminal's Ctrl-C, and temp folders would
 * stay behind. After a signal the signal is raised again, so the exit status stays what it was.
 */
export function cleanupOnExit(fn) {
  if (!exitHooked) {
    exitHooked = true;
    const runAll = () => {
      for (const f of [...cleanups]) {
        cleanups.delete(f);
        try {
          f();
        } catch {
          /* best effort while exiting */
        }
      }
    };
    process.on('exit', runAll);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      process.once(sig, () => {
        runAll();
        process.kill(process.pid, sig);
      });
    }
  }
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** SIGTERM to the server's process group (its PID), SIGKILL if it has not exited within 5 s. */
async function killGroup(pid, exitPromise, hasExited) {
  const signal = (sig) => {
    try {
      process.kill(-pid, sig);
    } catch {
      /* already gone */
    }
  };
  if (!hasExited()) {
    signal('SIGTERM');
    const timedOut = await Promise.race([exitPromise.then(() => false), sleep(5000).then(() => true)]);
    if (timedOut) signal('SIGKILL');
  }
  // Children (extension host, pty host) may outlive the main process briefly; the group id is ours.
  await sleep(200);
  signal('SIGKILL');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const server = await startServer();
  console.log(`VS Code server (pid ${server.pid}) listening at ${server.url}`);
  if (check) {
    const res = await fetch(server.url + '/');
    await server.stop();
    if (!res.ok) console.error(`GET / answered ${res.status}`);
    process.exit(res.ok ? 0 : 1); // an idle keep-alive socket would hold the process for seconds
  } else {
    const shutdown = () => server.stop().then(() => process.exit(0));
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  }
}
