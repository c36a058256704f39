// "The extension makes no network request at all." Two checks:
//  1. behaviour: the engine (in this thread and in its worker), the prompt parser and the CLI run
//     under no-network-guard.cjs, which makes every Node networking entry point (net/tls/http/
//     https/http2/dns/dgram/fetch/WebSocket/undici) record the attempt and throw; the runs must
//     succeed with no attempt recorded, and a deliberate fetch shows the guard does catch one;
//  2. the shipped bundles (the four esbuild outputs) contain no networking call at all.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBundles, buildConfig, FIXTURE, golden, ROOT, rm, tmpDir } from './helpers';

const GUARD = path.join(__dirname, 'no-network-guard.cjs');
const DRIVER = path.join(__dirname, 'no-network-driver.ts');

interface Attempt {
  what: string;
  detail: string;
  threadId: number;
  stack: string;
}

let work: string;
let driver: string;
before(async () => {
  await buildBundles();
  work = tmpDir('coconut-lens-nonet-');
  // Bundled like dist/*.js and run with plain node: a TypeScript loader in the child would open
  // its own IPC pipe to the parent's loader, which is the test harness talking, not our code.
  driver = path.join(ROOT, 'out', 'test', `no-network-driver.${process.pid}.js`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const { nodeOptions } = await buildConfig();
  await esbuild.build({ ...nodeOptions, entryPoints: [DRIVER], outfile: driver, absWorkingDir: ROOT });
});
after(() => {
  rm(work);
  fs.rmSync(driver, { force: true });
});

function guarded(args: string[], name: string, cwd = work): { code: number | null; out: string; err: string; attempts: Attempt[]; loads: Attempt[] } {
  const log = path.join(work, `${name}.jsonl`);
  const r = spawnSync(process.execPath, ['--require', GUARD, ...args], {
    cwd,
    encoding: 'utf-8',
    timeout: 120_000,
    env: { ...process.env, COCONUT_NO_NET_LOG: log },
  });
  const lines = fs.existsSync(log)
    ? fs
        .readFileSync(log, 'utf-8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Attempt)
    : [];
  return {
    code: r.status,
    out: r.stdout,
    err: r.stderr,
    attempts: lines.filter((l) => l.what !== 'guard-loaded'),
    loads: lines.filter((l) => l.what === 'guard-loaded'),
  };
}

describe('no network access', () => {
  const question = golden().cases[1].question;

  it('the guard catches a request (control)', () => {
    const r = guarded(
      [
        '-e',
        "for (const f of [() => fetch('http://203.0.113.1/'), () => require('node:https').get('https://example.com'), () => require('node:net').connect(9, '203.0.113.1')]) try { f() } catch {}",
      ],
      'control',
    );
    assert.deepEqual(
      r.attempts.map((a) => a.what),
      ['fetch', 'https.get', 'net.connect'],
    );
  });

  it('engine load + inspect, the worker client and the prompt parser make no attempt', () => {
    const worker = path.join(ROOT, 'dist', 'engine-worker.js');
    const r = guarded([driver, FIXTURE, worker, question], 'engine');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /"thoughts":2/);
    assert.ok(
      r.loads.some((l) => l.threadId === 0),
      'guard loaded in the main thread',
    );
    assert.ok(
      r.loads.some((l) => l.threadId > 0),
      'guard loaded in the engine worker thread too',
    );
    assert.deepEqual(r.attempts, [], `network attempts: ${JSON.stringify(r.attempts, null, 1)}`);
  });

  it('the CLI (inspect, JSON output) makes no attempt', () => {
    fs.writeFileSync(path.join(work, 'q.txt'), question + '\n');
    const r = guarded(
      [path.join(ROOT, 'bin', 'coconut-lens.js'), 'inspect', 'q.txt', '--model', FIXTURE, '--thoughts', '3', '--json', '--threads', '1'],
      'cli',
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).thoughts.length, 3);
    assert.ok(r.loads.length >= 1);
    assert.deepEqual(r.attempts, [], `network attempts: ${JSON.stringify(r.attempts, null, 1)}`);
  });
});

describe('the shipped bundles hold no networking code', () => {
  // What would make a request: Node's networking modules, fetch and friends in either runtime.
  // License comments carry URLs, so URLs themselves are not the test; calls are.
  const FORBIDDEN: [string, RegExp][] = [
    ['a Node networking module', /\brequire\(\s*["'](?:node:)?(?:http|https|http2|net|tls|dgram|dns|undici)["']\s*\)/],
    ['an import of a Node networking module', /\bfrom\s*["'](?:node:)?(?:http|https|http2|net|tls|dgram|dns|undici)["']/],
    ['fetch()', /(?<![\w$.])fetch\s*\(/],
    ['XMLHttpRequest', /\bXMLHttpRequest\b/],
    ['WebSocket', /\bnew\s+WebSocket\s*\(/],
    ['EventSource', /\bnew\s+EventSource\s*\(/],
    ['navigator.sendBeacon', /\bsendBeacon\s*\(/],
    ['a dynamic import of a URL', /\bimport\(\s*["']https?:/],
  ];

  it('esbuild outputs for extension, engine worker, CLI and webview', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const esbuild = require('esbuild') as typeof import('esbuild');
    const { bundles } = await buildConfig();
    const found: string[] = [];
    for (const { outfile: _outfile, ...opts } of Object.values(bundles)) {
      const entry = opts.entryPoints[0];
      const r = await esbuild.build({ ...opts, write: false, minify: true, logLevel: 'silent', absWorkingDir: ROOT });
      const text = r.outputFiles.map((f) => f.text).join('\n');
      assert.ok(text.length > 1000, `${entry} bundled`);
      for (const [what, re] of FORBIDDEN) {
        const m = re.exec(text);
        if (m) found.push(`${entry}: ${what}: …${text.slice(Math.max(0, m.index - 60), m.index + 60)}…`);
      }
    }
    assert.deepEqual(found, []);
  });
});
