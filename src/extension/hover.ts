// Hover on reasoning step i of a record: what thought i (c thoughts per step) decoded to in the last
// inspect of that record, and how much probability it puts on the step's own words.

import * as vscode from 'vscode';
import { thoughtsOfStep } from '../protocol/inspector';
import { stepAt, toRange, type PromptDocuments } from './documents';
import type { InspectRunner } from './runner';
import type { StepLinks } from './step-links';
import { stepWordMass } from './step-words';

const TOKENS_SHOWN = 5;

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
