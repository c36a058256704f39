// The inspector's views through the real UI (web workbench on VS Code's server, headless Chromium):
// the CodeLens, the panel with its heatmap and the links between thoughts and steps, the editor
// hover, the latent-search graph and its stepper, the k sweep, an intervention with attribution,
// chart export through the save dialog, the dataset view, the serializer after a window reload,
// and the panel in a high-contrast theme. Every test saves a screenshot under
// test-output/screenshots/.
//
//   node --test test/vscode/ui-inspector.test.mjs
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it as nodeIt } from 'node:test';
import { findWebviewFrame, goToLine, itWithScreenshots, openWorkbench, prepareWorkspace, prosqaRecords, screenshotDir, tinyModelDir } from './harness.mjs';
import { extensionUnderTest } from './vsix.mjs';

/** A test that saves a screenshot of the workbench when it fails (test-output/screenshots/). */
const it = itWithScreenshots(nodeIt, 'ui-inspector', () => currentPage);
let currentPage;

const manifest = JSON.parse(readFileSync(join(tinyModelDir, 'coconut.json'), 'utf8'));
const K = manifest.thoughts.default;
const MAX_K = manifest.thoughts.max;

describe('inspector views (UI)', { timeout: 600_000 }, () => {
  let workbench;
  let workspace;
  const [tom] = prosqaRecords(1);
  /**
   * The panel's frame. A hidden webview loses its frame (the panel does not keep its context
   * while hidden), so it is looked up again for every step.
   */
  const inspector = () => findWebviewFrame(workbench.page, '[data-testid="tab-thoughts"]', 60_000, 'ui-inspector');

  before(async () => {
    workspace = prepareWorkspace({
      'nograph.json': JSON.stringify([{ question: tom.question, answer: tom.answer, steps: tom.steps }], null, 2) + '\n',
      'exports/README.txt': 'exports land here\n',
    });
    workbench = await openWorkbench({ folder: workspace, ...extensionUnderTest(), logName: 'ui-inspector' });
    currentPage = workbench.page;
    await workbench.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'prosqa.json' }).waitFor({ timeout: 120_000 });
  });

  after(async () => {
    await workbench?.close();
  });

  it('panel: the CodeLens inspects a record; heatmap; cursor on a step highlights its thought; hover shows it', async () => {
    const { page } = workbench;
    await openFile(page, 'prosqa.json');
    const lens = page.locator('.codelens-decoration a', { hasText: 'Inspect thoughts' });
    // Lenses are drawn for the lines on screen: the first record's is, above its opening brace.
    await lens.first().waitFor({ timeout: 60_000 });
    await lens.first().click();

    let panel = await findWebviewFrame(page, '[data-testid="thought"]', 120_000, 'ui-inspector');
    await panel.locator('[data-testid="answer"]').waitFor();
    assert.equal(await panel.locator('[data-testid="thought"]').count(), K);
    const heat = panel.locator('svg[data-chart="heatmap"]');
    await heat.waitFor();
    assert.equal(await heat.locator('.heat-row').count(), K, 'one heatmap row per thought');
    assert.equal(await heat.locator('.heat-cell').count(), K * manifest.architecture.n_layer, 'one cell per thought and layer');
    assert.match((await heat.getAttribute('aria-label')) ?? '', /Logit lens heatmap, 3 thoughts by 2 layers/);

    // The model picker sits in the header, labelled, with the running model selected.
    const picker = panel.locator('header [data-testid="model-picker"]');
    await picker.waitFor();
    assert.equal(await picker.getAttribute('aria-label'), 'Model to run');
    assert.equal(await picker.inputValue(), tinyModelDir);
    assert.ok((await picker.locator('option').count()) >= 2, 'the shipped model and the one that runs');
    await panel.locator('header').screenshot({ path: join(screenshotDir, 'inspector-model-picker.png') });

    // The editor's cursor on step 2 ("Every terpus is a brimpus.") highlights thought 2 in the panel.
    await goToLine(page, lineOf(workspace, JSON.stringify(tom.steps[1])), 10);
    await panel.locator('[data-testid="thought"][data-index="2"].linked').waitFor({ timeout: 10_000 });
    assert.equal(await panel.locator('[data-testid="thought"].linked').count(), 1);

    // The mouse on step 3 in the editor: the hover shows thought 3.
    const step3 = page.locator('.view-lines .view-line span span', { hasText: 'brimpus is a lempus' }).first();
    const box = await step3.boundingBox();
    assert.ok(box, 'step 3 is on screen');
    await page.mouse.move(box.x + 20, box.y + box.height / 2);
    await page.mouse.move(box.x + 24, box.y + box.height / 2);
    const hover = page.locator('.monaco-hover', { hasText: 'Thought 3' });
    try {
      await hover.first().waitFor({ timeout: 15_000 });
    } catch (e) {
      await page.screenshot({ path: join(screenshotDir, 'ui-inspector-hover-timeout.png') });
      throw e;
    }
    assert.match((await hover.first().textContent()) ?? '', /On this step's own words/);
    await page.screenshot({ path: join(screenshotDir, 'inspector-panel.png') });

    // Hovering thought 1 in the panel highlights step 1 in the editor: a decoration (.cdr) appears
    // in the overlay row of that line, which had none.
    await page.mouse.move(10, 10);
    panel = await inspector();
    const step1Line = page.locator('.view-lines .view-line', { hasText: JSON.stringify(tom.steps[0]) }).first();
    const top = await step1Line.evaluate((el) => el.style.top);
    const overlay = page.locator(`.view-overlays > div[style*="top:${top}"], .view-overlays > div[style*="top: ${top}"]`).first();
    assert.equal(await overlay.locator('.cdr').count(), 0, 'step 1 is not highlighted before');
    await panel.locator('[data-testid="thought"][data-index="1"]').hover();
    await overlay.locator('.cdr').first().waitFor({ state: 'attached', timeout: 10_000 });
  });

  it('graph view: the ProsQA graph as a DAG, candidates marked, node values per thought, stepper', async () => {
    const { page } = workbench;
    const panel = await inspector();
    await panel.locator('[data-testid="tab-search"]').click();
    const graph = panel.locator('svg[data-chart="graph"]');
    await graph.waitFor({ timeout: 20_000 });
    assert.equal(await graph.locator('.graph-node').count(), tom.idx_to_symbol.length, 'every node is drawn');
    assert.equal(await graph.locator('.graph-edge').count(), new Set(tom.edges.map((e) => e.join())).size, 'every edge is drawn');
    assert.equal(await graph.locator(`.graph-node.role-root[data-node="${tom.root}"]`).count(), 1);
    assert.equal(await graph.locator(`.graph-node.role-target[data-node="${tom.target}"]`).count(), 1);
    assert.equal(await graph.locator(`.graph-node.role-neg[data-node="${tom.neg_target}"]`).count(), 1);
    const step = panel.locator('[data-testid="search-step"]');
    assert.equal(await step.textContent(), `After thought ${K} of ${K}`);
    const valuesAt = () => graph.locator('.graph-node[data-value]').evaluateAll((els) => els.map((e) => e.getAttribute('data-value')).join());
    const last = await valuesAt();
    assert.ok(last.length > 0, 'concept nodes carry values');

    // Keyboard: Home goes to t = 0, the right arrow steps one thought.
    await panel.locator('[data-testid="graph-figure"]').focus();
    await page.keyboard.press('Home');
    await panel.locator('[data-testid="search-step"]', { hasText: 'Before any thought' }).waitFor();
    await page.keyboard.press('ArrowRight');
    await panel.locator('[data-testid="search-step"]', { hasText: `After thought 1 of ${K}` }).waitFor();
    const first = await valuesAt();
    assert.notEqual(first, last, 'the values move with the thought');
    const frontier = await panel.locator('svg[data-chart="graph"] .graph-node.frontier').count();
    assert.ok(frontier >= 1, 'the BFS layer of thought 1 is outlined');
    await page.screenshot({ path: join(screenshotDir, 'inspector-graph.png') });
    // Buttons step too.
    await panel.locator('[data-testid="search-next"]').click();
    await panel.locator('[data-testid="search-step"]', { hasText: `After thought 2 of ${K}` }).waitFor();
  });

  it('a record without graph fields opens without the graph view and says why', async () => {
    const { page } = workbench;
    await openFile(page, 'nograph.json');
    await page.locator('.codelens-decoration a', { hasText: 'Inspect thoughts' }).first().click();
    const panel = await inspector();
    await panel.locator('[data-testid="tab-search"]').click();
    const missing = panel.locator('[data-testid="graph-missing"]');
    await missing.waitFor({ timeout: 60_000 });
    assert.match((await missing.textContent()) ?? '', /this record has no ProsQA graph fields \(idx_to_symbol, edges, root, target\)/);
    assert.equal(await panel.locator('svg[data-chart="graph"]').count(), 0);
    await page.screenshot({ path: join(screenshotDir, 'inspector-graph-missing.png') });
  });

  it('k sweep: one action runs k = 0..max; a table and a chart of the answer per k', async () => {
    const { page } = workbench;
    await openFile(page, 'prosqa.json');
    await page.locator('.codelens-decoration a', { hasText: 'Inspect thoughts' }).first().click();
    const panel = await findWebviewFrame(page, 'svg[data-chart="graph"]', 60_000, 'ui-inspector');
    await panel.locator('[data-testid="tab-sweep"]').click();
    await panel.locator('[data-testid="run-sweep"]').click();
    const rows = panel.locator('[data-testid="sweep-row"]');
    await panel.locator(`[data-testid="sweep-row"][data-k="${MAX_K}"]`).waitFor({ timeout: 60_000 });
    await panel.locator('[data-testid="busy"]').waitFor({ state: 'detached', timeout: 30_000 });
    assert.equal(await rows.count(), MAX_K + 1);
    const chart = panel.locator('svg[data-chart="sweep"]');
    assert.equal(await chart.locator('.chart-bar').count(), MAX_K + 1, 'one bar per k');
    for (let k = 0; k <= MAX_K; k++) {
      const cells = await rows.nth(k).locator('td').allTextContents();
      assert.ok(cells[0].length > 0, `k=${k} has an answer`);
      assert.match(cells[1], /^[0-9.e-]+$/, `k=${k} has a probability`);
      assert.match(cells[3], /correct|wrong/);
    }
    await page.screenshot({ path: join(screenshotDir, 'inspector-sweep.png') });
  });

  it('intervention: zero thought 2, rerun; the edited and downstream thoughts against the original; attribution', async () => {
    const { page } = workbench;
    const panel = await inspector();
    await panel.locator('[data-testid="tab-thoughts"]').click();
    await panel.locator('[data-testid="intervention-kind"][data-thought="2"]').selectOption('zero');
    await panel.locator('[data-testid="intervene"]').click();
    await panel.locator('[data-testid="diff-badge"]').first().waitFor({ timeout: 60_000 });
    assert.equal(await panel.locator('[data-testid="thought"][data-index="2"]').getAttribute('data-diff'), 'edited');
    assert.equal(await panel.locator('[data-testid="thought"][data-index="1"]').getAttribute('data-diff'), 'same');
    for (let i = 3; i <= K; i++) {
      assert.equal(await panel.locator(`[data-testid="thought"][data-index="${i}"]`).getAttribute('data-diff'), 'downstream');
    }
    const div = await panel.locator('[data-testid="divergence"]').allTextContents();
    assert.equal(div.length, K - 1, 'a divergence for the edited thought and each one after it');
    for (const d of div) assert.match(d, /^JS [0-9.]+$/);
    assert.ok(await panel.locator('svg[data-chart="intervention"]').count());
    await panel.locator('[data-testid="answer-was"]').waitFor();

    await panel.locator('[data-testid="attribution"]').click();
    await panel.locator('svg[data-chart="attribution"]').waitFor({ timeout: 60_000 });
    assert.equal(await panel.locator('svg[data-chart="attribution"] .chart-bar').count(), K);
    await panel.locator('[data-testid="attribution-summary"]').waitFor();
    await panel.locator('[data-testid="intervention-row"][data-thought="2"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(screenshotDir, 'inspector-intervention.png') });
  });

  it('compare: pin the run, rerun with another k; side by side with the divergence per thought; keyboard tabs', async () => {
    const { page } = workbench;
    let panel = await inspector();
    await panel.locator('[data-testid="tab-thoughts"]').click();
    await panel.locator('[data-testid="clear-intervention"]').click();
    await panel.locator('[data-testid="pin"]').click();
    await panel.locator('[data-testid="tab-compare"][aria-selected="true"]').waitFor({ timeout: 10_000 });
    await panel.locator('[data-testid="k-input"]').locator('input').fill('2');
    await panel.locator('[data-testid="rerun"]').click();
    // The current run shows k = 2 once the rerun is done: the last pinned thought has no partner.
    await waitFor(
      async () =>
        (await panel
          .locator(`[data-testid="compare-row"][data-thought="${K}"] td.num`)
          .textContent()
          .catch(() => '')) === '–',
      60_000,
      'the rerun with k = 2 is compared with the pinned run',
    );
    const rows = await panel.locator('[data-testid="compare-row"]').evaluateAll((trs) => trs.map((tr) => tr.querySelector('td.num')?.textContent ?? ''));
    assert.equal(rows.length, K, 'one row per thought of the longer run');
    assert.match(rows[0], /^[0-9.]+$/, 'thought 1 is in both runs and has a divergence');
    assert.equal(rows[K - 1], '–', `thought ${K} is only in the pinned run`);
    assert.equal(await panel.locator('svg[data-chart="compare"] .chart-bar').count(), 2);
    await page.screenshot({ path: join(screenshotDir, 'inspector-compare.png') });

    // Tabs by keyboard: the arrow keys move between them.
    await panel.locator('[data-testid="tab-compare"]').focus();
    await page.keyboard.press('ArrowLeft');
    await panel.locator('[data-testid="tab-sweep"][aria-selected="true"]').waitFor();
    await page.keyboard.press('Home');
    await panel.locator('[data-testid="tab-thoughts"][aria-selected="true"]').waitFor();
    // Back to the run the later tests expect (k = default, with its attribution chart).
    await panel.locator('[data-testid="k-input"]').locator('input').fill(String(K));
    await panel.locator('[data-testid="rerun"]').click();
    await panel
      .locator('[data-testid="thought"]')
      .nth(K - 1)
      .waitFor({ timeout: 60_000 });
    await panel.locator('[data-testid="attribution"]').click();
    panel = await inspector();
    await panel.locator('svg[data-chart="attribution"]').waitFor({ timeout: 60_000 });
  });

  it('export: a chart as PNG through the save dialog; an existing file is never replaced without asking', async () => {
    const { page } = workbench;
    const panel = await inspector();
    const target = join(workspace, 'exports', 'attribution.png');
    await panel.locator('[data-testid="export-png"][data-chart="attribution"]').click();
    await saveDialog(page, target);
    await waitFor(() => existsSync(target), 20_000, `${target} is written`);
    const png = readFileSync(target);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
    await panel.locator('[data-testid="notice"]', { hasText: 'Saved attribution chart (PNG)' }).waitFor({ timeout: 10_000 });

    // The same file again: someone asks before anything is replaced; declining keeps it.
    const before = readFileSync(target);
    await panel.locator('[data-testid="export-svg"][data-chart="attribution"]').click();
    const svgTarget = join(workspace, 'exports', 'attribution.svg');
    await saveDialog(page, svgTarget);
    await waitFor(() => existsSync(svgTarget), 20_000, `${svgTarget} is written`);
    assert.match(readFileSync(svgTarget, 'utf8'), /<svg[^>]*data-chart="attribution"/);
    await panel.locator('[data-testid="export-png"][data-chart="attribution"]').click();
    await saveDialog(page, target);
    // VS Code's save dialog asks first (here, not on every platform); the extension asks anyway.
    const vscodeAsks = page.locator('.quick-input-widget', { hasText: /already exists/ }).first();
    const dialog = page.locator('.monaco-dialog-box', { hasText: /attribution\.png already exists\. Replace it/ }).first();
    const visible = (l) => l.isVisible().catch(() => false);
    await waitFor(async () => (await visible(vscodeAsks)) || (await visible(dialog)), 15_000, 'someone asks before replacing attribution.png');
    if (await visible(vscodeAsks)) await page.locator('.quick-input-widget .monaco-button', { hasText: /^OK$/ }).first().click();
    await dialog.waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(screenshotDir, 'inspector-export.png') });
    await page
      .locator('.monaco-dialog-box .monaco-button', { hasText: /^Cancel$/ })
      .first()
      .click();
    await dialog.waitFor({ state: 'detached', timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(readFileSync(target), before, 'the existing PNG is unchanged');
  });

  it('dataset view: Evaluate Dataset with progress, accuracy and path categories per k; a record opens in the inspector', async () => {
    const { page } = workbench;
    await openFile(page, 'prosqa.json');
    await runCommand(page, 'Coconut Lens: Evaluate Dataset');
    const panel = await findWebviewFrame(page, '[data-testid="tab-dataset"][aria-selected="true"]', 60_000, 'ui-inspector');
    await panel.locator('[data-testid="tab-dataset"][aria-selected="true"]').waitFor({ timeout: 30_000 });
    await panel.locator('[data-testid="dataset-table"]').waitFor({ timeout: 120_000 });
    await panel.locator('[data-testid="busy"]').waitFor({ state: 'detached', timeout: 120_000 });
    await panel.locator('svg[data-chart="dataset-accuracy"]').waitFor();
    await panel.locator('svg[data-chart="dataset-categories"]').waitFor();
    assert.equal(await panel.locator('[data-testid="dataset-row"]').count(), 3);
    assert.equal(await panel.locator('svg[data-chart="dataset-accuracy"] .chart-bar').count(), MAX_K + 1);
    assert.match((await panel.locator('[data-testid="dataset-headline"]').textContent()) ?? '', /3 records × 9 values of k/);
    await page.screenshot({ path: join(screenshotDir, 'inspector-dataset.png') });

    await panel.locator('[data-testid="dataset-open"][data-index="1"]').click();
    await panel.locator('[data-testid="tab-thoughts"]').click();
    const [, second] = prosqaRecords(2);
    await panel.locator('[data-testid="question"]', { hasText: second.question.slice(0, 60) }).waitFor({ timeout: 60_000 });
    await panel.locator('[data-testid="answer"]').waitFor({ timeout: 60_000 });
  });

  it('serializer: after a window reload the panel comes back with its run', async () => {
    const { page } = workbench;
    let panel = await inspector();
    const question = (await panel.locator('[data-testid="question"]').textContent()) ?? '';
    await runCommand(page, 'Developer: Reload Window');
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'prosqa.json' }).waitFor({ timeout: 120_000 });
    panel = await findWebviewFrame(page, '[data-testid="thought"]', 60_000, 'ui-inspector');
    assert.equal(await panel.locator('[data-testid="question"]').textContent(), question);
    await page.screenshot({ path: join(screenshotDir, 'inspector-restored.png') });
    // The restored panel reruns its question.
    await panel.locator('[data-testid="k-input"]').locator('input').fill('1');
    await panel.locator('[data-testid="rerun"]').click();
    await waitFor(async () => (await panel.locator('[data-testid="thought"]').count()) === 1, 60_000, 'the rerun with k = 1 shows one thought');
  });

  it('high contrast: the panel and the graph take the theme’s colours', async () => {
    const { page } = workbench;
    await runCommand(page, 'Preferences: Color Theme');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Light Modern' }).first().waitFor({ timeout: 15_000 });
    await page.locator('.quick-input-widget input').fill('High Contrast');
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: /^Dark High Contrast/ })
      .first()
      .click();
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    const panel = await inspector();
    await waitFor(async () => (await panel.evaluate(() => document.body.className)).includes('vscode-high-contrast'), 20_000, 'the webview knows the theme');
    await panel.locator('[data-testid="tab-search"]').click();
    await panel.locator('svg[data-chart="graph"]').waitFor({ timeout: 20_000 });
    const border = await panel.locator('svg[data-chart="graph"] .role-target .node-border').evaluate((e) => getComputedStyle(e).stroke);
    assert.notEqual(border, 'none');
    await page.screenshot({ path: join(screenshotDir, 'inspector-high-contrast.png') });
  });
});

