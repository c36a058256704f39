// The Thoughts tab: the decoded thoughts (streamed while a run goes), the answer, the logit-lens
// heatmap, the intervention editor with its result, and the attribution pass.
import { analysisErrorFor, figure } from './figures';
import { h } from './dom';
import { renderHeatmap } from './heatmap';
import { attributionSummary, buildInterventions, diffOf, renderAttributionChart, renderDivergenceChart, renderInterventionEditor } from './intervention-view';
import { renderAnswer, renderEmpty, renderFooter, renderNotice, renderThoughts } from './render';
import { clampSelected } from './state';
import type { View } from './view';

export function renderThoughtsTab(view: View): void {
  const panel = view.panel('thoughts');
  panel.replaceChildren();
  const state = view.state;
  const { run, result, error } = state;
  panel.classList.toggle('stale', Boolean(state.busy && !state.busy.analysis));
  if (state.busy && !state.busy.analysis && state.partial?.length && run) {
    panel.classList.remove('stale');
    panel.append(renderThoughts(state.partial, run.k, clampSelected(state, run.k), Boolean(state.showLens)));
    return;
  }
  if (!result) {
    if (!run && !error && !state.busy) panel.append(renderEmpty(state.notice));
    return;
  }
  const iv = state.intervention && state.intervention.original.question === result.question ? state.intervention : undefined;
  const shown = iv ? iv.intervened : result;
  const selected = clampSelected(state, shown.thoughts.length);
  panel.append(
    renderThoughts(
      shown.thoughts,
      shown.thoughts.length,
      selected,
      Boolean(state.showLens),
      iv ? diffOf(iv) : undefined,
      iv ? 'Continuous thoughts with the interventions (against the original run)' : 'Continuous thoughts',
    ),
  );
  if (iv) panel.append(figure(view, 'Divergence from the original per thought', renderDivergenceChart(iv)));
  panel.append(renderAnswer(shown, run?.question === shown.question ? run?.expectedAnswer : undefined, iv ? iv.original : undefined));
  const heat = renderHeatmap(shown.thoughts, selected);
  if (heat) {
    panel.append(
      h('h2', {}, 'Logit lens per layer'),
      h(
        'p',
        { class: 'muted small' },
        'Each cell: the top token of ln_f(hidden state) · Wᵀ at that layer, shaded by its probability. Hover a row to see its reasoning step in the editor.',
      ),
      figure(view, 'Logit lens heatmap', heat),
    );
  }
  if (shown.thoughts.length) {
    panel.append(
      renderInterventionEditor(
        result.thoughts,
        state.drafts ?? {},
        state.previous,
        run?.nEmbd,
        Boolean(state.busy),
        {
          onChange: (thought, draft) => {
            const now = view.state;
            now.drafts = { ...(now.drafts ?? {}), [thought]: draft };
            now.interventionProblem = undefined;
            view.persist();
            view.render();
          },
          onRun: () => {
            const now = view.state;
            const built = buildInterventions(now.drafts ?? {}, now.previous);
            now.interventionProblem = built.problem;
            if (built.problem) {
              view.render();
              return;
            }
            view.post({ type: 'intervene', interventions: built.interventions });
          },
          onClear: () => {
            view.state.intervention = undefined;
            view.persist();
            view.render();
          },
          onAttribution: () => view.post({ type: 'attribution' }),
        },
        Boolean(iv),
      ),
    );
    if (state.interventionProblem) panel.append(renderNotice(state.interventionProblem, 'warning'));
    const ivError = analysisErrorFor(view.state, 'intervention');
    if (ivError) panel.append(ivError);
  }
  const att = state.attribution && state.attribution.question === result.question ? state.attribution : undefined;
  if (att) {
    panel.append(
      h('h2', {}, 'Attribution'),
      h('p', { class: 'small', 'data-testid': 'attribution-summary' }, attributionSummary(att.entries)),
      figure(view, 'Attribution: Δ log p(answer) per ablated thought', renderAttributionChart(att.entries)),
    );
  }
  const attError = analysisErrorFor(view.state, 'attribution');
  if (attError) panel.append(attError);
  panel.append(renderFooter(shown));
}
