// What the engine tells its callers about a loaded model: the manifest's facts and how its session
// came to be (provider, threads, and what was measured to choose them).
import type { ModelDir } from './model-dir';
import type { CreatedSession } from './session';
import type { ModelInfo } from '../shared/types';

export function modelInfo(model: ModelDir, created: CreatedSession): ModelInfo {
  const m = model.manifest;
  const a = m.architecture;
  const info: ModelInfo = {
    name: m.name,
    dir: model.dir,
    architecture: { family: a.family, n_layer: a.n_layer, n_head: a.n_head, n_embd: a.n_embd, vocab_size: a.vocab_size, n_positions: a.n_positions },
    thoughts: { ...m.thoughts },
    maxNewTokens: m.generation.max_new_tokens,
    answerMarker: m.prompt.answer_marker,
    provider: created.provider,
    threads: created.threads,
  };
  if (created.providerNotice) info.providerNotice = created.providerNotice;
  if (created.choice) {
    info.providerChoice = { source: created.choice.source, measuredMs: created.choice.measuredMs, failed: created.choice.failed };
  }
  if (created.threadChoice) info.threadChoice = { source: created.threadChoice.source, measuredMs: created.threadChoice.measuredMs };
  return info;
}
