// Prompt files: JSON (one record or an array of records), JSON Lines, or plain text (the whole
// text is the question). Records follow the official Coconut data schema (question, steps, answer,
// and ProsQA's graph fields). No vscode here: the CLI, tests and extension share it.
import { EngineError } from '../engine/errors';
import { lineColumn } from '../engine/text';
import type { GraphLike } from '../shared/graph';
import { parseCoconutFormat } from './coconut-format';
import { JsonRangeParser, JsonSyntaxError, type JsonNode } from './json-ranges';
import type { PromptFile, PromptFormat, PromptRecord } from './types';

const SCHEMA_HINT = 'each record is an object like {"question": "...", "steps": ["..."], "answer": "..."} (steps and answer optional)';

export function detectFormat(text: string, fileName: string): PromptFormat {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.txt') || lower.endsWith('.md')) return 'text';
  if (lower.endsWith('.coconut')) return 'coconut';
  // Unknown or no extension (e.g. an untitled editor): sniff the first character.
  const first = text.replace(/^[\s\uFEFF]+/, '')[0];
  if (first === '{' || first === '[') {
    const lines = text.split('\n').filter((l) => l.trim().length > 0);
    return first === '{' && lines.length > 1 && lines.every((l) => l.trim().startsWith('{')) ? 'jsonl' : 'json';
  }
  return 'text';
}

export function parsePromptFile(text: string, fileName: string, format?: PromptFormat): PromptFile {
  const name = baseName(fileName);
  if (text.replace(/[\s\uFEFF]+/g, '').length === 0) {
    throw new EngineError(
      'PROMPT_EMPTY',
      `${name} is empty`,
      'write a question in it (plain text), or a JSON record such as {"question": "Is Tom a lempus or a rempus?"}',
    );
  }
  const fmt = format ?? detectFormat(text, fileName);
  const records =
    fmt === 'text'
      ? [plainTextRecord(text)]
      : fmt === 'json'
        ? parseJson(text, name)
        : fmt === 'coconut'
          ? parseCoconutFormat(text, name)
          : parseJsonl(text, name);
  return { fileName, format: fmt, records };
}

/** The record under a cursor offset (see PromptRecord.cursorRange); undefined between records. */
export function recordAt(file: PromptFile, offset: number): PromptRecord | undefined {
  return file.records.find((r) => offset >= r.cursorRange.start && offset <= r.cursorRange.end);
}

/** The record a --record N option names, with an error that states the valid range. */
export function selectRecord(file: PromptFile, index: number): PromptRecord {
  const n = file.records.length;
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new EngineError(
      'PROMPT_RECORD_RANGE',
      `record ${index} is out of range: ${baseName(file.fileName)} has ${n} record${n === 1 ? '' : 's'} (valid: ${n === 1 ? '0' : `0 to ${n - 1}`})`,
      `pass --record with a number from 0 to ${n - 1} (records are counted from 0)`,
    );
  }
  return file.records[index];
}

function plainTextRecord(text: string): PromptRecord {
  const start = text.length - text.replace(/^[\s\uFEFF]+/, '').length;
  const end = text.replace(/\s+$/, '').length;
  const range = { start, end };
  return {
    index: 0,
    question: text.slice(start, end),
    range,
    cursorRange: { start: 0, end: text.length },
    line: lineColumn(text, start).line,
    questionRange: range,
    stepRanges: [],
  };
}

function syntaxError(text: string, name: string, e: JsonSyntaxError, hint = ''): EngineError {
  const { line, column } = lineColumn(text, e.offset);
  return new EngineError(
    'PROMPT_MALFORMED',
    `${name} is not valid JSON: ${e.message} at line ${line}, column ${column}${hint}`,
    'fix the JSON at that position (strings in double quotes, no trailing commas, no comments)',
    { details: { line, column, offset: e.offset } },
  );
}

function parseJson(text: string, name: string): PromptRecord[] {
  let root: JsonNode;
  try {
    root = new JsonRangeParser(text).parseDocument();
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    // Several objects one after another are JSON Lines saved under a .json name.
    const hint =
      /after the end of the JSON value/.test(e.message) && text[e.offset] === '{'
        ? ' (one record per line is JSON Lines: name the file .jsonl, or wrap the records in [ ... ])'
        : '';
    throw syntaxError(text, name, e, hint);
  }
  if (root.type === 'object') return [toRecord(root, 0, text, name)];
  if (root.type === 'array') {
    if (root.items.length === 0) {
      throw new EngineError('PROMPT_EMPTY', `${name} holds an empty array: there are no records`, `add at least one record; ${SCHEMA_HINT}`);
    }
    return root.items.map((item, i) => toRecord(item, i, text, name));
  }
  throw new EngineError('PROMPT_MALFORMED', `${name} holds a JSON ${root.type}; expected a record (object) or an array of records`, SCHEMA_HINT);
}

