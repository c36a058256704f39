// @vscode/test-cli configuration (`npm run test:electron`): the same extension-host suites that
// test/vscode/run.mjs runs in VS Code's server, here in desktop VS Code downloaded by
// @vscode/test-electron. Needs internet for the download (not available on the CI machines, so
// `npm test` does not run it). `npm run test:electron` builds and compiles the suites first.
import { defineConfig } from '@vscode/test-cli';
import { prepareWorkspace } from './test/vscode/harness.mjs';

// Same workspace as run.mjs: three ProsQA records and coconutLens.modelPath → the tiny model.
const workspaceFolder = prepareWorkspace({}, { dir: new URL('./.vscode-test/workspace', import.meta.url).pathname });

export default defineConfig({
  label: 'extension-host',
  files: 'out/test/vscode/suite/*.test.js',
  workspaceFolder,
  version: 'stable',
  // Other installed extensions would share (and slow) the extension host.
  launchArgs: ['--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
  mocha: { ui: 'bdd', timeout: 120_000, color: true },
});
