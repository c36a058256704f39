// The Thoughts panel and the editor: hover and focus link a thought to its reasoning step, the
// host's highlights mark thoughts, selection moves with clicks and arrow keys, and focus survives
// a redraw.
import type { View } from './view';

export function thoughtIndexOf(target: EventTarget | null): number | null {
  const el = (target as Element | null)?.closest?.('[data-testid="thought"], .heat-row, [data-testid="intervention-row"]');
  if (!el) return null;
  const v = (el as HTMLElement).dataset?.index ?? el.getAttribute('data-thought');
  return v ? Number(v) : null;
}

/** Marks the thoughts (columns and heatmap rows) the editor's cursor points at. */
export function applyLinked(view: View): void {
  const on = new Set(view.state.linked ?? []);
  for (const el of Array.from(view.panel('thoughts').querySelectorAll<Element>('[data-testid="thought"], .heat-row'))) {
    const i = Number((el as HTMLElement).dataset?.index ?? el.getAttribute('data-thought'));
    el.classList.toggle('linked', on.has(i));
  }
}

export function thoughtColumns(view: View): HTMLElement[] {
  return Array.from(view.panel('thoughts').querySelectorAll<HTMLElement>('[data-testid="thought"]'));
}

/** Identifies the focused control so a re-render can focus its replacement. */
export function focusedKey(kField: HTMLElement): string | undefined {
  const el = document.activeElement as HTMLElement | null;
  if (!el || el === document.body || el === kField) return undefined;
  const id = el.dataset?.testid ?? el.id;
  if (!id) return undefined;
  return `${id}|${el.dataset.index ?? ''}|${el.dataset.thought ?? ''}|${el.dataset.chart ?? ''}|${el.dataset.k ?? ''}`;
}

export function restoreFocus(key: string): void {
  const [id, index, thought, chart, k] = key.split('|');
  const candidates = Array.from(document.querySelectorAll<HTMLElement>(`[data-testid="${id}"], #${CSS.escape(id!)}`));
  const el = candidates.find(
    (c) => (c.dataset.index ?? '') === index && (c.dataset.thought ?? '') === thought && (c.dataset.chart ?? '') === chart && (c.dataset.k ?? '') === k,
  );
  el?.focus();
}

/** Roving tabindex: one column is in the tab order; arrows move within the list. */
function selectThought(view: View, index: number, focus: boolean): void {
  if (view.state.selected !== index) {
    view.state.selected = index;
    view.persist();
    view.post({ type: 'selectThought', index });
  }
  for (const col of thoughtColumns(view)) {
    const on = Number(col.dataset.index) === index;
    col.classList.toggle('selected', on);
    col.setAttribute('aria-selected', on ? 'true' : 'false');
    col.tabIndex = on ? 0 : -1;
    if (on && focus) col.focus();
  }
  for (const row of Array.from(view.panel('thoughts').querySelectorAll('.heat-row'))) {
    row.classList.toggle('selected', Number(row.getAttribute('data-thought')) === index);
  }
}

/**
 * The Thoughts panel's own events: hovering or focusing a thought shows its reasoning step in the
 * editor, clicking or arrowing selects one (roving tabindex).
 */
export function wireThoughts(view: View): void {
  const panel = view.panel('thoughts');
  let hovered: number | null = null;
  const hoverThought = (index: number | null) => {
    if (hovered === index) return;
    hovered = index;
    view.post({ type: 'hoverThought', index });
  };
  panel.addEventListener('mouseover', (e) => hoverThought(thoughtIndexOf(e.target)));
  panel.addEventListener('mouseleave', () => hoverThought(null));
  panel.addEventListener('focusout', (e) => {
    if (!panel.contains((e as FocusEvent).relatedTarget as Node | null)) hoverThought(null);
  });

  panel.addEventListener('click', (e) => {
    const col = (e.target as HTMLElement).closest<HTMLElement>('[data-testid="thought"]');
    if (col) selectThought(view, Number(col.dataset.index), true);
  });

  panel.addEventListener('focusin', (e) => {
    const col = e.target as HTMLElement;
    if (col.dataset?.testid === 'thought') {
      selectThought(view, Number(col.dataset.index), false);
      hoverThought(Number(col.dataset.index));
    }
  });

  panel.addEventListener('keydown', (e) => {
    const col = e.target as HTMLElement;
    if (col.dataset?.testid !== 'thought') return;
    const n = thoughtColumns(view).length;
    const i = Number(col.dataset.index);
    let next: number | undefined;
    switch (e.key) {
      case 'ArrowRight':
      case 'ArrowDown':
        next = Math.min(n, i + 1);
        break;
      case 'ArrowLeft':
      case 'ArrowUp':
        next = Math.max(1, i - 1);
        break;
      case 'Home':
        next = 1;
        break;
      case 'End':
        next = n;
        break;
    }
    if (next === undefined) return;
    e.preventDefault();
    selectThought(view, next, true);
  });
}
