// Shared pieces of the real-VS Code tests: VS Code's server (scripts/vscode-server.mjs), a
// throwaway workspace with ProsQA records and the tiny model, and headless Chromium driving the
// web workbench through playwright-core.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { cleanupOnExit, repoRoot, startServer } from '../../scripts/vscode-server.mjs';
import { installVsix as installVsixInto } from './vsix.mjs';
import { prosqaValidPath } from '../prosqa-data.cjs';

export { repoRoot };

export const outputDir = join(repoRoot, 'test-output');
export const screenshotDir = join(outputDir, 'screenshots');
/** The tiny random model the VS Code tests run, with its PyTorch golden outputs (made by training/). */
export const tinyModelDir = join(repoRoot, 'test/fixtures/tiny-model');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The first `n` official ProsQA validation records (test/prosqa-data.cjs finds the file). */
export function prosqaRecords(n) {
  const file = prosqaValidPath();
  if (!existsSync(file)) throw new Error(`No ProsQA records: ${file} does not exist.`);
  const records = JSON.parse(readFileSync(file, 'utf8'));
  if (records.length < n) throw new Error(`${file} has ${records.length} records, the tests need ${n}.`);
  return records.slice(0, n);
}

/**
 * A folder to open as the workspace: prosqa.json with the first 3 ProsQA records, `files`
 * (name -> text), and workspace settings that point coconutLens.modelPath at the tiny model.
 * Either `dir` (emptied and reused) or a temp folder that goes when this process exits, unless
 * `keep` is set. Returns its path.
 */
export function prepareWorkspace(files = {}, { dir, keep = false } = {}) {
  if (!existsSync(join(tinyModelDir, 'coconut.json'))) {
    throw new Error(`The tiny test model is missing: ${tinyModelDir}/coconut.json (training/make_fixture.py makes it).`);
  }
  let ws = dir;
  if (ws) {
    rmSync(ws, { recursive: true, force: true });
  } else {
    ws = mkdtempSync(join(tmpdir(), 'coconut-ws-'));
    if (!keep) cleanupOnExit(() => rmSync(ws, { recursive: true, force: true }));
  }
  mkdirSync(join(ws, '.vscode'), { recursive: true });
  writeFileSync(join(ws, '.vscode/settings.json'), JSON.stringify({ 'coconutLens.modelPath': tinyModelDir }, null, 2));
  const all = { 'prosqa.json': JSON.stringify(prosqaRecords(3), null, 2) + '\n', ...files };
  for (const [name, text] of Object.entries(all)) {
    mkdirSync(join(ws, name, '..'), { recursive: true });
    writeFileSync(join(ws, name), text);
  }
  return ws;
}

// User settings that keep first-run UI (welcome page, trust prompt, AI/chat offers, tips,
// notifications about updates) out of the way of tests.
const quietUserSettings = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'extensions.ignoreRecommendations': true,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'telemetry.telemetryLevel': 'off',
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'window.commandCenter': false,
  'git.enabled': false,
  // The secondary side bar (chat) would take a third of the screenshots.
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

/** Writes the quiet user settings where VS Code's server keeps them for the web workbench. */
export function writeUserSettings(server, extra = {}) {
  const dir = join(server.root, 'user-data/User');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'settings.json'), JSON.stringify({ ...quietUserSettings, ...extra }, null, 2));
}

/**
 * The workbench URL that opens `folder` with the extension under development loaded in the remote
 * (Node) extension host and, when given, the extension tests run by VS Code's own test runner.
 */
export function workbenchUrl(server, { folder, extensionDevelopmentPath, extensionTestsPath }) {
  const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
  // Without extensionDevelopmentPath the workbench runs the extensions installed in the server.
  const payload = extensionDevelopmentPath ? [['extensionDevelopmentPath', remote(extensionDevelopmentPath)]] : [];
  if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
  return `${server.url}/?folder=${encodeURIComponent(folder)}` + `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/** Headless Debian Chromium with a throwaway profile. close() also removes the profile. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}. Run: bash scripts/setup-test-env.sh (installs the chromium package).`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'coconut-chromium-'));
  const forget = cleanupOnExit(() => rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1600, height: 1100 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
      forget();
    },
  };
}

/**
 * Text of a browser console message without the workbench log styling: its log service writes
 * ("%c INFO", "color: #33f", message...), which Playwright joins with spaces.
 */
