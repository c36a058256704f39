// Getting started and the side bar through the real UI (web workbench on VS Code's server,
// headless Chromium): the walkthrough's first step opens the bundled example and its second
// inspects it; the Coconut Lens side bar lists the models, the run and the examples with labels a
// screen reader reads; the default keybinding inspects the record under the cursor; clicking the
// first run in the Runs view shows its thoughts in the panel again. Screenshots go to
// test-output/screenshots/sidebar-*.png.
//
//   node --test test/vscode/ui-sidebar.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it as nodeIt } from 'node:test';
import {
  findWebviewFrame,
  goToLine,
  itWithScreenshots,
  openWorkbench,
  prepareWorkspace,
  repoRoot,
  runCommand,
  screenshotDir,
  tinyModelDir,
} from './harness.mjs';
import { extensionUnderTest } from './vsix.mjs';

const manifest = JSON.parse(readFileSync(join(tinyModelDir, 'coconut.json'), 'utf8'));
const K = manifest.thoughts.default;
const manifestShipped = JSON.parse(readFileSync(join(repoRoot, 'models/prosqa-coconut/coconut.json'), 'utf8'));
const example = JSON.parse(readFileSync(join(repoRoot, 'examples/prosqa.json'), 'utf8'));
const nls = JSON.parse(readFileSync(join(repoRoot, 'package.nls.json'), 'utf8'));

let page;
/** A test that saves a screenshot of the workbench when it fails. */
const it = itWithScreenshots(nodeIt, 'sidebar', () => page);

/** The question, thoughts (top tokens) and answer the panel shows now. */
async function panelView() {
  const panel = await findWebviewFrame(page, '[data-testid="answer-text"]', 120_000, 'ui-sidebar');
  return {
    question: ((await panel.locator('[data-testid="question"]').first().textContent()) ?? '').trim(),
    thoughts: await panel.$$eval('[data-testid="thought"]', (els) =>
      els.map((el) => [...el.querySelectorAll('[data-testid="topk-row"]')].map((r) => r.getAttribute('data-token-id'))),
    ),
    answer: ((await panel.locator('[data-testid="answer-text"]').textContent()) ?? '').trim(),
  };
}

