// Prompt documents as records: parsed once per document version and shared by the CodeLens, the
// hover, the step highlighting and the inspect commands. Documents are only read, never edited.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { parsePromptFile, recordAt, type PromptFile, type PromptFormat, type PromptRecord } from '../prompts';

/** Language id of `.coconut` prompt files (package.json contributes it with a grammar). */
export const COCONUT_LANGUAGE = 'coconut-prompt';

/** Languages whose files hold records (CodeLens, hover); text and Markdown are one question each. */
export const RECORD_LANGUAGES = ['json', 'jsonc', 'jsonl', COCONUT_LANGUAGE];

const KNOWN_EXTENSIONS = ['.json', '.jsonl', '.ndjson', '.txt', '.md', '.coconut'];

/** Known extensions are the parser's business; otherwise the editor's language decides. */
export function formatOf(doc: vscode.TextDocument): PromptFormat | undefined {
  const ext = path.extname(doc.fileName).toLowerCase();
  if (KNOWN_EXTENSIONS.includes(ext)) return undefined;
  switch (doc.languageId) {
    case 'json':
    case 'jsonc':
      return 'json';
    case 'jsonl':
      return 'jsonl';
    case COCONUT_LANGUAGE:
      return 'coconut';
    case 'plaintext':
    case 'markdown':
      return 'text';
    default:
      return undefined;
  }
}

export function docLabel(doc: vscode.TextDocument): string {
  return doc.isUntitled ? doc.uri.path : path.basename(doc.fileName);
}

/** Parses a document (throws the parser's EngineError for a malformed file). */
export function parseDocument(doc: vscode.TextDocument): PromptFile {
  return parsePromptFile(doc.getText(), doc.isUntitled ? doc.uri.path : doc.fileName, formatOf(doc));
}

interface Cached {
  version: number;
  file?: PromptFile;
  error?: unknown;
}

/**
 * Parse results per open document, dropped when the document closes. Providers ask on every
 * keystroke-triggered refresh; parsing a 500-record file each time would be wasted work.
 */
export class PromptDocuments implements vscode.Disposable {
  private readonly cache = new Map<string, Cached>();
  private readonly subscription: vscode.Disposable;

  constructor() {
    this.subscription = vscode.workspace.onDidCloseTextDocument((d) => this.cache.delete(d.uri.toString()));
  }

  /** The records of `doc`, or undefined when it does not parse as a prompt file. */
  tryParse(doc: vscode.TextDocument): PromptFile | undefined {
    const c = this.entry(doc);
    return c.file;
  }

  /** The records of `doc`; throws the parser's error when it does not parse. */
  parse(doc: vscode.TextDocument): PromptFile {
    const c = this.entry(doc);
    if (c.error !== undefined) throw c.error;
    return c.file!;
  }

  recordAt(doc: vscode.TextDocument, pos: vscode.Position): PromptRecord | undefined {
    const file = this.tryParse(doc);
    return file ? recordAt(file, doc.offsetAt(pos)) : undefined;
  }

  /** The record with this index of the document at `uri`, if that document is open and parses. */
  async record(uri: string, index: number): Promise<{ doc: vscode.TextDocument; file: PromptFile; record: PromptRecord } | undefined> {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
    const file = this.parse(doc);
    const record = file.records[index];
    return record ? { doc, file, record } : undefined;
  }

  dispose(): void {
    this.subscription.dispose();
    this.cache.clear();
  }

  private entry(doc: vscode.TextDocument): Cached {
    const key = doc.uri.toString();
    const hit = this.cache.get(key);
    if (hit && hit.version === doc.version) return hit;
    let c: Cached;
    try {
      c = { version: doc.version, file: parseDocument(doc) };
    } catch (error) {
      c = { version: doc.version, error };
    }
    this.cache.set(key, c);
    return c;
  }
}

/** The step (0-based) of `record` whose text contains `offset`, if any. */
export function stepAt(record: PromptRecord, offset: number): number | undefined {
  const i = record.stepRanges.findIndex((r) => offset >= r.start && offset <= r.end);
  return i >= 0 ? i : undefined;
}

export function toRange(doc: vscode.TextDocument, r: { start: number; end: number }): vscode.Range {
  return new vscode.Range(doc.positionAt(r.start), doc.positionAt(r.end));
}
