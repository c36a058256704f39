// Human-readable output of the CLI: one table per thought, then the answer and timings.
import { describeEdit } from '../shared/interventions';
import type { DatasetResult, InspectResult, InterventionResult, SweepResult, ThoughtNodeValues, ThoughtTrace } from '../shared/types';
import { PATH_CATEGORIES } from '../shared/path-categories';

/** Tokens like "\n" are shown escaped so table columns stay aligned. */
export function showToken(t: string): string {
  const s = JSON.stringify(t).slice(1, -1);
  return s.length > 18 ? s.slice(0, 17) + '…' : s;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function padLeft(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

export function formatThought(t: ThoughtTrace): string {
  const lines: string[] = [];
  lines.push(`Thought ${t.index}   norm ${t.norm.toFixed(3)}   entropy ${t.entropy.toFixed(3)} nats`);
  if (t.intervened) {
    const iv = t.intervened;
    const what = describeEdit(iv);
    const top = iv.originalTopk[0];
    lines.push(
      `  intervened: ${what} (the model's thought had norm ${iv.originalNorm.toFixed(3)}${top ? `, top ${showToken(top.token)} ${top.p.toFixed(4)}` : ''}); below, the vector fed back`,
    );
  }
  lines.push(`  ${pad('#', 3)} ${pad('LM head (softmax)', 20)} ${padLeft('p', 8)}   ${pad('nearest embedding', 20)} ${padLeft('cosine', 7)}`);
  const rows = Math.max(t.topk.length, t.nearest.length);
  for (let i = 0; i < rows; i++) {
    const a = t.topk[i];
    const b = t.nearest[i];
    lines.push(
      `  ${pad(String(i + 1), 3)} ${pad(a ? showToken(a.token) : '', 20)} ${padLeft(a ? a.p.toFixed(4) : '', 8)}   ` +
        `${pad(b ? showToken(b.token) : '', 20)} ${padLeft(b ? b.cosine.toFixed(3) : '', 7)}`,
    );
  }
  if (t.lens.length > 0) {
    const cells = t.lens.map((c) => {
      const top = c.top[0];
      return `L${c.layer} ${top ? `${showToken(top.token)} ${top.p.toFixed(2)}` : '-'}`;
    });
    lines.push(`  logit lens: ${cells.join(' | ')}`);
  }
  return lines.join('\n');
}

export function formatInspect(r: InspectResult, extra: { record?: number; expected?: string; correct?: boolean; loadMs?: number; notice?: string }): string {
  const out: string[] = [];
  out.push(`Model ${r.model} (${r.modelDir}) on ${r.provider}`);
  if (extra.notice) out.push(`Note: ${extra.notice}`);
  const q = r.question.length > 300 ? r.question.slice(0, 300) + '…' : r.question;
  out.push(`Question${extra.record !== undefined ? ` (record ${extra.record})` : ''}: ${q}`);
  out.push(`${r.promptTokens.length} prompt tokens, ${r.thoughtsRequested} continuous thought${r.thoughtsRequested === 1 ? '' : 's'}`);
  out.push('');
  for (const t of r.thoughts) {
    out.push(formatThought(t));
    out.push('');
  }
  out.push(`Answer: ${JSON.stringify(r.answer.text)} (stopped by ${r.answer.stoppedBy === 'eos' ? 'end of text' : 'max new tokens'})`);
  out.push(`Extracted: ${r.answer.extracted}`);
  if (extra.expected !== undefined) {
    out.push(`Expected:  ${extra.expected}${extra.correct ? '  ✓' : '  ✗'}`);
  }
  const t = r.timings;
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  out.push(
    `Timings: ${extra.loadMs !== undefined ? `load ${ms(extra.loadMs)}, ` : ''}tokenize ${ms(t.tokenizeMs)}, prefill ${ms(t.prefillMs)}, ` +
      `thoughts ${ms(t.thoughtsMs)}, answer ${ms(t.answerMs)}, decode ${ms(t.decodeMs)}, total ${ms(t.totalMs)}`,
  );
  return out.join('\n');
}

/** Per number of thoughts: the concept nodes with the highest value; frontier nodes marked *. */
export function formatNodeValues(values: ThoughtNodeValues[], top = 6): string {
  const how = values[0]?.source === 'thought' ? "thought t's own decoded distribution, p(concept)" : 'eot, "Every", then p(concept)';
  const lines = [`Node values after t thoughts (${how}; * = frontier, BFS depth t):`];
  for (const tv of values) {
    const best = [...tv.values].sort((a, b) => b.p - a.p).slice(0, top);
    const frontier = tv.values.filter((v) => v.frontier).reduce((s, v) => s + v.p, 0);
    lines.push(
      `  t=${tv.thought}: ${best.map((v) => `${v.symbol}${v.frontier ? '*' : ''} ${v.p.toFixed(3)}`).join('  ')}   (frontier total ${frontier.toFixed(3)})`,
    );
  }
  return lines.join('\n');
}

export function formatIntervention(r: InterventionResult, describe: string[]): string {
  const out: string[] = [];
  out.push(`Interventions: ${describe.join('; ')}`);
  out.push(`Original answer:   ${JSON.stringify(r.original.answer.text)}`);
  out.push(
    `Intervened answer: ${JSON.stringify(r.intervened.answer.text)}${r.original.answer.text === r.intervened.answer.text ? '  (unchanged)' : '  (changed)'}`,
  );
  out.push('Divergence of each thought from the original (nats):');
  out.push(`  ${pad('thought', 8)} ${padLeft('KL', 10)} ${padLeft('JS', 10)}`);
  for (const d of r.divergence) out.push(`  ${pad(String(d.thought), 8)} ${padLeft(d.kl.toFixed(5), 10)} ${padLeft(d.js.toFixed(5), 10)}`);
  return out.join('\n');
}

export function formatSweep(r: SweepResult, expected?: string): string {
  const out: string[] = [];
  out.push(
    `k sweep: ${r.points.length} value${r.points.length === 1 ? '' : 's'} of k${expected !== undefined ? `, expected ${JSON.stringify(expected)}` : ''}`,
  );
  out.push(`  ${padLeft('k', 3)}  ${pad('answer', 40)} ${expected !== undefined ? 'ok ' : ''}${padLeft('log p', 10)} ${padLeft('p', 8)}`);
  for (const p of r.points) {
    const ans = p.extracted.length > 40 ? p.extracted.slice(0, 39) + '…' : p.extracted;
    const ok = p.correct === undefined ? '' : p.correct ? '✓  ' : '✗  ';
    out.push(`  ${padLeft(String(p.k), 3)}  ${pad(ans, 40)} ${ok}${padLeft(p.answerLogProb.toFixed(4), 10)} ${padLeft(p.answerProb.toFixed(4), 8)}`);
  }
  if (r.passes !== undefined && r.naivePasses !== undefined) {
    out.push(
      `${r.passes} forward passes with the shared prefix (${r.naivePasses} as separate runs)${r.totalMs !== undefined ? `, ${r.totalMs.toFixed(1)} ms` : ''}`,
    );
  }
  return out.join('\n');
}

const CATEGORY_TITLES: Record<string, string> = {
  correct_path: 'correct path',
  longer_path: 'longer path',
  hallucination: 'hallucination',
  wrong_target: 'wrong target',
  correct_label: 'correct label',
  incorrect_label: 'incorrect label',
};

export function formatDataset(r: DatasetResult): string {
  const out: string[] = [];
  const n = r.perK[0]?.n ?? 0;
  out.push(`${r.model} on ${r.provider}: ${n} record${n === 1 ? '' : 's'}, k = ${r.perK.map((s) => s.k).join(', ')}, ${r.seconds.toFixed(1)} s`);
  const withCats = r.perK.some((s) => s.categories);
  const head = [padLeft('k', 3), padLeft('correct', 9), padLeft('accuracy', 9)];
  if (withCats) head.push(...PATH_CATEGORIES.map((c) => padLeft(CATEGORY_TITLES[c], c.length > 13 ? 16 : 14)));
  head.push(padLeft('failed', 7));
  out.push('  ' + head.join(' '));
  for (const s of r.perK) {
    const row = [padLeft(String(s.k), 3), padLeft(`${s.correct}/${s.n}`, 9), padLeft(`${(s.accuracy * 100).toFixed(1)}%`, 9)];
    if (withCats) row.push(...PATH_CATEGORIES.map((c) => padLeft(String(s.categories?.[c] ?? 0), c.length > 13 ? 16 : 14)));
    row.push(padLeft(String(s.failed ?? 0), 7));
    out.push('  ' + row.join(' '));
  }
  if (withCats) out.push("Path categories judge the language part of each output against the record's graph (Hao et al. 2024, ProsQA).");
  return out.join('\n');
}
