// The tab strip: one tab and one panel section per view, arrow keys between tabs, and the tab on
// view kept in the state.
import { TAB_IDS, type TabId } from '../src/protocol/inspector';
import { h } from './dom';
import { currentTab } from './state';
import type { View } from './view';

export const TAB_TEXT: Record<TabId, string> = {
  thoughts: 'Thoughts',
  search: 'Latent search',
  sweep: 'k sweep',
  compare: 'Compare',
  dataset: 'Dataset',
};

export interface Tabs {
  list: HTMLElement;
  panels: Record<TabId, HTMLElement>;
  /** Shows the tab the state names. */
  update(): void;
}

export function createTabs(view: View): Tabs {
  const list = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Inspector views' });
  const panels = {} as Record<TabId, HTMLElement>;
  const tabs = {} as Record<TabId, HTMLElement>;

  const update = () => {
    const active = currentTab(view.state);
    for (const id of TAB_IDS) {
      const on = id === active;
      tabs[id].setAttribute('aria-selected', on ? 'true' : 'false');
      tabs[id].tabIndex = on ? 0 : -1;
      tabs[id].classList.toggle('active', on);
      panels[id].hidden = !on;
    }
  };
  const select = (id: TabId) => {
    view.state.tab = id;
    view.persist();
    update();
    tabs[id].focus();
    // A narrow panel scrolls the tab strip sideways; the chosen tab must not sit outside it.
    tabs[id].scrollIntoView({ block: 'nearest', inline: 'nearest' });
  };

  for (const id of TAB_IDS) {
    const tab = h(
      'button',
      { class: 'tab', role: 'tab', id: `tab-${id}`, 'aria-controls': `panel-${id}`, 'data-testid': `tab-${id}`, type: 'button' },
      TAB_TEXT[id],
    );
    tab.addEventListener('click', () => select(id));
    tabs[id] = tab;
    list.append(tab);
    panels[id] = h('section', {
      class: 'tab-panel',
      role: 'tabpanel',
      id: `panel-${id}`,
      'aria-labelledby': `tab-${id}`,
      'data-testid': `panel-${id}`,
      tabindex: 0,
    });
  }
  list.addEventListener('keydown', (e) => {
    const i = TAB_IDS.indexOf(currentTab(view.state));
    let next: number | undefined;
    if (e.key === 'ArrowRight') next = (i + 1) % TAB_IDS.length;
    else if (e.key === 'ArrowLeft') next = (i - 1 + TAB_IDS.length) % TAB_IDS.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = TAB_IDS.length - 1;
    if (next === undefined) return;
    e.preventDefault();
    select(TAB_IDS[next]!);
  });
  return { list, panels, update };
}
