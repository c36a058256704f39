// The pure parts of the panel's narrow layout (issue 12, part 4): the question expander's wording,
// whether the question stays open across runs and reloads, and when the Model chip repeats the
// model picker (a narrow panel then drops the chip). The layout itself is checked in a real
// workbench at 400 × 800: test/vscode/ui-narrow-panel.test.mjs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelOption, RunInfo, TraceResult } from '../../src/protocol/inspector';
import { questionToggleText } from '../../webview/question';
import { reduce } from '../../webview/reduce';
import { modelChipRepeatsPicker, persistedPart, restoreState, type ViewState } from '../../webview/state';

const run = (runId: number, question: string, model = 'prosqa-coconut'): RunInfo => ({
  runId,
  question,
  k: 6,
  maxK: 16,
  model,
  provider: 'cpu',
  requestedProvider: 'auto',
});
const result = (question: string, model = 'prosqa-coconut'): TraceResult => ({ question, model, thoughtsRequested: 6, thoughts: [] }) as unknown as TraceResult;
const option = (label: string, current: boolean): ModelOption => ({ dir: `/models/${label}`, label, shipped: false, present: true, current, selectable: true });

describe('webview question expander', () => {
  it('says what a press does, and its accessible name starts with the words on screen', () => {
    const closed = questionToggleText(false);
    const open = questionToggleText(true);
    assert.equal(closed.label, 'Show all');
    assert.equal(open.label, 'Show less');
    // WCAG 2.5.3: speech users say what they see.
    for (const t of [closed, open]) assert.ok(t.name.startsWith(t.label), `${t.name} starts with ${t.label}`);
    assert.notEqual(closed.name, open.name);
  });

  it('an open question stays open for a rerun of it and folds again for a new question', () => {
    const q = 'Every wumpus is a yumpus. Is Tom a yumpus?';
    const start: ViewState = { version: 1, run: run(1, q), result: result(q), questionExpanded: true };
    const rerun = reduce(start, { type: 'runStarted', run: run(2, q) });
    assert.equal(rerun.state.questionExpanded, true, 'same question: still open');
    const other = reduce(rerun.state, { type: 'runStarted', run: run(3, 'Is Sam a wumpus?') });
    assert.equal(other.state.questionExpanded, undefined, 'a new question starts in two lines');
  });

  it('is kept with the panel state, so a reload shows the question as the user left it', () => {
    const saved = persistedPart({ version: 1, questionExpanded: true, busy: { text: 'x' } });
    assert.equal(saved.questionExpanded, true);
    assert.equal(restoreState(JSON.parse(JSON.stringify(saved))).questionExpanded, true);
  });
});

describe('webview model chip beside the picker', () => {
  it('repeats the picker when the current model is the one that ran', () => {
    const models = { list: [option('tiny', false), option('prosqa-coconut', true)], restricted: false };
    assert.equal(modelChipRepeatsPicker({ version: 1, run: run(1, 'q'), result: result('q'), models }), true);
    // Before the result, the run's model counts.
    assert.equal(modelChipRepeatsPicker({ version: 1, run: run(1, 'q'), models }), true);
  });

  it('does not once another model was picked, nor without a picker or a run', () => {
    const picked = { list: [option('tiny', true), option('prosqa-coconut', false)], restricted: false };
    assert.equal(modelChipRepeatsPicker({ version: 1, run: run(1, 'q'), result: result('q'), models: picked }), false);
    assert.equal(modelChipRepeatsPicker({ version: 1, run: run(1, 'q'), result: result('q') }), false);
    assert.equal(modelChipRepeatsPicker({ version: 1, models: picked }), false);
    // The result's model wins over the run's: the chip shows the result's.
    const models = { list: [option('prosqa-coconut', true)], restricted: false };
    assert.equal(modelChipRepeatsPicker({ version: 1, run: run(1, 'q', 'tiny'), result: result('q', 'prosqa-coconut'), models }), true);
  });
});
