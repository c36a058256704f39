// Pure rendering: state in, elements out. main.ts decides when to call these.

import type { AnswerToken, InspectResult, ThoughtTrace } from '../src/shared/types';
import { asSentence, type ErrorInfo, type RunInfo } from '../src/protocol/inspector';
import { bar, h } from './dom';
import { fmtMs, fmtNum, fmtP, sameAnswer, showToken, speakToken } from './format';
import type { ThoughtDiff } from './intervention-view';
import { renderQuestion, type QuestionOptions } from './question';

/** Nearest embeddings and lens rows are context for the probe; a few are enough per column. */
const NEAREST_SHOWN = 5;
const LENS_TOP_SHOWN = 1;

export function renderEmpty(notice: string | undefined): HTMLElement {
  return h(
    'div',
    { class: 'empty', 'data-testid': 'empty' },
    h('p', {}, notice ?? 'No inspection yet.'),
    h(
      'p',
      { class: 'muted' },
      'Open a ProsQA prompt file (JSON or JSONL) or a text file and run “Coconut Lens: Inspect Latent Thoughts”. ' +
        'Each continuous thought is decoded into the tokens the model’s own LM head gives it.',
    ),
  );
}

/** `showModel` is false once the view was cleared: the run's model may no longer be the selected one. */
export function renderHeader(run: RunInfo | undefined, result: InspectResult | undefined, showModel: boolean, question: QuestionOptions): HTMLElement {
  const text = result?.question ?? run?.question ?? '';
  const model = showModel ? (result?.model ?? run?.model) : undefined;
  const provider = showModel ? (result?.provider ?? run?.provider) : undefined;
  const k = result?.thoughtsRequested ?? run?.k;
  const meta = h('div', { class: 'meta', role: 'group', 'aria-label': 'Run' });
  if (model) meta.append(tag('Model', model, 'model'));
  if (provider) meta.append(tag('Provider', provider));
  if (k !== undefined) meta.append(tag('Thoughts', `k = ${k}`));
  if (run?.source) meta.append(tag('Source', run.source));
  return h('header', { class: 'header' }, h('h1', { class: 'visually-hidden' }, 'Coconut Lens inspector'), ...renderQuestion(text, question), meta);
}

function tag(name: string, value: string, id?: string): HTMLElement {
  // Narrow panels cut long values short; the tooltip keeps the whole of it.
  return h(
    'span',
    { class: 'tag', title: `${name}: ${value}`, 'data-tag': id },
    h('span', { class: 'tag-name' }, `${name} `),
    h('span', { class: 'tag-value' }, value),
  );
}

export function renderError(error: ErrorInfo): HTMLElement {
  return h(
    'div',
    { class: 'message error', role: 'alert', 'data-testid': 'error', 'data-code': error.code },
    h('div', { class: 'message-title' }, asSentence(error.message)),
    h('div', { class: 'message-fix' }, h('span', { class: 'fix-label' }, 'Fix: '), asSentence(error.fix)),
    h('div', { class: 'message-code muted' }, error.code),
  );
}

export function renderNotice(text: string, kind: 'info' | 'warning' = 'info'): HTMLElement {
  return h('div', { class: `message ${kind}`, role: 'status', 'data-testid': 'notice' }, text);
}

export function renderBusy(text: string, done?: number, total?: number): HTMLElement {
  const ring = h('vscode-progress-ring', { 'aria-label': 'Running' });
  return h(
    'div',
    { class: 'busy', 'data-testid': 'busy', role: 'status', 'aria-live': 'polite' },
    ring,
    h('span', { class: 'busy-text' }, total && total > 1 && done !== undefined ? `${text} ${done}/${total}` : text),
  );
}

/** The spoken summary of a thought, e.g. "Thought 2: top token lempus 0.33, grimpus 0.32; …". */
export function thoughtLabel(t: ThoughtTrace, count: number): string {
  const [first, ...rest] = t.topk.slice(0, 3);
  const parts = [`Thought ${t.index} of ${count}`];
  let probe = first ? `top token ${speakToken(first.token)} ${fmtP(first.p)}` : 'no tokens';
  if (rest.length) probe += `, then ${rest.map((x) => `${speakToken(x.token)} ${fmtP(x.p)}`).join(', ')}`;
  const near = t.nearest[0];
  return (
    `${parts[0]}: ${probe}. ` +
    (near ? `Nearest embedding ${speakToken(near.token)}, cosine ${fmtNum(near.cosine)}. ` : '') +
    `Norm ${fmtNum(t.norm)}, entropy ${fmtNum(t.entropy)} nats.`
  );
}

