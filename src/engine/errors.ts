// The one error type the engine, the prompt parser and the CLI raise for anything a user can fix.
// It crosses the worker boundary as plain data ({code, message, fix}) and is rebuilt on the host.
import type { LensErrorCode } from '../shared/types';

export interface LensErrorData {
  code: LensErrorCode;
  message: string;
  fix: string;
  /** Structured facts for UIs, e.g. the unknown words of PROMPT_OOV with their offsets. */
  details?: Record<string, unknown>;
}

export class LensError extends Error {
  readonly code: LensErrorCode;
  /** One sentence telling the user what to do about it. */
  readonly fix: string;
  readonly details?: Record<string, unknown>;

  constructor(code: LensErrorCode, message: string, fix: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LensError';
    this.code = code;
    this.fix = fix;
    if (options?.details) this.details = options.details;
  }

  toJSON(): LensErrorData {
    const data: LensErrorData = { code: this.code, message: this.message, fix: this.fix };
    if (this.details) data.details = this.details;
    return data;
  }

  static fromData(data: LensErrorData): LensError {
    return new LensError(data.code, data.message, data.fix, data.details ? { details: data.details } : undefined);
  }
}

export function isLensError(e: unknown): e is LensError {
  return e instanceof LensError;
}

/** Anything that is not already a LensError is a bug in the engine, reported as INTERNAL. */
export function toLensError(e: unknown): LensError {
  if (e instanceof LensError) return e;
  const detail = e instanceof Error ? e.message : String(e);
  return new LensError(
    'INTERNAL',
    `internal error: ${detail}`,
    'this is a bug in Coconut Lens; please report it with the model folder and the prompt that triggered it',
    { cause: e },
  );
}

export function cancelledError(): LensError {
  return new LensError('CANCELLED', 'the run was cancelled', 'start the run again when you need it');
}

/** Throws CANCELLED when the signal has fired; called between forward passes. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelledError();
}
