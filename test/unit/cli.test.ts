import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBundles, FIXTURE, golden, ROOT, rm, tmpDir, VALID_SET } from './helpers';

const BIN = path.join(ROOT, 'bin', 'coconut-lens.js');
const g = golden();
let dir: string;

function cli(args: string[], bin = BIN, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf-8', cwd: dir, timeout: 120_000, env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

before(async () => {
  await buildBundles();
  dir = tmpDir('coconut-lens-cli-');
  const valid = JSON.parse(fs.readFileSync(VALID_SET, 'utf-8'));
  fs.writeFileSync(path.join(dir, 'q.json'), JSON.stringify({ question: g.cases[1].question, answer: 'Tom is a lempus.' }, null, 2));
  fs.writeFileSync(path.join(dir, 'q.txt'), g.cases[1].question + '\n');
  fs.writeFileSync(
    path.join(dir, 'three.jsonl'),
    valid
      .slice(0, 3)
      .map((r: unknown) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  fs.writeFileSync(path.join(dir, 'bad.json'), '[\n {"question": "a",}\n]');
  fs.writeFileSync(path.join(dir, 'oov.txt'), 'Is Zed a lempus?');
});
after(() => rm(dir));

describe('coconut-lens CLI', () => {
  it('runs CPU sessions on the native binding directly from the bundle, and the public way with COCONUT_LENS_DIRECT_RUN=0', () => {
    const args = ['bench', '--model', FIXTURE, '--provider', 'cpu', '--threads', '1', '--runs', '1', '--no-cold', '--no-dataset', '--json'];
    const direct = cli(args);
    assert.equal(direct.code, 0, direct.err);
    assert.equal(JSON.parse(direct.out).models[0].directRun, true, 'the bundle reaches onnxruntime-node/dist/binding');
    const pub = cli(args, BIN, { ...process.env, COCONUT_LENS_DIRECT_RUN: '0' });
    assert.equal(pub.code, 0, pub.err);
    assert.equal(JSON.parse(pub.out).models[0].directRun, false);
  });

  it('inspect --json prints the documented schema and matches the golden run', () => {
    const r = cli(['inspect', 'q.json', '--model', FIXTURE, '--thoughts', '3', '--top-k', '5', '--json', '--threads', '1']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    for (const key of ['model', 'provider', 'question', 'thoughts', 'answer', 'timings']) assert.ok(key in j, `missing ${key}`);
    assert.equal(j.model, 'tiny-random');
    assert.equal(j.provider, 'cpu');
    assert.equal(j.question, g.cases[1].question);
    assert.equal(j.thoughts.length, 3);
    const c = g.cases[1];
    assert.equal(c.k, 3);
    j.thoughts.forEach((t: any, i: number) => {
      assert.equal(t.index, i + 1);
      assert.equal(typeof t.norm, 'number');
      assert.equal(typeof t.entropy, 'number');
      assert.deepEqual(Object.keys(t.topk[0]).sort(), ['id', 'p', 'token']);
      assert.ok(t.nearest.every((n: any) => typeof n.token === 'string' && typeof n.cosine === 'number'));
      assert.deepEqual(
        t.topk.map((x: any) => x.id),
        c.thoughts[i].topk.map((x: any) => x.id),
      );
      assert.deepEqual(
        t.nearest.map((x: any) => x.id),
        c.thoughts[i].nearest.map((x: any) => x.id),
      );
      assert.ok(Math.abs(t.norm - c.thoughts[i].norm) < 1e-4);
    });
    assert.equal(j.answer.text, c.answer_text);
    assert.equal(j.answer.stoppedBy, c.stopped_by);
    assert.equal(j.answer.expected, 'Tom is a lempus.');
    assert.equal(typeof j.answer.correct, 'boolean');
    assert.ok(j.timings.totalMs > 0 && j.timings.loadMs > 0);
  });

  it('inspect prints a readable table per thought', () => {
    const r = cli(['inspect', 'q.txt', '--model', FIXTURE, '--thoughts', '2']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Model tiny-random .* on cpu$/m);
    assert.match(r.out, /^Thought 1 {3}norm \d+\.\d{3} {3}entropy \d+\.\d{3} nats$/m);
    assert.match(r.out, /^Thought 2 /m);
    assert.doesNotMatch(r.out, /^Thought 3 /m);
    assert.match(r.out, /LM head \(softmax\)\s+p\s+nearest embedding\s+cosine/);
    assert.match(r.out, /logit lens: L1 .* \| L2 /);
    assert.match(r.out, /^Answer: ".*" \(stopped by /m);
    assert.match(r.out, /^Timings: load [\d.]+ ms, tokenize/m);
  });

  it('eval scores every record, reports progress on stderr and prints the JSON summary', () => {
    const r = cli(['eval', 'three.jsonl', '--model', FIXTURE, '--thoughts', '2', '--json', '--threads', '1']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(
      Object.keys(j)
        .filter((k) => k !== 'failed')
        .sort(),
      ['accuracy', 'correct', 'model', 'n', 'provider', 'records', 'seconds', 'thoughts'],
    );
    assert.equal(j.n, 3);
    assert.equal(j.thoughts, 2);
    assert.equal(j.model, 'tiny-random');
    assert.equal(j.accuracy, j.correct / 3);
    assert.deepEqual(
      j.records.map((x: any) => x.index),
      [0, 1, 2],
    );
    for (const rec of j.records.slice(0, 2)) {
      assert.deepEqual(Object.keys(rec).sort(), ['answer', 'correct', 'index', 'predicted']);
      assert.equal(typeof rec.predicted, 'string');
      assert.equal(rec.correct, rec.predicted === rec.answer);
    }
    // Record 2 does not fit the tiny model's 256 positions: reported, not fatal.
    assert.equal(j.failed, 1);
    assert.equal(j.records[2].predicted, null);
    assert.equal(j.records[2].correct, false);
    assert.equal(j.records[2].error.code, 'PROMPT_TOO_LONG');
    assert.match(r.err, /\[3\/3\] \d+ correct/);
    const limited = cli(['eval', VALID_SET, '--model', FIXTURE, '--limit', '2', '--thoughts', '0']);
    assert.equal(limited.code, 0, limited.err);
    assert.match(limited.out, /tiny-random on cpu, k=0: \d\/2 correct/);
  });

  it('exits 2 with the message and the fix for bad input', () => {
    const cases: [string[], RegExp][] = [
      [['inspect', 'q.json', '--model', FIXTURE, '--thoughts', '99'], /99 thoughts is out of range: tiny-random allows 0 to 8/],
      [['inspect', 'q.json', '--model', FIXTURE, '--record', '1'], /record 1 is out of range: q\.json has 1 record \(valid: 0\)/],
      [['inspect', 'bad.json', '--model', FIXTURE], /bad\.json is not valid JSON: .* at line 2, column 19/],
      [['inspect', 'missing.json', '--model', FIXTURE], /missing\.json does not exist/],
      [['inspect', 'oov.txt', '--model', FIXTURE], /does not know: "Zed" at line 1, column 4/],
      [['inspect', 'q.json', '--model', path.join(dir, 'nope')], /the model folder .*nope does not exist/],
      [['inspect', 'q.json', '--bogus'], /unknown option --bogus for "inspect"/],
      [['inspect', 'q.json', '--thoughts', 'many'], /--thoughts must be a whole number, got "many"/],
      [['inspect', 'q.json', '--provider', 'tpu', '--model', FIXTURE], /unknown execution provider "tpu"/],
      [['inspect'], /missing FILE/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ];
    for (const [args, re] of cases) {
      const r = cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, re, args.join(' '));
      assert.match(r.err, /^fix: .{10,}/m, args.join(' '));
    }
    const j = cli(['inspect', 'q.json', '--model', FIXTURE, '--thoughts', '99', '--json']);
    assert.equal(j.code, 2);
    assert.equal(JSON.parse(j.out).error.code, 'THOUGHTS_RANGE');
    const none = cli([]);
    assert.equal(none.code, 2);
    assert.match(none.out, /Usage:/);
    assert.equal(cli(['--help']).code, 0);
  });

  it('explains that the default model is not shipped yet when --model is left out', () => {
    // A copy of the package without models/prosqa-coconut, whatever the working tree holds.
    const pkg = tmpDir('coconut-lens-pkg-');
    try {
      fs.mkdirSync(path.join(pkg, 'bin'));
      fs.mkdirSync(path.join(pkg, 'dist'));
      fs.copyFileSync(BIN, path.join(pkg, 'bin', 'coconut-lens.js'));
      fs.copyFileSync(path.join(ROOT, 'dist', 'cli.js'), path.join(pkg, 'dist', 'cli.js'));
      fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'coconut-lens' }));
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
      const r = cli(['inspect', 'q.txt'], path.join(pkg, 'bin', 'coconut-lens.js'));
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /^error: the default model models\/prosqa-coconut is not there yet/m);
      assert.match(r.err, /pass --model DIR or set coconutLens\.modelPath/);
      assert.match(r.err, /^fix: point to a model folder/m);
    } finally {
      rm(pkg);
    }
  });

  it('the launcher says to build when dist/cli.js is missing', () => {
    const pkg = tmpDir('coconut-lens-nobuild-');
    try {
      fs.mkdirSync(path.join(pkg, 'bin'));
      fs.copyFileSync(BIN, path.join(pkg, 'bin', 'coconut-lens.js'));
      const r = cli(['inspect', 'q.txt'], path.join(pkg, 'bin', 'coconut-lens.js'));
      assert.equal(r.code, 1);
      assert.match(r.err, /run npm run build/);
    } finally {
      rm(pkg);
    }
  });
});
