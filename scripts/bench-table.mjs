// The README's performance table, written from `coconut-lens bench --vs-pytorch --dataset … --json`
// reports so that no figure is copied by hand: one column group per report (model).
//
//   node scripts/bench-table.mjs BENCH.json [BENCH.json ...]
import { readFileSync } from 'node:fs';

const reports = process.argv.slice(2).map((f) => ({ file: f, r: JSON.parse(readFileSync(f, 'utf8')) }));
if (reports.length === 0) {
  console.error('usage: node scripts/bench-table.mjs BENCH.json [BENCH.json ...]');
  process.exit(2);
}

const ms = (x) => (x === undefined || x === null ? '–' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const ratio = (a, b) => (a && b ? `×${(b / a).toFixed(2)}` : '–');
const med = (s) => s?.median;

const cols = reports.map(({ r }) => {
  const m = r.models[r.models.length - 1];
  const a = m.architecture;
  const d = r.dataset;
  const params = m.parameters ?? '';
  return {
    title: `${m.label} (${a.n_layer} × ${a.n_embd}${params ? `, ${params}` : ''})`,
    rows: {
      [`thought step, ms (one pass per thought: interventions, branches)`]: [med(m.thoughtStepMs), med(m.pytorch?.thoughtStepMs)],
      [`thought in a plain inspect, ms (k thoughts in one call, ÷ k)`]: [med(m.thoughtInOneCallMs), med(m.pytorch?.thoughtStepMs)],
      [`token step, ms`]: [med(m.tokenStepMs), med(m.pytorch?.tokenStepMs)],
      [`prefill of the question + bot, ms`]: [med(m.prefillMs), med(m.pytorch?.prefillMs)],
      [`warm inspect, k = ${m.warmInspectMs.thoughts}, ms (PyTorch: the loop alone, no decoding)`]: [med(m.warmInspectMs), med(m.pytorch?.wholeRunMs)],
      [`cold inspect (new process to decoded thoughts), ms`]: [med(m.coldInspectMs), undefined],
      [d ? `dataset, ${d.records} records: record by record, s` : 'dataset, s']: [d?.eval?.recordByRecordSeconds, d?.pytorch?.seconds],
      [d ? `dataset, ${d.records} records: batches of ${d.eval?.batchSize}, s` : 'dataset batched, s']: [d?.eval?.batchedSeconds, d?.pytorch?.seconds],
      [d?.everyK ? `dataset, every k (${d.everyK.thoughts[0]}..${d.everyK.thoughts.at(-1)}): record by record, s` : 'dataset, every k, s']: [
        d?.everyK?.recordByRecordSeconds,
        undefined,
      ],
      [d?.everyK ? `dataset, every k: batches of ${d.eval?.batchSize}, s` : 'dataset, every k, batched, s']: [d?.everyK?.batchedSeconds, undefined],
      [`dataset: the prompts' passes alone, shared by the lanes (what batching cannot remove), s`]: [d?.prefillSeconds, undefined],
      [`host memory growth, 20 inspects, MB`]: [m.hostMemoryMB?.growth, undefined],
    },
    note: `prompt ${m.plan.promptTokens + 1} tokens; ${r.machine.cpu} × ${r.machine.cores}, ${m.threads} thread(s) (PyTorch ${m.pytorch?.threads ?? m.threads})${d?.eval?.batchLanes ? `, the dataset's batches in ${d.eval.batchLanes} lanes` : ''}, onnxruntime ${r.machine.onnxruntime}, torch ${m.pytorch?.torch ?? '–'}, ${r.machine.date.slice(0, 16)}Z`,
    answers: d ? `${d.eval.answersDiffering} batched vs record-by-record, ${d.pytorch?.answersDifferingFromOurs ?? '–'} vs PyTorch` : '–',
    batchSize: d?.eval?.batchSize,
  };
});

// The engine's default batch depends on the model (src/engine/analysis/dataset.ts): name each
// column's, in column order, where they differ.
const sizes = [...new Set(cols.map((c) => c.batchSize).filter((b) => b !== undefined))];
const batchesOf = sizes.length > 1 ? `batches of ${cols.map((c) => c.batchSize ?? '–').join(' / ')} rows` : undefined;

const rowNames = Object.keys(cols[0].rows);
const head = ['measurement', ...cols.flatMap((c) => [`${c.title}: ours`, 'PyTorch eager', 'speed-up'])];
const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
rowNames.forEach((name, i) => {
  const cells = cols.flatMap((c) => {
    const [ours, theirs] = Object.values(c.rows)[i];
    return [ms(ours), ms(theirs), ratio(ours, theirs)];
  });
  const label = name.replace(/^dataset, \d+ records/, 'dataset');
  lines.push(`| ${batchesOf ? label.replace(/batches of \d+/, batchesOf) : label} | ${cells.join(' | ')} |`);
});
lines.push(`| answers that differ | ${cols.map((c) => `${c.answers} | | `).join(' | ')}|`.replace(/ \| \|$/, ' |'));
console.log(lines.join('\n'));
console.log('');
for (const c of cols) console.log(`- ${c.title}: ${c.note}`);
