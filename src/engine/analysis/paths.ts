// The paper's ProsQA path categories, judged on the language part of a generated output against
// the record's graph. Pure functions: the dataset evaluation, the CLI and tests share them.
//
// Output layout: zero or more steps ("Every X is a Y." or "Name is a Y."), then the answer marker
// and "Name is a Y.". With k continuous thoughts in front, the first steps are latent, so the
// language path may start below the root; it is then judged as the continuation of a latent prefix
// (see classifyPath).
import type { PathCategory } from '../../shared/types';
import { bfsDistances, hasEdge, symbolIndex, type GraphLike } from '../../shared/graph';

export interface ParsedStep {
  text: string;
  /** Subject and object names; absent when the sentence is not an "X is a Y" statement. */
  subject?: string;
  object?: string;
}

export interface ParsedOutput {
  steps: ParsedStep[];
  /** The text after the last answer marker, when there is one. */
  answer?: string;
  answerSubject?: string;
  answerObject?: string;
}

export interface PathJudgement {
  category: PathCategory;
  /** One sentence saying why, for tooltips and debugging. */
  reason: string;
  steps: ParsedStep[];
  /** Node indices of the language path (start, then each step's object), when every step parsed. */
  path?: number[];
  /** The concept node the answer names, if it names one. */
  answerNode?: number;
}

export interface ClassifyOptions {
  /** The answer marker (manifest prompt.answer_marker), default "#". */
  marker?: string;
  /**
   * Reasoning steps done in latent space before the language part (k thoughts / thoughts per
   * step). With 0 the path must start at the root; with more it may start at any node the root
   * reaches, and its length counts the BFS distance to that start as the latent prefix.
   */
  latentSteps?: number;
}

const SPECIAL = /<\|[^|]*\|>/g;
// "Every terpus is a brimpus" / "Tom is a terpus"; decoded text may space punctuation out. A
// compact tokenizer's model writes the same statements without the template words: "terpus brimpus".
const STATEMENT = /^(?:Every\s+)?(\S+)\s+(?:is\s+an?\s+)?([^\s.]+)\s*\.?$/;

function parseStatement(text: string): { subject?: string; object?: string } {
  const m = STATEMENT.exec(text.trim());
  return m ? { subject: m[1], object: m[2] } : {};
}

/** Splits an output into step sentences and the answer (everything after the last marker). */
export function parseOutput(text: string, marker = '#'): ParsedOutput {
  const clean = text.replace(SPECIAL, ' ');
  const at = clean.indexOf(marker);
  const language = at >= 0 ? clean.slice(0, at) : clean;
  const out: ParsedOutput = {
    steps: language
      .split(/\n|\.(?=\s|$)/)
      .map((s) => s.replace(/\s+/g, ' ').trim())
      .filter((s) => s.length > 0)
      .map((s) => ({ text: s, ...parseStatement(s) })),
  };
  if (at >= 0) {
    const last = clean.lastIndexOf(marker);
    const answer = clean
      .slice(last + marker.length)
      .replace(/\s+/g, ' ')
      .trim();
    out.answer = answer;
    const a = parseStatement(answer);
    if (a.subject !== undefined) {
      out.answerSubject = a.subject;
      out.answerObject = a.object;
    }
  }
  return out;
}

/**
 * Categories, in the order they are decided:
 * - no steps: correct_label when the answer names the target (and the root, if it names a
 *   subject), else incorrect_label;
 * - hallucination: a step that is not an "X is a Y" statement, names a node the graph lacks, uses
 *   an edge that does not exist, does not continue from the previous step's object, or a path that
 *   starts away from the root (or, after latent steps, at a node the root cannot reach);
 * - wrong_target: a valid path that ends at a node other than the target;
 * - correct_path: a valid path to the target as short as the shortest one (latent prefix counted);
 * - longer_path: a valid path to the target, longer than the shortest.
 */
export function classifyPath(text: string, graph: GraphLike & { root: number; target: number }, opts: ClassifyOptions = {}): PathJudgement {
  const parsed = parseOutput(text, opts.marker ?? '#');
  const steps = parsed.steps;
  const names = symbolIndex(graph);
  const symbol = (i: number) => graph.idx_to_symbol[i];
  const answerNode = parsed.answerObject !== undefined ? names.get(parsed.answerObject) : undefined;
  const base = { steps, ...(answerNode !== undefined ? { answerNode } : {}) };

  if (steps.length === 0) {
    const subjectOk = parsed.answerSubject === undefined || parsed.answerSubject === symbol(graph.root);
    if (answerNode === graph.target && subjectOk) {
      return { ...base, category: 'correct_label', reason: `only an answer, naming the target ${symbol(graph.target)}` };
    }
    const why =
      parsed.answer === undefined
        ? 'no steps and no answer'
        : answerNode === undefined
          ? `only an answer, which names no node of the graph (${JSON.stringify(parsed.answer)})`
          : !subjectOk
            ? `only an answer, about ${parsed.answerSubject} instead of ${symbol(graph.root)}`
            : `only an answer, naming ${symbol(answerNode)} instead of the target ${symbol(graph.target)}`;
    return { ...base, category: 'incorrect_label', reason: why };
  }

  const hallucination = (reason: string): PathJudgement => ({ ...base, category: 'hallucination', reason });
  const path: number[] = [];
  for (const [i, s] of steps.entries()) {
    if (s.subject === undefined || s.object === undefined) {
      return hallucination(`step ${i + 1} (${JSON.stringify(s.text)}) is not an "X is a Y" statement`);
    }
    const from = names.get(s.subject);
    const to = names.get(s.object);
    if (from === undefined) return hallucination(`step ${i + 1} names ${s.subject}, which is not in the graph`);
    if (to === undefined) return hallucination(`step ${i + 1} names ${s.object}, which is not in the graph`);
    if (!hasEdge(graph, from, to)) return hallucination(`step ${i + 1}: the graph has no edge ${s.subject} → ${s.object}`);
    if (i === 0) path.push(from);
    else if (path[path.length - 1] !== from) {
      return hallucination(`step ${i + 1} starts at ${s.subject}, but step ${i} ended at ${symbol(path[path.length - 1])} (disconnected)`);
    }
    path.push(to);
  }

  const dist = bfsDistances(graph, graph.root);
  const start = path[0];
  const latent = opts.latentSteps ?? 0;
  if (start !== graph.root) {
    if (latent <= 0) return { ...hallucination(`the path starts at ${symbol(start)}, not at ${symbol(graph.root)} (disconnected)`), path };
    if (dist[start] === null) {
      return { ...hallucination(`the path starts at ${symbol(start)}, which ${symbol(graph.root)} cannot reach (disconnected)`), path };
    }
  }
  const end = path[path.length - 1];
  if (end !== graph.target) {
    return { ...base, path, category: 'wrong_target', reason: `a valid path that ends at ${symbol(end)}, not at the target ${symbol(graph.target)}` };
  }
  const length = dist[start]! + steps.length;
  const shortest = dist[graph.target];
  if (shortest !== null && length === shortest) {
    return { ...base, path, category: 'correct_path', reason: `a shortest path (${length} edges) to ${symbol(graph.target)}` };
  }
  return {
    ...base,
    path,
    category: 'longer_path',
    reason: `a valid path of ${length} edges to ${symbol(graph.target)}; the shortest has ${shortest}`,
  };
}
