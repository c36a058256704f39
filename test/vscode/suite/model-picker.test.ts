// The panel's model picker (issue 4): a selectModel message, handled exactly as one the webview
// posts, is checked against the model choices, changes coconutLens.modelPath, refreshes the
// picker, clears the view with a rerun notice, and the next inspect runs the chosen model.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { InspectResult } from '../../../src/shared/types';
import { isWebviewToHost, type HostToWebview } from '../../../src/protocol/inspector';
import { activateExtension, captureNotifications, copyOfModel, inspect, openAt, prosqaFile, prosqaRecords } from '../helpers';

async function until(what: string, test: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('model picker', () => {
  const config = () => vscode.workspace.getConfiguration('coconutLens');

  it('selectModel from the panel is validated, changes the setting, and the next inspect runs that model', async () => {
    const { api } = await activateExtension();
    const modelPathBefore = config().inspect('modelPath')?.workspaceValue;
    const dir = copyOfModel();
    const missing = `${dir}-gone`;
    const panel = api.panelForTest();
    const posted: HostToWebview[] = [];
    const post = panel.post;
    panel.post = (m: HostToWebview) => {
      posted.push(m);
      post.call(panel, m);
    };
    try {
      await config().update('models', [dir, missing], vscode.ConfigurationTarget.Global);
      const [tom] = prosqaRecords();
      await openAt(prosqaFile(), tom!.question.slice(0, 40));
      await api.whenIdle();
      const seen = await captureNotifications(() => inspect('inspectRecord'));
      const first = seen.value as InspectResult | undefined;
      assert.ok(first, `the first inspect ran: ${JSON.stringify(seen)}`);
      assert.notEqual(first.modelDir, dir);

      // The webview's 'ready' gets the choices: the copy, and the missing folder as unselectable.
      panel.receiveForTest({ type: 'ready' });
      await until('a models message', () => posted.some((m) => m.type === 'models'));
      const listed = posted.filter((m) => m.type === 'models').at(-1) as Extract<HostToWebview, { type: 'models' }>;
      // The model that runs now (coconutLens.modelPath, not in coconutLens.models) is listed last, as current.
      assert.deepEqual(
        listed.models.filter((m) => !m.shipped).map((m) => ({ dir: m.dir, present: m.present, selectable: m.selectable, current: m.current })),
        [
          { dir, present: true, selectable: true, current: false },
          { dir: missing, present: false, selectable: false, current: false },
          { dir: first.modelDir, present: true, selectable: true, current: true },
        ],
      );

      // The validator refuses a message without a folder; the host refuses folders that are not choices.
      assert.equal(isWebviewToHost({ type: 'selectModel' }), false);
      assert.equal(isWebviewToHost({ type: 'selectModel', dir: 42 }), false);
      for (const bad of ['/not/a/listed/model', missing]) {
        posted.length = 0;
        await captureNotifications(async () => {
          panel.receiveForTest({ type: 'selectModel', dir: bad });
          await until('the refusal', () => posted.some((m) => m.type === 'error'));
        });
        const err = posted.find((m) => m.type === 'error') as Extract<HostToWebview, { type: 'error' }>;
        assert.equal(err.error.code, 'MODEL_NOT_FOUND');
        assert.notEqual(config().get('modelPath'), bad);
      }

      // A real choice: the setting changes, the picker follows, the view is cleared with a rerun notice.
      posted.length = 0;
      panel.receiveForTest({ type: 'selectModel', dir });
      await until('coconutLens.modelPath to change', () => config().get('modelPath') === dir);
      await api.whenIdle();
      await until('the refreshed picker', () => posted.some((m) => m.type === 'models' && m.models.find((c) => c.current)?.dir === dir));
      const cleared = posted.find((m) => m.type === 'cleared') as Extract<HostToWebview, { type: 'cleared' }> | undefined;
      assert.match(cleared?.reason ?? '', /model changed.*Rerun/i);

      await openAt(prosqaFile(), tom!.question.slice(0, 40));
      const again = await captureNotifications(() => inspect('inspectRecord'));
      const next = again.value as InspectResult | undefined;
      assert.equal(next?.modelDir, dir, JSON.stringify(again.errors));
      assert.equal(api.lastResult()?.modelDir, dir);
    } finally {
      panel.post = post;
      await config().update('models', undefined, vscode.ConfigurationTarget.Global);
      await config().update('modelPath', modelPathBefore, vscode.ConfigurationTarget.Workspace);
      await api.whenIdle();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
