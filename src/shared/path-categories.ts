// The paper's six ProsQA path categories in the order every table and chart lists them; the
// engine counts them and the webview draws them, so the order lives in one place.
import type { PathCategory } from './types';

export const PATH_CATEGORIES: readonly PathCategory[] = ['correct_path', 'longer_path', 'hallucination', 'wrong_target', 'correct_label', 'incorrect_label'];

export function emptyCategoryCounts(): Record<PathCategory, number> {
  return Object.fromEntries(PATH_CATEGORIES.map((c) => [c, 0])) as Record<PathCategory, number>;
}
