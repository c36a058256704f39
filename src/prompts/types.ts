// What a prompt file is once parsed: its records with the character ranges the editor features
// point at. Apart from the parsers so that each parser depends on the types, not on another parser.
import type { GraphLike } from '../shared/graph';
import type { Range } from './json-ranges';

export type { Range } from './json-ranges';

export type PromptFormat = 'json' | 'jsonl' | 'text' | 'coconut';

export interface PromptRecord {
  /** 0-based position of the record in the file (the --record number). */
  index: number;
  question: string;
  steps?: string[];
  answer?: string;
  /** The record's ProsQA graph fields as the file has them (root and targets may be missing). */
  graph?: GraphLike;
  /** The whole record: the JSON object, or the question text of a plain-text file. */
  range: Range;
  /**
   * Where a cursor counts as "on" this record: the object in JSON, its whole line in JSON Lines,
   * the whole file for plain text.
   */
  cursorRange: Range;
  /** 1-based line on which the record starts. */
  line: number;
  /** The question's string literal (quotes included) in JSON; the trimmed text in plain text. */
  questionRange: Range;
  /** One per step string literal, quotes included. */
  stepRanges: Range[];
  answerRange?: Range;
}

export interface PromptFile {
  fileName: string;
  format: PromptFormat;
  records: PromptRecord[];
}
