// Part of `npm run lint`: no import cycles among the modules of src/ and webview/ (type-only
// imports count too: a cycle of types is still two files that cannot be read one at a time).
// Prints each cycle and exits 1 when there is one.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'src/**.ts', 'webview/**.ts'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);

/** The repository files a module imports by relative path. */
function importsOf(file) {
  const text = readFileSync(join(root, file), 'utf8');
  const out = [];
  for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const base = resolve(root, dirname(file), m[1]);
    const hit = [`${base}.ts`, join(base, 'index.ts')].find((c) => existsSync(c));
    if (hit) out.push(relative(root, hit));
  }
  return out;
}

const graph = new Map(files.map((f) => [f, importsOf(f)]));

// Tarjan's strongly connected components: every component of more than one file is a cycle.
let next = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
function visit(v) {
  index.set(v, next);
  low.set(v, next++);
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) {
      low.set(v, Math.min(low.get(v), index.get(w)));
    }
  }
  if (low.get(v) !== index.get(v)) return;
  const component = [];
  let w;
  do {
    w = stack.pop();
    onStack.delete(w);
    component.push(w);
  } while (w !== v);
  if (component.length > 1) cycles.push(component.sort());
}
for (const f of graph.keys()) if (!index.has(f)) visit(f);

if (cycles.length) {
  for (const c of cycles) console.error(`import cycle: ${c.join(' ↔ ')}`);
  console.error('Move what both sides need into a module of its own (see docs/architecture.md).');
  process.exit(1);
}
console.log(`no import cycles among ${files.length} modules of src/ and webview/`);
