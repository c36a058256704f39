// The run controls (k field, Rerun, Cancel, layers, pin, exports) and the model picker. Built once
// and updated in place, so typing a k is never interrupted by progress.
import { h } from './dom';
import { interventionOnView } from './state';
import type { View } from './view';

export interface Controls {
  /** The controls row. */
  element: HTMLElement;
  /** The model picker, which main.ts moves into the header next to the model chip. */
  modelPicker: HTMLElement;
  /** The k field: focus on it is never "restored" by a redraw, typing must not be interrupted. */
  kField: HTMLElement;
  /** Brings every control in line with the state. */
  update(): void;
  updateModelPicker(): void;
  /** A new run started: the k field shows its k again, even after the user typed in it. */
  releaseKField(): void;
}

/**
 * A label that shortens when the panel is narrow (panel.css picks one). The accessible name stays
 * the long one, so the control is announced the same at every width.
 */
function label(el: HTMLElement, long: string, short: string): void {
  el.replaceChildren(h('span', { class: 'long-label' }, long), h('span', { class: 'short-label', 'aria-hidden': 'true' }, short));
  el.setAttribute('aria-label', long);
}

export function createControls(view: View): Controls {
  const kField = h('vscode-textfield', { type: 'number', min: 0, class: 'k-field', 'data-testid': 'k-input' });
  // The component puts `label` on its inner <input>; a <label for> cannot reach into its shadow root.
  kField.label = 'Number of continuous thoughts (k)';
  const rerunButton = h('vscode-button', { 'data-testid': 'rerun' }, 'Rerun');
  const cancelButton = h('vscode-button', { secondary: true, 'data-testid': 'cancel' }, 'Cancel');
  const lensButton = h('vscode-button', { secondary: true, 'data-testid': 'toggle-lens' });
  const pinButton = h('vscode-button', { secondary: true, 'data-testid': 'pin' });
  const exportJson = h('vscode-button', { secondary: true, 'data-testid': 'export-json' });
  const exportCsv = h('vscode-button', { secondary: true, 'data-testid': 'export-csv' });
  label(exportJson, 'Export JSON', 'JSON');
  label(exportCsv, 'Export CSV', 'CSV');
  exportJson.title = 'Save the trace (thoughts, answer, timings) as JSON';
  exportCsv.title = 'Save the decoded distributions as CSV';
  const kHint = h('span', { class: 'muted small k-hint', 'aria-live': 'polite' });
  // Beside an editor the actions after the spacer do not fit the row: panel.css folds them behind
  // this disclosure there, and hides it where they fit.
  const extras = h('span', { class: 'extra-actions', id: 'extra-actions' }, pinButton, exportJson, exportCsv);
  const moreButton = h('vscode-button', {
    secondary: true,
    class: 'more-actions',
    'data-testid': 'more-actions',
    'aria-controls': 'extra-actions',
    'aria-expanded': 'false',
    'aria-label': 'More actions: pin, export',
    title: 'Pin for compare, export the trace',
  });
  const controls = h(
    'div',
    { class: 'controls', role: 'group', 'aria-label': 'Rerun with another number of thoughts', 'data-testid': 'controls' },
    h('span', { class: 'k-label', 'aria-hidden': 'true' }, h('span', { class: 'long-label' }, 'Thoughts (k)'), h('span', { class: 'short-label' }, 'k')),
    kField,
    rerunButton,
    cancelButton,
    lensButton,
    kHint,
    h('span', { class: 'spacer' }),
    moreButton,
    extras,
  );
  const showMore = (open: boolean) => {
    controls.classList.toggle('more-open', open);
    moreButton.setAttribute('aria-expanded', String(open));
    moreButton.textContent = open ? 'More ▴' : 'More ▾';
  };
  showMore(false);
  moreButton.addEventListener('click', () => showMore(!controls.classList.contains('more-open')));

  // The model picker: built once and moved into the header next to the model chip on each render.
  // A native <select>: keyboard-usable as is, and disabled options (missing folders, models Restricted
  // Mode does not run) are announced as unavailable.
  const modelSelect = h('select', { class: 'field model-picker', id: 'model-picker', 'data-testid': 'model-picker', 'aria-label': 'Model to run' });
  modelSelect.addEventListener('change', () => {
    const chosen = view.state.models?.list.find((m) => m.dir === modelSelect.value);
    if (chosen && !chosen.current) view.post({ type: 'selectModel', dir: chosen.dir });
  });
  const modelPicker = h('span', { class: 'model-pick' }, h('label', { for: 'model-picker', class: 'tag-name' }, 'Model'), modelSelect);

  function updateModelPicker(): void {
    const models = view.state.models;
    modelPicker.hidden = !models || models.list.length === 0;
    if (!models) return;
    const options = models.list.map((m) => {
      const why = !m.present ? ' (missing)' : !m.selectable ? ' (not in Restricted Mode)' : '';
      const o = h('option', { value: m.dir, disabled: !m.selectable, title: m.dir }, `${m.label}${why}`);
      o.selected = m.current;
      return o;
    });
    modelSelect.replaceChildren(...options);
    modelSelect.title = models.restricted ? 'Restricted Mode runs only the shipped model' : 'The model inspect commands run';
  }

  function update(): void {
    const state = view.state;
    const run = state.run;
    const busy = Boolean(state.busy);
    controls.hidden = !run;
    if (!run) return;
    const max = state.run?.maxK;
    if (max !== undefined) kField.setAttribute('max', String(max));
    if (document.activeElement !== kField && !kField.dataset.edited) kField.value = String(run.k);
    kHint.textContent = max !== undefined ? `0 to ${max}; Enter reruns` : 'Enter reruns';
    kHint.classList.remove('problem');
    rerunButton.toggleAttribute('disabled', busy);
    // Analyses show their Cancel next to their progress bar.
    cancelButton.hidden = !busy || Boolean(state.busy?.analysis && state.busy.total);
    lensButton.hidden = !state.result?.thoughts.some((t) => t.lens.length);
    label(lensButton, state.showLens ? 'Hide layers' : 'Show layers', 'Layers');
    lensButton.setAttribute('aria-pressed', state.showLens ? 'true' : 'false');
    const hasResult = Boolean(state.result);
    for (const b of [pinButton, exportJson, exportCsv]) b.toggleAttribute('disabled', !hasResult);
    label(pinButton, state.pinned ? 'Pin this run instead' : 'Pin for compare', state.pinned ? 'Repin' : 'Pin');
  }

  function requestedK(): number | undefined {
    const raw = kField.value.trim();
    const k = Number(raw);
    const max = view.state.run?.maxK;
    const ok = raw !== '' && Number.isInteger(k) && k >= 0 && (max === undefined || k <= max);
    kField.invalid = !ok;
    if (!ok) kHint.textContent = `k must be a whole number from 0 to ${max ?? 'the model maximum'}.`;
    // A narrow panel hides the hint, but never a problem.
    kHint.classList.toggle('problem', !ok);
    return ok ? k : undefined;
  }

  function rerun(): void {
    if (view.state.busy || !view.state.run) return;
    const k = requestedK();
    if (k === undefined) return;
    delete kField.dataset.edited;
    view.post({ type: 'rerun', k });
  }

  rerunButton.addEventListener('click', rerun);
  kField.addEventListener('input', () => {
    kField.dataset.edited = '1';
    kField.invalid = false;
  });
  kField.addEventListener('keydown', (e) => {
    if ((e as KeyboardEvent).key === 'Enter') rerun();
  });
  cancelButton.addEventListener('click', () => view.post({ type: 'cancel' }));
  lensButton.addEventListener('click', () => {
    view.state.showLens = !view.state.showLens;
    view.persist();
    view.render();
  });
  pinButton.addEventListener('click', () => view.post({ type: 'pin' }));
  // When the Thoughts tab shows an intervened run, exports save that run with the original.
  exportJson.addEventListener('click', () => view.post({ type: 'exportTrace', format: 'json', intervened: Boolean(interventionOnView(view.state)) }));
  exportCsv.addEventListener('click', () => view.post({ type: 'exportTrace', format: 'csv', intervened: Boolean(interventionOnView(view.state)) }));

  return {
    element: controls,
    modelPicker,
    kField,
    update,
    updateModelPicker,
    releaseKField: () => delete kField.dataset.edited,
  };
}
