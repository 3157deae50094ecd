/**
 * Every failure a user can cause or see has a named class with a stable machine code and the
 * HTTP status it maps to. One place (`toErrorResponse`) turns them into responses; job records
 * store `code` and `message`.
 */
export class StemSplitterError extends Error {
  readonly code: string = 'INTERNAL';
  readonly status: number = 500;
  /** True when retrying the same input could succeed (network, throttling, crashes). */
  readonly retryable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The input is not something we can separate: bad bytes, no audio, too long, ... */
export class InvalidAudioError extends StemSplitterError {
  override readonly code: string = 'INVALID_AUDIO';
  override readonly status: number = 422;
}
export class EmptyInputError extends InvalidAudioError {
  override readonly code = 'EMPTY_INPUT';
}
export class NotAudioError extends InvalidAudioError {
  override readonly code = 'NOT_AUDIO';
}
export class NoAudioSamplesError extends InvalidAudioError {
  override readonly code = 'NO_SAMPLES';
}
export class TruncatedAudioError extends InvalidAudioError {
  override readonly code = 'TRUNCATED_AUDIO';
}
export class TooLongError extends InvalidAudioError {
  override readonly code = 'TOO_LONG';
  override readonly status = 413;
}

/** The job would not finish within the function's time or memory: refused before the heavy work. */
export class ExceedsLimitsError extends StemSplitterError {
  override readonly code = 'EXCEEDS_LIMITS';
  override readonly status = 413;
}

/** A request that does not make sense (unknown model, stem or format, bad option value). */
export class InvalidRequestError extends StemSplitterError {
  override readonly code: string = 'INVALID_REQUEST';
  override readonly status: number = 400;
}

export class ModelNotFoundError extends StemSplitterError {
  override readonly code = 'MODEL_NOT_FOUND';
  override readonly status = 404;
}

/** A model's files are missing, corrupt or do not honour the declared I/O contract. */
export class ModelLoadError extends StemSplitterError {
  override readonly code = 'MODEL_LOAD_FAILED';
}

export class ToolMissingError extends StemSplitterError {
  override readonly code = 'TOOL_MISSING';
}

/**
 * Another worker holds the job under a live lease. Not a success: the delivery goes back to the
 * queue (or is retried by Lambda) and comes again after the lease.
 */
export class LeaseHeldError extends StemSplitterError {
  override readonly code = 'LEASE_HELD';
  override readonly status = 409;
  override readonly retryable = true;
}

/** Every attempt the retry policy allows was used (or the upload reached the dead-letter queue). */
export const ATTEMPTS_EXHAUSTED = 'ATTEMPTS_EXHAUSTED';
/** A worker's lease ran out without it recording an outcome: it timed out, ran out of memory or crashed. */
export const WORKER_LOST = 'WORKER_LOST';

export class JobNotFoundError extends StemSplitterError {
  override readonly code = 'JOB_NOT_FOUND';
  override readonly status = 404;
}

/** Anything unexpected; keeps the original error as `cause`. */
export function asStemSplitterError(err: unknown): StemSplitterError {
  if (err instanceof StemSplitterError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StemSplitterError(message, { cause: err });
}
