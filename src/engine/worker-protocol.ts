// The messages between EngineClient (extension host, CLI) and the engine worker thread. Every
// request carries an id; the worker answers each with exactly one `ok` or `error` for that id,
// and may send `progress` for an inspect before that.
import type { LensErrorData } from './errors';
import type { InspectProgress, InspectRequest, InspectResult, ModelInfo, ProviderSetting } from './types';

export interface LoadParams {
  modelDir: string;
  provider: ProviderSetting;
  threads?: number;
  isDefault?: boolean;
}

export type HostToWorker =
  | { kind: 'load'; id: number; params: LoadParams }
  | { kind: 'inspect'; id: number; request: InspectRequest }
  /** Cancels the inspect with this id; a no-op when it already finished. */
  | { kind: 'cancel'; id: number };

export type WorkerToHost =
  | { kind: 'ok'; id: number; value: ModelInfo | InspectResult }
  | { kind: 'error'; id: number; error: LensErrorData }
  | { kind: 'progress'; id: number; progress: InspectProgress };

export const BUSY_MESSAGE = 'a run is already in progress; cancel it or wait';