function parseJsonl(text: string, name: string): PromptRecord[] {
  const records: PromptRecord[] = [];
  let lineStart = 0;
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    const contentEnd = lineEnd > lineStart && text[lineEnd - 1] === '\r' ? lineEnd - 1 : lineEnd;
    if (text.slice(lineStart, contentEnd).replace(/[\s\uFEFF]+/g, '').length > 0) {
      let node: JsonNode;
      try {
        node = new JsonRangeParser(text, lineStart, contentEnd).parseDocument();
      } catch (e) {
        if (!(e instanceof JsonSyntaxError)) throw e;
        throw syntaxError(text, name, e, ' (in JSON Lines every record must be on one line)');
      }
      const rec = toRecord(node, records.length, text, name);
      rec.cursorRange = { start: lineStart, end: contentEnd };
      records.push(rec);
    }
    lineStart = lineEnd + 1;
  }
  if (records.length === 0) {
    throw new EngineError('PROMPT_EMPTY', `${name} has no records`, `add one JSON record per line; ${SCHEMA_HINT}`);
  }
  return records;
}

function describeNode(n: JsonNode): string {
  return n.type === 'array' ? 'an array' : n.type === 'object' ? 'an object' : `a ${n.type}`;
}

function toRecord(node: JsonNode, index: number, text: string, name: string): PromptRecord {
  const line = lineColumn(text, node.start).line;
  const where = `${name} record ${index} (line ${line})`;
  const bad = (msg: string, fix = SCHEMA_HINT) => new EngineError('PROMPT_MALFORMED', `${where} ${msg}`, fix, { details: { record: index, line } });
  if (node.type !== 'object') throw bad(`is ${describeNode(node)}, not an object`);
  const field = (key: string) => node.members.find((m) => m.key === key)?.value;

  const q = field('question');
  if (!q) throw bad('has no "question" field', `add a "question" string to the record; ${SCHEMA_HINT}`);
  if (q.type !== 'string') throw bad(`has a "question" that is ${describeNode(q)}, not a string`);
  if (q.value.trim().length === 0) {
    throw new EngineError('PROMPT_EMPTY', `${where} has an empty "question"`, 'write the question the model should answer');
  }
  const rec: PromptRecord = {
    index,
    question: q.value,
    range: { start: node.start, end: node.end },
    cursorRange: { start: node.start, end: node.end },
    line,
    questionRange: { start: q.start, end: q.end },
    stepRanges: [],
  };

  const steps = field('steps');
  if (steps) {
    if (steps.type !== 'array') throw bad(`has "steps" that is ${describeNode(steps)}, not an array of strings`);
    rec.steps = steps.items.map((s, i) => {
      if (s.type !== 'string') throw bad(`has steps[${i}] that is ${describeNode(s)}, not a string`);
      rec.stepRanges.push({ start: s.start, end: s.end });
      return s.value;
    });
  }
  const answer = field('answer');
  if (answer) {
    if (answer.type !== 'string') throw bad(`has an "answer" that is ${describeNode(answer)}, not a string`);
    rec.answer = answer.value;
    rec.answerRange = { start: answer.start, end: answer.end };
  }
  const graph = readGraph(field, bad);
  if (graph) rec.graph = graph;
  return rec;
}

function readGraph(field: (k: string) => JsonNode | undefined, bad: (m: string) => EngineError): GraphLike | undefined {
  const sym = field('idx_to_symbol');
  const edges = field('edges');
  if (!sym && !edges) return undefined;
  if (!sym || !edges) throw bad(`has "${sym ? 'idx_to_symbol' : 'edges'}" without "${sym ? 'edges' : 'idx_to_symbol'}" (ProsQA graphs need both)`);
  if (sym.type !== 'array' || !sym.items.every((s) => s.type === 'string')) {
    throw bad('has "idx_to_symbol" that is not an array of strings');
  }
  const n = sym.items.length;
  const isIndex = (v: JsonNode | undefined): v is JsonNode & { type: 'number'; value: number } =>
    !!v && v.type === 'number' && Number.isInteger(v.value) && v.value >= 0 && v.value < n;
  if (edges.type !== 'array') throw bad('has "edges" that is not an array of [parent, child] pairs');
  const pairs = edges.items.map((e, i): [number, number] => {
    if (e.type !== 'array' || e.items.length !== 2 || !isIndex(e.items[0]) || !isIndex(e.items[1])) {
      throw bad(`has edges[${i}] that is not a [parent, child] pair of node indices 0..${n - 1}`);
    }
    return [(e.items[0] as { value: number }).value, (e.items[1] as { value: number }).value];
  });
  const graph: GraphLike = { idx_to_symbol: sym.items.map((s) => (s as { value: string }).value), edges: pairs };
  for (const key of ['root', 'target', 'neg_target'] as const) {
    const v = field(key);
    if (v === undefined) continue;
    if (!isIndex(v)) throw bad(`has "${key}" that is not a node index 0..${n - 1}`);
    graph[key] = v.value;
  }
  return graph;
}

function baseName(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] || p;
}
