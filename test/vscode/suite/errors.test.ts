// Bad input reaches the user as an error that names the problem; the command still resolves, the
// extension host keeps working, the last good result stays, and the user's file is not touched.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { InspectResult } from '../../../src/shared/types';
import {
  activateExtension,
  captureNotifications,
  copyOfModel,
  expectDocumentsUnmodified,
  inspect,
  modelManifest,
  type Notifications,
  openAt,
  prosqaFile,
  prosqaRecords,
  withSetting,
  workspaceRoot,
  writeWorkspaceFile,
} from '../helpers';

/**
 * Runs Inspect Record Under Cursor and expects an error notification matching `pattern` (and no
 * other error: a settings change may report the same problem once more when it reloads the model).
 */
async function expectInspectError(pattern: RegExp): Promise<void> {
  const { api } = await activateExtension();
  const before = api.lastResult();
  const { value, errors } = await captureNotifications(() => inspect('inspectRecord'));
  await api.whenIdle();
  assert.equal(value, undefined, 'a failed run resolves with no result');
  assert.ok(errors.length >= 1, 'an error notification is shown');
  for (const e of errors) assert.match(e, pattern);
  assert.equal(api.lastResult(), before, 'the last good result is kept');
}

/** Sends Cancel Run until it reaches a run (it says "No ... run is in progress" before one starts). */
async function cancelWhenRunning(seen: Notifications): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt++) {
    const infos = seen.infos.length;
    await vscode.commands.executeCommand('coconutLens.cancel');
    if (seen.infos.length === infos) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('Cancel Run never found a run in progress within 2 s');
}

/** A good run after a failure proves the host and the engine survived it. */
async function expectHealthy(): Promise<void> {
  const { api } = await activateExtension();
  const [tom] = prosqaRecords();
  await openAt(prosqaFile(), tom.question.slice(0, 40));
  const result = (await inspect('inspectRecord')) as InspectResult | undefined;
  assert.ok(result, 'a good run after the failure gives a result');
  assert.equal(result.question, tom.question);
  assert.equal(api.lastResult(), result);
}

describe('errors', function () {
  this.timeout(120_000);

  before(async () => {
    // Start from a loaded engine so each failure below is the one under test.
    await expectHealthy();
  });

  afterEach(() => expectDocumentsUnmodified());

  it('an empty file', async () => {
    await openAt(writeWorkspaceFile('empty.json', ''));
    await expectInspectError(/empty\.json is empty/i);
    await expectHealthy();
  });

  it('malformed JSON', async () => {
    await openAt(writeWorkspaceFile('malformed.json', '[{"question": "Is Tom a lempus?",}]\n'), 'question');
    await expectInspectError(/malformed\.json is not valid JSON.*line 1, column 34/i);
    await expectHealthy();
  });

  it('a record without a question', async () => {
    const text = JSON.stringify([{ answer: 'Tom is a lempus.', steps: [] }], null, 2);
    await openAt(writeWorkspaceFile('noquestion.json', text), 'answer');
    await expectInspectError(/"question"/);
    await expectHealthy();
  });

  it('the cursor between records', async () => {
    await openAt(prosqaFile()); // offset 0 is the "[" before the first record
    await expectInspectError(/not inside a record/);
    await expectHealthy();
  });

  it('coconutLens.modelPath naming a folder that does not exist', async () => {
    const missing = path.join(workspaceRoot(), 'no-such-model');
    await openAt(prosqaFile(), prosqaRecords()[0].question.slice(0, 40));
    await withSetting('modelPath', missing, () => expectInspectError(new RegExp(`${escapeRegExp(missing)} does not exist`)));
    await expectHealthy();
  });

  it('coconutLens.thoughts above the model maximum', async () => {
    const max = modelManifest().thoughts.max;
    await openAt(prosqaFile(), prosqaRecords()[0].question.slice(0, 40));
    await withSetting('thoughts', max + 1, () => expectInspectError(new RegExp(`${max + 1} thoughts is out of range.*0 to ${max}`)));
    await expectHealthy();
  });

  it('a run cancelled with Coconut Lens: Cancel Run', async () => {
    const { api } = await activateExtension();
    const before = api.lastResult();
    await openAt(prosqaFile(), prosqaRecords()[1].question.slice(0, 40));
    // A model folder not loaded yet makes the run long enough (worker load) to be cancelled in.
    const { value, errors } = await captureNotifications((seen) =>
      withSetting('modelPath', copyOfModel(), async () => {
        const run = inspect('inspectRecord');
        await cancelWhenRunning(seen);
        return run;
      }),
    );
    await api.whenIdle();
    assert.equal(value, undefined, 'a cancelled run resolves with no result');
    assert.deepEqual(errors, [], 'cancelling is not an error');
    assert.equal(api.lastResult(), before);
    await expectHealthy();
  });

  it('a second run while one is in progress', async () => {
    const { api } = await activateExtension();
    const [tom] = prosqaRecords();
    await openAt(prosqaFile(), tom.question.slice(0, 40));
    const { value, warnings, errors } = await captureNotifications(async () => {
      const first = inspect('inspectRecord');
      const second = inspect('inspectRecord');
      return Promise.all([first, second]);
    });
    await api.whenIdle();
    const [first, second] = value as [InspectResult | undefined, InspectResult | undefined];
    assert.ok(first, 'the first run finishes');
    assert.equal(first.question, tom.question);
    assert.equal(second, undefined, 'the second run does not start');
    assert.deepEqual(errors, []);
    assert.ok(
      warnings.some((w) => /already in progress/.test(w)),
      `a busy warning, got: ${JSON.stringify(warnings)}`,
    );
    assert.equal(api.lastResult(), first);
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