/** 1-based line of the first line of prosqa.json containing `text`. */
function lineOf(ws, text) {
  const lines = readFileSync(join(ws, 'prosqa.json'), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(text));
  assert.ok(i >= 0, `${text} is in prosqa.json`);
  return i + 1;
}

async function waitFor(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Timed out after ${timeoutMs / 1000} s waiting until ${what}.`);
}

/** VS Code's save dialog in the web workbench is a quick input holding a path. */
async function saveDialog(page, file) {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 15_000 });
  // The dialog fills in the proposed path when it has listed the folder; type over it after that.
  await waitFor(async () => /\.(png|svg|json|csv)$/.test(await input.inputValue()), 15_000, 'the save dialog proposes a file');
  await waitFor(
    async () => {
      await input.fill(file);
      await page.waitForTimeout(300);
      return (await input.inputValue()) === file;
    },
    15_000,
    `the save dialog holds ${file}`,
  );
  await page.locator('.quick-input-widget .monaco-button', { hasText: /^OK$/ }).first().click();
}

/** Quick Open (Ctrl+P) → file name → Enter, then waits for the editor tab. */
async function openFile(page, name) {
  // From the first editor group (keyboard focus may be in the panel's webview, and a file opened
  // from there would cover the panel).
  const firstGroup = page.locator('.editor-group-container').first().locator('.monaco-editor .view-lines');
  if (await firstGroup.count()) await firstGroup.first().click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(name);
  // Click the file's own row: Enter would take whichever row is on top while the list still filters.
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().click();
  await page.locator('.tabs-container .tab.active', { hasText: name }).first().waitFor();
  await page.locator(`.editor-instance .monaco-editor [aria-label^="${name}"]`).first().waitFor({ state: 'attached' });
}

/** The command palette: F1, the command's title, Enter. */
async function runCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click();
}
