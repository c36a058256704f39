// A GPU provider asked for in the settings is first tried in a separate process, forked from the
// engine's worker in the real extension host (src/engine/provider-trial.ts, dist/provider-trial.js):
// where it cannot run (no GPU here), the inspect goes on the CPU and says why, in the trial's words.
import * as assert from 'node:assert/strict';
import type { InspectResult } from '../../../src/shared/types';
import { activateExtension, captureNotifications, expectDocumentsUnmodified, inspect, openAt, prosqaFile, prosqaRecords, withSetting } from '../helpers';

describe('execution provider', function () {
  // A setting change loads the model again, after the trial process.
  this.timeout(120_000);

  afterEach(() => expectDocumentsUnmodified());

  it('webgpu is tried in a separate process first; without a GPU the run goes on the CPU with the reason', async () => {
    const { api } = await activateExtension();
    const [tom] = prosqaRecords();
    await withSetting('executionProvider', 'webgpu', async () => {
      await api.whenIdle();
      await openAt(prosqaFile(), tom.question.slice(0, 40));
      const { value, errors } = await captureNotifications(() => inspect('inspectRecord'));
      assert.deepEqual(errors, []);
      const r = value as InspectResult;
      assert.equal(r.question, tom.question);
      assert.ok(r.thoughts.length > 0);
      // What the panel and the status bar show about the provider.
      const run = api.currentRunForTest();
      assert.equal(run?.requestedProvider, 'webgpu');
      if (run.provider === 'webgpu') {
        assert.equal(run.providerNotice, undefined); // a machine with a GPU and a driver: the trial passed
        return;
      }
      assert.equal(run.provider, 'cpu');
      assert.equal(r.provider, 'cpu');
      assert.match(run.providerNotice ?? '', /^the webgpu execution provider could not start in a trial process \(.+\); running on the CPU instead$/);
    });
    await api.whenIdle();
  });
});
