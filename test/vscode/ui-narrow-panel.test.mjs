// The panel at the width it gets beside an editor (issue 12, parts 4 and 5): the workbench is sized
// so that the webview is 400 × 800 CSS pixels, the shipped model inspects the bundled example, and
// element boxes (not only screenshots) must show that the question takes two lines until expanded,
// the run controls one row, and each tab's main picture (first thought card, latent-search graph,
// sweep chart) is on screen without scrolling. The header's controls are walked with Tab: each takes
// focus in order and shows it; the dataset table is one Tab stop with arrow keys and Enter.
// Screenshots of the panel alone go to test-output/screenshots/narrow/ (for the Marketplace README).
//
//   node --test test/vscode/ui-narrow-panel.test.mjs
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findWebviewFrame, openWorkbench, prepareWorkspace, runCommand, screenshotDir } from './harness.mjs';
import { repoRoot } from '../../scripts/vscode-server.mjs';
import { extensionUnderTest } from './vsix.mjs';

const WIDTH = 400;
const HEIGHT = 800;
/** Where the screenshots go: one per view, named after it. */
export const narrowShotDir = join(screenshotDir, 'narrow');
const manifest = JSON.parse(readFileSync(join(repoRoot, 'models/prosqa-coconut/coconut.json'), 'utf8'));

