// The one error type the engine, the prompt parser and the CLI raise for anything a user can fix.
// It crosses the worker boundary as plain data ({code, message, fix}) and is rebuilt on the host.
import type { EngineErrorCode } from '../shared/types';

export interface EngineErrorData {
  code: EngineErrorCode;
  message: string;
  fix: string;
  /** Structured facts for UIs, e.g. the unknown words of PROMPT_OOV with their offsets. */
  details?: Record<string, unknown>;
}

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  /** One sentence telling the user what to do about it. */
  readonly fix: string;
  readonly details?: Record<string, unknown>;

  constructor(code: EngineErrorCode, message: string, fix: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EngineError';
    this.code = code;
    this.fix = fix;
    if (options?.details) this.details = options.details;
  }

  toJSON(): EngineErrorData {
    const data: EngineErrorData = { code: this.code, message: this.message, fix: this.fix };
    if (this.details) data.details = this.details;
    return data;
  }

  static fromData(data: EngineErrorData): EngineError {
    return new EngineError(data.code, data.message, data.fix, data.details ? { details: data.details } : undefined);
  }
}

export function isLensError(e: unknown): e is EngineError {
  return e instanceof EngineError;
}

/** Anything that is not already a EngineError is a bug in the engine, reported as INTERNAL. */
export function toLensError(e: unknown): EngineError {
  if (e instanceof EngineError) return e;
  const detail = e instanceof Error ? e.message : String(e);
  return new EngineError(
    'INTERNAL',
    `internal error: ${detail}`,
    'this is a bug in Coconut Lens; please report it with the model folder and the prompt that triggered it',
    { cause: e },
  );
}

export function cancelledError(): EngineError {
  return new EngineError('CANCELLED', 'the run was cancelled', 'start the run again when you need it');
}

/** What a run reads between passes to know it was cancelled: an AbortSignal, or a batch lane's flag. */
export type Cancellation = Pick<AbortSignal, 'aborted'>;

/** Throws CANCELLED when the signal has fired; called between forward passes. */
export function throwIfAborted(signal: Cancellation | undefined): void {
  if (signal?.aborted) throw cancelledError();
}
