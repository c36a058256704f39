// Interventions on thoughts: the per-thought editor (zero, scale, replace with a token, replace with a
// thought of the previous run), the diff of an intervened run against the original, and the
// attribution chart (answer log-probability change when each thought is ablated).
import type { AttributionEntry, Intervention, InterventionResult, ThoughtTrace, TokenProb } from '../src/shared/types';
import type { PinnedRun } from '../src/protocol/inspector';
import { describeEdit } from '../src/shared/interventions';
import { barChart } from './charts';
import { h } from './dom';
import { fmtNum, fmtP, showToken } from './format';

export type DraftKind = 'keep' | 'zero' | 'scale' | 'token' | 'previous';

export interface Draft {
  kind: DraftKind;
  factor?: string;
  token?: string;
  /** 1-based thought of the previous run. */
  previous?: number;
}

export interface EditorHandlers {
  onChange(thought: number, draft: Draft): void;
  onRun(): void;
  onClear(): void;
  onAttribution(): void;
}

const KIND_TEXT: Record<DraftKind, string> = {
  keep: 'Keep',
  zero: 'Zero',
  scale: 'Scale by…',
  token: 'Replace with token…',
  previous: 'Replace with a thought of the previous run…',
};

export function renderInterventionEditor(
  thoughts: ThoughtTrace[],
  drafts: Record<number, Draft>,
  previous: PinnedRun | undefined,
  nEmbd: number | undefined,
  busy: boolean,
  handlers: EditorHandlers,
  hasIntervention: boolean,
): HTMLElement {
  const prevUsable = previous && (nEmbd === undefined || previous.result.thoughts[0]?.vector.length === nEmbd) ? previous : undefined;
  const body = h('tbody');
  for (const t of thoughts) {
    const d = drafts[t.index] ?? { kind: 'keep' };
    const select = h('select', {
      class: 'field',
      'data-testid': 'intervention-kind',
      'data-thought': t.index,
      'aria-label': `Intervention on thought ${t.index}`,
    });
    for (const kind of Object.keys(KIND_TEXT) as DraftKind[]) {
      if (kind === 'previous' && !prevUsable) continue;
      const opt = h('option', { value: kind }, KIND_TEXT[kind]);
      if (kind === d.kind) opt.selected = true;
      select.append(opt);
    }
    select.addEventListener('change', () => handlers.onChange(t.index, { ...d, kind: select.value as DraftKind }));
    let param: HTMLElement | undefined;
    if (d.kind === 'scale') {
      const input = h('input', {
        class: 'field',
        type: 'number',
        step: 'any',
        value: d.factor ?? '0.5',
        'data-testid': 'intervention-factor',
        'aria-label': `Scale factor for thought ${t.index}`,
      });
      input.addEventListener('change', () => handlers.onChange(t.index, { ...d, factor: input.value }));
      param = input;
    } else if (d.kind === 'token') {
      const input = h('input', {
        class: 'field',
        type: 'text',
        value: d.token ?? '',
        placeholder: 'a token, e.g. lempus',
        'data-testid': 'intervention-token',
        'aria-label': `Token whose embedding replaces thought ${t.index}`,
      });
      input.addEventListener('change', () => handlers.onChange(t.index, { ...d, token: input.value }));
      param = input;
    } else if (d.kind === 'previous' && prevUsable) {
      const sel = h('select', {
        class: 'field',
        'data-testid': 'intervention-previous',
        'aria-label': `Thought of the previous run that replaces thought ${t.index}`,
      });
      for (const pt of prevUsable.result.thoughts) {
        const opt = h('option', { value: pt.index }, `Thought ${pt.index} (${showToken(pt.topk[0]?.token ?? '')})`);
        if (pt.index === (d.previous ?? t.index)) opt.selected = true;
        sel.append(opt);
      }
      sel.addEventListener('change', () => handlers.onChange(t.index, { ...d, previous: Number(sel.value) }));
      param = sel;
    }
    body.append(
      h(
        'tr',
        { 'data-testid': 'intervention-row', 'data-thought': t.index },
        h('th', { scope: 'row' }, `Thought ${t.index}`, h('span', { class: 'muted small' }, ` ${showToken(t.topk[0]?.token ?? '')}`)),
        h('td', {}, select),
        h('td', {}, param ?? h('span', { class: 'muted small' }, '–')),
      ),
    );
  }
  const run = h('vscode-button', { 'data-testid': 'intervene' }, 'Rerun with interventions');
  run.toggleAttribute('disabled', busy);
  run.addEventListener('click', () => handlers.onRun());
  const attribution = h('vscode-button', { secondary: true, 'data-testid': 'attribution' }, 'Attribution pass');
  attribution.title = 'Zero each thought in turn and chart the change in the answer’s log-probability';
  attribution.toggleAttribute('disabled', busy || thoughts.length === 0);
  attribution.addEventListener('click', () => handlers.onAttribution());
  const actions = h('div', { class: 'toolbar' }, run, attribution);
  if (hasIntervention) {
    const clear = h('vscode-button', { secondary: true, 'data-testid': 'clear-intervention' }, 'Show original run');
    clear.addEventListener('click', () => handlers.onClear());
    actions.append(clear);
  }
  return h(
    'section',
    { class: 'interventions', 'aria-label': 'Interventions' },
    h('h2', {}, 'Interventions'),
    h(
      'p',
      { class: 'muted small' },
      'Edit thoughts before they are fed back, then rerun: the edited thought and everything after it are shown against the original.' +
        (previous ? '' : ' Run another question or k first to replace a thought with one of the previous run.'),
    ),
    h(
      'table',
      { class: 'data-table intervention-table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Thought'), h('th', { scope: 'col' }, 'Edit'), h('th', { scope: 'col' }, 'Value'))),
      body,
    ),
    actions,
  );
}