describe(`the panel at ${WIDTH} × ${HEIGHT} (UI)`, { timeout: 600_000 }, () => {
  let workbench;
  let page;
  /** The panel's frame; looked up again after anything that may rebuild the webview. */
  const panelFrame = () => findWebviewFrame(page, '[data-testid="tab-thoughts"]', 30_000, 'ui-narrow-panel');

  before(async () => {
    mkdirSync(narrowShotDir, { recursive: true });
    const ws = prepareWorkspace({ 'prosqa.json': readFileSync(join(repoRoot, 'examples/prosqa.json'), 'utf8') });
    // No coconutLens.modelPath: the shipped model, as a new user meets it.
    writeFileSync(join(ws, '.vscode/settings.json'), '{}\n');
    workbench = await openWorkbench({ folder: ws, ...extensionUnderTest(), logName: 'ui-narrow-panel' });
    page = workbench.page;
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'prosqa.json' }).waitFor({ timeout: 120_000 });
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'prosqa.json' }).click();
    const lens = page.locator('.codelens-decoration a', { hasText: 'Inspect thoughts' });
    await lens.first().waitFor({ timeout: 60_000 });
    await lens.first().click();
    const panel = await findWebviewFrame(page, '[data-testid="answer"]', 120_000, 'ui-narrow-panel');
    await fitPanel(page, panel);
  });

  after(async () => {
    await workbench?.close();
  });

  it('the question takes two lines until expanded; its expander is a button (click, Enter, Space)', async () => {
    const panel = await panelFrame();
    const before = await measure(panel, '[data-testid="thought"]');
    console.log(`narrow-panel thoughts: ${JSON.stringify(before)}`);
    const question = panel.locator('[data-testid="question"]');
    const toggle = panel.locator('[data-testid="question-toggle"]');
    assert.equal(await toggle.evaluate((el) => el.tagName), 'BUTTON', 'the expander is a real <button>');
    assert.equal(await toggle.getAttribute('aria-controls'), await question.getAttribute('id'));
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    const collapsed = await questionLines(panel);
    assert.ok(collapsed.lines <= 2.05, `collapsed, the question shows ${collapsed.lines.toFixed(2)} lines`);
    assert.ok(collapsed.hidden > 0, 'the example question is longer than two lines (else this test proves nothing)');

    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    const open = await questionLines(panel);
    assert.ok(open.lines > 2.5 && open.hidden === 0, `expanded, the whole question shows (${open.lines.toFixed(2)} lines, ${open.hidden} px hidden)`);
    await page.screenshot({ path: join(narrowShotDir, 'question-expanded.png'), clip: await panelClip(page) });

    await toggle.focus();
    await page.keyboard.press('Enter');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false', 'Enter collapses it');
    assert.ok((await questionLines(panel)).lines <= 2.05);
    await page.keyboard.press('Space');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true', 'Space expands it');
    await page.keyboard.press('Space');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');

    // A click on the clamped text itself opens it too.
    await question.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true', 'a click on the question expands it');
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  });

  it('the run controls fit one row; the first thought card is on screen', async () => {
    const panel = await panelFrame();
    const m = await measure(panel, '[data-testid="thought"]');
    const row = m.controls;
    assert.ok(row.length >= 3, `the controls row shows its controls: ${JSON.stringify(row)}`);
    const lineTop = Math.max(...row.map((c) => c.top));
    const lineBottom = Math.min(...row.map((c) => c.bottom));
    assert.ok(lineTop < lineBottom, `one horizontal line crosses every control: ${JSON.stringify(row)}`);
    for (const c of row) assert.ok(c.left >= 0 && c.right <= m.inner.width, `${c.id} lies inside the panel (${c.left}..${c.right})`);
    assertOnScreen(m, 'the first thought card');
    await page.screenshot({ path: join(narrowShotDir, 'thoughts.png'), clip: await panelClip(page) });
  });

  it('the latent-search graph is on screen when its tab opens', async () => {
    let panel = await panelFrame();
    await panel.locator('[data-testid="tab-search"]').click();
    await panel.locator('svg[data-chart="graph"]').waitFor({ timeout: 30_000 });
    panel = await panelFrame();
    const m = await measure(panel, 'svg[data-chart="graph"]');
    console.log(`narrow-panel search: ${JSON.stringify(m)}`);
    assertOnScreen(m, 'the latent-search graph');
    await page.screenshot({ path: join(narrowShotDir, 'latent-search.png'), clip: await panelClip(page) });
  });

  it('the sweep chart is on screen once a sweep ran', async () => {
    let panel = await panelFrame();
    await panel.locator('[data-testid="tab-sweep"]').click();
    // From the keyboard: the button takes Enter like a click.
    await panel.locator('[data-testid="run-sweep"]').focus();
    await page.keyboard.press('Enter');
    await panel.locator(`[data-testid="sweep-row"][data-k="${manifest.thoughts.max}"]`).waitFor({ timeout: 120_000 });
    panel = await panelFrame();
    await panel.locator('[data-testid="busy"]').waitFor({ state: 'detached', timeout: 30_000 });
    const m = await measure(panel, 'svg[data-chart="sweep"]');
    console.log(`narrow-panel sweep: ${JSON.stringify(m)}`);
    assertOnScreen(m, 'the sweep chart');
    await page.screenshot({ path: join(narrowShotDir, 'k-sweep.png'), clip: await panelClip(page) });
  });

  it('Tab walks the header and the controls in order, each showing its focus; Enter opens the other actions', async () => {
    const panel = await panelFrame();
    await panel.locator('[data-testid="tab-thoughts"]').click();
    // Onto the expander from the keyboard (focus() alone after a click does not show focus).
    await panel.locator('[data-testid="question-toggle"]').focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Shift+Tab');
    const order = [];
    for (let i = 0; i < 12; i++) {
      const f = await focusInfo(panel);
      order.push(f.id);
      assert.ok(f.visible, `${f.id} shows that it has focus (${f.how})`);
      if (f.id === 'tab-thoughts') break;
      await page.keyboard.press('Tab');
    }
    console.log(`narrow-panel tab order: ${order.join(' → ')}`);
    const expected = ['question-toggle', 'model-picker', 'k-input', 'rerun', 'more-actions', 'tab-thoughts'];
    assert.deepEqual(
      order.filter((id) => expected.includes(id)),
      expected,
      `Tab reaches the controls in reading order: ${order.join(' → ')}`,
    );

    // The actions that do not fit the row: a disclosure button; Enter shows them, and they take focus.
    const more = panel.locator('[data-testid="more-actions"]');
    await more.focus();
    assert.equal(await more.getAttribute('aria-expanded'), 'false');
    assert.equal(await panel.locator('[data-testid="pin"]').isVisible(), false, 'collapsed, Pin is out of the way');
    await page.keyboard.press('Enter');
    assert.equal(await more.getAttribute('aria-expanded'), 'true');
    await page.keyboard.press('Tab');
    assert.equal((await focusInfo(panel)).id, 'pin', 'Tab goes from the disclosure to the first action it shows');
    for (const id of ['pin', 'export-json', 'export-csv']) {
      const box = await panel.locator(`[data-testid="${id}"]`).boundingBox();
      assert.ok(box && box.width > 0, `${id} is shown`);
    }
    await page.screenshot({ path: join(narrowShotDir, 'more-actions.png'), clip: await panelClip(page) });
    await more.focus();
    await page.keyboard.press('Space');
    assert.equal(await more.getAttribute('aria-expanded'), 'false', 'Space closes it again');
  });

  it('the dataset table is one Tab stop: arrows move between its cells, Enter opens the record at that k', async () => {
    // The example file is the active editor's: evaluate it from the palette, as a user does.
    await page.locator('.tabs-container .tab', { hasText: 'prosqa.json' }).first().click();
    await runCommand(page, 'Coconut Lens: Evaluate Dataset');
    let panel = await findWebviewFrame(page, '[data-testid="dataset-table"]', 120_000, 'ui-narrow-panel');
    await panel.locator('[data-testid="busy"]').waitFor({ state: 'detached', timeout: 180_000 });
    panel = await panelFrame();
    await page.screenshot({ path: join(narrowShotDir, 'dataset.png'), clip: await panelClip(page) });

    await panel.locator('[data-testid="dataset-open"][data-index="0"]').focus();
    await page.keyboard.press('Tab');
    let f = await focusInfo(panel);
    assert.deepEqual([f.id, f.index, f.k], ['dataset-cell', '0', '0'], 'Tab enters the table at its first cell');
    assert.ok(f.visible, `the cell shows its focus (${f.how})`);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    f = await focusInfo(panel);
    assert.deepEqual([f.id, f.index, f.k], ['dataset-cell', '1', '2'], 'arrows move right twice, then down');
    await page.keyboard.press('Tab');
    assert.notEqual((await focusInfo(panel)).id, 'dataset-cell', 'the next Tab leaves the table');
    await page.keyboard.press('Shift+Tab');
    f = await focusInfo(panel);
    assert.deepEqual([f.index, f.k], ['1', '2'], 'Shift+Tab comes back to the cell last used');

    await page.keyboard.press('Enter');
    const second = JSON.parse(readFileSync(join(repoRoot, 'examples/prosqa.json'), 'utf8'))[1];
    panel = await panelFrame();
    await panel.locator('[data-testid="question"]', { hasText: second.question.slice(0, 60) }).waitFor({ timeout: 60_000 });
    await panel.locator('[data-testid="tab-thoughts"]').click();
    await panel.locator('[data-testid="answer"]').waitFor({ timeout: 60_000 });
    assert.equal(await panel.locator('[data-testid="thought"]').count(), 2, 'record 1 opened at k = 2');
  });
});

