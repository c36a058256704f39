// Copies the pictures of the Marketplace page (MARKETPLACE.md) from the UI tests' screenshots into
// media/screenshots/, so the page shows what the tests saw with the shipped model. Run after the UI
// suites (npm test, or the three files below):
//   node --test test/vscode/ui-shipped-model.test.mjs test/vscode/ui-narrow-panel.test.mjs test/vscode/ui-sidebar.test.mjs
//   node scripts/update-screenshots.mjs
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './vscode-server.mjs';

const from = join(repoRoot, 'test-output/screenshots');
const to = join(repoRoot, 'media/screenshots');
const pictures = {
  'thoughts.png': 'shipped-model-thoughts.png', // ui-shipped-model: the panel beside the example
  'hover.png': 'shipped-model-hover.png', // ui-shipped-model: the hover on reasoning step 1
  'latent-search.png': 'shipped-model-search.png', // ui-shipped-model: the graph after thought 1
  'sweep.png': 'narrow/k-sweep.png', // ui-narrow-panel: the k sweep at 400 × 800
  'sidebar.png': 'sidebar-bar.png', // ui-sidebar: models, runs, examples
};
const missing = Object.values(pictures).filter((f) => !existsSync(join(from, f)));
if (missing.length) {
  console.error(`missing screenshots (run the UI tests first): ${missing.join(', ')}`);
  process.exit(1);
}
mkdirSync(to, { recursive: true });
for (const [name, src] of Object.entries(pictures)) {
  copyFileSync(join(from, src), join(to, name));
  console.log(`media/screenshots/${name} ← test-output/screenshots/${src}`);
}
