// Arrow-key movement in a table of cells with one tab stop (the ARIA grid pattern's keys), kept
// pure so it is unit-tested without a browser. The dataset table uses it: a 300-record evaluation
// has thousands of cells, which must not all be Tab stops.

export interface Cell {
  row: number;
  col: number;
}

/** Where `key` moves from `at` in a rows × cols table; undefined for keys that do not move. */
export function gridMove(at: Cell, key: string, rows: number, cols: number, ctrl = false): Cell | undefined {
  if (rows <= 0 || cols <= 0) return undefined;
  const clamp = (row: number, col: number): Cell => ({ row: Math.max(0, Math.min(rows - 1, row)), col: Math.max(0, Math.min(cols - 1, col)) });
  switch (key) {
    case 'ArrowRight':
      return clamp(at.row, at.col + 1);
    case 'ArrowLeft':
      return clamp(at.row, at.col - 1);
    case 'ArrowDown':
      return clamp(at.row + 1, at.col);
    case 'ArrowUp':
      return clamp(at.row - 1, at.col);
    // Home/End: the row's ends; with Ctrl, the table's.
    case 'Home':
      return ctrl ? clamp(0, 0) : clamp(at.row, 0);
    case 'End':
      return ctrl ? clamp(rows - 1, cols - 1) : clamp(at.row, cols - 1);
    case 'PageDown':
      return clamp(at.row + 10, at.col);
    case 'PageUp':
      return clamp(at.row - 10, at.col);
    default:
      return undefined;
  }
}
