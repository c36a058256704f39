// The pure ProsQA helpers: graph search (analysis/graph.ts) and the paper's path categories
// (analysis/paths.ts), on hand-built graphs and on the official validation set's own steps.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { ProsQAGraph } from '../../src/shared/types';
import { bfsDistances, bfsLayers, conceptNodes, frontierAt, isCompleteGraph, reachableFrom, shortestPaths } from '../../src/shared/graph';
import { validateGraph } from '../../src/engine/analysis/validate-graph';
import { classifyPath, parseOutput } from '../../src/engine/analysis/paths';
import { EngineError } from '../../src/engine/errors';
import { ROOT, VALID_SET } from './helpers';

// Tom → wumpus → lempus is the shortest path to the target (2 edges); Tom → yumpus → zumpus →
// lempus a longer one; Tom → yumpus → rempus reaches the wrong target; Bob → gorpus → rempus is
// off the root's side entirely.
const G: ProsQAGraph = {
  idx_to_symbol: ['Tom', 'Bob', 'wumpus', 'yumpus', 'zumpus', 'lempus', 'rempus', 'gorpus'],
  edges: [
    [0, 2],
    [0, 3],
    [2, 5],
    [3, 4],
    [4, 5],
    [3, 6],
    [1, 7],
    [7, 6],
  ],
  root: 0,
  target: 5,
  neg_target: 6,
};

function category(text: string, latentSteps = 0) {
  return classifyPath(text, G, { latentSteps }).category;
}

describe('graph helpers', () => {
  it('computes BFS distances, layers, reachability and the frontier', () => {
    assert.deepEqual(bfsDistances(G, 0), [0, null, 1, 1, 2, 2, 2, null]);
    assert.deepEqual(bfsLayers(G, 0), [[0], [2, 3], [4, 5, 6]]);
    assert.deepEqual(reachableFrom(G, 0), [0, 2, 3, 4, 5, 6]);
    assert.deepEqual(reachableFrom(G, 1), [1, 6, 7]);
    assert.deepEqual(frontierAt(G, 0), [0]);
    assert.deepEqual(frontierAt(G, 1), [2, 3]);
    assert.deepEqual(frontierAt(G, 5), []);
  });

  it('lists every shortest path, and none to an unreachable node', () => {
    assert.deepEqual(shortestPaths(G, 0, 5), [[0, 2, 5]]);
    assert.deepEqual(shortestPaths(G, 0, 7), []);
    const twoWays: ProsQAGraph = { ...G, edges: [...G.edges, [2, 4], [0, 4]] };
    // Tom → zumpus → lempus and Tom → wumpus → lempus are both 2 edges.
    assert.deepEqual(shortestPaths(twoWays, 0, 5).sort(), [
      [0, 2, 5],
      [0, 4, 5],
    ]);
  });

  it('picks the concept nodes (those with a parent), leaving names out', () => {
    assert.deepEqual(conceptNodes(G), [2, 3, 4, 5, 6, 7]);
  });

  it('validates graphs with messages that name the field', () => {
    assert.equal(validateGraph(G), G);
    assert.ok(isCompleteGraph(G));
    assert.ok(!isCompleteGraph({ idx_to_symbol: ['a'], edges: [] }));
    const bad: [unknown, RegExp][] = [
      [null, /not an object/],
      [{ ...G, idx_to_symbol: [] }, /idx_to_symbol/],
      [{ ...G, edges: [[0, 9]] }, /edge 0 \(\[0,9\]\) is not a pair of node indices from 0 to 7/],
      [{ ...G, root: 8 }, /"root" must be a node index from 0 to 7, got 8/],
      [{ ...G, target: undefined }, /"target"/],
    ];
    for (const [g, re] of bad) {
      assert.throws(
        () => validateGraph(g),
        (e: EngineError) => e.code === 'PROMPT_MALFORMED' && re.test(e.message) && e.fix.length > 10,
      );
    }
  });
});

