// Sessions made after a model was loaded (the thought loop's at the engine's second run, a
// dataset's batch lanes' at its first batch) read decoder.onnx again, minutes or hours later. A
// re-export into the same folder in between (training/export.py --out the loaded folder) would
// give them another model than the one the engine loaded and checked, and a run would then mix the
// two without a word. So they read it through here: the bytes a later session is made from must
// hash to the manifest's sha256, as the loaded file did (model-dir.ts). Hashing is ~2.5 ms for the
// shipped model; the lanes take decoders up to 1/16 of the memory (batch-lanes.ts).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from './errors';
import type { ModelSource } from './session';

const RELOAD = 'run the command again: it loads the model from the files now in its folder (the extension reloads a model whose files changed)';

/** decoder.onnx as it is now, if it is still the file the model was loaded from (its manifest's `sha256`). */
export async function readLoadedDecoder(file: string, sha256: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    throw new EngineError('MODEL_FILE_MISSING', `${path.basename(file)} cannot be read since the model was loaded (${(e as Error).message})`, RELOAD, {
      cause: e,
    });
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) {
    throw new EngineError(
      'MODEL_CHECKSUM',
      `${path.basename(file)} changed since the model was loaded: its sha256 is now ${actual}, the loaded one was ${sha256}`,
      RELOAD,
      { details: { file, expected: sha256, actual } },
    );
  }
  return bytes;
}

/** The whole decoder file as a session source that reads it through readLoadedDecoder. */
export function loadedDecoder(file: string, sha256: string): Exclude<ModelSource, string> {
  return { path: file, bytes: () => readLoadedDecoder(file, sha256) };
}
