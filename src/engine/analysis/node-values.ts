// The paper's latent-search analysis: after t thoughts, switch to language mode (eot) and force
// "Every"; the value of a concept node is the probability the model gives its name next (product
// of the conditional probabilities of its tokens). Runs as a branch off the main loop's cache.
// Models trained with a frontier loss on the thoughts write no language steps after eot; for them
// (coconut.json node_values.source "thought") the value is the concept's probability in thought
// t's own decoded distribution, which is what that loss trains toward the frontier.
import type { ProsQAGraph, ThoughtNodeValues } from '../../shared/types';
import type { Decoder } from '../decoder';
import { softmax } from '../decode';
import { EngineError, throwIfAborted } from '../errors';
import type { ModelTokenizer } from '../tokenizer';
import { bfsDistances, conceptNodes } from '../../shared/graph';

export const NODE_VALUE_CUE = 'Every';

export type NodeValueSource = { source: 'cue'; cue: string } | { source: 'thought' };

export interface NodeValuePlan {
  source: 'cue' | 'thought';
  cueIds: number[];
  concepts: { node: number; symbol: string; ids: number[] }[];
  depth: (number | null)[];
}

function encodeOrExplain(tok: ModelTokenizer, text: string, what: string): number[] {
  try {
    return tok.encode(text).ids;
  } catch (e) {
    if (e instanceof EngineError && e.code === 'PROMPT_OOV') {
      throw new EngineError(
        'PROMPT_OOV',
        `${what}: ${e.message.replace(/^the prompt has /, 'it has ')}`,
        'node values need the ProsQA sentence format ("Every X is a Y") and concept names the model knows; use a graph whose names are in the model vocabulary',
        e.details ? { details: e.details } : undefined,
      );
    }
    throw e;
  }
}

/** Tokenizes the cue and every concept name once per graph, in the context the model sees them. */
export function planNodeValues(graph: ProsQAGraph, tok: ModelTokenizer, how: NodeValueSource = { source: 'cue', cue: NODE_VALUE_CUE }): NodeValuePlan {
  const depth = bfsDistances(graph, graph.root);
  if (how.source === 'thought') {
    const concepts = conceptNodes(graph).map((node) => {
      const symbol = graph.idx_to_symbol[node];
      return { node, symbol, ids: encodeOrExplain(tok, symbol, `graph node ${node} (${symbol})`) };
    });
    return { source: 'thought', cueIds: [], concepts, depth };
  }
  const cue = how.cue;
  const cueIds = encodeOrExplain(tok, cue, `the node-value cue "${cue}"`);
  const concepts = conceptNodes(graph).map((node) => {
    const symbol = graph.idx_to_symbol[node];
    // Encoded after the cue so that subword tokenizers see the leading space they would see.
    const inContext = encodeOrExplain(tok, `${cue} ${symbol}`, `graph node ${node} (${symbol})`);
    const prefixMatches = cueIds.every((id, i) => inContext[i] === id);
    const ids = prefixMatches ? inContext.slice(cueIds.length) : encodeOrExplain(tok, symbol, `graph node ${node} (${symbol})`);
    return { node, symbol, ids };
  });
  return { source: 'cue', cueIds, concepts, depth };
}

/**
 * Node values read off thought t's decoded distribution (source "thought"): p of the name's first
 * token, which is the whole name for whole-word vocabularies such as ProsQA's.
 */
export function nodeValuesFromThought(plan: NodeValuePlan, t: number, logits: Float32Array): ThoughtNodeValues {
  const probs = softmax(logits).probs;
  const values: ThoughtNodeValues['values'] = plan.concepts.map((c) => {
    const depth = plan.depth[c.node];
    return { node: c.node, symbol: c.symbol, p: c.ids.length > 0 ? probs[c.ids[0]] : 0, depth, frontier: depth === t };
  });
  return { thought: t, source: 'thought', values };
}

/**
 * Node values with t thoughts in the cache. Feeds eot and the cue in one pass; names of several
 * tokens get one more pass per extra token, each from the cache after the cue. Leaves the cache
 * wherever it ends: the caller restores it.
 */
export async function nodeValuesAt(dec: Decoder, plan: NodeValuePlan, t: number, eotId: number, signal?: AbortSignal): Promise<ThoughtNodeValues> {
  const out = await dec.step(dec.embed([eotId, ...plan.cueIds]));
  const first = softmax(out.logits).probs;
  const afterCue = dec.snapshot();
  const values: ThoughtNodeValues['values'] = [];
  for (const c of plan.concepts) {
    let p = c.ids.length > 0 ? first[c.ids[0]] : 0;
    if (c.ids.length > 1) {
      dec.restore(afterCue);
      for (let i = 1; i < c.ids.length && p > 0; i++) {
        throwIfAborted(signal);
        const next = await dec.step(dec.embed([c.ids[i - 1]]));
        p *= softmax(next.logits).probs[c.ids[i]];
      }
    }
    const depth = plan.depth[c.node];
    values.push({ node: c.node, symbol: c.symbol, p, depth, frontier: depth === t });
  }
  return { thought: t, source: 'cue', values };
}
