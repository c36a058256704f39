// Human-readable output of the CLI: one table per thought, then the answer and timings.
import type { InspectResult, ThoughtTrace } from '../engine/types';

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
