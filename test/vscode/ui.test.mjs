// The user's path through the real UI: open an official ProsQA file in VS Code (web workbench on
// VS Code's server, headless Chromium), run "Coconut Lens: Inspect Latent Thoughts (Record Under
// Cursor)" from the command palette, and read what the inspector panel (a webview) shows.
//
//   node --test test/vscode/ui.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findWebviewFrame, goToLine, openWorkbench, prepareWorkspace, prosqaRecords, runCommand, screenshotDir, tinyModelDir } from './harness.mjs';
import { extensionUnderTest } from './vsix.mjs';

const RECORD_COMMAND = 'Coconut Lens: Inspect Latent Thoughts (Record Under Cursor)';
const manifest = JSON.parse(readFileSync(join(tinyModelDir, 'coconut.json'), 'utf8'));
const golden = JSON.parse(readFileSync(join(tinyModelDir, 'golden.json'), 'utf8'));

describe('inspector UI', { timeout: 300_000 }, () => {
  let workbench;
  const [firstRecord] = prosqaRecords(1); // prosqa.json's first record

  before(async () => {
    const workspace = prepareWorkspace({ 'malformed.json': '[{"question": "Is Tom a lempus?",}]\n' });
    workbench = await openWorkbench({ folder: workspace, ...extensionUnderTest(), logName: 'ui' });
    // The workbench is usable once the explorer shows the workspace's files.
    await workbench.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'prosqa.json' }).waitFor({ timeout: 120_000 });
  });

  after(async () => {
    await workbench?.close();
  });

  it('shows k thoughts and the answer for the ProsQA record under the cursor', async () => {
    const { page } = workbench;
    await openFile(page, 'prosqa.json');
    await goToLine(page, 3); // inside the first record: `"question": ...`
    await runCommand(page, RECORD_COMMAND);

    const panel = await findWebviewFrame(page, '[data-testid="thought"]', 120_000, 'ui');
    await panel.locator('[data-testid="answer"]').waitFor();
    const thoughts = await panel.$$eval('[data-testid="thought"]', (els) =>
      els.map((el) => ({
        index: Number(el.getAttribute('data-index')),
        rows: [...el.querySelectorAll('[data-testid="topk-row"]')].map((row) => ({
          token: row.querySelector('code')?.textContent ?? '',
          id: Number(row.getAttribute('data-token-id')),
          p: Number(row.querySelector('.num')?.textContent),
        })),
      })),
    );
    const answer = (await panel.locator('[data-testid="answer-text"]').textContent())?.trim() ?? '';
    await page.screenshot({ path: join(screenshotDir, 'inspect.png') });

    const k = manifest.thoughts.default;
    assert.equal(thoughts.length, k, `the panel shows k=${k} thoughts`);
    assert.deepEqual(
      thoughts.map((t) => t.index),
      Array.from({ length: k }, (_, i) => i + 1),
    );
    const want = golden.cases.find((c) => c.question === firstRecord.question && c.k === k);
    assert.ok(want, 'golden.json covers the first ProsQA record');
    for (const [i, t] of thoughts.entries()) {
      assert.equal(t.rows.length, 10, `thought ${t.index} shows the default top 10 tokens`);
      for (const r of t.rows) {
        assert.ok(r.token.length > 0, `thought ${t.index}: every row names its token`);
        assert.ok(r.p >= 0 && r.p <= 1, `thought ${t.index}: ${r.p} is a probability`);
      }
      // Shown with two decimals: allow each row its rounding.
      const sum = t.rows.reduce((s, r) => s + r.p, 0);
      assert.ok(sum <= 1 + 0.005 * t.rows.length, `thought ${t.index}: shown probabilities sum to ${sum}`);
      assert.deepEqual(
        t.rows.slice(0, 3).map((r) => r.id),
        want.thoughts[i].topk.slice(0, 3).map((g) => g.id),
        `thought ${t.index}: the top tokens are the PyTorch reference's`,
      );
    }
    assert.ok(answer.length > 0 && answer !== '(empty)', `a non-empty answer is shown, got ${JSON.stringify(answer)}`);
    assert.equal(answer, want.answer_extracted);
  });

  it('shows a malformed prompt file as an error in the panel', async () => {
    const { page } = workbench;
    await openFile(page, 'malformed.json');
    await goToLine(page, 1);
    await runCommand(page, RECORD_COMMAND);
    const panel = await findWebviewFrame(page, '[data-testid="error"]', 60_000, 'ui');
    const error = panel.locator('[data-testid="error"]');
    assert.equal(await error.getAttribute('data-code'), 'PROMPT_MALFORMED');
    assert.match((await error.textContent()) ?? '', /not valid JSON/);
    await page.screenshot({ path: join(screenshotDir, 'inspect-error.png') });
  });
});

/** Quick Open (Ctrl+P) → file name → Enter, then waits for the editor tab. */
async function openFile(page, name) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.tabs-container .tab.active', { hasText: name }).waitFor();
  // The editor's input element (zero-sized, so "attached" rather than "visible") is labelled with
  // the file name, followed by the group's name once there are several groups.
  await page.locator(`.editor-instance .monaco-editor [aria-label^="${name}"]`).first().waitFor({ state: 'attached' });
}