/**
 * Resizes the browser until the webview's own window is WIDTH × HEIGHT: the editor groups share
 * the width the side bar leaves, so the panel takes a fraction of each change; a few secant steps
 * find the viewport that gives it the size asked for.
 */
async function fitPanel(page, panel) {
  const size = () => panel.evaluate(() => ({ width: window.innerWidth, height: window.innerHeight }));
  let vp = page.viewportSize();
  let now = await size();
  let gain = 0.5;
  for (let i = 0; i < 8 && (Math.abs(now.width - WIDTH) > 1 || Math.abs(now.height - HEIGHT) > 1); i++) {
    const next = { width: Math.round(vp.width + (WIDTH - now.width) / gain), height: vp.height + (HEIGHT - now.height) };
    await page.setViewportSize(next);
    await page.waitForTimeout(700);
    const was = now;
    now = await size();
    if (next.width !== vp.width && now.width !== was.width) gain = (now.width - was.width) / (next.width - vp.width);
    vp = next;
  }
  assert.ok(Math.abs(now.width - WIDTH) <= 1 && Math.abs(now.height - HEIGHT) <= 1, `the panel is ${now.width} × ${now.height}`);
}

/** The panel iframe's box on the page, for screenshots of the panel alone. */
async function panelClip(page) {
  for (const el of await page.locator('iframe.webview').all()) {
    const box = await el.boundingBox();
    if (box && box.width > 0 && box.height > 0) return box;
  }
  throw new Error('no visible webview iframe');
}

