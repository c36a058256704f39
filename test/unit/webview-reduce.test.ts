// The panel's state machine (webview/reduce.ts) and state helpers (webview/state.ts), without a
// browser: what each host message does to the state, and which effects main.ts must perform.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ErrorInfo, HostToWebview, RunInfo, TraceResult } from '../../src/protocol/inspector';
import type { DatasetRecordResult } from '../../src/shared/types';
import { reduce, stageText, type Effect } from '../../webview/reduce';
import { clampSelected, persistedPart, restoreState, searchThought, type ViewState } from '../../webview/state';

const run = (runId: number, question = 'Is Tom a yumpus?'): RunInfo => ({
  runId,
  question,
  k: 3,
  maxK: 6,
  model: 'tiny',
  provider: 'cpu',
  requestedProvider: 'auto',
});

const result = (question = 'Is Tom a yumpus?', thoughts = 3): TraceResult =>
  ({
    question,
    model: 'tiny',
    thoughtsRequested: thoughts,
    thoughts: Array.from({ length: thoughts }, (_, i) => ({ index: i + 1 })),
  }) as unknown as TraceResult;

const types = (effects: Effect[]) => effects.map((e) => e.type);
const SHOW_AND_KEEP = ['persist', 'render'];

function apply(state: ViewState, ...msgs: HostToWebview[]): { state: ViewState; effects: Effect[] } {
  let r = { state, effects: [] as Effect[] };
  for (const m of msgs) r = reduce(r.state, m);
  return r;
}

