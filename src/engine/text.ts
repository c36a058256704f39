// Offsets to 1-based line/column, for messages that point into a question or a prompt file.
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  if (offset < 0) return { line: 0, column: 0 };
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
