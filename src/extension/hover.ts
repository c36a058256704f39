// Hover on reasoning step i of a record: what thought i (c thoughts per step) decoded to in the last
// inspect of that record, and how much probability it puts on the step's own words.

import * as vscode from 'vscode';
import type { ThoughtTrace } from '../shared/types';
import { thoughtsOfStep } from '../protocol/inspector';
import { stepAt, toRange, type PromptDocuments } from './documents';
import type { InspectRunner } from './runner';
import type { StepLinks } from './stepLinks';

const TOKENS_SHOWN = 5;

export interface WordMass {
  /** Step words with the probability the thought gives each. */
  found: { word: string; p: number }[];
  /** Exact: words not in the vocabulary. Top-k fallback: words outside the top-k (each < floor). */
  missing: string[];
  /** Sum of `found`: exact when the run watched the step's words, else a lower bound. */
  total: number;
  /** True when the engine reported each word's probability (InspectRequest.watch). */
  exact: boolean;
  /** The smallest probability in the top-k (the bound for the missing words of the fallback). */
  floor: number;
}

/** The distinct words of a reasoning step, as the hover scores them and the runner asks the engine to watch. */
export function stepWords(step: string): string[] {
  return [...new Set(step.split(/[^\p{L}\p{N}_'-]+/u).filter(Boolean))];
}

/** The probability a thought puts on the words of `step` (whole words). */
export function stepWordMass(t: ThoughtTrace, step: string): WordMass {
  const words = stepWords(step);
  const floor = t.topk[t.topk.length - 1]?.p ?? 0;
  const watched = new Map((t.watched ?? []).map((w) => [w.word, w]));
  if (words.length > 0 && words.every((w) => watched.has(w))) {
    const found = words.flatMap((word) => {
      const p = watched.get(word)!.p;
      return p === null ? [] : [{ word, p }];
    });
    const missing = words.filter((w) => watched.get(w)!.p === null);
    found.sort((a, b) => b.p - a.p);
    return { found, missing, total: found.reduce((s, f) => s + f.p, 0), exact: true, floor };
  }
  // A run from before the engine watched step words: only the top-k is known.
  const found: { word: string; p: number }[] = [];
  const missing: string[] = [];
  for (const w of words) {
    const lw = w.toLowerCase();
    const p = t.topk.filter((x) => x.token.trim().toLowerCase() === lw).reduce((s, x) => s + x.p, 0);
    if (p > 0) found.push({ word: w, p });
    else missing.push(w);
  }
  found.sort((a, b) => b.p - a.p);
  return { found, missing, total: found.reduce((s, f) => s + f.p, 0), exact: false, floor };
}

export class StepHover implements vscode.HoverProvider {
  constructor(
    private readonly runner: InspectRunner,
    private readonly documents: PromptDocuments,
    private readonly links: StepLinks,
  ) {}

  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const record = this.documents.recordAt(doc, pos);
    if (!record?.steps?.length) return undefined;
    const step = stepAt(record, doc.offsetAt(pos));
    if (step === undefined) return undefined;
    const range = toRange(doc, record.stepRanges[step]!);
    const stepText = record.steps[step]!;
    const trace = this.runner.traceOf({ uri: doc.uri.toString(), index: record.index }, record.question);
    const md = new vscode.MarkdownString();
    if (!trace) {
      md.appendMarkdown(`**Coconut Lens** · step ${step + 1} of ${record.steps.length}\n\n`);
      md.appendMarkdown('Inspect this record (**Inspect thoughts** above it) to see what the continuous thought(s) for this step hold.');
      return new vscode.Hover(md, range);
    }
    // The mouse on a step is like the cursor on it: the panel highlights its thoughts.
    this.links.fromEditor(doc, pos);
    const { run, result } = trace;
    const c = run.perStep ?? 1;
    const indices = thoughtsOfStep(step, c, result.thoughts.length);
    md.appendMarkdown(
      `**Coconut Lens** · step ${step + 1} of ${record.steps.length} · ${result.model}, k = ${result.thoughtsRequested}` +
        `${c > 1 ? `, ${c} thoughts per step` : ''}\n\n`,
    );
    if (!indices.length) {
      md.appendMarkdown(
        `No continuous thought stands for this step: the last inspect of this record ran ${result.thoughts.length} thought${result.thoughts.length === 1 ? '' : 's'}` +
          ` (${c} per step), so steps after ${Math.floor(result.thoughts.length / c)} were left to language mode.`,
      );
      return new vscode.Hover(md, range);
    }
    for (const i of indices) {
      const t = result.thoughts.find((x) => x.index === i);
      if (!t) continue;
      md.appendMarkdown(`**Thought ${i}** · ‖h‖ ${t.norm.toFixed(1)} · entropy ${t.entropy.toFixed(2)} nats\n\n`);
      md.appendMarkdown('| token | p |\n|---|---:|\n');
      for (const x of t.topk.slice(0, TOKENS_SHOWN)) md.appendMarkdown(`| ${code(x.token)} | ${fmtP(x.p)} |\n`);
      const mass = stepWordMass(t, stepText);
      md.appendMarkdown(`\nOn this step's own words: **p ${mass.exact ? '=' : '≥'} ${fmtP(mass.total)}**`);
      if (mass.found.length) md.appendMarkdown(` (${mass.found.map((f) => `${code(f.word)} ${fmtP(f.p)}`).join(', ')})`);
      if (mass.missing.length && mass.exact) md.appendMarkdown(`; not in the vocabulary: ${mass.missing.map(code).join(' ')}`);
      else if (mass.missing.length) {
        md.appendMarkdown(`; not in the top ${t.topk.length} (each < ${fmtP(mass.floor)}): ${mass.missing.map(code).join(' ')}`);
      }
      md.appendMarkdown('\n\n');
    }
    return new vscode.Hover(md, range);
  }
}

/** A token as inline code; backticks and bare whitespace made visible. */
function code(token: string): string {
  const shown = token === '' ? '∅' : token.replace(/ /g, '␣').replace(/\n/g, '⏎').replace(/`/g, 'ˋ').replace(/\|/g, '¦');
  return `\`${shown}\``;
}

function fmtP(p: number): string {
  if (p >= 0.01) return p.toFixed(2);
  if (p >= 0.001) return p.toFixed(3);
  return p <= 0 ? '0' : p.toExponential(0);
}
