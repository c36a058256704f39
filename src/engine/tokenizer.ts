// Wraps @huggingface/tokenizers. The one thing it adds is refusing unknown words: a whole-word
// vocabulary maps them to [UNK], which would silently change the question the model sees.
import type { Tokenizer as HfTokenizer } from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };
import { EngineError } from './errors';
import { lineColumn } from './text';

// The package is ESM-first with a CJS build; require() picks the CJS one under tsx and esbuild.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const hf = require('@huggingface/tokenizers') as { Tokenizer: typeof HfTokenizer };

export interface UnknownWord {
  word: string;
  /** Character offset in the encoded text (-1 if a normalizer changed the text beyond recognition). */
  offset: number;
  line: number; // 1-based
  column: number; // 1-based
  suggestion?: string;
}

export interface Encoded {
  ids: number[];
  tokens: string[];
}

// Suggestions scan the whole vocabulary; beyond this size that costs more than it helps.
const MAX_VOCAB_FOR_SUGGESTIONS = 20000;

export class ModelTokenizer {
  private constructor(
    private readonly tok: HfTokenizer,
    readonly unkToken: string | undefined,
    readonly unkId: number | undefined,
  ) {}

  /** Builds from a parsed tokenizer.json. Throws plain errors; model-dir.ts words them. */
  static fromJson(json: unknown): ModelTokenizer {
    // Library defaults throughout: training/tokenizer.py mirrors exactly these (golden answer texts).
    const tok = new hf.Tokenizer(json as object, {});
    const model = (json as { model?: { unk_token?: unknown } }).model;
    const unkToken = typeof model?.unk_token === 'string' ? model.unk_token : undefined;
    const unkId = unkToken === undefined ? undefined : tok.token_to_id(unkToken);
    return new ModelTokenizer(tok, unkToken, unkId);
  }

  /**
   * The tokenizer's normalizer applied to `text` (identity without one). A compact ProsQA tokenizer
   * drops template words, so "Tom is a wumpus." and the model's "Tom wumpus." compare equal only
   * once both are normalized.
   */
  normalize(text: string): string {
    return this.tok.normalizer ? (this.tok.normalizer(text) as string) : text;
  }

  get vocabSize(): number {
    return this.tok.get_vocab(true).size;
  }

  idOf(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  /** The vocabulary entry of an id, for display. */
  tokenOf(id: number): string {
    return this.tok.id_to_token(id) ?? `<${id}>`;
  }

  /** Encodes without special-token post-processing; throws PROMPT_OOV naming unknown words. */
  encode(text: string): Encoded {
    const enc = this.tok.encode(text, { add_special_tokens: false });
    if (this.unkId !== undefined && enc.ids.includes(this.unkId)) {
      throw this.oovError(text, enc.ids.filter((id: number) => id === this.unkId).length);
    }
    return { ids: enc.ids, tokens: enc.tokens };
  }

  /**
   * The token ids of a word as it would appear inside a sentence: with a leading space for
   * byte-level BPE vocabularies (GPT-2's "Ġword"), bare for whole-word ones; whichever needs fewer
   * tokens. null when the word is not in the vocabulary.
   */
  wordIds(word: string): number[] | null {
    let best: number[] | null = null;
    for (const text of [word, ` ${word}`]) {
      const enc = this.tok.encode(text, { add_special_tokens: false });
      if (this.unkId !== undefined && enc.ids.includes(this.unkId)) continue;
      const ids = enc.ids.filter((_: number, i: number) => enc.tokens[i].trim() !== '');
      if (ids.length > 0 && (best === null || ids.length < best.length)) best = ids;
    }
    return best;
  }

  /** Text of ids with the library's default options (special tokens kept, spaces cleaned up). */
  decode(ids: number[], opts: { skipSpecial?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.tok.decode(ids, { skip_special_tokens: opts.skipSpecial ?? false });
  }

  /** Finds the words that map to the unknown token, with where they are in `text`. */
  unknownWords(text: string): UnknownWord[] {
    const pre = this.tok.pre_tokenizer;
    const model = this.tok.model;
    if (!model || this.unkToken === undefined) return [];
    const normalized = this.normalize(text);
    const pieces: string[] = pre ? pre(normalized) : [normalized];
    const out: UnknownWord[] = [];
    let cursor = 0;
    for (const piece of pieces) {
      const at = text.indexOf(piece, cursor);
      if (at >= 0) cursor = at + piece.length;
      if (this.idOf(piece) !== undefined) continue; // added tokens and whole words
      const sub = model([piece]) as string[];
      if (!sub.includes(this.unkToken)) continue;
      const { line, column } = lineColumn(text, at);
      const w: UnknownWord = { word: piece, offset: at, line, column };
      const s = this.suggest(piece);
      if (s) w.suggestion = s;
      out.push(w);
    }
    return out;
  }

  private oovError(text: string, count: number): EngineError {
    const words = this.unknownWords(text);
    const fix =
      'rephrase the question with words from the model vocabulary (the model was trained on a fixed ' +
      `vocabulary of ${this.vocabSize} tokens; words outside it cannot be represented)`;
    if (words.length === 0) {
      return new EngineError('PROMPT_OOV', `the prompt has ${count} token(s) the model's tokenizer does not know (they would become ${this.unkToken})`, fix);
    }
    const list = words
      .map((w) => {
        const where = w.offset >= 0 ? ` at line ${w.line}, column ${w.column}` : '';
        const hint = w.suggestion ? ` (did you mean "${w.suggestion}"?)` : '';
        return `"${w.word}"${where}${hint}`;
      })
      .join(', ');
    const noun = words.length === 1 ? 'a word' : `${words.length} words`;
    return new EngineError('PROMPT_OOV', `the prompt has ${noun} the model does not know: ${list}`, fix, {
      details: { unknown: words },
    });
  }

  private suggest(word: string): string | undefined {
    const vocab = this.tok.get_vocab(false);
    if (vocab.size > MAX_VOCAB_FOR_SUGGESTIONS) return undefined;
    let best: string | undefined;
    let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
    for (const cand of vocab.keys()) {
      if (Math.abs(cand.length - word.length) >= bestD) continue;
      const d = editDistance(word.toLowerCase(), cand.toLowerCase(), bestD);
      if (d < bestD) {
        bestD = d;
        best = cand;
      }
    }
    return best;
  }
}

/** Levenshtein distance, giving up (returning `cap`) once every path exceeds it. */
function editDistance(a: string, b: string, cap: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin >= cap) return cap;
    prev = cur;
  }
  return prev[b.length];
}
