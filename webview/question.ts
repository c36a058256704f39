// The question at the top of the panel: two lines until the user opens it, so that beside an editor
// (about 400 px) the thoughts, the graph and the charts start on screen. The expander is a real
// button (aria-expanded, Enter and Space for free); a click on the clamped text opens it too.
import { h } from './dom';

export const QUESTION_ID = 'question-text';

export interface QuestionOptions {
  expanded: boolean;
  /** Called with the new state after the user toggled it; the DOM is already updated. */
  onToggle(expanded: boolean): void;
}

/** What the expander says for a state: the visible label and the full name it is announced by. */
export function questionToggleText(expanded: boolean): { label: string; name: string } {
  return expanded ? { label: 'Show less', name: 'Show less of the question' } : { label: 'Show all', name: 'Show all of the question' };
}

/** The label row (with the expander) and the question block. */
export function renderQuestion(text: string, options: QuestionOptions): HTMLElement[] {
  const quote = h('blockquote', { class: 'question', id: QUESTION_ID, 'data-testid': 'question' }, text);
  const toggle = h('button', {
    class: 'link-button question-toggle',
    type: 'button',
    'aria-controls': QUESTION_ID,
    'data-testid': 'question-toggle',
  });
  let expanded = options.expanded;
  const show = () => {
    quote.classList.toggle('collapsed', !expanded);
    toggle.setAttribute('aria-expanded', String(expanded));
    const t = questionToggleText(expanded);
    toggle.textContent = t.label;
    toggle.setAttribute('aria-label', t.name);
  };
  const set = (open: boolean) => {
    expanded = open;
    show();
    syncToggle();
    options.onToggle(open);
  };
  // Only a question that does not fit its two lines needs the button; whether it fits depends on
  // the panel's width, so the check runs again whenever the block is resized.
  const syncToggle = () => {
    toggle.hidden = !expanded && quote.scrollHeight <= quote.clientHeight + 1;
  };
  toggle.addEventListener('click', () => set(!expanded));
  quote.addEventListener('click', () => {
    // A click that ends a text selection is the user copying, not asking for more.
    if (!expanded && !document.getSelection()?.toString()) set(true);
  });
  show();
  new ResizeObserver(syncToggle).observe(quote);
  return [h('div', { class: 'question-head' }, h('div', { class: 'label', id: `${QUESTION_ID}-label` }, 'Question'), toggle), quote];
}