/** The drafts as engine interventions, or the first problem with them (shown next to the button). */
export function buildInterventions(drafts: Record<number, Draft>, previous: PinnedRun | undefined): { interventions: Intervention[]; problem?: string } {
  const out: Intervention[] = [];
  for (const [key, d] of Object.entries(drafts).sort((a, b) => Number(a[0]) - Number(b[0]))) {
    const thought = Number(key);
    switch (d.kind) {
      case 'keep':
        break;
      case 'zero':
        out.push({ thought, kind: 'zero' });
        break;
      case 'scale': {
        const factor = Number(d.factor ?? '0.5');
        if (!Number.isFinite(factor) || (d.factor ?? '0.5').trim() === '') {
          return { interventions: [], problem: `Thought ${thought}: the scale factor must be a number.` };
        }
        out.push({ thought, kind: 'scale', factor });
        break;
      }
      case 'token': {
        const token = d.token ?? '';
        if (!token.trim()) return { interventions: [], problem: `Thought ${thought}: type the token whose embedding replaces it.` };
        out.push({ thought, kind: 'token', token });
        break;
      }
      case 'previous': {
        const j = d.previous ?? thought;
        const src = previous?.result.thoughts.find((t) => t.index === j);
        if (!src) return { interventions: [], problem: `Thought ${thought}: the previous run has no thought ${j}.` };
        out.push({ thought, kind: 'vector', vector: src.vector, label: `thought ${j} of ${previous!.label}` });
        break;
      }
    }
  }
  if (out.length === 0) return { interventions: [], problem: 'Choose an edit (zero, scale, token or previous thought) for at least one thought.' };
  return { interventions: out };
}

export interface ThoughtDiff {
  status: 'edited' | 'downstream' | 'same';
  /** What was done to it, e.g. "zeroed". */
  edit?: string;
  kl?: number;
  js?: number;
  /** The original thought's top token. */
  was?: TokenProb;
  /** Token ids in the original top-k (rows not among them are new). */
  originalIds: Set<number>;
}

export function diffOf(result: InterventionResult): Map<number, ThoughtDiff> {
  const first = Math.min(...result.interventions.map((i) => i.thought));
  const out = new Map<number, ThoughtDiff>();
  for (const t of result.intervened.thoughts) {
    const orig = result.original.thoughts.find((o) => o.index === t.index);
    const edit = result.interventions.find((i) => i.thought === t.index);
    const div = result.divergence.find((d) => d.thought === t.index);
    out.set(t.index, {
      status: edit ? 'edited' : t.index > first ? 'downstream' : 'same',
      edit: edit ? describeEdit(edit) : undefined,
      kl: div?.kl,
      js: div?.js,
      was: orig?.topk[0],
      originalIds: new Set(orig?.topk.map((x) => x.id) ?? []),
    });
  }
  return out;
}

export function renderDivergenceChart(result: InterventionResult): SVGSVGElement {
  const edited = new Set(result.interventions.map((i) => i.thought));
  return barChart(
    'intervention',
    result.divergence.map((d) => ({
      label: `T${d.thought}`,
      value: d.js,
      cls: edited.has(d.thought) ? 'edited' : 'downstream',
      note: fmtNum(d.js, 3),
      tooltip: `Thought ${d.thought}${edited.has(d.thought) ? ' (edited)' : ''}: JS ${fmtNum(d.js, 3)}, KL ${fmtNum(d.kl, 3)} nats`,
    })),
    {
      label: 'Divergence of each thought from the original run (Jensen-Shannon, nats)',
      xLabel: 'thought',
      yLabel: 'JS (nats)',
      min: 0,
      max: Math.max(Math.LN2 / 4, ...result.divergence.map((d) => d.js)),
      format: (v) => v.toFixed(2),
    },
  );
}

export function renderAttributionChart(entries: AttributionEntry[]): SVGSVGElement {
  return barChart(
    'attribution',
    entries.map((e) => ({
      label: `T${e.thought}`,
      value: e.delta,
      cls: e.answerChanged ? 'wrong' : 'neutral',
      note: fmtNum(e.delta),
      tooltip:
        `Zeroing thought ${e.thought}: log p(answer) ${fmtNum(e.baseLogProb)} → ${fmtNum(e.ablatedLogProb)} (Δ ${fmtNum(e.delta)})` +
        (e.answerChanged ? `; the answer becomes “${e.ablatedAnswer}”` : '; the answer stays'),
    })),
    {
      label: 'Change in the answer’s log-probability when each thought is zeroed',
      xLabel: 'ablated thought',
      yLabel: 'Δ log p(answer)',
      format: (v) => fmtNum(v, 1),
    },
  );
}

export function attributionSummary(entries: AttributionEntry[]): string {
  if (!entries.length) return 'No thoughts to ablate (k = 0).';
  const worst = [...entries].sort((a, b) => a.delta - b.delta)[0]!;
  const changed = entries.filter((e) => e.answerChanged).map((e) => e.thought);
  return (
    `Zeroing thought ${worst.thought} costs the most (Δ log p ${fmtNum(worst.delta)}, p ×${fmtP(Math.exp(worst.delta))}). ` +
    (changed.length
      ? `The answer changes when thought${changed.length > 1 ? 's' : ''} ${changed.join(', ')} ${changed.length > 1 ? 'are' : 'is'} zeroed.`
      : 'The answer never changes.')
  );
}
