// Offsets to 1-based line/column, for messages that point into a question or a prompt file.

// Line starts of the last text asked about: a prompt file asks once per record, and rescanning a
// large JSON Lines file from its start for each record made parsing quadratic (seconds for a few
// thousand records, found by test/unit/fuzz.test.ts).
let cached: { text: string; starts: number[] } | undefined;

function lineStarts(text: string): number[] {
  if (cached && cached.text === text) return cached.starts;
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  cached = { text, starts };
  return starts;
}

export function lineColumn(text: string, offset: number): { line: number; column: number } {
  if (offset < 0) return { line: 0, column: 0 };
  const starts = lineStarts(text);
  // The line holds the last start at or before the offset (a newline at offset itself still
  // belongs to the line it ends).
  const limit = Math.min(offset, text.length);
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= limit) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo] + 1 };
}
