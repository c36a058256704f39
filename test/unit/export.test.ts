// The trace exports (src/engine/export.ts) and the CLI's file writing (never overwrite, clear errors).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { InspectResult, InterventionResult, ProsQAGraph } from '../../src/shared/types';
import { CoconutEngine } from '../../src/engine/engine';
import { EngineError } from '../../src/engine/errors';
import { buildTrace, CSV_COLUMNS, csvField, parseTrace, TRACE_SCHEMA, traceToCsv, traceToJson } from '../../src/engine/export';
import { checkExportTarget, writeExport, type ExportFs } from '../../src/cli/export-file';
import { FIXTURE, ROOT, rm, tmpDir } from './helpers';

const SAMPLE = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'prosqa_sample.json'), 'utf-8'));
const R0 = SAMPLE[0];
const GRAPH: ProsQAGraph = { idx_to_symbol: R0.idx_to_symbol, edges: R0.edges, root: R0.root, target: R0.target, neg_target: R0.neg_target };

/** RFC 4180 reader, enough for the tests: quoted fields may hold commas, quotes and newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

let engine: CoconutEngine;
let plain: InspectResult;
let intervened: InterventionResult;
let dir: string;

before(async () => {
  engine = await CoconutEngine.load(FIXTURE, { provider: 'cpu', threads: 1 });
  plain = await engine.inspect({ question: R0.question, thoughts: 4, topK: 7, graph: GRAPH });
  intervened = await engine.intervene({ question: R0.question, thoughts: 3, topK: 5, interventions: [{ thought: 2, kind: 'scale', factor: 2 }] });
  dir = tmpDir('coconut-lens-export-');
});
after(async () => {
  await engine.dispose();
  rm(dir);
});

describe('trace JSON', () => {
  it('parses back with the schema tag, the thoughts, node values and the analyses given', async () => {
    const sweep = await engine.sweep({ question: R0.question }, { from: 0, to: 2 });
    const attribution = await engine.attribution({ question: R0.question, thoughts: 2 });
    const text = traceToJson(plain, { sweep, attribution, graph: GRAPH, record: 0, exported: '2026-01-01T00:00:00.000Z' });
    const j = JSON.parse(text);
    assert.equal(j.schema, TRACE_SCHEMA);
    assert.equal(j.schema, 'coconut-lens/trace@1');
    assert.equal(j.exported, '2026-01-01T00:00:00.000Z');
    assert.equal(j.model, 'tiny-random');
    assert.equal(j.record, 0);
    assert.equal(j.thoughts.length, 4);
    assert.deepEqual(j.thoughts[3].vector, plain.thoughts[3].vector);
    assert.deepEqual(j.answer, plain.answer);
    assert.equal(j.nodeValues.length, 5);
    assert.deepEqual(j.graph, GRAPH);
    assert.equal(j.sweep.points.length, 3);
    assert.equal(j.attribution.length, 2);
    assert.equal(j.interventions, undefined);
    assert.equal(j.original, undefined);
    // A function of its input: no time unless given.
    assert.equal(traceToJson(plain), traceToJson(plain));
    assert.equal(JSON.parse(traceToJson(plain)).exported, undefined);
    assert.equal(parseTrace(text).thoughts.length, 4);
  });

  it('an intervention trace holds the intervened run, the original and the divergence', () => {
    const j = JSON.parse(traceToJson(intervened));
    assert.deepEqual(j.interventions, [{ thought: 2, kind: 'scale', factor: 2 }]);
    assert.equal(j.thoughts[1].intervened.kind, 'scale');
    assert.equal(j.thoughts[1].intervened.factor, 2);
    assert.deepEqual(j.thoughts[1].vector, intervened.intervened.thoughts[1].vector);
    assert.deepEqual(j.original.thoughts[1].vector, intervened.original.thoughts[1].vector);
    assert.equal(j.divergence.length, 3);
    assert.deepEqual(Object.keys(buildTrace(intervened)).slice(0, 2), ['schema', 'model']);
  });

  it('refuses files that are not traces, naming the problem', () => {
    assert.throws(
      () => parseTrace('{', 'x.json'),
      (e: EngineError) => e.code === 'PROMPT_MALFORMED' && /x\.json is not valid JSON/.test(e.message),
    );
    assert.throws(() => parseTrace('{"schema": "other"}', 'x.json'), /not a Coconut Lens trace \(its "schema" is "other"/);
    assert.throws(() => parseTrace(JSON.stringify({ schema: TRACE_SCHEMA }), 'x.json'), /no "thoughts" list/);
  });
});

describe('trace CSV', () => {
  it('has one row per thought × rank, with the documented columns', () => {
    const rows = parseCsv(traceToCsv(plain));
    assert.deepEqual(rows[0], [...CSV_COLUMNS]);
    const body = rows.slice(1);
    assert.equal(body.length, 4 * 7);
    body.forEach((r, i) => {
      const t = plain.thoughts[Math.floor(i / 7)];
      const rank = (i % 7) + 1;
      assert.equal(r.length, CSV_COLUMNS.length);
      assert.deepEqual(r.slice(0, 4), [String(t.index), String(rank), t.topk[rank - 1].token, String(t.topk[rank - 1].id)]);
      assert.equal(Number(r[4]), t.topk[rank - 1].p);
      assert.equal(r[5], t.nearest[rank - 1].token);
      assert.equal(Number(r[7]), t.nearest[rank - 1].cosine);
      assert.equal(Number(r[8]), t.norm);
      assert.equal(Number(r[9]), t.entropy);
      assert.equal(r[10], '');
    });
    const iv = parseCsv(traceToCsv(intervened)).slice(1);
    assert.equal(iv.length, 3 * 5);
    assert.deepEqual(
      iv.map((r) => r[10]),
      [...Array(5).fill(''), ...Array(5).fill('scale'), ...Array(5).fill('')],
    );
  });

  it('quotes tokens with commas, quotes and line breaks (RFC 4180)', () => {
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('\n'), '"\n"');
    assert.equal(csvField(0.5), '0.5');
    const fake = { ...plain, thoughts: [{ ...plain.thoughts[0], topk: [{ token: '\n', id: 64, p: 0.5 }], nearest: [{ token: ',"', id: 1, cosine: 0.1 }] }] };
    const rows = parseCsv(traceToCsv(fake));
    assert.equal(rows.length, 2);
    assert.equal(rows[1][2], '\n');
    assert.equal(rows[1][5], ',"');
  });
});

describe('writing an export file', () => {
  it('writes, refuses to overwrite without force, and overwrites with it', () => {
    const file = path.join(dir, 'trace.json');
    assert.equal(checkExportTarget(file, false), 'json');
    writeExport(file, 'one', false);
    assert.throws(
      () => checkExportTarget(file, false),
      (e: EngineError) => e.code === 'EXPORT_EXISTS' && /already exists/.test(e.message) && /--force/.test(e.fix),
    );
    assert.throws(
      () => writeExport(file, 'two', false),
      (e: EngineError) => e.code === 'EXPORT_EXISTS',
    );
    assert.equal(fs.readFileSync(file, 'utf-8'), 'one');
    assert.equal(checkExportTarget(file, true), 'json');
    writeExport(file, 'two', true);
    assert.equal(fs.readFileSync(file, 'utf-8'), 'two');
    assert.equal(checkExportTarget(path.join(dir, 'x.CSV'), false), 'csv');
  });

  it('names the problem: unknown format, missing folder, a folder in the way, a read-only folder', () => {
    assert.throws(
      () => checkExportTarget(path.join(dir, 'trace.txt'), false),
      (e: EngineError) => e.code === 'BAD_OPTION' && /must end in \.json .* or \.csv/.test(e.message),
    );
    assert.throws(
      () => checkExportTarget(path.join(dir, 'nope', 't.json'), false),
      (e: EngineError) => e.code === 'EXPORT_FAILED' && /the folder .*nope does not exist/.test(e.message),
    );
    fs.mkdirSync(path.join(dir, 'sub.json'));
    assert.throws(
      () => checkExportTarget(path.join(dir, 'sub.json'), true),
      (e: EngineError) => e.code === 'EXPORT_FAILED' && /it is a folder/.test(e.message),
    );
    for (const code of ['EACCES', 'EROFS', 'EPERM']) {
      const readOnly: ExportFs = {
        existsSync: () => false,
        statSync: () => ({ isDirectory: () => false }),
        writeFileSync: () => {
          throw Object.assign(new Error(code), { code });
        },
      };
      assert.throws(
        () => writeExport('/data/out/trace.json', 'x', false, readOnly),
        (e: EngineError) =>
          e.code === 'EXPORT_FAILED' &&
          e.message === `cannot write /data/out/trace.json: the folder /data/out is read-only (${code})` &&
          /folder you can write to/.test(e.fix),
      );
    }
  });

  it('a real read-only folder', (t) => {
    // chmod does not stop root; sysfs refuses new files even to root.
    let target: string;
    if (process.getuid?.() === 0) {
      if (!fs.existsSync('/sys/kernel')) return t.skip('running as root without /sys: no read-only folder to try');
      target = '/sys/kernel/coconut-lens-trace.json';
    } else {
      const ro = path.join(dir, 'ro');
      fs.mkdirSync(ro);
      fs.chmodSync(ro, 0o555);
      target = path.join(ro, 'trace.json');
    }
    assert.throws(
      () => writeExport(target, 'x', false),
      (e: EngineError) => e.code === 'EXPORT_FAILED' && /is read-only \(E(ACCES|ROFS|PERM)\)/.test(e.message),
    );
    assert.ok(!fs.existsSync(target));
  });
});
