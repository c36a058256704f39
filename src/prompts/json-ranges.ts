// A small JSON parser that keeps the character range of every value, which JSON.parse cannot:
// the extension needs to know which record is under the cursor and where each step string sits.
// Errors carry the offset; the caller turns it into line/column for the message.

export interface Range {
  /** Offset of the first character (UTF-16 code units, as VS Code's document offsets). */
  start: number;
  /** Offset one past the last character. */
  end: number;
}

export type JsonNode =
  | ({ type: 'object'; members: { key: string; keyRange: Range; value: JsonNode }[] } & Range)
  | ({ type: 'array'; items: JsonNode[] } & Range)
  | ({ type: 'string'; value: string } & Range)
  | ({ type: 'number'; value: number } & Range)
  | ({ type: 'boolean'; value: boolean } & Range)
  | ({ type: 'null'; value: null } & Range);

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const MAX_DEPTH = 256;

export class JsonRangeParser {
  private pos: number;
  private depth = 0;

  constructor(
    private readonly text: string,
    start = 0,
    private readonly end = text.length,
  ) {
    this.pos = start;
  }

  /** Parses one value and requires only whitespace after it (up to `end`). */
  parseDocument(): JsonNode {
    this.skipWs();
    if (this.pos >= this.end) throw new JsonSyntaxError('expected a JSON value, found the end of the input', this.pos);
    const node = this.parseValue();
    this.skipWs();
    if (this.pos < this.end) {
      throw new JsonSyntaxError(`unexpected ${this.describe(this.pos)} after the end of the JSON value`, this.pos);
    }
    return node;
  }

  private describe(at: number): string {
    if (at >= this.end) return 'end of input';
    const c = this.text[at];
    if (c === '\n') return 'line break';
    return `character ${JSON.stringify(c)}`;
  }

