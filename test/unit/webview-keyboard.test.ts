// Keyboard movement in the dataset table (webview/grid-keys.ts): one Tab stop for the whole table,
// the ARIA grid pattern's keys inside it. Pure, so without a browser.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gridMove } from '../../webview/grid-keys';

describe('webview gridMove', () => {
  const at = { row: 2, col: 1 };

  it('arrows move one cell and stop at the edges', () => {
    assert.deepEqual(gridMove(at, 'ArrowRight', 5, 3), { row: 2, col: 2 });
    assert.deepEqual(gridMove(at, 'ArrowLeft', 5, 3), { row: 2, col: 0 });
    assert.deepEqual(gridMove(at, 'ArrowDown', 5, 3), { row: 3, col: 1 });
    assert.deepEqual(gridMove(at, 'ArrowUp', 5, 3), { row: 1, col: 1 });
    assert.deepEqual(gridMove({ row: 0, col: 0 }, 'ArrowUp', 5, 3), { row: 0, col: 0 });
    assert.deepEqual(gridMove({ row: 4, col: 2 }, 'ArrowRight', 5, 3), { row: 4, col: 2 });
    assert.deepEqual(gridMove({ row: 4, col: 2 }, 'ArrowDown', 5, 3), { row: 4, col: 2 });
  });

  it('Home and End go to the ends of the row, with Ctrl to the corners of the table', () => {
    assert.deepEqual(gridMove(at, 'Home', 5, 3), { row: 2, col: 0 });
    assert.deepEqual(gridMove(at, 'End', 5, 3), { row: 2, col: 2 });
    assert.deepEqual(gridMove(at, 'Home', 5, 3, true), { row: 0, col: 0 });
    assert.deepEqual(gridMove(at, 'End', 5, 3, true), { row: 4, col: 2 });
  });

  it('Page Up and Page Down move ten rows, within the table', () => {
    assert.deepEqual(gridMove({ row: 12, col: 1 }, 'PageUp', 300, 9), { row: 2, col: 1 });
    assert.deepEqual(gridMove(at, 'PageUp', 300, 9), { row: 0, col: 1 });
    assert.deepEqual(gridMove({ row: 295, col: 4 }, 'PageDown', 300, 9), { row: 299, col: 4 });
  });

  it('other keys, and an empty table, do not move (the key is left to the browser)', () => {
    for (const key of ['Enter', ' ', 'Tab', 'a']) assert.equal(gridMove(at, key, 5, 3), undefined, key);
    assert.equal(gridMove({ row: 0, col: 0 }, 'ArrowDown', 0, 3), undefined);
  });
});
