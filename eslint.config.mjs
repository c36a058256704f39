// ESLint: the walls between the layers (docs/architecture.md) and a few code rules. The walls are
// also types (each layer's tsconfig has only its own libraries), but a type-only import of the
// wrong layer compiles; these rules catch it.
import tseslint from 'typescript-eslint';

/** `no-restricted-imports` for one layer: `vscode`, Node built-ins and other layers by path. */
function wall({ vscode = false, node = false, layers = [], why }) {
  const patterns = [];
  if (node) patterns.push({ group: ['node:*'], message: `Node built-ins are not available here: ${why}` });
  if (layers.length) {
    patterns.push({ regex: `(^|/)(${layers.join('|')})(/|$)`, message: why });
  }
  const paths = vscode ? [{ name: 'vscode', message: `the vscode API is not available here: ${why}` }] : [];
  return { 'no-restricted-imports': ['error', { paths, patterns }] };
}

export default tseslint.config(
  {
    ignores: ['dist/', 'out/', 'node_modules/', '.vscode-test/', 'test-output/', 'training/', 'models/', 'data/', 'runs/', 'examples/', 'media/'],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      // `_name` marks a value left out on purpose (a destructured field dropped from a copy).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests reach into untyped JSON and worker messages.
    files: ['test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // CommonJS on purpose: bin/ is the entry npm links, and the no-network guard is preloaded with
    // `node --require`.
    files: ['bin/**', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/engine/**', 'src/prompts/**'],
    rules: wall({
      vscode: true,
      layers: ['extension', 'protocol', 'cli', 'webview'],
      why: 'the engine runs in tests, the CLI and a worker thread; it knows nothing of VS Code, the panel or the command line',
    }),
  },
  {
    files: ['src/shared/**', 'src/protocol/**'],
    rules: wall({
      vscode: true,
      node: true,
      layers: ['engine', 'prompts', 'extension', 'cli', 'webview'],
      why: 'shared types and the protocol are read by both the extension host and the webview, so they import only each other',
    }),
  },
  {
    files: ['src/cli/**'],
    rules: wall({
      vscode: true,
      layers: ['extension', 'protocol', 'webview'],
      why: 'the command line drives the engine (src/engine, src/prompts, src/shared) and nothing else',
    }),
  },
  {
    files: ['src/extension/**'],
    rules: wall({ layers: ['webview', 'cli'], why: 'the extension host talks to the panel only through src/protocol' }),
  },
  {
    files: ['webview/**'],
    rules: wall({
      vscode: true,
      node: true,
      layers: ['engine', 'prompts', 'extension', 'cli'],
      why: 'the webview imports only src/protocol and src/shared; engine code belongs on the host side',
    }),
  },
);
