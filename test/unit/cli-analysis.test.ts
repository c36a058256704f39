// The CLI's analysis commands and flags: sweep, eval --sweep, inspect --intervene / --export.
// Most cases call main() in-process (no process start per case); one runs the built bundle.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseInterventionSpec } from '../../src/cli/interventions';
import { parseKList } from '../../src/cli/eval';
import { main } from '../../src/cli/run';
import { EngineError } from '../../src/engine/errors';
import { TRACE_SCHEMA } from '../../src/engine/export';
import { buildBundles, FIXTURE, ROOT, rm, tmpDir } from './helpers';

const SAMPLE_FILE = path.join(ROOT, 'test', 'fixtures', 'prosqa_sample.json');
const SAMPLE = JSON.parse(fs.readFileSync(SAMPLE_FILE, 'utf-8'));
const M = ['--model', FIXTURE, '--threads', '1'];
let dir: string;

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s), stderrIsTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

before(() => {
  dir = tmpDir('coconut-lens-cli-analysis-');
  fs.writeFileSync(path.join(dir, 'one.json'), JSON.stringify(SAMPLE[0]));
  fs.writeFileSync(path.join(dir, 'vec.json'), JSON.stringify(new Array(32).fill(0.25)));
});
after(() => rm(dir));

describe('coconut-lens sweep', () => {
  it('--json: one point per k with answers and log-probs, and the passes saved', async () => {
    const r = await cli(['sweep', SAMPLE_FILE, '--record', '0', '--from', '1', '--to', '4', '--json', ...M]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.model, 'tiny-random');
    assert.equal(j.record, 0);
    assert.equal(j.expected, SAMPLE[0].answer);
    assert.deepEqual(
      j.points.map((p: any) => p.k),
      [1, 2, 3, 4],
    );
    for (const p of j.points) {
      assert.equal(typeof p.answerText, 'string');
      assert.equal(typeof p.correct, 'boolean');
      assert.ok(p.answerLogProb <= 0);
    }
    assert.ok(j.passes < j.naivePasses);
  });

  it('prints a table, and refuses a range the model does not have', async () => {
    const r = await cli(['sweep', path.join(dir, 'one.json'), '--to', '2', ...M]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^k sweep: 3 values of k, expected "Tom is a lempus\."$/m);
    assert.match(r.out, /^\s+0\s+\S.*[✓✗]\s+-?\d+\.\d{4}\s+\d\.\d{4}$/m);
    assert.match(r.out, /^\d+ forward passes with the shared prefix \(\d+ as separate runs\)/m);
    const bad = await cli(['sweep', SAMPLE_FILE, '--to', '12', ...M]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /sweep to = 12 is out of range: tiny-random allows 0 to 8/);
    assert.match((await cli(['sweep', SAMPLE_FILE, '--thoughts', '2', ...M])).err, /unknown option --thoughts for "sweep"/);
  });
});

