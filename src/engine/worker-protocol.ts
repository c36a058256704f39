// The messages between EngineClient (extension host, CLI) and the engine worker thread. Every
// request but shutdown carries an id; the worker answers each with exactly one `ok` or `error`
// for that id, and may send `progress` for a run before that.
import type {
  AnalysisProgress,
  AttributionEntry,
  DatasetResult,
  EvalOptions,
  EvalRecord,
  InspectProgress,
  InspectRequest,
  InspectResult,
  InterventionResult,
  ModelInfo,
  ProviderSetting,
  SweepOptions,
  SweepResult,
} from '../shared/types';
import type { EngineErrorData } from './errors';

export interface LoadParams {
  modelDir: string;
  provider: ProviderSetting;
  threads?: number;
  isDefault?: boolean;
}

/** Runs: one at a time per worker; each can be cancelled by its id. */
export type RunMessage =
  | { kind: 'inspect'; id: number; request: InspectRequest }
  | { kind: 'intervene'; id: number; request: InspectRequest }
  | { kind: 'sweep'; id: number; request: InspectRequest; options: SweepOptions }
  | { kind: 'attribution'; id: number; request: InspectRequest }
  | { kind: 'eval'; id: number; records: EvalRecord[]; options: EvalOptions & { maxNewTokens?: number } };

export type HostToWorker =
  | { kind: 'load'; id: number; params: LoadParams }
  | RunMessage
  /** Cancels the run with this id; a no-op when it already finished. */
  | { kind: 'cancel'; id: number }
  /** Cancels any run, waits for the pass in flight, releases the model and ends the thread. */
  | { kind: 'shutdown' };

/** The messages that carry an id and get exactly one answer. */
export type WorkerRequest = Exclude<HostToWorker, { kind: 'shutdown' }>;

export type RunValue = InspectResult | InterventionResult | SweepResult | AttributionEntry[] | DatasetResult;

export type WorkerToHost =
  | { kind: 'ok'; id: number; value: ModelInfo | RunValue }
  | { kind: 'error'; id: number; error: EngineErrorData }
  | { kind: 'progress'; id: number; progress: InspectProgress | AnalysisProgress }
  /** Something the host should log that no answer carries (LoadOptions.onNotice); no id, no answer. */
  | { kind: 'notice'; message: string };

export const BUSY_MESSAGE = 'a run is already in progress; cancel it or wait';
