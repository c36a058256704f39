// The `.coconut` prompt format (docs/prompt-format.md): a question, optional reference steps and an
// optional answer, written as lines a person types without quoting anything.
//
//   Q: Every lempus is a zumpus. Tom is a lempus. Is Tom a zumpus or a rempus?
//   - Tom is a lempus.
//   - Every lempus is a zumpus.
//   A: Tom is a zumpus.
//   ---
//   Q: the next record…
//
// Records end at a blank line or a `---` line; `#` starts a comment line. A question may continue on
// the lines after `Q:` (joined with a space). Ranges cover the text after the marker, so
// the editor can highlight exactly the words of a step. No vscode here: the CLI shares it.
import { EngineError } from '../engine/errors';
import type { PromptRecord, Range } from './types';

export const COCONUT_FORMAT_HINT =
  'write each record as a "Q: question" line, optional "- step" lines and an optional "A: answer" line; ' +
  'separate records with a blank line or "---" (see docs/prompt-format.md)';

interface Line {
  /** 1-based line number. */
  no: number;
  start: number;
  /** End of the line's content (before \r\n or \n). */
  end: number;
  text: string;
}

interface Draft {
  startLine: Line;
  endLine: Line;
  question?: { parts: Range[] };
  steps: Range[];
  answer?: Range;
}

export function parseCoconutFormat(text: string, name: string): PromptRecord[] {
  const records: PromptRecord[] = [];
  let draft: Draft | undefined;

  const bad = (line: Line, message: string, fix = COCONUT_FORMAT_HINT) =>
    new EngineError('PROMPT_MALFORMED', `${name} line ${line.no}: ${message}`, fix, { details: { line: line.no } });

  const finish = () => {
    if (!draft) return;
    records.push(toRecord(draft, records.length, text, name));
    draft = undefined;
  };

  for (const line of splitLines(text)) {
    const t = line.text.trim();
    if (t === '' || /^-{3,}$/.test(t)) {
      finish();
      continue;
    }
    if (t.startsWith('#')) continue;
    const lead = line.text.length - line.text.trimStart().length;
    const q = /^Q:\s?/i.exec(t);
    const a = /^A:\s?/i.exec(t);
    const s = /^[-*]\s+/.exec(t);
    if (q) {
      // A second question without a separator starts a new record: forgiving, and unambiguous.
      finish();
      draft = { startLine: line, endLine: line, steps: [], question: { parts: [] } };
      const r = valueRange(line, lead + q[0].length);
      if (r) draft.question!.parts.push(r);
    } else if (!draft) {
      throw bad(line, `"${clip(t)}" is outside a record; a record starts with a "Q:" line`);
    } else if (a) {
      if (draft.answer) throw bad(line, 'this record already has an answer ("A:" line)');
      const r = valueRange(line, lead + a[0].length);
      if (!r) throw bad(line, 'the "A:" line is empty', 'write the answer after "A:", or delete the line');
      draft.answer = r;
      draft.endLine = line;
    } else if (s) {
      if (draft.answer) throw bad(line, 'a step comes after the answer', 'move the "- step" lines above the "A:" line');
      const r = valueRange(line, lead + s[0].length);
      if (r) draft.steps.push(r);
      draft.endLine = line;
    } else {
      // A continuation of the question; only right after the question (before any step).
      if (draft.steps.length || draft.answer) {
        throw bad(line, `"${clip(t)}" is not a step ("- …") or an answer ("A: …")`, 'start step lines with "- " and the answer with "A: "');
      }
      draft.question!.parts.push({ start: line.start + lead, end: line.end - (line.text.length - line.text.trimEnd().length) });
      draft.endLine = line;
    }
  }
  finish();
  if (records.length === 0) {
    throw new EngineError('PROMPT_EMPTY', `${name} has no records (no "Q:" line)`, COCONUT_FORMAT_HINT);
  }
  return records;
}

function toRecord(d: Draft, index: number, text: string, name: string): PromptRecord {
  const parts = d.question?.parts ?? [];
  if (parts.length === 0) {
    throw new EngineError('PROMPT_EMPTY', `${name} record ${index} (line ${d.startLine.no}) has an empty question`, 'write the question after "Q:"', {
      details: { record: index, line: d.startLine.no },
    });
  }
  const questionRange = { start: parts[0]!.start, end: parts[parts.length - 1]!.end };
  const rec: PromptRecord = {
    index,
    question: parts.map((r) => text.slice(r.start, r.end)).join(' '),
    range: { start: d.startLine.start, end: d.endLine.end },
    cursorRange: { start: d.startLine.start, end: d.endLine.end },
    line: d.startLine.no,
    questionRange,
    stepRanges: d.steps,
  };
  if (d.steps.length) rec.steps = d.steps.map((r) => text.slice(r.start, r.end));
  if (d.answer) {
    rec.answer = text.slice(d.answer.start, d.answer.end);
    rec.answerRange = d.answer;
  }
  return rec;
}

/** The trimmed text of `line` from column `from`, or undefined when nothing is there. */
function valueRange(line: Line, from: number): Range | undefined {
  const raw = line.text.slice(from);
  const startPad = raw.length - raw.trimStart().length;
  const value = raw.trim();
  if (!value) return undefined;
  const start = line.start + from + startPad;
  return { start, end: start + value.length };
}

function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  let no = 1;
  while (start <= text.length) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = text.length;
    const end = nl > start && text[nl - 1] === '\r' ? nl - 1 : nl;
    // A byte-order mark at the start of the file is not part of the first line's text.
    const from = start === 0 && text.charCodeAt(0) === 0xfeff ? 1 : start;
    lines.push({ no, start: from, end, text: text.slice(from, end) });
    if (nl >= text.length) break;
    start = nl + 1;
    no++;
  }
  return lines;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