describe('coconut-lens eval --sweep', () => {
  it('per-k accuracy and path categories as JSON and as a table', async () => {
    const r = await cli(['eval', SAMPLE_FILE, '--sweep', '0..2', '--json', ...M]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(
      j.perK.map((s: any) => s.k),
      [0, 1, 2],
    );
    for (const s of j.perK) {
      assert.equal(s.n, 5);
      assert.deepEqual(Object.keys(s.categories).sort(), ['correct_label', 'correct_path', 'hallucination', 'incorrect_label', 'longer_path', 'wrong_target']);
    }
    assert.equal(j.records.length, 15);
    assert.match(r.err, /\[5\/5\] records/);
    const t = await cli(['eval', SAMPLE_FILE, '--sweep', '1,3', '--limit', '2', ...M]);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /tiny-random on cpu: 2 records, k = 1, 3/);
    assert.match(t.out, /k\s+correct\s+accuracy\s+correct path\s+longer path\s+hallucination\s+wrong target\s+correct label\s+incorrect label\s+failed/);
    assert.match(t.out, /^\s+3\s+\d\/2\s+\d+\.\d%/m);
  });

  it('parses k lists and refuses --sweep with --thoughts', async () => {
    assert.deepEqual(parseKList('0..6'), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(parseKList(' 2 '), [2]);
    assert.deepEqual(parseKList('0,2,4'), [0, 2, 4]);
    assert.throws(() => parseKList('6..0'), /the range goes down/);
    assert.throws(() => parseKList('a-b'), /not a range or list of k/);
    const r = await cli(['eval', SAMPLE_FILE, '--sweep', '0..2', '--thoughts', '1', ...M]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--thoughts and --sweep cannot be combined/);
  });
});

describe('coconut-lens inspect --intervene / --export', () => {
  it('applies repeated interventions and reports the divergence', async () => {
    const r = await cli([
      'inspect',
      path.join(dir, 'one.json'),
      '--thoughts',
      '3',
      '--intervene',
      '2:zero',
      '--intervene',
      '3:scale=0.5',
      '--intervene',
      '1:token=lempus',
      '--json',
      ...M,
    ]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(
      j.thoughts.map((t: any) => t.intervened?.kind),
      ['token', 'zero', 'scale'],
    );
    assert.deepEqual(
      j.interventions.map((i: any) => i.thought),
      [2, 3, 1],
    );
    assert.equal(j.divergence.length, 3);
    assert.equal(typeof j.original.answer.text, 'string');
    assert.equal(j.nodeValues.length, 4, 'the record has a graph: node values for t = 0..3');
    const text = await cli(['inspect', path.join(dir, 'one.json'), '--thoughts', '2', '--intervene', '2:vector=' + path.join(dir, 'vec.json'), ...M]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /intervened: replaced by vec\.json/);
    assert.match(text.out, /^Interventions: thought 2 replaced by vec\.json$/m);
    assert.match(text.out, /^Node values after t thoughts/m);
  });

  it('says which intervention is wrong, with exit code 2', async () => {
    const cases: [string, RegExp][] = [
      ['9:zero', /thought 9 does not exist: this run has 3 thoughts/],
      ['1:token=lempuss', /"lempuss" is not a token .* \(did you mean "lempus"\?\)/],
      ['1:scale=half', /the factor "half" is not a number/],
      ['1:blur', /unknown kind "blur"/],
      ['two:zero', /"two:zero" is not an intervention/],
      ['1:vector=' + path.join(dir, 'one.json'), /is not a JSON list of numbers/],
    ];
    for (const [spec, re] of cases) {
      const r = await cli(['inspect', path.join(dir, 'one.json'), '--thoughts', '3', '--intervene', spec, ...M]);
      assert.equal(r.code, 2, spec);
      assert.match(r.err, re, spec);
      assert.match(r.err, /^fix: .{10,}/m, spec);
    }
  });

  it('exports JSON and CSV, refuses to overwrite without --force, and feeds a thought of a trace back', async () => {
    const json = path.join(dir, 'trace.json');
    const r = await cli(['inspect', path.join(dir, 'one.json'), '--thoughts', '3', '--top-k', '4', '--export', json, ...M]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /exported the trace to .*trace\.json/);
    const j = JSON.parse(fs.readFileSync(json, 'utf-8'));
    assert.equal(j.schema, TRACE_SCHEMA);
    assert.equal(j.thoughts.length, 3);
    assert.equal(j.nodeValues.length, 4);
    assert.equal(j.record, 0);
    assert.ok(!Number.isNaN(Date.parse(j.exported)));

    const again = await cli(['inspect', path.join(dir, 'one.json'), '--export', json, ...M]);
    assert.equal(again.code, 2);
    assert.match(again.err, /trace\.json already exists/);
    assert.match(again.err, /^fix: .*--force/m);
    assert.equal((await cli(['inspect', path.join(dir, 'one.json'), '--thoughts', '1', '--export', json, '--force', ...M])).code, 0);
    assert.equal(JSON.parse(fs.readFileSync(json, 'utf-8')).thoughts.length, 1);

    const csv = path.join(dir, 'trace.csv');
    assert.equal((await cli(['inspect', path.join(dir, 'one.json'), '--thoughts', '3', '--top-k', '4', '--export', csv, ...M])).code, 0);
    const lines = fs.readFileSync(csv, 'utf-8').trimEnd().split('\n');
    assert.equal(lines[0], 'thought,rank,token,id,p,nearest_token,nearest_id,cosine,norm,entropy,intervened');
    assert.ok(lines.length >= 1 + 3 * 4, 'k × topK rows (a quoted newline token may add a line)');

    // Thought 3 of the first export's run (3 thoughts) is not there after --force rewrote it with 1.
    const missing = await cli(['inspect', path.join(dir, 'one.json'), '--thoughts', '2', '--intervene', `2:vector=${json}#3`, ...M]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /has no thought "3"/);
    const fed = await cli(['inspect', path.join(dir, 'one.json'), '--thoughts', '2', '--intervene', `2:vector=${json}#1`, '--json', ...M]);
    assert.equal(fed.code, 0, fed.err);
    const trace = JSON.parse(fs.readFileSync(json, 'utf-8'));
    const t2 = JSON.parse(fed.out).thoughts[1];
    assert.equal(t2.intervened.kind, 'vector');
    assert.equal(t2.intervened.label, 'trace.json#1');
    // The vector fed back is thought 1 of the exported run: its norm, and its LM-head top tokens.
    assert.ok(Math.abs(t2.norm - trace.thoughts[0].norm) < 1e-9);
    assert.deepEqual(t2.topk.map((x: any) => x.id).slice(0, 4), trace.thoughts[0].topk.map((x: any) => x.id).slice(0, 4));
  });

  it('refuses an export into a missing or read-only folder before running, and --force alone', async () => {
    const r = await cli(['inspect', path.join(dir, 'one.json'), '--export', path.join(dir, 'no', 'such', 't.json'), ...M]);
    assert.equal(r.code, 2);
    assert.match(r.err, /the folder .*no\/such does not exist/);
    const ro = process.getuid?.() === 0 ? '/sys/kernel/coconut-lens-cli.json' : path.join(dir, 'ro', 't.json');
    if (process.getuid?.() !== 0) {
      fs.mkdirSync(path.join(dir, 'ro'));
      fs.chmodSync(path.join(dir, 'ro'), 0o555);
    }
    if (fs.existsSync(path.dirname(ro))) {
      const w = await cli(['inspect', path.join(dir, 'one.json'), '--thoughts', '1', '--export', ro, ...M]);
      assert.equal(w.code, 2, w.err);
      assert.match(w.err, /^error: cannot write .* is read-only/m);
    }
    assert.match((await cli(['inspect', path.join(dir, 'one.json'), '--force', ...M])).err, /--force only applies to --export/);
    assert.match((await cli(['inspect', path.join(dir, 'one.json'), '--export', path.join(dir, 't.txt'), ...M])).err, /must end in \.json/);
  });

  it('parses intervention specs', () => {
    assert.deepEqual(parseInterventionSpec('2:zero'), { thought: 2, kind: 'zero' });
    assert.deepEqual(parseInterventionSpec(' 3 : scale=0.5'), { thought: 3, kind: 'scale', factor: 0.5 });
    assert.deepEqual(parseInterventionSpec('3:scale=-1e-2'), { thought: 3, kind: 'scale', factor: -0.01 });
    assert.deepEqual(parseInterventionSpec('1:token=lempus'), { thought: 1, kind: 'token', token: 'lempus' });
    assert.deepEqual(
      parseInterventionSpec('1:vector=v.json', () => '[1, 2]'),
      { thought: 1, kind: 'vector', vector: [1, 2], label: 'v.json' },
    );
    assert.throws(
      () => parseInterventionSpec('1:zero=3'),
      (e: EngineError) => e.code === 'BAD_OPTION' && /zero takes no value/.test(e.message),
    );
    assert.throws(() => parseInterventionSpec('1:token='), /token needs a token/);
    assert.throws(
      () =>
        parseInterventionSpec('1:vector=nope.json', () => {
          throw Object.assign(new Error('x'), { code: 'ENOENT' });
        }),
      /cannot read nope\.json \(ENOENT\)/,
    );
  });
});

describe('the built CLI bundle', () => {
  it('runs sweep and eval --sweep', async () => {
    await buildBundles();
    const bin = path.join(ROOT, 'bin', 'coconut-lens.js');
    const r = spawnSync(process.execPath, [bin, 'sweep', SAMPLE_FILE, '--to', '1', '--json', ...M], { encoding: 'utf-8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).points.length, 2);
    const h = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf-8', timeout: 60_000 });
    assert.match(h.stdout, /coconut-lens sweep FILE/);
    assert.match(h.stdout, /--intervene SPEC/);
    assert.match(h.stdout, /--sweep A\.\.B/);
  });
});
