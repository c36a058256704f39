// Records come from user files: a graph is checked once, with a message naming the first problem,
// before any analysis walks it.
import type { ProsQAGraph } from '../../shared/types';
import { EngineError } from '../errors';

/** Throws PROMPT_MALFORMED naming the first problem: wrong types, indices outside the node list. */
export function validateGraph(g: unknown): ProsQAGraph {
  const bad = (what: string) =>
    new EngineError(
      'PROMPT_MALFORMED',
      `the ProsQA graph is malformed: ${what}`,
      'give the record "idx_to_symbol" (node names), "edges" ([parent, child] index pairs), and "root", "target", "neg_target" (node indices), as in the official ProsQA files',
    );
  if (typeof g !== 'object' || g === null) throw bad('it is not an object');
  const o = g as Record<string, unknown>;
  if (!Array.isArray(o.idx_to_symbol) || o.idx_to_symbol.length === 0) throw bad('"idx_to_symbol" must be a non-empty list of names');
  const n = o.idx_to_symbol.length;
  o.idx_to_symbol.forEach((s, i) => {
    if (typeof s !== 'string' || s.trim() === '') throw bad(`node ${i} of "idx_to_symbol" is not a name`);
  });
  if (!Array.isArray(o.edges)) throw bad('"edges" must be a list of [parent, child] pairs');
  const isNode = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) < n;
  o.edges.forEach((e, i) => {
    if (!Array.isArray(e) || e.length !== 2 || !isNode(e[0]) || !isNode(e[1])) {
      throw bad(`edge ${i} (${JSON.stringify(e)}) is not a pair of node indices from 0 to ${n - 1}`);
    }
  });
  for (const key of ['root', 'target', 'neg_target'] as const) {
    if (!isNode(o[key])) throw bad(`"${key}" must be a node index from 0 to ${n - 1}, got ${JSON.stringify(o[key])}`);
  }
  return g as ProsQAGraph;
}