describe('ProsQA path categories', () => {
  it('parses steps and the answer, in raw and in decoded (spaced) text', () => {
    const p = parseOutput('Tom is a wumpus. \n Every wumpus is a lempus. \n ### Tom is a lempus.');
    assert.deepEqual(
      p.steps.map((s) => [s.subject, s.object]),
      [
        ['Tom', 'wumpus'],
        ['wumpus', 'lempus'],
      ],
    );
    assert.equal(p.answer, 'Tom is a lempus.');
    assert.equal(p.answerObject, 'lempus');
    assert.deepEqual(parseOutput('<|end-latent|> ### Tom is a rempus .').steps, []);
  });

  it('correct_path: a shortest path from the root to the target', () => {
    assert.equal(category('Tom is a wumpus.\nEvery wumpus is a lempus.\n### Tom is a lempus.'), 'correct_path');
    assert.equal(category('Tom is a wumpus. \n Every wumpus is a lempus. \n ### Tom is a lempus.'), 'correct_path');
  });

  it('longer_path: a valid path to the target, longer than the shortest', () => {
    const j = classifyPath('Tom is a yumpus.\nEvery yumpus is a zumpus.\nEvery zumpus is a lempus.\n### Tom is a lempus.', G);
    assert.equal(j.category, 'longer_path');
    assert.deepEqual(j.path, [0, 3, 4, 5]);
    assert.match(j.reason, /3 edges .* shortest has 2/);
  });

  it('hallucination: a missing edge, a disconnected chain, an unknown name, a stray sentence', () => {
    const cases: [string, RegExp][] = [
      ['Tom is a zumpus.\nEvery zumpus is a lempus.\n### Tom is a lempus.', /no edge Tom → zumpus/],
      ['Tom is a wumpus.\nEvery zumpus is a lempus.\n### Tom is a lempus.', /disconnected/],
      ['Tom is a wumpus.\nEvery wumpus is a blorpus.\n### Tom is a blorpus.', /blorpus, which is not in the graph/],
      ['Tom wumpus lempus\n### Tom is a lempus.', /not an "X is a Y" statement/],
      // Without latent steps a path must start at the entity asked about.
      ['Every wumpus is a lempus.\n### Tom is a lempus.', /starts at wumpus, not at Tom/],
      // After latent steps it may start lower, but only where the root can reach.
      ['Every gorpus is a rempus.\n### Tom is a rempus.', /Tom cannot reach/],
    ];
    for (const [i, [text, re]] of cases.entries()) {
      const j = classifyPath(text, G, { latentSteps: i === cases.length - 1 ? 2 : 0 });
      assert.equal(j.category, 'hallucination', text);
      assert.match(j.reason, re, text);
    }
  });

  it('wrong_target: a valid path that ends elsewhere', () => {
    assert.equal(category('Tom is a yumpus.\nEvery yumpus is a rempus.\n### Tom is a rempus.'), 'wrong_target');
    // A path cut short (max new tokens) ends at an intermediate node: also not the target.
    assert.equal(category('Tom is a yumpus.\nEvery yumpus is a zumpus.'), 'wrong_target');
  });

  it('continues a latent prefix: the language path may start where the thoughts left off', () => {
    assert.equal(category('Every wumpus is a lempus.\n### Tom is a lempus.', 1), 'correct_path');
    assert.equal(category('Every zumpus is a lempus.\n### Tom is a lempus.', 2), 'longer_path');
  });

  it('correct_label / incorrect_label when only an answer is produced', () => {
    assert.equal(category('### Tom is a lempus.'), 'correct_label');
    assert.equal(category('<|end-latent|> ### Tom is a lempus .'), 'correct_label');
    assert.equal(category('### Tom is a rempus.'), 'incorrect_label');
    assert.equal(category('### Bob is a lempus.'), 'incorrect_label');
    assert.equal(category('### Tom is a blorpus.'), 'incorrect_label');
    assert.equal(category(''), 'incorrect_label');
  });

  it('the official validation set: every reference output is a correct path, every bare answer a correct label', () => {
    const file = fs.existsSync(VALID_SET) ? VALID_SET : path.join(ROOT, 'test', 'fixtures', 'prosqa_sample.json');
    const records = JSON.parse(fs.readFileSync(file, 'utf-8'));
    assert.ok(records.length >= 5);
    for (const [i, r] of records.entries()) {
      const text = r.steps.join('\n') + '\n### ' + r.answer;
      assert.equal(classifyPath(text, r).category, 'correct_path', `record ${i}`);
      assert.equal(classifyPath('### ' + r.answer, r).category, 'correct_label', `record ${i}`);
      // With the first step done in latent space, the rest is still a shortest path.
      const rest = r.steps.slice(1).join('\n') + '\n### ' + r.answer;
      assert.equal(classifyPath(rest, r, { latentSteps: 1 }).category, r.steps.length > 1 ? 'correct_path' : 'correct_label', `record ${i}`);
    }
  });
});