/** `count` is k; while a run streams its thoughts, fewer than k may be there yet. */
export function renderThoughts(
  thoughts: ThoughtTrace[],
  count: number,
  selected: number,
  showLens: boolean,
  diff?: Map<number, ThoughtDiff>,
  heading = 'Continuous thoughts',
): HTMLElement {
  if (count === 0) {
    return h(
      'section',
      { class: 'thoughts-empty muted', 'aria-label': 'Continuous thoughts' },
      'No continuous thoughts (k = 0): the model answered in language mode right after the question.',
    );
  }
  const list = h('div', {
    class: 'thoughts',
    role: 'listbox',
    'aria-label': `Continuous thoughts (${count}). Use the arrow keys to move between them.`,
    'aria-orientation': 'horizontal',
  });
  for (const t of thoughts) list.append(renderThought(t, count, t.index === selected, showLens, diff?.get(t.index)));
  return h('section', { class: 'thoughts-section' }, h('h2', {}, heading), list);
}

function renderThought(t: ThoughtTrace, count: number, isSelected: boolean, showLens: boolean, diff?: ThoughtDiff): HTMLElement {
  const topk = h('ol', { class: 'rows topk' });
  t.topk.forEach((x, i) => {
    const isNew = diff && diff.status !== 'same' && !diff.originalIds.has(x.id);
    topk.append(
      h(
        'li',
        {
          class: ['row', i === 0 ? 'top' : '', isNew ? 'new-token' : ''].filter(Boolean).join(' '),
          'data-testid': 'topk-row',
          'data-token-id': x.id,
          title: isNew ? 'Not among the original thought’s top tokens' : undefined,
        },
        h('code', { class: 'tok', title: `${x.token} (id ${x.id})` }, showToken(x.token)),
        bar(x.p),
        h('span', { class: 'num' }, fmtP(x.p)),
      ),
    );
  });
  const nearest = h('ol', { class: 'rows nearest' });
  for (const x of t.nearest.slice(0, NEAREST_SHOWN)) {
    nearest.append(
      h(
        'li',
        { class: 'row', 'data-testid': 'nearest-row' },
        h('code', { class: 'tok', title: `${x.token} (id ${x.id})` }, showToken(x.token)),
        bar(x.cosine, 'cosine'),
        h('span', { class: 'num' }, fmtNum(x.cosine)),
      ),
    );
  }
  const diffText = diff && diff.status !== 'same' ? thoughtDiffText(diff) : '';
  const col = h(
    'div',
    {
      class: ['thought', isSelected ? 'selected' : '', diff ? `diff-${diff.status}` : ''].filter(Boolean).join(' '),
      role: 'option',
      'aria-selected': isSelected ? 'true' : 'false',
      'aria-label': thoughtLabel(t, count) + (diffText ? ` ${diffText}` : ''),
      'data-diff': diff?.status,
      tabindex: isSelected ? 0 : -1,
      'data-testid': 'thought',
      'data-index': t.index,
    },
    h(
      'div',
      { class: 'thought-head' },
      h('span', { class: 'thought-title' }, `Thought ${t.index}`),
      h(
        'span',
        { class: 'thought-stats' },
        h('span', { title: 'L2 norm of the continuous thought' }, `‖h‖ ${fmtNum(t.norm, 1)}`),
        h('span', { title: 'Entropy of the LM-head distribution, in nats' }, `H ${fmtNum(t.entropy)}`),
      ),
    ),
    diff && diff.status !== 'same' ? renderDiffBadge(diff) : undefined,
    h('div', { class: 'section-label' }, 'LM-head probe'),
    topk,
    h('div', { class: 'section-label' }, 'Nearest embeddings (cosine)'),
    nearest,
  );
  if (showLens && t.lens.length) {
    const lens = h('ol', { class: 'rows lens' });
    for (const cell of t.lens) {
      for (const x of cell.top.slice(0, LENS_TOP_SHOWN)) {
        lens.append(
          h(
            'li',
            { class: 'row', 'data-testid': 'lens-row' },
            h('span', { class: 'layer' }, `L${cell.layer}`),
            h('code', { class: 'tok' }, showToken(x.token)),
            h('span', { class: 'num' }, fmtP(x.p)),
          ),
        );
      }
    }
    col.append(h('div', { class: 'section-label' }, 'Logit lens (top token per layer)'), lens);
  }
  return col;
}

function thoughtDiffText(d: ThoughtDiff): string {
  const parts = [d.status === 'edited' ? `Edited: ${d.edit ?? 'changed'}.` : 'Downstream of an edit.'];
  if (d.js !== undefined) parts.push(`Divergence from the original: JS ${fmtNum(d.js, 3)}, KL ${fmtNum(d.kl ?? NaN, 3)} nats.`);
  if (d.was) parts.push(`Originally ${speakToken(d.was.token)} ${fmtP(d.was.p)}.`);
  return parts.join(' ');
}

