import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import { EngineError } from '../../src/engine/errors';
import { detectFormat, parsePromptFile, recordAt, selectRecord } from '../../src/prompts';
import { VALID_SET } from './helpers';

function throwsLens(f: () => unknown, code: string, ...patterns: RegExp[]): EngineError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof EngineError, `expected a EngineError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const p of patterns) assert.match(caught.message, p);
  assert.ok(caught.fix.length > 10, 'every error carries a fix');
  return caught;
}

const REC = {
  question: 'Every lempus is a zumpus. Is Tom a zumpus or a rempus?',
  steps: ['Tom is a lempus.', 'Every lempus is a zumpus.'],
  answer: 'Tom is a zumpus.',
};

describe('prompt files', () => {
  it('parses one JSON record with the ranges of question, steps and answer', () => {
    const text = JSON.stringify(REC, null, 2);
    const f = parsePromptFile(text, 'q.json');
    assert.equal(f.format, 'json');
    assert.equal(f.records.length, 1);
    const r = f.records[0];
    assert.equal(r.question, REC.question);
    assert.deepEqual(r.steps, REC.steps);
    assert.equal(r.answer, REC.answer);
    assert.deepEqual(r.range, { start: 0, end: text.length });
    assert.equal(text.slice(r.questionRange.start, r.questionRange.end), JSON.stringify(REC.question));
    assert.deepEqual(
      r.stepRanges.map((x) => text.slice(x.start, x.end)),
      REC.steps.map((s) => JSON.stringify(s)),
    );
    assert.equal(text.slice(r.answerRange!.start, r.answerRange!.end), JSON.stringify(REC.answer));
    assert.equal(r.line, 1);
  });

  it('parses a JSON array, keeps escapes, and finds the record under a cursor', () => {
    const recs = [REC, { question: 'Is "Alex" a\\n gerpus?\n' }, { question: 'Third' }];
    const text = JSON.stringify(recs, null, 1);
    const f = parsePromptFile(text, 'data.json');
    assert.equal(f.records.length, 3);
    assert.equal(f.records[1].question, 'Is "Alex" a\\n gerpus?\n');
    const second = f.records[1];
    const mid = Math.floor((second.range.start + second.range.end) / 2);
    assert.equal(recordAt(f, mid)?.index, 1);
    assert.equal(recordAt(f, f.records[2].questionRange.start)?.index, 2);
    assert.equal(recordAt(f, 0), undefined, 'the opening bracket is outside every record');
    assert.equal(text[second.range.start], '{');
    assert.equal(text[second.range.end - 1], '}');
  });

  it('parses JSON Lines with CRLF and blank lines; ranges point into the file', () => {
    const lines = [JSON.stringify(REC), '', JSON.stringify({ question: 'Second?', answer: 'x' })];
    const text = lines.join('\r\n') + '\r\n';
    const f = parsePromptFile(text, 'set.jsonl');
    assert.equal(f.format, 'jsonl');
    assert.equal(f.records.length, 2);
    assert.equal(f.records[1].line, 3);
    assert.equal(f.records[1].index, 1);
    const q = f.records[1].questionRange;
    assert.equal(text.slice(q.start, q.end), '"Second?"');
    assert.equal(recordAt(f, f.records[1].range.start + 3)?.question, 'Second?');
    const lineEnd = text.indexOf('\r\n', f.records[1].range.start);
    assert.equal(recordAt(f, lineEnd)?.index, 1, 'the end of the line counts');
    assert.equal(recordAt(f, text.indexOf('\r\n') + 2), undefined, 'the blank line is no record');
  });

  it('reads the ProsQA graph fields', () => {
    const data = JSON.parse(fs.readFileSync(VALID_SET, 'utf-8'));
    const f = parsePromptFile(JSON.stringify(data.slice(0, 3)), 'prosqa_valid.json');
    const g = f.records[0].graph!;
    assert.deepEqual(g.idx_to_symbol, data[0].idx_to_symbol);
    assert.deepEqual(g.edges, data[0].edges);
    assert.equal(g.root, data[0].root);
    assert.equal(g.target, data[0].target);
    assert.equal(g.neg_target, data[0].neg_target);
  });

  it('parses the whole official validation set', () => {
    const text = fs.readFileSync(VALID_SET, 'utf-8');
    const f = parsePromptFile(text, VALID_SET);
    assert.equal(f.records.length, 300);
    assert.ok(f.records.every((r) => r.answer && r.steps && r.graph));
    const r = f.records[299];
    assert.deepEqual(JSON.parse(text.slice(r.range.start, r.range.end)), JSON.parse(text)[299]);
  });

  it('treats plain text as one question, trimmed, with its range', () => {
    const text = '\n  Every lempus is a zumpus. Is Tom a zumpus?\n\n';
    const f = parsePromptFile(text, 'q.txt');
    assert.equal(f.format, 'text');
    assert.equal(f.records[0].question, 'Every lempus is a zumpus. Is Tom a zumpus?');
    const r = f.records[0].range;
    assert.equal(text.slice(r.start, r.end), f.records[0].question);
    assert.equal(f.records[0].line, 2);
    assert.equal(recordAt(f, 0)?.index, 0, 'anywhere in a text file is its one record');
    assert.equal(recordAt(f, text.length)?.index, 0);
  });

  it('sniffs the format of files without a known extension', () => {
    assert.equal(detectFormat('{"question": "a"}', 'Untitled-1'), 'json');
    assert.equal(detectFormat('{"question": "a"}\n{"question": "b"}\n', 'Untitled-1'), 'jsonl');
    assert.equal(detectFormat('[{"question": "a"}]', 'noext'), 'json');
    assert.equal(detectFormat('Is Tom a lempus?', 'noext'), 'text');
    assert.equal(detectFormat('[not json', 'q.txt'), 'text');
  });

  it('rejects empty files', () => {
    throwsLens(() => parsePromptFile('', 'a.json'), 'PROMPT_EMPTY', /a\.json is empty/);
    throwsLens(() => parsePromptFile(' \n\t\n', 'a.txt'), 'PROMPT_EMPTY', /is empty/);
    throwsLens(() => parsePromptFile('\n\n', 'a.jsonl'), 'PROMPT_EMPTY');
    throwsLens(() => parsePromptFile('[]', 'a.json'), 'PROMPT_EMPTY', /empty array/);
  });

  it('reports malformed JSON with line and column', () => {
    const e = throwsLens(
      () => parsePromptFile('[\n  {"question": "a"},\n  {"question": "b",}\n]', 'bad.json'),
      'PROMPT_MALFORMED',
      /bad\.json is not valid JSON/,
      /line 3, column 20/,
      /trailing comma/,
    );
    assert.deepEqual(e.details, { line: 3, column: 20, offset: 42 });
    throwsLens(() => parsePromptFile('{"question": "a"', 'x.json'), 'PROMPT_MALFORMED', /line 1, column 17/);
    throwsLens(() => parsePromptFile('{"question": "a\nb"}', 'x.json'), 'PROMPT_MALFORMED', /line break inside a string/, /line 1, column 16/);
    throwsLens(() => parsePromptFile('{"question": \'a\'}', 'x.json'), 'PROMPT_MALFORMED', /line 1, column 14/);
  });

  it('suggests .jsonl when a .json file holds one record per line', () => {
    throwsLens(() => parsePromptFile('{"question": "a"}\n{"question": "b"}\n', 'x.json'), 'PROMPT_MALFORMED', /line 2, column 1/, /JSON Lines/);
  });

  it('reports the JSON Lines line of a malformed record', () => {
    throwsLens(() => parsePromptFile('{"question": "a"}\n{"question": }\n', 'x.jsonl'), 'PROMPT_MALFORMED', /line 2, column 14/);
  });

  it('names the record that has no question, or a question of the wrong type', () => {
    throwsLens(() => parsePromptFile('[{"question": "a"}, {"steps": []}]', 'x.json'), 'PROMPT_MALFORMED', /record 1 \(line 1\) has no "question"/);
    throwsLens(() => parsePromptFile('{"question": "a"}\n{"answer": "b"}', 'x.jsonl'), 'PROMPT_MALFORMED', /record 1 \(line 2\) has no "question"/);
    throwsLens(() => parsePromptFile('[{"question": 3}]', 'x.json'), 'PROMPT_MALFORMED', /record 0 .* "question" that is a number/);
    throwsLens(() => parsePromptFile('[{"question": "  "}]', 'x.json'), 'PROMPT_EMPTY', /record 0 .* empty "question"/);
    throwsLens(() => parsePromptFile('[1, 2]', 'x.json'), 'PROMPT_MALFORMED', /record 0 .* is a number, not an object/);
    throwsLens(() => parsePromptFile('"just a string"', 'x.json'), 'PROMPT_MALFORMED', /holds a JSON string/);
  });

  it('checks steps, answer and graph field types', () => {
    throwsLens(() => parsePromptFile('{"question": "a", "steps": "one"}', 'x.json'), 'PROMPT_MALFORMED', /"steps" that is a string/);
    throwsLens(() => parsePromptFile('{"question": "a", "steps": ["ok", 2]}', 'x.json'), 'PROMPT_MALFORMED', /steps\[1\] that is a number/);
    throwsLens(() => parsePromptFile('{"question": "a", "answer": ["x"]}', 'x.json'), 'PROMPT_MALFORMED', /"answer" that is an array/);
    throwsLens(() => parsePromptFile('{"question": "a", "idx_to_symbol": ["A", "b"], "edges": [[0, 5]]}', 'x.json'), 'PROMPT_MALFORMED', /edges\[0\]/);
    throwsLens(() => parsePromptFile('{"question": "a", "idx_to_symbol": ["A"]}', 'x.json'), 'PROMPT_MALFORMED', /without "edges"/);
    throwsLens(
      () => parsePromptFile('{"question": "a", "idx_to_symbol": ["A", "b"], "edges": [[0, 1]], "target": 7}', 'x.json'),
      'PROMPT_MALFORMED',
      /"target" that is not a node index 0\.\.1/,
    );
  });

  it('selects --record N and states the valid range when it is out of range', () => {
    const f = parsePromptFile(JSON.stringify([REC, REC, REC]), 'x.json');
    assert.equal(selectRecord(f, 2).index, 2);
    throwsLens(() => selectRecord(f, 3), 'PROMPT_RECORD_RANGE', /record 3 is out of range/, /3 records \(valid: 0 to 2\)/);
    throwsLens(() => selectRecord(f, -1), 'PROMPT_RECORD_RANGE', /valid: 0 to 2/);
    const one = parsePromptFile('Is Tom a lempus?', 'q.txt');
    throwsLens(() => selectRecord(one, 1), 'PROMPT_RECORD_RANGE', /1 record \(valid: 0\)/);
  });
});
