// Installing a packaged VSIX into the test VS Code server, so the UI test can run against the
// extension as users get it (COCONUT_TEST_VSIX=path) instead of the development folder.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { node24, repoRoot, serverMain } from '../../scripts/vscode-server.mjs';

/** The VSIX the tests should install, or undefined to load the development folder. */
export const vsixUnderTest = process.env.COCONUT_TEST_VSIX || undefined;

/** openWorkbench() options for the extension under test: the VSIX when set, else the repository. */
export function extensionUnderTest() {
  return vsixUnderTest ? { installVsix: vsixUnderTest } : { extensionDevelopmentPath: repoRoot };
}

/**
 * Installs `vsix` with the server's own command line into the running server's extensions folder
 * (it is scanned when the workbench connects). Returns the installed extension's folder.
 */
export function installVsix(server, vsix) {
  if (!existsSync(vsix)) throw new Error(`No VSIX at ${vsix}. Build it with: npm run package -- --target linux-x64`);
  const home = join(server.root, 'home');
  mkdirSync(home, { recursive: true });
  const out = execFileSync(
    node24,
    [
      serverMain,
      '--install-extension',
      vsix,
      '--force',
      '--extensions-dir',
      join(server.root, 'extensions'),
      '--user-data-dir',
      join(server.root, 'user-data'),
      '--server-data-dir',
      join(server.root, 'server-data'),
      '--accept-server-license-terms',
    ],
    { env: { ...process.env, HOME: home }, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (!/successfully installed/.test(out)) throw new Error(`Installing ${vsix} failed:\n${out}`);
  const registry = JSON.parse(readFileSync(join(server.root, 'extensions', 'extensions.json'), 'utf8'));
  const entry = registry.find((e) => e.identifier?.id === 'coconut-lens.coconut-lens');
  if (!entry) throw new Error(`${vsix} installed, but coconut-lens.coconut-lens is not in extensions.json`);
  return entry.location.fsPath ?? entry.location.path;
}
