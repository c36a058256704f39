// What the side bar's tree rows say, as plain data: the Models, Runs and Examples views
// (sidebar.ts) turn these into vscode.TreeItems. Kept free of `vscode` so the wording, the
// screen-reader labels and the context values that decide which actions a row offers are
// unit-tested (test/unit/sidebar-items.test.ts).
import type { ModelOption } from '../protocol/inspector';

/** A tree row, before it becomes a vscode.TreeItem. */
export interface RowSpec {
  id: string;
  label: string;
  description?: string;
  /** Markdown-free text; the hover. */
  tooltip: string;
  /** What a screen reader says for the row: the label alone would drop the description's facts. */
  ariaLabel: string;
  /** Matched by `viewItem` in package.json's view/item/context menus. */
  contextValue: string;
  /** A codicon id. */
  icon: string;
}

/** What the side bar shows of a model's manifest (coconut.json) and model card. */
export interface ModelFacts {
  /** Parameter count; `estimated` when derived from the architecture, not measured by training. */
  parameters?: { count: number; estimated: boolean };
  /** Bytes of the files the manifest lists. */
  bytes?: number;
  /** The manifest's accuracy at the model's default number of thoughts (else its first entry). */
  accuracy?: { value: number; dataset: string; thoughts: number; n?: number };
  /** The model card's first heading. */
  cardTitle?: string;
}