/** Boxes in the panel's own coordinates, scrolled to the top: the header parts, the controls, `main`. */
function measure(panel, main) {
  return panel.evaluate((main) => {
    window.scrollTo(0, 0);
    const box = (el) => {
      if (!el) return null;
      const r = el.getBoundingClientRect();
      return { top: Math.round(r.top), bottom: Math.round(r.bottom), left: Math.round(r.left), right: Math.round(r.right) };
    };
    const row = document.querySelector('[data-testid="controls"]') ?? document.querySelector('.controls');
    const controls = [...(row?.querySelectorAll(':scope > *, :scope > * > *') ?? [])]
      .filter((el) => el.matches('button, select, input, vscode-button, vscode-textfield, [data-testid]') && el.getClientRects().length > 0)
      .map((el) => ({ id: el.dataset.testid ?? el.tagName.toLowerCase(), ...box(el) }));
    return {
      inner: { width: window.innerWidth, height: window.innerHeight },
      question: box(document.querySelector('[data-testid="question"]')),
      header: box(document.querySelector('header')),
      controlsRow: box(row),
      controls,
      tabs: box(document.querySelector('[role="tablist"]')),
      main: box([...document.querySelectorAll(main)].find((el) => el.getClientRects().length > 0)),
    };
  }, main);
}

/** `m.main` starts inside the window, and at least half of it (or 300 px of it) is on screen. */
function assertOnScreen(m, what) {
  assert.ok(m.main, `${what} is drawn`);
  const { top, bottom } = m.main;
  const shown = Math.min(bottom, m.inner.height) - Math.max(top, 0);
  assert.ok(top >= 0 && top < m.inner.height, `${what} starts at y = ${top}, inside the ${m.inner.height} px window`);
  assert.ok(shown >= Math.min((bottom - top) / 2, 300), `${what}: ${shown} of its ${bottom - top} px are on screen`);
}

/** How many lines of the question show, and how many pixels of it are cut off. */
function questionLines(panel) {
  return panel.locator('[data-testid="question"]').evaluate((q) => {
    const cs = getComputedStyle(q);
    const inner = q.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
    return { lines: inner / parseFloat(cs.lineHeight), hidden: q.scrollHeight - q.clientHeight };
  });
}

/**
 * The focused element's test id, and whether focus shows on it: its outline, shadow or border (or
 * those of the parts in its shadow root, where web components draw focus) differ from the same
 * element without focus. Focus is put back afterwards, so Tab goes on from there.
 */
function focusInfo(panel) {
  return panel.evaluate(async () => {
    const el = document.activeElement;
    const id = el?.dataset?.testid ?? el?.id ?? el?.tagName;
    if (!el || el === document.body) return { id, visible: false, how: 'nothing has focus' };
    // Web components restyle after their own update cycle: let a frame pass after each change.
    const settle = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const look = () =>
      [el, ...(el.shadowRoot?.querySelectorAll('*') ?? [])].map((node) => {
        const cs = getComputedStyle(node);
        return [cs.outlineStyle, cs.outlineWidth, cs.outlineColor, cs.boxShadow, cs.borderTopColor, cs.borderBottomColor].join(' ');
      });
    const focused = look();
    el.blur();
    await settle();
    const blurred = look();
    el.focus();
    await settle();
    const changed = focused.findIndex((f, i) => f !== blurred[i]);
    return {
      id,
      index: el.dataset?.index,
      k: el.dataset?.k,
      visible: changed >= 0,
      how: changed >= 0 ? `${blurred[changed]} → ${focused[changed]}` : 'looks the same without focus',
    };
  });
}
