/**
 * Every failure a user can cause or see has a named class with a stable machine code (listed in
 * layers/contracts/errors.ts) and the HTTP status it maps to. One place
 * (layers/http/responses.ts `errorResponse`) turns them into responses; job records store `code`
 * and `message`.
 */
import type { ErrorCode } from '../contracts/errors.js';

export class StemSplitterError extends Error {
  readonly code: ErrorCode = 'INTERNAL';
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
  override readonly code: ErrorCode = 'INVALID_AUDIO';
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

/** The source's sample rate is above what is accepted (STEMS_MAX_SOURCE_RATE). */
export class SourceRateTooHighError extends InvalidAudioError {
  override readonly code = 'SOURCE_RATE_TOO_HIGH';
}

/** The projected results (stems + zip) are over the per-job cap (STEMS_MAX_OUTPUT_BYTES). */
export class OutputTooLargeError extends StemSplitterError {
  override readonly code = 'OUTPUT_TOO_LARGE';
  override readonly status = 413;
}

/** The projected stems would not fit in the function's ephemeral storage (/tmp). */
export class ExceedsStorageError extends StemSplitterError {
  override readonly code = 'EXCEEDS_STORAGE';
  override readonly status = 413;
}

/** The job would not finish within the function's time or memory: refused before the heavy work. */
export class ExceedsLimitsError extends StemSplitterError {
  override readonly code = 'EXCEEDS_LIMITS';
  override readonly status = 413;
}

/** A request that does not make sense (unknown model, stem or format, bad option value). */
export class InvalidRequestError extends StemSplitterError {
  override readonly code: ErrorCode = 'INVALID_REQUEST';
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

/** A request that did not come the way the deployment requires (e.g. around the API's front door). */
export class ForbiddenError extends StemSplitterError {
  override readonly code = 'FORBIDDEN';
  override readonly status = 403;
}

/** A server could not be reached (offline, wrong address, nothing listening); names the URL and why. */
export class NetworkError extends StemSplitterError {
  override readonly code = 'NETWORK';
  override readonly status = 502;
  override readonly retryable = true;
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
export const ATTEMPTS_EXHAUSTED: ErrorCode = 'ATTEMPTS_EXHAUSTED';
/** A worker's lease ran out without it recording an outcome: it timed out, ran out of memory or crashed. */
export const WORKER_LOST: ErrorCode = 'WORKER_LOST';

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

/** What a client may see of an error: ours say what to fix; internal ones (paths, stderr, EPIPE) only that they happened. */
export const INTERNAL_MESSAGE = 'internal error; the details are in the service logs';

export function clientMessage(e: StemSplitterError): string {
  return e.status >= 500 ? INTERNAL_MESSAGE : e.message;
}

/** Everything an operator needs from an error, for the logs only (message, cause chain, stack). */
export function logDetail(err: unknown): Record<string, unknown> {
  const e = err as Error & { cause?: unknown };
  const cause = e?.cause instanceof Error ? e.cause.message.slice(0, 4000) : undefined;
  return { error: e?.message ?? String(err), cause, stack: e?.stack };
}