export function consoleText(msg) {
  return msg.text().replace(/^%c\s*(\w+) color: #[0-9a-f]+ /i, '$1 ');
}

/**
 * VS Code's server, Chromium and a page with the workbench open on `folder`, the extension at
 * `extensionDevelopmentPath` loaded and, when `extensionTestsPath` is given, its tests running.
 * The browser console is collected in `consoleLines` (and passed to `onConsole`); `exited`
 * resolves with the code the workbench passes to window.codeAutomationExit when tests end.
 * close() stops everything and saves the console and server logs as test-output/<logName>-*.log.
 */
export async function openWorkbench({
  folder,
  extensionDevelopmentPath,
  extensionTestsPath,
  env,
  onConsole,
  logName,
  keep = false,
  installVsix,
  userSettings,
}) {
  const consoleLines = [];
  let server;
  let browser;
  const close = async () => {
    saveOutput(`${logName}-console.log`, consoleLines.join('\n') + '\n');
    if (server) saveOutput(`${logName}-server.log`, server.log());
    await browser?.close();
    await server?.stop();
  };
  try {
    server = await startServer({ env, keep });
    writeUserSettings(server, userSettings);
    // installVsix: a packaged extension, installed with the server's CLI (test/vscode/vsix.mjs).
    if (installVsix) console.log(`Installed ${installVsix} at ${installVsixInto(server, installVsix)}`);
    browser = await launchBrowser();
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    let onExit;
    const exited = new Promise((r) => (onExit = r));
    await page.exposeFunction('codeAutomationExit', (code) => onExit(Number(code)));
    page.on('console', (msg) => {
      const text = consoleText(msg);
      consoleLines.push(`[${msg.type()}] ${text}`);
      onConsole?.(text);
    });
    page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.stack ?? e}`));
    await page.goto(workbenchUrl(server, { folder, extensionDevelopmentPath, extensionTestsPath }));
    return { server, page, exited, consoleLines, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Writes `text` to test-output/<name>, creating the folder. Returns the path. */
export function saveOutput(name, text) {
  const file = join(outputDir, name);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
  return file;
}

/** Go to Line (Ctrl+G) in the active editor, optionally to a column. */
export async function goToLine(page, line, column) {
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(column ? `:${line}:${column}` : `:${line}`);
  // The picker takes the typed line asynchronously: an Enter pressed before its row names the line
  // is dropped and leaves the picker open (seen in CI), so wait for the row, and press again if the
  // picker is still open after a moment.
  await page
    .locator('.quick-input-list .monaco-list-row', { hasText: `line ${line}` })
    .first()
    .waitFor();
  const widget = page.locator('.quick-input-widget');
  for (let attempt = 0; ; attempt++) {
    await page.keyboard.press('Enter');
    try {
      await widget.waitFor({ state: 'hidden', timeout: 5_000 });
      return;
    } catch (e) {
      if (attempt === 2) throw e;
    }
  }
}

/**
 * Webviews are iframes nested in iframes; the panel's content is in the inner one. Polls every
 * frame for `selector` until one has it; on timeout saves test-output/screenshots/<logName>-timeout.png
 * and names the console log of that test (<logName>-console.log).
 */
export async function findWebviewFrame(page, selector, timeoutMs, logName) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      if (frame === page.mainFrame() || frame.isDetached()) continue;
      const found = await frame.$(selector).catch(() => null);
      if (found) return frame;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const shot = join(screenshotDir, `${logName}-timeout.png`);
  await page.screenshot({ path: shot }).catch(() => {});
  throw new Error(
    `No webview frame showed ${selector} within ${timeoutMs / 1000} s. Screenshot: ${shot}; ` +
      `browser console: ${join(outputDir, `${logName}-console.log`)}.`,
  );
}

/**
 * The command palette as a user runs it: F1, the command's title, Enter; then waits for the
 * palette to close (`closes: false` for a command that opens a pick of its own).
 */
export async function runCommand(page, title, { closes = true } = {}) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  await page.keyboard.press('Enter');
  if (closes) await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
}

/**
 * node:test's `it` for a suite whose tests save a screenshot of the workbench when they fail
 * (test-output/screenshots/PREFIX-failure-N.png); `page()` gives the page of the moment.
 */
export function itWithScreenshots(nodeIt, prefix, page) {
  let failures = 0;
  return (name, fn) =>
    nodeIt(name, async (t) => {
      try {
        await fn(t);
      } catch (e) {
        const shot = join(screenshotDir, `${prefix}-failure-${++failures}.png`);
        await page()
          ?.screenshot({ path: shot })
          .catch(() => {});
        e.message += `\n(screenshot: ${shot})`;
        throw e;
      }
    });
}
