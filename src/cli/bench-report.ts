// The bench's numbers as a report: summary statistics, the machine they were taken on, and the
// text form of the JSON report.
import * as os from 'node:os';
import { median, quantile } from '../engine/bench/steps';
import { checkCuda } from '../engine/providers';
import { ort } from '../engine/ort';

export interface Stat {
  median: number;
  p90: number;
  n: number;
}

export function stat(xs: number[]): Stat {
  return { median: round(median(xs)), p90: round(quantile(xs, 0.9)), n: xs.length };
}

export function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x;
}

export function machine() {
  const cpus = os.cpus();
  let ortVersion = '?';
  try {
    ortVersion = ort().env.versions.common ?? '?';
  } catch {
    // reported as '?'
  }
  return {
    date: new Date().toISOString(),
    host: os.hostname(),
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus[0]?.model ?? '?',
    cores: cpus.length,
    loadavg: os.loadavg().map(round),
    memoryGB: round(os.totalmem() / 2 ** 30),
    node: process.version,
    onnxruntime: ortVersion,
    cudaProviderLibraries: checkCuda().present,
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the report is plain JSON built field by field in bench.ts and bench-model.ts; typing it means typing those first
export function formatReport(r: Record<string, any>): string {
  const lines: string[] = [];
  const mc = r.machine;
  lines.push(`coconut-lens bench — ${mc.date}, ${mc.cpu} × ${mc.cores}, load ${mc.loadavg.join(' ')}, node ${mc.node}, onnxruntime ${mc.onnxruntime}`);
  const s = (x: Stat | undefined) => (x ? `${x.median.toFixed(3)} (p90 ${x.p90.toFixed(3)})` : '—');
  for (const m of r.models) {
    lines.push('');
    lines.push(
      `${m.label} [${m.architecture.n_layer}×${m.architecture.n_embd}, V ${m.architecture.vocab_size}] on ${m.provider}, ${m.threads} threads — ${m.note}`,
    );
    if (m.providerNotice) lines.push(`  note: ${m.providerNotice}`);
    lines.push(`  session creation ms   ${s(m.sessionCreateMs)}`);
    lines.push(`  prefill ms (${m.plan.promptTokens + 1} tok)   ${s(m.prefillMs)}${m.pytorch ? `   pytorch ${s(m.pytorch.prefillMs)}` : ''}`);
    lines.push(
      `  thought step ms       ${s(m.thoughtStepMs)}${m.pytorch ? `   pytorch ${s(m.pytorch.thoughtStepMs)}   speed-up ×${m.thought_step_speedup_vs_pytorch}` : ''}`,
    );
    if (m.thoughtInOneCallMs) {
      lines.push(
        `  thought, in one call  ${s(m.thoughtInOneCallMs)}${m.pytorch ? `   pytorch step ${s(m.pytorch.thoughtStepMs)}   speed-up ×${m.thought_in_one_call_speedup_vs_pytorch}` : ''}`,
      );
    }
    lines.push(
      `  token step ms         ${s(m.tokenStepMs)}${m.pytorch ? `   pytorch ${s(m.pytorch.tokenStepMs)}   speed-up ×${m.token_step_speedup_vs_pytorch}` : ''}`,
    );
    const w = m.warmInspectMs;
    lines.push(`  warm inspect ms (k=${w.thoughts}) ${s(w)}: ${w.promptTokens} prompt tokens, ${w.answerTokens} answer tokens`);
    if (m.pytorch?.wholeRunMs)
      lines.push(`    pytorch loop alone ${s(m.pytorch.wholeRunMs)}   speed-up of our whole inspect ×${m.warm_inspect_speedup_vs_pytorch_loop}`);
    lines.push(
      `    medians: tokenize ${w.medians.tokenizeMs}, prefill ${w.medians.prefillMs}, thoughts ${w.medians.thoughtsMs}, answer ${w.medians.answerMs}, decoding ${w.medians.decodeMs}`,
    );
    if (m.coldInspectMs) lines.push(`  cold inspect ms       ${m.coldInspectMs.skipped ?? s(m.coldInspectMs)}`);
    if (m.hostMemoryMB)
      lines.push(
        `  host memory MB        ${m.hostMemoryMB.skipped ?? `${m.hostMemoryMB.before} → ${m.hostMemoryMB.afterLoad} loaded → ${m.hostMemoryMB.after20Inspects} after 20 inspects (growth ${m.hostMemoryMB.growth})`}`,
      );
    if (m.pytorch)
      lines.push(
        `  pytorch ${m.pytorch.torch} on ${m.pytorch.device}, ${m.pytorch.threads} threads; max |Δlogit| ${m.pytorch.parity.maxAbsLogitDiff.toExponential(2)}`,
      );
  }
  if (r.growth) {
    lines.push('');
    lines.push(`prefill + k thoughts, ms (${r.growth.model})`);
    lines.push(`  prompt  ${r.growth.ks.map((k: number) => `k=${k}`.padStart(9)).join('')}   ms/thought`);
    for (const row of r.growth.rows) {
      lines.push(
        `  ${String(row.promptTokens).padStart(6)}  ${r.growth.ks.map((k: number) => row.cumulativeMs[k].toFixed(2).padStart(9)).join('')}   ${row.thoughtStepMs.toFixed(3)}`,
      );
    }
  }
  if (r.dataset) {
    const d = r.dataset;
    lines.push('', `dataset: ${d.records} records inspected in ${d.seconds} s (${d.msPerRecord} ms/record)`);
    lines.push(
      `  evaluation: record by record ${d.eval.recordByRecordSeconds} s, batches of ${d.eval.batchSize} ${d.eval.batchedSeconds} s` +
        (d.eval.batchLanes ? ` in ${d.eval.batchLanes} lanes ` : ' ') +
        `(x${d.batched_eval_speedup}), ${d.eval.answersDiffering} answers differ`,
    );
    if (d.prefillSeconds !== undefined)
      lines.push(
        `  the prompts' passes alone ${d.prefillSeconds} s: batching can reach at most x${d.batched_eval_ceiling} at one k, ` +
          `x${d.batched_eval_every_k_ceiling} at every k`,
      );
    if (d.everyK)
      lines.push(
        `  every k (${d.everyK.thoughts.join(',')}): record by record ${d.everyK.recordByRecordSeconds} s, batched ${d.everyK.batchedSeconds} s ` +
          `(x${d.batched_eval_every_k_speedup}), ${d.everyK.answersDiffering} rows differ`,
      );
    if (d.pytorch)
      lines.push(
        `  pytorch reference loop ${d.pytorch.seconds} s (${d.pytorch.msPerRecord} ms/record), ${d.pytorch.answersDifferingFromOurs} answers differ from ours; ` +
          `batched vs pytorch ×${d.batched_eval_speedup_vs_pytorch}`,
      );
  }
  lines.push('', `peak RSS ${r.peakRssMB} MB`);
  return lines.join('\n');
}
