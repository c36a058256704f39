// The shipped default model in the real UI, as a new user meets it: no model setting, the bundled
// ProsQA example, the CodeLens on its first record (official validation record 0, which the model
// answers right). The thoughts must name the BFS frontier (thought 1's top concept is a concept
// the asked entity "is a"), and the latent-search tab must light that front: after thought 1 the
// highest-valued node is one of the outlined frontier nodes. This is a test of the trained model as
// much as of the views: a model that stopped reasoning would fail it.
//
//   node --test test/vscode/ui-shipped-model.test.mjs
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findWebviewFrame, openWorkbench, prepareWorkspace, screenshotDir } from './harness.mjs';
import { repoRoot } from '../../scripts/vscode-server.mjs';
import { extensionUnderTest } from './vsix.mjs';

const shipped = join(repoRoot, 'models/prosqa-coconut');
const manifest = JSON.parse(readFileSync(join(shipped, 'coconut.json'), 'utf8'));
const examples = JSON.parse(readFileSync(join(repoRoot, 'examples/prosqa.json'), 'utf8'));
const rec = examples[0];
const sym = rec.idx_to_symbol;
const frontier1 = new Set(rec.edges.filter(([a]) => a === rec.root).map(([, b]) => sym[b]));

describe('the shipped model in the panel (UI)', { timeout: 600_000 }, () => {
  let workbench;
  before(async () => {
    const ws = prepareWorkspace({ 'prosqa.json': readFileSync(join(repoRoot, 'examples/prosqa.json'), 'utf8') });
    // No coconutLens.modelPath: the extension runs the model it ships.
    writeFileSync(join(ws, '.vscode/settings.json'), '{}\n');
    workbench = await openWorkbench({ folder: ws, ...extensionUnderTest(), logName: 'ui-shipped-model' });
    await workbench.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'prosqa.json' }).waitFor({ timeout: 120_000 });
  });
  after(async () => {
    await workbench?.close();
  });

  it('record 0: right answer, thought 1 names the frontier, the latent-search tab lights it', async () => {
    const { page } = workbench;
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'prosqa.json' }).click();
    const lens = page.locator('.codelens-decoration a', { hasText: 'Inspect thoughts' });
    await lens.first().waitFor({ timeout: 60_000 });
    await lens.first().click();

    let panel = await findWebviewFrame(page, '[data-testid="thought"]', 120_000, 'ui-shipped-model');
    await panel.locator('[data-testid="answer"]').waitFor();
    assert.equal(await panel.locator('[data-testid="thought"]').count(), manifest.thoughts.default);
    // The compact model writes "Tom lempus."; the record's answer is "Tom is a lempus.".
    const answer = (await panel.locator('[data-testid="answer-text"]').textContent()) ?? '';
    const target = sym[rec.target];
    assert.match(answer, new RegExp(`${sym[rec.root]}\\s+(is a\\s+)?${target}`), `answer ${answer}`);
    // ...and the panel says it matches the record (the engine scores it in the model's text form).
    assert.match((await panel.locator('[data-testid="verdict"]').getAttribute('class')) ?? '', /\bok\b/);

    const top1 = await panel.locator('[data-testid="thought"][data-index="1"] [data-testid="topk-row"] .tok').first().textContent();
    assert.ok(frontier1.has(top1.trim()), `thought 1's top token ${top1} is one of ${[...frontier1].join(', ')}`);
    await page.screenshot({ path: join(screenshotDir, 'shipped-model-thoughts.png') });

    // The mouse on the record's first reasoning step: the hover shows thought 1 and what it holds.
    // Quoted, as the step stands alone in its JSON string (the question holds the same words).
    const step1 = page.locator('.view-lines .view-line span span', { hasText: JSON.stringify(rec.steps[0]) }).first();
    await step1.scrollIntoViewIfNeeded();
    const box = await step1.boundingBox();
    assert.ok(box, 'step 1 is on screen');
    await page.mouse.move(box.x + 20, box.y + box.height / 2);
    await page.mouse.move(box.x + 24, box.y + box.height / 2);
    const hover = page.locator('.monaco-hover', { hasText: 'Thought 1' });
    await hover.first().waitFor({ timeout: 20_000 });
    const hoverText = (await hover.first().textContent()) ?? '';
    assert.ok(
      [...frontier1].some((c) => hoverText.includes(c)),
      `the hover names a frontier concept: ${hoverText.slice(0, 200)}`,
    );
    await page.screenshot({ path: join(screenshotDir, 'shipped-model-hover.png') });
    await page.keyboard.press('Escape');

    await panel.locator('[data-testid="tab-search"]').click();
    const graph = panel.locator('svg[data-chart="graph"]');
    await graph.waitFor({ timeout: 30_000 });
    await panel.locator('[data-testid="graph-figure"]').focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    await panel.locator('[data-testid="search-step"]', { hasText: `After thought 1 of ${manifest.thoughts.default}` }).waitFor();
    const nodes = await graph
      .locator('.graph-node[data-value]')
      .evaluateAll((els) => els.map((e) => ({ value: Number(e.getAttribute('data-value')), frontier: e.classList.contains('frontier'), text: e.textContent })));
    assert.ok(nodes.length > 0, 'concept nodes carry values');
    const best = nodes.reduce((a, b) => (b.value > a.value ? b : a));
    assert.ok(best.frontier, `the highest value after thought 1 (${best.text}) is on the outlined BFS front`);
    assert.ok(nodes.filter((n) => n.frontier).length >= 1);
    panel = await findWebviewFrame(page, 'svg[data-chart="graph"]', 30_000, 'ui-shipped-model');
    await page.screenshot({ path: join(screenshotDir, 'shipped-model-search.png') });
  });
});
