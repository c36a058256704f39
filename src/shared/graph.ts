// ProsQA graphs as pure functions: adjacency, reachability, BFS layers and shortest paths. Shared
// because the webview draws the frontier the engine scores; validation, which raises engine errors,
// lives in src/engine/analysis/validate-graph.ts. Edges point from a node to its parent concept
// ("Every X is a Y": X → Y), so the search starts at the root (the entity asked about) and walks
// towards the candidate concepts.
import type { ProsQAGraph } from './types';

/** A graph as records may carry it: the root and targets can be missing in hand-written files. */
export interface GraphLike {
  idx_to_symbol: string[];
  edges: [number, number][];
  root?: number;
  target?: number;
  neg_target?: number;
}

/** True when the record has every field the analyses need (root and target included). */
export function isCompleteGraph(g: GraphLike | undefined): g is ProsQAGraph {
  return (
    g !== undefined &&
    Array.isArray(g.idx_to_symbol) &&
    Array.isArray(g.edges) &&
    Number.isInteger(g.root) &&
    Number.isInteger(g.target) &&
    Number.isInteger(g.neg_target)
  );
}

/** children[i]: the nodes i has an edge to, in edge order. */
export function adjacency(g: GraphLike): number[][] {
  const out: number[][] = g.idx_to_symbol.map(() => []);
  for (const [a, b] of g.edges) if (!out[a].includes(b)) out[a].push(b);
  return out;
}

export function hasEdge(g: GraphLike, from: number, to: number): boolean {
  return g.edges.some(([a, b]) => a === from && b === to);
}

/** Number of edges into each node. */
export function inDegrees(g: GraphLike): number[] {
  const d = g.idx_to_symbol.map(() => 0);
  for (const [, b] of g.edges) d[b]++;
  return d;
}

/**
 * Concept nodes: those with a parent edge into them. In ProsQA the parentless nodes carry person
 * names and the rest concept names, so these are the nodes "Every X" can name.
 */
export function conceptNodes(g: GraphLike): number[] {
  const d = inDegrees(g);
  return d.flatMap((n, i) => (n > 0 && i !== g.root ? [i] : []));
}

/** BFS distance (edges) from `from` to every node; null where unreachable. */
export function bfsDistances(g: GraphLike, from: number): (number | null)[] {
  const adj = adjacency(g);
  const dist: (number | null)[] = g.idx_to_symbol.map(() => null);
  dist[from] = 0;
  const queue = [from];
  for (let head = 0; head < queue.length; head++) {
    const u = queue[head];
    for (const v of adj[u]) {
      if (dist[v] === null) {
        dist[v] = dist[u]! + 1;
        queue.push(v);
      }
    }
  }
  return dist;
}

/** The nodes reachable from `from` (itself included), ascending. */
export function reachableFrom(g: GraphLike, from: number): number[] {
  return bfsDistances(g, from).flatMap((d, i) => (d === null ? [] : [i]));
}

/** layers[d]: the nodes at BFS distance d from `from`, ascending. */
export function bfsLayers(g: GraphLike, from: number): number[][] {
  const layers: number[][] = [];
  bfsDistances(g, from).forEach((d, i) => {
    if (d === null) return;
    while (layers.length <= d) layers.push([]);
    layers[d].push(i);
  });
  return layers;
}

/** The search frontier after `depth` thoughts: nodes at BFS distance `depth` from the root. */
export function frontierAt(g: ProsQAGraph, depth: number): number[] {
  return bfsLayers(g, g.root)[depth] ?? [];
}

/**
 * Every shortest path from `from` to `to` as node lists (both ends included), in a stable order;
 * empty when `to` is unreachable. At most `limit` paths (ProsQA has 1-2 on average).
 */
export function shortestPaths(g: GraphLike, from: number, to: number, limit = 1000): number[][] {
  const dist = bfsDistances(g, from);
  if (dist[to] === null) return [];
  // Distances to `to` over reversed edges: a node is on a shortest path iff the two sum to d(from, to).
  const reversed: GraphLike = { idx_to_symbol: g.idx_to_symbol, edges: g.edges.map(([a, b]) => [b, a]) };
  const back = bfsDistances(reversed, to);
  const adj = adjacency(g);
  const paths: number[][] = [];
  const walk = (node: number, path: number[]) => {
    if (paths.length >= limit) return;
    if (node === to) {
      paths.push(path);
      return;
    }
    for (const next of adj[node]) {
      if (dist[next] === dist[node]! + 1 && back[next] !== null && back[next] === back[node]! - 1) walk(next, [...path, next]);
    }
  };
  walk(from, [from]);
  return paths;
}

/** Index of each symbol (the first one, if a name repeats). */
export function symbolIndex(g: GraphLike): Map<string, number> {
  const m = new Map<string, number>();
  g.idx_to_symbol.forEach((s, i) => {
    if (!m.has(s)) m.set(s, i);
  });
  return m;
}