/** The panel's view once it shows `question` (a new run replaces the old one asynchronously). */
async function panelShowing(question) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const view = await panelView();
    if (view.question === question) return view;
    if (Date.now() > deadline)
      throw new Error(`The panel still shows ${JSON.stringify(view.question.slice(0, 80))}, not ${JSON.stringify(question.slice(0, 80))}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The aria-labels of a side bar view's rows (the view's pane is found by its title). */
async function rowLabels(view) {
  const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: view }) });
  return pane.locator('.monaco-list-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label') ?? ''));
}

async function waitForRows(view, predicate, what) {
  const deadline = Date.now() + 30_000;
  let labels = [];
  while (Date.now() < deadline) {
    labels = await rowLabels(view);
    if (predicate(labels)) return labels;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`The ${view} view never showed ${what}; its rows: ${JSON.stringify(labels)}`);
}

describe('getting started and the side bar (UI)', { timeout: 600_000 }, () => {
  let workbench;
  let firstRun;
  let workspace;

  before(async () => {
    // The workspace's prosqa.json (3 official records) and the tiny model (coconutLens.modelPath).
    workspace = prepareWorkspace();
    workbench = await openWorkbench({ folder: workspace, ...extensionUnderTest(), logName: 'ui-sidebar' });
    page = workbench.page;
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'prosqa.json' }).waitFor({ timeout: 120_000 });
  });

  after(async () => {
    await workbench?.close();
  });

  it('the walkthrough: step 1 opens the bundled example, step 2 inspects its first record', async () => {
    await runCommand(page, 'Welcome: Open Walkthrough...', { closes: false });
    // The walkthroughs' own pick follows the palette's.
    await page.locator('.quick-input-list .monaco-list-row', { hasText: nls['walkthrough.title'] }).first().click();
    const walkthrough = page.locator('.gettingStartedContainer');
    await walkthrough.getByText(nls['walkthrough.step.openExample.title'], { exact: true }).waitFor({ timeout: 30_000 });
    // Every step of the issue is there, in order.
    const titles = await walkthrough.locator('.getting-started-step .step-title').allTextContents();
    assert.deepEqual(
      titles.map((t) => t.trim()),
      ['openExample', 'inspect', 'hoverStep', 'latentSearch', 'sweep', 'addModel'].map((id) => nls[`walkthrough.step.${id}.title`]),
    );
    // The step's media: its markdown, rendered beside the steps.
    await findWebviewFrame(page, 'h1:has-text("The bundled ProsQA example")', 30_000, 'ui-sidebar');
    await page.screenshot({ path: join(screenshotDir, 'sidebar-walkthrough.png') });

    await walkthrough.getByRole('button', { name: 'Open the Example' }).click();
    // The bundled file (not the workspace's prosqa.json): its breadcrumbs run through examples/.
    await page.locator('.tabs-container .tab.active', { hasText: 'prosqa.json' }).waitFor();
    await page.locator('.breadcrumbs-control .monaco-breadcrumb-item', { hasText: 'examples' }).first().waitFor();

    await walkthrough.getByText(nls['walkthrough.step.inspect.title'], { exact: true }).click();
    await walkthrough.getByRole('button', { name: 'Inspect the First Record' }).click();
    // The panel shows the example's first record.
    firstRun = await panelShowing(example[0].question);
    assert.equal(firstRun.thoughts.length, K, `the panel shows k=${K} thoughts`);
    assert.ok(firstRun.answer.length > 0);
    await page.screenshot({ path: join(screenshotDir, 'sidebar-walkthrough-inspect.png') });

    // Step 3: its button shows the hover on the example's first reasoning step.
    await walkthrough.getByText(nls['walkthrough.step.hoverStep.title'], { exact: true }).click();
    await walkthrough.getByRole('button', { name: 'Show the Hover on Step 1' }).click();
    const hover = page.locator('.monaco-hover', { hasText: 'Thought 1' });
    try {
      await hover.first().waitFor({ timeout: 30_000 });
    } catch (e) {
      await page.screenshot({ path: join(screenshotDir, 'sidebar-hover-timeout.png') });
      throw e;
    }
    assert.match((await hover.first().textContent()) ?? '', /step 1 of 3/);
    await page.keyboard.press('Escape');
  });

  it('the side bar lists the models, the run and the examples, labelled for screen readers', async () => {
    await page.locator('.activitybar .action-item a[aria-label^="Coconut Lens"]').click();
    const models = await waitForRows('Models', (l) => l.length >= 2, 'two models');
    const shipped = models.find((l) => l.startsWith('Model prosqa-coconut, shipped'));
    assert.ok(shipped, `the shipped model is listed: ${JSON.stringify(models)}`);
    const acc = (manifestShipped.provenance.accuracy.find((a) => a.thoughts === 6).value * 100).toFixed(1);
    assert.ok(shipped.includes(`903,744 parameters`) && shipped.includes(`${acc} % accuracy on prosqa_valid`), shipped);
    assert.doesNotMatch(shipped, /selected/);
    // The workspace runs the tiny model (coconutLens.modelPath): it is the selected one.
    assert.ok(
      models.some((l) => l.startsWith(`Model ${manifest.name}, added, selected`)),
      `the tiny model is marked selected: ${JSON.stringify(models)}`,
    );

    const runs = await waitForRows('Runs', (l) => l.length === 1, 'the run');
    assert.match(runs[0], new RegExp(`^Run \\d+, prosqa\\.json, record 0 \\(line \\d+\\), ${manifest.name}, ${K} thoughts, answer `));
    const examples = await rowLabels('Examples');
    assert.deepEqual(examples, [`Example prosqa.json, ${example.length} records`]);
    await page.screenshot({ path: join(screenshotDir, 'sidebar-views.png') });
    // The side bar alone, for the Marketplace page (scripts/update-screenshots.mjs).
    await page.locator('.part.sidebar').screenshot({ path: join(screenshotDir, 'sidebar-bar.png') });
  });

  it('Ctrl+Alt+J inspects the record under the cursor; clicking the first run shows its thoughts again', async () => {
    await openFile('prosqa.json');
    // The workspace file's second record: its "question" is on line 3 of the record.
    const text = readFileSync(join(workspace, 'prosqa.json'), 'utf8');
    const line = text.split('\n').findIndex((l, i) => i > 3 && l.includes('"question"')) + 1;
    await goToLine(page, line);
    await page.keyboard.press('Control+Alt+J');
    await waitForRows('Runs', (l) => l.length === 2, 'two runs');
    const second = await panelShowing(JSON.parse(text)[1].question);
    assert.notEqual(second.question, firstRun.question, 'the keybinding ran the record under the cursor');
    assert.equal(second.thoughts.length, K);

    const runRow = page
      .locator('.pane', { has: page.locator('.pane-header', { hasText: 'Runs' }) })
      .locator('.monaco-list-row')
      .nth(1);
    assert.match((await runRow.getAttribute('aria-label')) ?? '', /prosqa\.json, record 0 /, 'the older run is listed second');
    // The panel closed first: the side bar still has the run, and a click brings the panel back.
    const panelTab = page.locator('.tabs-container .tab', { hasText: 'Coconut Lens' });
    await panelTab.first().click();
    await page.keyboard.press('Control+W');
    await panelTab.first().waitFor({ state: 'detached', timeout: 10_000 });
    await runRow.click();
    const again = await panelShowing(firstRun.question);
    assert.deepEqual(again, firstRun, 'the panel shows the first run again: same question, thoughts and answer');
    await page.screenshot({ path: join(screenshotDir, 'sidebar-reopen.png') });
  });
});

async function openFile(name) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(name);
  // The workspace's file, not the bundled example of the same name that is open too.
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name, hasNotText: 'examples' }).first().click();
  await page.locator('.tabs-container .tab.active', { hasText: name }).waitFor();
}
