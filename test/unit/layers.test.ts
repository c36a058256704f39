// The walls between the layers (docs/architecture.md) are enforced, not hoped for: a wrong import
// fails ESLint, one that drags in another layer's runtime fails that layer's tsconfig, and `vscode`
// in the engine fails the build. These tests feed deliberate wrong imports to all three, from
// memory, without touching the tree.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as ts from 'typescript';
import { buildConfig, ROOT } from './helpers';

async function lintErrors(file: string, code: string): Promise<string[]> {
  const { ESLint } = await import('eslint');
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(`${code}\nexport {};\n`, { filePath: path.join(ROOT, file) });
  return result.messages.filter((m) => m.severity === 2 && m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

/** Type-checks one in-memory file, placed at `file`, with the options of the tsconfig `config`. */
function typeErrors(config: string, file: string, code: string): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    path.join(ROOT, config),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    },
  );
  assert.ok(parsed);
  const abs = path.join(ROOT, file);
  const host = ts.createCompilerHost(parsed.options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (path.resolve(name) === abs ? ts.createSourceFile(name, code, lang) : getSourceFile(name, lang, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === abs || fileExists(name);
  const program = ts.createProgram([abs], parsed.options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('layer walls (ESLint)', () => {
  const wrong: [string, string, RegExp][] = [
    ['webview/wrong.ts', "import type { InspectResult } from '../src/engine/engine';", /webview imports only src\/protocol and src\/shared/],
    ['webview/wrong.ts', "import { readFileSync } from 'node:fs';", /Node built-ins/],
    ['src/engine/wrong.ts', "import * as vscode from 'vscode';", /vscode API is not available/],
    ['src/engine/analysis/wrong.ts', "import { InspectorPanel } from '../../extension/panel';", /engine runs in tests/],
    ['src/prompts/wrong.ts', "import type { HostToWebview } from '../protocol/inspector';", /engine runs in tests/],
    ['src/shared/wrong.ts', "import { EngineError } from '../engine/errors';", /shared types and the protocol/],
    ['src/protocol/wrong.ts', "import * as fs from 'node:fs';", /Node built-ins/],
    ['src/cli/wrong.ts', "import { InspectRunner } from '../extension/runner';", /command line drives the engine/],
    ['src/extension/wrong.ts', "import { reduce } from '../../webview/main';", /only through src\/protocol/],
  ];
  for (const [file, code, why] of wrong) {
    it(`refuses ${code} in ${file}`, async () => {
      const errors = await lintErrors(file, code);
      assert.equal(errors.length, 1, `expected one no-restricted-imports error, got ${JSON.stringify(errors)}`);
      assert.match(errors[0], why);
    });
  }

  const right: [string, string][] = [
    ['webview/ok.ts', "import type { ThoughtTrace } from '../src/shared/types';"],
    ['webview/ok.ts', "import type { HostToWebview } from '../src/protocol/inspector';"],
    ['src/engine/ok.ts', "import { WorkerRequest } from './worker-protocol';"],
    ['src/cli/ok.ts', "import { CoconutEngine } from '../engine/engine';"],
    ['src/extension/ok.ts', "import * as vscode from 'vscode';"],
  ];
  for (const [file, code] of right) {
    it(`allows ${code} in ${file}`, async () => {
      assert.deepEqual(await lintErrors(file, code), []);
    });
  }
});

describe('layer walls (per-layer tsconfig)', () => {
  it('the webview cannot compile engine runtime code (Node is not in its libraries)', () => {
    const errors = typeErrors(
      'webview/tsconfig.json',
      'webview/wrong.ts',
      "import { loadModelDir } from '../src/engine/model-dir';\nexport const f = loadModelDir;\n",
    );
    assert.ok(
      errors.some((e) => /Cannot find module 'node:fs'/.test(e)),
      errors.join('\n'),
    );
  });

  it('the engine cannot use the DOM', () => {
    const errors = typeErrors('src/engine/tsconfig.json', 'src/engine/wrong.ts', 'export const title = document.title;\n');
    assert.ok(
      errors.some((e) => /Cannot find name 'document'/.test(e)),
      errors.join('\n'),
    );
  });

  it('shared code can use neither Node nor the DOM', () => {
    const errors = typeErrors('src/shared/tsconfig.json', 'src/shared/wrong.ts', 'export const a = Buffer.from("x");\nexport const b = window.name;\n');
    assert.ok(
      errors.some((e) => /Cannot find name 'Buffer'/.test(e)),
      errors.join('\n'),
    );
    assert.ok(
      errors.some((e) => /Cannot find name 'window'/.test(e)),
      errors.join('\n'),
    );
  });

  it('the same code compiles where it belongs', () => {
    assert.deepEqual(
      typeErrors('src/engine/tsconfig.json', 'src/engine/ok.ts', "import { loadModelDir } from './model-dir';\nexport const f = loadModelDir;\n"),
      [],
    );
    assert.deepEqual(typeErrors('webview/tsconfig.json', 'webview/ok.ts', 'export const title = document.title;\n'), []);
  });
});

describe('layer walls (build)', () => {
  it('the worker and CLI bundles refuse an engine file that imports vscode', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const esbuild = require('esbuild') as typeof import('esbuild');
    const { bundles } = await buildConfig();
    for (const { entryPoints: _e, outfile: _o, ...options } of [bundles.worker, bundles.cli]) {
      const stdin = {
        contents: "import * as vscode from 'vscode';\nconsole.log(vscode);\n",
        resolveDir: path.join(ROOT, 'src/engine'),
        sourcefile: 'wrong.ts',
        loader: 'ts' as const,
      };
      await assert.rejects(
        esbuild.build({ ...options, stdin, write: false, logLevel: 'silent', absWorkingDir: ROOT }),
        /imports "vscode": the engine and the CLI run outside VS Code/,
      );
    }
  });
});
