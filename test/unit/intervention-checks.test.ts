// One check decides what is wrong with an intervention list (src/shared/interventions.ts): the
// protocol guard asks only for the form, the host and the engine also for the fit to the run.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeEdit, describeIntervention, findInterventionProblem } from '../../src/shared/interventions';
import { isWebviewToHost } from '../../src/protocol/inspector';

const run = { k: 3, nEmbd: 2 };

describe('findInterventionProblem', () => {
  it('accepts well-formed lists that fit the run', () => {
    const ok = [
      { thought: 1, kind: 'zero' },
      { thought: 2, kind: 'scale', factor: 0.5 },
      { thought: 3, kind: 'vector', vector: [1, 2], label: 'other#1' },
    ];
    assert.equal(findInterventionProblem(ok, run), undefined);
    assert.equal(findInterventionProblem([{ thought: 1, kind: 'token', token: 'lempus' }], run), undefined);
    assert.equal(findInterventionProblem([], run), undefined);
  });

  it('names the first problem, in order', () => {
    const cases: [unknown, string][] = [
      [{}, 'not-a-list'],
      [[7], 'not-an-object'],
      [[{ thought: 1, kind: 'melt' }], 'unknown-kind'],
      [[{ thought: 1.5, kind: 'zero' }], 'no-such-thought'],
      [[{ thought: 4, kind: 'zero' }], 'no-such-thought'],
      [[{ thought: 0, kind: 'zero' }], 'no-such-thought'],
      [
        [
          { thought: 2, kind: 'zero' },
          { thought: 2, kind: 'scale', factor: 2 },
        ],
        'duplicate',
      ],
      [[{ thought: 1, kind: 'scale', factor: Infinity }], 'bad-factor'],
      [[{ thought: 1, kind: 'scale', factor: '2' }], 'bad-factor'],
      [[{ thought: 1, kind: 'token', token: '  ' }], 'no-token'],
      [[{ thought: 1, kind: 'vector', vector: [1, 2, 3] }], 'vector-length'],
      [[{ thought: 1, kind: 'vector', vector: [1, NaN] }], 'vector-entry'],
      [[{ thought: 1, kind: 'vector', vector: [1, 2], label: 3 }], 'bad-label'],
      // The thought is checked before the kind's fields, as the engine always did.
      [[{ thought: 9, kind: 'scale', factor: 'x' }], 'no-such-thought'],
    ];
    for (const [list, problem] of cases) assert.equal(findInterventionProblem(list, run)?.problem, problem, JSON.stringify(list));
  });

  it('without a run, checks the form only', () => {
    assert.equal(
      findInterventionProblem([
        { thought: 9, kind: 'zero' },
        { thought: 9, kind: 'zero' },
      ]),
      undefined,
    );
    assert.equal(findInterventionProblem([{ thought: 1, kind: 'token', token: '' }]), undefined);
    assert.equal(findInterventionProblem([{ thought: 1, kind: 'vector', vector: [1, 2, 3] }]), undefined);
    assert.equal(findInterventionProblem([{ thought: 1, kind: 'token' }])?.problem, 'no-token');
    assert.equal(findInterventionProblem([{ thought: 1, kind: 'vector', vector: ['a'] }])?.problem, 'vector-entry');
  });
});

describe('the protocol guard for intervene messages', () => {
  it('lets well-formed lists through for the host to check against the run', () => {
    assert.equal(isWebviewToHost({ type: 'intervene', interventions: [{ thought: 7, kind: 'token', token: '' }] }), true);
    assert.equal(isWebviewToHost({ type: 'intervene', interventions: [] }), true);
  });

  it('refuses malformed ones', () => {
    assert.equal(isWebviewToHost({ type: 'intervene' }), false);
    assert.equal(isWebviewToHost({ type: 'intervene', interventions: [{ thought: '1', kind: 'zero' }] }), false);
    assert.equal(isWebviewToHost({ type: 'intervene', interventions: [{ thought: 1, kind: 'scale' }] }), false);
    assert.equal(isWebviewToHost({ type: 'intervene', interventions: [{ thought: 1, kind: 'vector', vector: [1], label: 2 }] }), false);
  });
});

describe('intervention descriptions (one wording for the CLI, the log and the panel)', () => {
  it('describes each kind', () => {
    assert.equal(describeIntervention({ thought: 2, kind: 'zero' }), 'thought 2 zeroed');
    assert.equal(describeIntervention({ thought: 1, kind: 'scale', factor: 0.5 }), 'thought 1 scaled by 0.5');
    assert.equal(describeEdit({ kind: 'token', token: 'lempus' }), 'replaced by the embedding of "lempus"');
    assert.equal(describeEdit({ kind: 'vector', label: 'run.json#2' }), 'replaced by run.json#2');
    assert.equal(describeEdit({ kind: 'vector' }), 'replaced by a given vector');
  });
});
