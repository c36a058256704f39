// How numbers and tokens are written in the panel, in one place so labels and text agree.

/** Probabilities as the paper writes them (0.33); small ones keep one significant digit. */
export function fmtP(p: number): string {
  if (!Number.isFinite(p)) return '–';
  if (p >= 0.01) return p.toFixed(2);
  if (p >= 0.001) return p.toFixed(3);
  if (p <= 0) return '0';
  return p.toExponential(0);
}

export function fmtNum(v: number, digits = 2): string {
  if (!Number.isFinite(v)) return '–';
  const abs = Math.abs(v);
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 10) return v.toFixed(1);
  return v.toFixed(digits);
}

export function fmtMs(v: number): string {
  if (!Number.isFinite(v)) return '–';
  return v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(1)} ms`;
}

/**
 * Makes whitespace inside a token visible: a leading space is part of GPT-2 tokens and an empty
 * token would otherwise be an empty cell.
 */
export function showToken(token: string): string {
  if (token === '') return '∅';
  return token.replace(/ /g, '␣').replace(/\n/g, '⏎').replace(/\t/g, '⇥');
}

/** Tokens as a screen reader should hear them: the plain word, or a name for bare whitespace. */
export function speakToken(token: string): string {
  const t = token.trim();
  if (t) return t;
  if (token.includes('\n')) return 'newline';
  return token ? 'space' : 'empty token';
}

/** The reference scoring: commas dropped, whitespace stripped, then an exact comparison. */
export function sameAnswer(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/,/g, '').trim();
  return norm(a) === norm(b);
}