function renderDiffBadge(d: ThoughtDiff): HTMLElement {
  return h(
    'div',
    { class: `diff-badge ${d.status}`, 'data-testid': 'diff-badge', 'aria-hidden': 'true' },
    h('span', { class: 'diff-kind' }, d.status === 'edited' ? `✎ ${d.edit ?? 'edited'}` : '↳ downstream'),
    d.js !== undefined
      ? h('span', { class: 'diff-div', 'data-testid': 'divergence', title: `KL ${fmtNum(d.kl ?? NaN, 3)} nats` }, `JS ${fmtNum(d.js, 3)}`)
      : undefined,
    d.was ? h('span', { class: 'diff-was' }, 'was ', h('code', { class: 'tok' }, showToken(d.was.token)), ` ${fmtP(d.was.p)}`) : undefined,
  );
}

export function renderAnswer(result: InspectResult, expected: string | undefined, original?: InspectResult): HTMLElement {
  const a = result.answer;
  const shown = a.extracted || a.text.trim();
  const tokens = h('ol', { class: 'answer-tokens', 'aria-label': 'Answer tokens with their probabilities' });
  for (const t of a.tokens) tokens.append(renderAnswerToken(t));
  let verdict: HTMLElement | undefined;
  if (expected !== undefined) {
    // The engine's verdict when it scored the run (it knows the model's normalizer); else the plain comparison.
    const ok = a.correct ?? sameAnswer(a.extracted, expected);
    verdict = h(
      'div',
      { class: ok ? 'verdict ok' : 'verdict wrong', 'data-testid': 'verdict' },
      ok ? '✓ Matches the record’s answer' : `✗ The record’s answer is “${expected}”`,
    );
  }
  const minP = a.tokens.reduce((m, t) => Math.min(m, t.p), 1);
  const was = original ? original.answer.extracted || original.answer.text.trim() : undefined;
  const changed = was !== undefined && was !== shown;
  return h(
    'section',
    { class: 'answer', 'data-testid': 'answer', 'aria-label': `Answer: ${shown || 'empty'}${changed ? `, was ${was || 'empty'}` : ''}` },
    h('h2', {}, original ? 'Answer with the interventions' : 'Answer'),
    h('div', { class: changed ? 'answer-text changed' : 'answer-text', 'data-testid': 'answer-text' }, shown || '(empty)'),
    was !== undefined
      ? h('div', { class: 'muted small', 'data-testid': 'answer-was' }, changed ? `Original answer: “${was || '(empty)'}”` : 'Same as the original answer.')
      : undefined,
    verdict,
    tokens,
    h(
      'div',
      { class: 'muted small' },
      `${a.tokens.length} tokens, stopped by ${a.stoppedBy === 'eos' ? 'end of text' : 'the token limit'}` +
        (a.tokens.length ? `; lowest token probability ${fmtP(minP)}` : '') +
        '. Greedy decoding; hover a token for its alternatives.',
    ),
  );
}

function renderAnswerToken(t: AnswerToken): HTMLElement {
  const alts = t.topk
    .filter((x) => x.id !== t.id)
    .slice(0, 4)
    .map((x) => `${showToken(x.token)} ${fmtP(x.p)}`)
    .join(', ');
  return h(
    'li',
    {
      class: t.p < 0.5 ? 'atok unsure' : 'atok',
      'data-testid': 'answer-token',
      title: alts ? `${showToken(t.token)} ${fmtP(t.p)} · alternatives: ${alts}` : `${showToken(t.token)} ${fmtP(t.p)}`,
      'aria-label': `${speakToken(t.token)}, probability ${fmtP(t.p)}${alts ? `; alternatives ${alts}` : ''}`,
    },
    h('code', { class: 'tok' }, showToken(t.token)),
    bar(t.p),
    h('span', { class: 'num' }, fmtP(t.p)),
  );
}

export function renderFooter(result: InspectResult): HTMLElement {
  const t = result.timings;
  return h(
    'footer',
    { class: 'footer muted small' },
    `${result.promptTokens.length} prompt tokens · tokenize ${fmtMs(t.tokenizeMs)} · prefill ${fmtMs(t.prefillMs)} · ` +
      `thoughts ${fmtMs(t.thoughtsMs)} · answer ${fmtMs(t.answerMs)} · total ${fmtMs(t.totalMs)} on ${result.provider}`,
  );
}
