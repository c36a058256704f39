// Whether a run fits the model before any pass: k within the manifest's thoughts, and the prompt,
// the thought markers, k thoughts and the answer within its context. A run that does not fit fails
// here with what to shorten, not half-way with an onnxruntime index error.
import { thoughtsRangeError } from './analysis/sweep';
import { positionsNeeded } from './coconut';
import { EngineError } from './errors';
import type { Manifest } from './manifest';

export function checkRunFits(m: Manifest, promptTokens: number, k: number, maxNewTokens: number): void {
  const max = m.thoughts.max;
  if (!Number.isInteger(k) || k < 0 || k > max) throw thoughtsRangeError(k, m.name, m.thoughts);
  const limit = m.architecture.n_positions;
  const withBot = promptTokens + 1;
  const need = positionsNeeded(withBot, k, maxNewTokens);
  if (need > limit) {
    const room = limit - (k + 2 + maxNewTokens);
    throw new EngineError(
      'PROMPT_TOO_LONG',
      `the prompt is too long: ${promptTokens} tokens, and with the start-of-thought token, ${k} thoughts, ` +
        `the end-of-thought token and up to ${maxNewTokens} answer tokens the run needs ${need} positions, ` +
        `but the model's context (n_positions) is ${limit}`,
      room > 0
        ? `shorten the question to at most ${room} tokens (${promptTokens - room} fewer), or use fewer thoughts or fewer answer tokens`
        : `use fewer thoughts or fewer answer tokens (they alone need ${k + 2 + maxNewTokens} of ${limit} positions)`,
      { details: { promptTokens, needed: need, limit } },
    );
  }
}