describe('webview reduce', () => {
  it('never changes the state it is given', () => {
    const before: ViewState = { version: 1, run: run(1), result: result(), busy: { text: 'x', analysis: 'sweep', done: 1, total: 4 } };
    const copy = structuredClone(before);
    for (const m of [
      { type: 'runStarted', run: run(2, 'Another?') },
      { type: 'analysisProgress', analysis: 'sweep', runId: 2, done: 2, total: 4, text: 'Sweeping' },
      { type: 'error', runId: 1, error: { code: 'INTERNAL', message: 'm', fix: 'f' } },
      { type: 'pinned', pin: { label: 'p', result: result() } },
    ] as HostToWebview[]) {
      reduce(before, m);
      assert.deepEqual(before, copy, m.type);
    }
  });

  it('a new run on a new question keeps the old result as the previous run once its result arrives', () => {
    const start: ViewState = { version: 1, run: run(1), result: result(), searchThought: 2, sweep: { question: 'Is Tom a yumpus?' } as never };
    const started = reduce(start, { type: 'runStarted', run: run(2, 'Is Sam a wumpus?') });
    assert.deepEqual(types(started.effects), ['releaseKField', ...SHOW_AND_KEEP]);
    assert.equal(started.state.result, undefined);
    assert.equal(started.state.searchThought, undefined);
    assert.equal(started.state.sweep, undefined);
    assert.deepEqual(started.state.busy, { text: 'Starting…' });
    const done = reduce(started.state, { type: 'result', runId: 2, result: result('Is Sam a wumpus?', 4) });
    assert.equal(done.state.previous?.label, 'tiny · k=3');
    assert.equal(done.state.searchThought, 4);
    assert.equal(done.state.busy, undefined);
    assert.equal(done.state.pendingPrevious, undefined);
  });

  it('a rerun of the same question keeps its result on view until the new one arrives', () => {
    const s = reduce(
      { version: 1, run: run(1), result: result(), sweep: { question: 'Is Tom a yumpus?' } as never },
      { type: 'runStarted', run: run(2) },
    ).state;
    assert.ok(s.result);
    assert.ok(s.sweep);
  });

  it('ignores progress, results and errors of a run that is no longer current', () => {
    const s: ViewState = { version: 1, run: run(5) };
    for (const m of [
      { type: 'progress', runId: 4, progress: { stage: 'thoughts', done: 1, total: 3 } },
      { type: 'result', runId: 4, result: result() },
      { type: 'error', runId: 4, error: { code: 'INTERNAL', message: 'm', fix: 'f' } },
    ] as HostToWebview[]) {
      const r = reduce(s, m);
      assert.equal(r.state, s, m.type);
      assert.deepEqual(r.effects, [], m.type);
    }
  });

  it('progress redraws only the status line until a thought streams in', () => {
    const s: ViewState = { version: 1, run: run(1) };
    const a = reduce(s, { type: 'progress', runId: 1, progress: { stage: 'prefill', done: 0, total: 3 } } as HostToWebview);
    assert.deepEqual(types(a.effects), ['renderStatus']);
    assert.equal(a.state.busy?.text, 'Prefill');
    const thought = { index: 2 } as never;
    const b = reduce(a.state, { type: 'progress', runId: 1, progress: { stage: 'thoughts', done: 2, total: 3, thought } } as HostToWebview);
    assert.deepEqual(types(b.effects), ['render']);
    assert.deepEqual(b.state.partial, [thought]);
  });

  it('a cancelled run is a notice, another error is shown as the error', () => {
    const s: ViewState = { version: 1, run: run(1), busy: { text: 'x' } };
    const cancelled: ErrorInfo = { code: 'CANCELLED', message: 'c', fix: '' };
    const c = reduce(s, { type: 'error', runId: 1, error: cancelled });
    assert.equal(c.state.notice, 'Run cancelled.');
    assert.equal(c.state.error, undefined);
    const e = reduce(s, { type: 'error', error: { code: 'PROMPT_OOV', message: 'oov', fix: 'f' } });
    assert.equal(e.state.error?.code, 'PROMPT_OOV');
    assert.equal(e.state.busy, undefined);
  });

  it('analyses switch to their tab and keep their progress', () => {
    const s = apply(
      { version: 1, tab: 'compare' },
      { type: 'analysisStarted', analysis: 'sweep', runId: 3, text: 'Sweeping', total: 4 },
      { type: 'sweepPoint', runId: 3, point: { k: 1 } as never },
      { type: 'sweepPoint', runId: 3, point: { k: 0 } as never },
    ).state;
    assert.equal(s.tab, 'sweep');
    assert.deepEqual(
      s.sweepPartial?.map((p) => p.k),
      [0, 1],
    );
    const p = reduce(s, { type: 'analysisProgress', analysis: 'sweep', runId: 3, done: 2, total: 4 });
    assert.deepEqual(types(p.effects), ['renderStatus']);
    assert.deepEqual(p.state.busy, { text: 'Sweeping', analysis: 'sweep', done: 2, total: 4 });
    const done = reduce(p.state, { type: 'sweepResult', runId: 3, result: { points: [] } as never });
    assert.equal(done.state.busy, undefined);
    assert.equal(done.state.sweepPartial, undefined);
    assert.equal(reduce(s, { type: 'analysisStarted', analysis: 'attribution', runId: 4, text: 'x' }).state.tab, 'thoughts');
  });

  it('dataset records stream in, with a redraw every tenth', () => {
    let s = reduce({ version: 1 }, { type: 'datasetStarted', runId: 1, info: { ks: [0] } as never }).state;
    assert.equal(s.tab, 'dataset');
    const seen: string[][] = [];
    for (let i = 0; i < 10; i++) {
      const r = reduce(s, { type: 'datasetRecord', runId: 1, record: { index: i, k: 0 } as DatasetRecordResult });
      s = r.state;
      seen.push(types(r.effects));
    }
    assert.deepEqual(seen[0], ['persistSoon']);
    assert.deepEqual(seen[9], SHOW_AND_KEEP);
    assert.equal(s.dataset?.records.length, 10);
    assert.deepEqual(reduce({ version: 1 }, { type: 'datasetRecord', runId: 1, record: {} as DatasetRecordResult }).effects, []);
  });

  it('hands highlights and chart requests to main.ts without a redraw', () => {
    const h = reduce({ version: 1 }, { type: 'highlightThoughts', indices: [2, 3] });
    assert.deepEqual(h.state.linked, [2, 3]);
    assert.deepEqual(h.effects, [{ type: 'highlight', indices: [2, 3] }]);
    const c = reduce({ version: 1 }, { type: 'chartRequest', requestId: 7, chart: 'visible', format: 'png' });
    assert.deepEqual(c.effects, [{ type: 'answerChart', requestId: 7, chart: 'visible', format: 'png' }]);
  });

  it('an unknown message type is reported, then handled like any other (kept and redrawn)', () => {
    const msg = { type: 'fromTheFuture' } as unknown as HostToWebview;
    const r = reduce({ version: 1 }, msg);
    assert.deepEqual(r.effects, [{ type: 'unknownMessage', message: msg }, { type: 'persist' }, { type: 'render' }]);
  });

  it('pinning a run shows the Compare tab; unpinning stays where it is', () => {
    assert.equal(reduce({ version: 1 }, { type: 'pinned', pin: { label: 'p', result: result() } }).state.tab, 'compare');
    assert.equal(reduce({ version: 1, tab: 'search' }, { type: 'pinned' }).state.tab, 'search');
  });
});

describe('webview state helpers', () => {
  it('persists only what survives a reload', () => {
    const s: ViewState = { version: 1, tab: 'sweep', showLens: true, busy: { text: 'x' }, linked: [1], partial: [], models: { list: [], restricted: false } };
    assert.deepEqual(persistedPart(s), { version: 1, tab: 'sweep', showLens: true });
  });

  it('restores a saved state without a run in progress, and starts empty from anything else', () => {
    assert.deepEqual(restoreState({ version: 1, tab: 'search', busy: { text: 'x' } }), { version: 1, tab: 'search', busy: undefined, partial: undefined });
    assert.deepEqual(restoreState(undefined), { version: 1 });
    assert.deepEqual(restoreState({ version: 2 }), { version: 1 });
  });

  it('keeps the selected and the searched thought in range', () => {
    assert.equal(clampSelected({ version: 1, selected: 9 }, 3), 3);
    assert.equal(clampSelected({ version: 1 }, 0), 0);
    assert.equal(clampSelected({ version: 1, selected: 0 }, 3), 1);
    assert.equal(searchThought({ version: 1 }, 4), 4);
    assert.equal(searchThought({ version: 1, searchThought: -1 }, 4), 0);
  });

  it('capitalises progress stages', () => {
    assert.equal(stageText(' decoding thoughts'), 'Decoding thoughts');
    assert.equal(stageText(''), 'Running');
  });
});