  private skipWs(): void {
    while (this.pos < this.end) {
      const c = this.text.charCodeAt(this.pos);
      // space, tab, CR, LF, and a byte-order mark (editors keep it at offset 0)
      if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a || c === 0xfeff) this.pos++;
      else break;
    }
  }

  private parseValue(): JsonNode {
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.nested(() => this.parseObject());
      case '[':
        return this.nested(() => this.parseArray());
      case '"':
        return this.parseString();
      case 't':
        return this.literal('true', { type: 'boolean', value: true });
      case 'f':
        return this.literal('false', { type: 'boolean', value: false });
      case 'n':
        return this.literal('null', { type: 'null', value: null });
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.parseNumber();
        throw new JsonSyntaxError(`unexpected ${this.describe(this.pos)}; expected a JSON value`, this.pos);
    }
  }

  private nested<T>(f: () => T): T {
    if (++this.depth > MAX_DEPTH) throw new JsonSyntaxError(`nesting deeper than ${MAX_DEPTH} levels`, this.pos);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private literal<T extends JsonNode['type']>(word: string, node: { type: T; value: unknown }): JsonNode {
    if (this.text.startsWith(word, this.pos) && this.pos + word.length <= this.end) {
      const start = this.pos;
      this.pos += word.length;
      return { ...node, start, end: this.pos } as JsonNode;
    }
    throw new JsonSyntaxError(`unexpected ${this.describe(this.pos)}; expected a JSON value`, this.pos);
  }

  private parseObject(): JsonNode {
    const start = this.pos++;
    const members: { key: string; keyRange: Range; value: JsonNode }[] = [];
    this.skipWs();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return { type: 'object', members, start, end: this.pos };
    }
    for (;;) {
      this.skipWs();
      if (this.text[this.pos] !== '"') {
        const hint = this.text[this.pos] === '}' ? ' (a trailing comma is not allowed in JSON)' : '';
        throw new JsonSyntaxError(`expected a property name in double quotes, found ${this.describe(this.pos)}${hint}`, this.pos);
      }
      const key = this.parseString() as { value: string } & Range;
      this.skipWs();
      if (this.text[this.pos] !== ':') {
        throw new JsonSyntaxError(`expected ':' after the property name, found ${this.describe(this.pos)}`, this.pos);
      }
      this.pos++;
      this.skipWs();
      if (this.pos >= this.end) throw new JsonSyntaxError('expected a value, found the end of input', this.pos);
      const value = this.parseValue();
      members.push({ key: key.value, keyRange: { start: key.start, end: key.end }, value });
      this.skipWs();
      const c = this.text[this.pos];
      if (c === ',' && this.pos < this.end) {
        this.pos++;
        continue;
      }
      if (c === '}' && this.pos < this.end) {
        this.pos++;
        return { type: 'object', members, start, end: this.pos };
      }
      throw new JsonSyntaxError(`expected ',' or '}' in the object, found ${this.describe(this.pos)}`, this.pos);
    }
  }

  private parseArray(): JsonNode {
    const start = this.pos++;
    const items: JsonNode[] = [];
    this.skipWs();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return { type: 'array', items, start, end: this.pos };
    }
    for (;;) {
      this.skipWs();
      if (this.text[this.pos] === ']') {
        throw new JsonSyntaxError("unexpected ']' (a trailing comma is not allowed in JSON)", this.pos);
      }
      if (this.pos >= this.end) throw new JsonSyntaxError('expected a value, found the end of input', this.pos);
      items.push(this.parseValue());
      this.skipWs();
      const c = this.text[this.pos];
      if (c === ',' && this.pos < this.end) {
        this.pos++;
        continue;
      }
      if (c === ']' && this.pos < this.end) {
        this.pos++;
        return { type: 'array', items, start, end: this.pos };
      }
      throw new JsonSyntaxError(`expected ',' or ']' in the array, found ${this.describe(this.pos)}`, this.pos);
    }
  }

  private parseString(): JsonNode {
    const start = this.pos++;
    let out = '';
    let runStart = this.pos;
    while (this.pos < this.end) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x22) {
        out += this.text.slice(runStart, this.pos);
        this.pos++;
        return { type: 'string', value: out, start, end: this.pos };
      }
      if (c === 0x5c) {
        out += this.text.slice(runStart, this.pos);
        out += this.parseEscape();
        runStart = this.pos;
        continue;
      }
      if (c < 0x20) {
        const what = c === 0x0a ? 'a line break' : `control character U+${c.toString(16).padStart(4, '0')}`;
        throw new JsonSyntaxError(`${what} inside a string (strings must be closed on the same line; write \\n for a newline)`, this.pos);
      }
      this.pos++;
    }
    throw new JsonSyntaxError('unterminated string (missing closing ")', start);
  }

  private parseEscape(): string {
    const at = this.pos;
    const c = this.text[this.pos + 1];
    this.pos += 2;
    switch (c) {
      case '"':
        return '"';
      case '\\':
        return '\\';
      case '/':
        return '/';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'u': {
        const hex = this.text.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex) || this.pos + 4 > this.end) {
          throw new JsonSyntaxError('invalid \\u escape (expected 4 hexadecimal digits)', at);
        }
        this.pos += 4;
        return String.fromCharCode(parseInt(hex, 16));
      }
      default:
        throw new JsonSyntaxError(`invalid escape \\${c ?? ''} in a string`, at);
    }
  }

  private parseNumber(): JsonNode {
    const start = this.pos;
    const m = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    m.lastIndex = this.pos;
    const r = m.exec(this.text);
    if (!r || r[0].length === 0 || r[0] === '-' || start + r[0].length > this.end) {
      throw new JsonSyntaxError(`invalid number`, start);
    }
    this.pos += r[0].length;
    return { type: 'number', value: Number(r[0]), start, end: this.pos };
  }
}

/** Plain JS value of a node (records keep their ranges separately). */
export function toValue(n: JsonNode): unknown {
  switch (n.type) {
    case 'object':
      return Object.fromEntries(n.members.map((m) => [m.key, toValue(m.value)]));
    case 'array':
      return n.items.map(toValue);
    default:
      return n.value;
  }
}
