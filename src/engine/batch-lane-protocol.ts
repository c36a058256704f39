// What passes between the engine and one batch lane (batch-lanes.ts, batch-lane-main.ts): the
// lane's setup as workerData, then one request and one reply per batch.
import type { BatchAnswer } from './analysis/batch-runner';
import type { EngineErrorData } from './errors';
import type { Manifest } from './manifest';
import type { Probe } from './model-dir';

export interface LaneSetup {
  /** decoder.onnx as the engine loaded and checked it; `path` only names it in errors. */
  decoder: { path: string; bytes: Uint8Array };
  manifest: Manifest;
  probe: Probe;
  /** BatchDecoder's prefillPassScores: a lane runs one thread, where prefill in groups of rows pays past a size. */
  prefillPassScores: number;
  /** Int32 [0]: set to 1 by the engine to cancel the batch running; read between passes. */
  cancel: SharedArrayBuffer;
}

export interface LaneRequest {
  id: number;
  prompts: number[][];
  ks: number[];
  maxNewTokens: number;
}

export type LaneReply =
  | { kind: 'ready' }
  | { kind: 'failed'; error: EngineErrorData }
  | { kind: 'answers'; id: number; answers: BatchAnswer[] }
  | { kind: 'error'; id: number; error: EngineErrorData };
