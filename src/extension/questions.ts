// Where a question comes from: the record under the cursor, the first record, the whole file or
// the selection. Documents are only read, never edited.

import * as vscode from 'vscode';
import { parsePromptFile, recordAt, type PromptFile, type PromptRecord } from '../prompts';
import { docLabel as label, parseDocument as parse } from './documents';
import { HostError } from './errors';
import type { Question } from './run-history';

/** Inspect File: JSON/JSONL → the record under the cursor, else the first; text → the whole text. */
export function questionFromFile(editor: vscode.TextEditor): Question {
  const doc = editor.document;
  const file = parse(doc);
  const record = recordAt(file, doc.offsetAt(editor.selection.active)) ?? file.records[0]!;
  return fromRecord(file, record, doc);
}

/** Inspect Record Under Cursor: in a plain-text file the whole text is the one record. */
export function questionFromRecord(editor: vscode.TextEditor): Question {
  const doc = editor.document;
  const file = parse(doc);
  const line = editor.selection.active.line + 1;
  const record = recordAt(file, doc.offsetAt(editor.selection.active));
  if (!record) {
    throw new HostError(
      'PROMPT_RECORD_RANGE',
      `The cursor (line ${line}) is not inside a record of ${label(doc)}.`,
      'Put the cursor inside a record (between its braces), or run "Inspect Latent Thoughts (File)" to use the first record.',
    );
  }
  return fromRecord(file, record, doc);
}

/**
 * Inspect Selection: the selected text is the question. A selected JSON record or string literal
 * is unwrapped, so selecting a line of a JSONL file does what one expects.
 */
export function questionFromSelection(editor: vscode.TextEditor): Question {
  const doc = editor.document;
  const text = editor.selections
    .filter((s) => !s.isEmpty)
    .map((s) => doc.getText(s))
    .join('\n');
  if (!text.trim()) {
    throw new HostError(
      'PROMPT_EMPTY',
      'Nothing is selected.',
      'Select the question text, or run "Inspect Latent Thoughts (File)" to inspect the whole file or the record under the cursor.',
    );
  }
  const source = `${label(doc)} (selection)`;
  const unwrapped = unwrapJson(text);
  if (unwrapped) return { ...unwrapped, source };
  return { text: text.trim(), source };
}

/** Inspect thoughts (CodeLens): the record with this index of the document at `uri`. */
export async function questionFromRecordIndex(uri: string, index: number): Promise<Question> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
  const file = parse(doc);
  const record = file.records[index];
  if (!record) {
    throw new HostError(
      'PROMPT_RECORD_RANGE',
      `${label(doc)} has no record ${index} (it has ${file.records.length}).`,
      'Click the "Inspect thoughts" lens above the record you want; the file changed since the lens was shown.',
    );
  }
  return fromRecord(file, record, doc);
}

export function fromRecord(file: PromptFile, record: PromptRecord, doc: vscode.TextDocument): Question {
  const source = file.format === 'text' ? label(doc) : `${label(doc)}, record ${record.index} (line ${record.line})`;
  const q: Question = { text: record.question, source, expectedAnswer: record.answer, record: { uri: doc.uri.toString(), index: record.index } };
  if (record.steps) q.steps = record.steps;
  if (record.graph) q.graph = record.graph;
  return q;
}

function unwrapJson(text: string): Omit<Question, 'source'> | undefined {
  const t = text.trim();
  if (t.startsWith('"')) {
    try {
      const s: unknown = JSON.parse(t);
      return typeof s === 'string' && s.trim() ? { text: s } : undefined;
    } catch {
      return undefined;
    }
  }
  if (!t.startsWith('{')) return undefined;
  try {
    const file = parsePromptFile(t, 'selection.json');
    const r = file.records.length === 1 ? file.records[0] : undefined;
    return r ? { text: r.question, expectedAnswer: r.answer } : undefined;
  } catch {
    // Not a record after all: the selection is used as plain text.
    return undefined;
  }
}