/** The facts coconut.json and the card hold; anything missing or malformed is left out. */
export function modelFacts(manifest: unknown, card?: string): ModelFacts {
  const facts: ModelFacts = {};
  const m = asObject(manifest);
  if (m) {
    const provenance = asObject(m.provenance);
    const measured = provenance?.parameters;
    if (isCount(measured)) facts.parameters = { count: measured, estimated: false };
    else {
      const estimate = estimateParameters(asObject(m.architecture));
      if (estimate !== undefined) facts.parameters = { count: estimate, estimated: true };
    }
    if (Array.isArray(m.files)) {
      const sizes = m.files.map((f) => asObject(f)?.bytes).filter(isCount);
      if (sizes.length) facts.bytes = sizes.reduce((a, b) => a + b, 0);
    }
    const defaultK = asObject(m.thoughts)?.default;
    const entries = (Array.isArray(provenance?.accuracy) ? provenance.accuracy : []).map(asObject).filter(isAccuracy);
    const best = entries.find((e) => e.thoughts === defaultK) ?? entries[0];
    if (best) facts.accuracy = { value: best.value, dataset: best.dataset, thoughts: best.thoughts, ...(isCount(best.n) ? { n: best.n } : {}) };
  }
  const title = card?.match(/^#\s+(.+)$/m)?.[1]?.trim();
  if (title) facts.cardTitle = title;
  return facts;
}

/**
 * GPT-2's parameter count from its manifest: embeddings, per layer attention (4 d²+4 d) and MLP
 * (8 d²+5 d) with two layer norms (4 d), the final norm, learned positions unless rotary, and one
 * smearing gate per layer's keys. Exact for the shipped model (903,744); an estimate for others.
 */
export function estimateParameters(arch: Record<string, unknown> | undefined): number | undefined {
  if (!arch) return undefined;
  const { n_layer: L, n_embd: d, vocab_size: V, n_positions: P } = arch;
  if (!isCount(L) || !isCount(d) || !isCount(V)) return undefined;
  let n = V * d + L * (12 * d * d + 13 * d) + 2 * d;
  if (arch.positions !== 'rotary' && isCount(P)) n += P * d;
  if (arch.tie_word_embeddings === false) n += V * d;
  if (arch.smear_keys === true) n += L * d;
  return n;
}

/** A model as the model picker lists it (the same facts the panel's model menu shows). */
export type ModelRowInput = ModelOption;

export function modelRow(model: ModelRowInput, facts: ModelFacts): RowSpec {
  const stats = factsText(facts);
  const state = !model.present ? 'missing' : model.current ? 'selected' : !model.selectable ? 'needs a trusted workspace' : undefined;
  const kind = model.shipped ? 'shipped' : 'added';
  const description = [state, ...stats].filter(Boolean).join(' · ');
  const tooltip = [
    `${model.label} (${kind}${state ? `, ${state}` : ''})`,
    facts.cardTitle,
    ...statsLong(facts),
    model.dir,
    !model.present ? 'The folder has no coconut.json any more: restore it, or remove the model from the list.' : undefined,
  ]
    .filter(Boolean)
    .join('\n');
  const context = ['model', kind, model.current ? 'selected' : 'unselected', model.present ? 'present' : 'missing'];
  return {
    id: `model:${model.dir}`,
    label: model.label,
    description,
    tooltip,
    ariaLabel: [`Model ${model.label}, ${kind}`, state, ...statsLong(facts)].filter(Boolean).join(', '),
    contextValue: context.join(' '),
    icon: !model.present ? 'warning' : model.current ? 'pass-filled' : 'circle-large-outline',
  };
}

/** A finished inspect run as the Runs view lists it. */
export interface RunRowInput {
  runId: number;
  question: string;
  source?: string;
  model: string;
  k: number;
  answer: string;
  correct?: boolean;
  interventions: number;
  /** Epoch ms; undefined for a pinned run whose listing was cleared. */
  finishedAt?: number;
  pinned: boolean;
}

export function runRow(run: RunRowInput): RowSpec {
  const label = run.source ?? shorten(run.question, 48);
  const verdict = run.correct === true ? 'correct' : run.correct === false ? 'wrong' : undefined;
  const answer = `${run.answer || '(empty answer)'}${verdict === 'correct' ? ' ✓' : verdict === 'wrong' ? ' ✗' : ''}`;
  const edits = run.interventions ? `${run.interventions} intervention${run.interventions > 1 ? 's' : ''}` : undefined;
  const when = run.finishedAt === undefined ? undefined : clock(run.finishedAt);
  return {
    id: `run:${run.runId}`,
    label,
    description: [run.pinned ? 'pinned' : undefined, `k=${run.k}`, answer, edits, when].filter(Boolean).join(' · '),
    tooltip: [
      `Run ${run.runId}: ${run.model}, ${run.k} thoughts${edits ? `, ${edits}` : ''}`,
      shorten(run.question, 300),
      `Answer: ${answer}`,
      'Click to show it in the panel again.',
    ]
      .filter(Boolean)
      .join('\n'),
    ariaLabel: [
      `Run ${run.runId}`,
      label,
      `${run.model}, ${run.k} thoughts`,
      `answer ${run.answer || 'empty'}`,
      verdict,
      edits,
      run.pinned ? 'pinned' : undefined,
      when && `finished at ${when}`,
    ]
      .filter(Boolean)
      .join(', '),
    contextValue: run.pinned ? 'run pinned' : 'run',
    icon: run.pinned ? 'pinned' : verdict === 'correct' ? 'pass' : verdict === 'wrong' ? 'error' : 'circle-outline',
  };
}

/** The Runs view's order: newest first, and a pinned run that is no longer listed on top. */
export function runRows<T extends { runId: number; finishedAt: number }>(runs: readonly T[], pinned: T | undefined): T[] {
  const sorted = [...runs].sort((a, b) => b.finishedAt - a.finishedAt || b.runId - a.runId);
  if (pinned && !sorted.some((r) => r.runId === pinned.runId)) sorted.unshift(pinned);
  return sorted;
}

export interface ExampleRowInput {
  /** Absolute path. */
  path: string;
  name: string;
  /** Records in the file, or why it could not be read. */
  records: number | { error: string };
}

export function exampleRow(example: ExampleRowInput): RowSpec {
  const ok = typeof example.records === 'number';
  const count = ok ? `${example.records} record${example.records === 1 ? '' : 's'}` : 'unreadable';
  return {
    id: `example:${example.path}`,
    label: example.name,
    description: count,
    tooltip: ok
      ? `${example.path}\n${count}. Click to open it; the lens above each record inspects it.`
      : `${example.path}\n${(example.records as { error: string }).error}`,
    ariaLabel: `Example ${example.name}, ${count}`,
    contextValue: 'example',
    icon: ok ? 'file-code' : 'warning',
  };
}

/** "0.9 M parameters", "3.6 MiB", "97.3 % at k=6": the short facts for a row's description. */
function factsText(f: ModelFacts): string[] {
  const out: string[] = [];
  if (f.parameters) out.push(`${f.parameters.estimated ? '≈' : ''}${fmtCount(f.parameters.count)} params`);
  if (f.bytes !== undefined) out.push(fmtBytes(f.bytes));
  if (f.accuracy) out.push(`${fmtPercent(f.accuracy.value)} ${f.accuracy.dataset}`);
  return out;
}

function statsLong(f: ModelFacts): string[] {
  const out: string[] = [];
  if (f.parameters) out.push(`${f.parameters.estimated ? 'about ' : ''}${f.parameters.count.toLocaleString('en-US')} parameters`);
  if (f.bytes !== undefined) out.push(`${fmtBytes(f.bytes)} on disk`);
  if (f.accuracy) {
    const n = f.accuracy.n ? ` (${f.accuracy.n} records)` : '';
    out.push(`${fmtPercent(f.accuracy.value)} accuracy on ${f.accuracy.dataset}${n} with ${f.accuracy.thoughts} thoughts`);
  }
  return out;
}

export function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} B`;
  if (n >= 1e5) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

export function fmtBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function fmtPercent(v: number): string {
  return `${(v * 100).toFixed(1)} %`;
}

/** Local time of day, "09:05:03": a relative "5 min ago" would go stale in a tree nobody refreshes. */
export function clock(epochMs: number): string {
  const d = new Date(epochMs);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function shorten(text: string, max: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function isAccuracy(v: Record<string, unknown> | undefined): v is { value: number; dataset: string; thoughts: number; n?: unknown } {
  return !!v && typeof v.value === 'number' && v.value >= 0 && v.value <= 1 && typeof v.dataset === 'string' && isCount(v.thoughts);
}
