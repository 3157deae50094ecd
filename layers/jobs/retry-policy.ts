/**
 * The one retry policy of separations. Two settings — how many attempts an upload gets and the
 * separate function's timeout — and everything else derived from them, so the stack (queue
 * visibility timeout, maxReceiveCount), the code (leases, when `retrying` becomes `failed`) and the
 * local stack's queue emulation cannot disagree. Tests scale the whole policy, never one value.
 */
import { ENV, readPositiveNumber } from '../core/env.js';

export interface RetryPolicy {
  /** Deliveries of one upload before it is dead-lettered: SQS maxReceiveCount, and the attempts the code allows. */
  readonly maxAttempts: number;
  /** The separate function's timeout (Lambda stops an invocation there). */
  readonly functionTimeoutSeconds: number;
  /** Added to an invocation's deadline before another worker may take its job over (clock skew between workers). */
  readonly leaseMarginSeconds: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 3, functionTimeoutSeconds: 900, leaseMarginSeconds: 10 };

/**
 * AWS: set the source queue's visibility timeout to at least six times the function timeout, so
 * a throttled batch can be retried before the message reappears. It is also the retry delay: a
 * message whose invocation failed (error, timeout, crash, lease held) comes back after it.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

export function visibilityTimeoutSeconds(p: RetryPolicy): number {
  return VISIBILITY_TIMEOUT_FACTOR * p.functionTimeoutSeconds;
}

/** The dead-letter function only rewrites a record and deletes results: 30 s, or less when separate itself has less. */
export function deadLetterTimeoutSeconds(p: RetryPolicy): number {
  return Math.min(30, p.functionTimeoutSeconds);
}

/** A worker owns its job until its invocation cannot run any more, plus the skew margin. */
export function leaseUntil(deadlineMs: number, p: RetryPolicy): number {
  return deadlineMs + p.leaseMarginSeconds * 1000;
}

/**
 * A fanned-out job is held until every segment could have used all its deliveries (each comes back
 * after the visibility timeout) and the stitch its own; the dead-letter function ends it sooner
 * when a segment runs out of attempts.
 */
export function fanoutLeaseUntil(nowMs: number, p: RetryPolicy): number {
  return nowMs + (p.maxAttempts * visibilityTimeoutSeconds(p) + 2 * p.functionTimeoutSeconds + p.leaseMarginSeconds) * 1000;
}

/** True when no further delivery will come after this attempt (1-based). */
export function isLastAttempt(attempt: number, p: RetryPolicy): boolean {
  return attempt >= p.maxAttempts;
}

/** The same policy with every duration multiplied by `factor` (tests run production-shaped timing, faster). */
export function scaleRetryPolicy(p: RetryPolicy, factor: number): RetryPolicy {
  return { ...p, functionTimeoutSeconds: p.functionTimeoutSeconds * factor, leaseMarginSeconds: p.leaseMarginSeconds * factor };
}

/** What the functions are told (the stack and the local stack set these from the same policy). */
export function retryPolicyEnv(p: RetryPolicy): Record<string, string> {
  return {
    [ENV.maxAttempts]: String(p.maxAttempts),
    [ENV.functionTimeoutSeconds]: String(p.functionTimeoutSeconds),
    [ENV.leaseMarginSeconds]: String(p.leaseMarginSeconds),
  };
}

export function retryPolicyFromEnv(env: Record<string, string | undefined> = process.env): RetryPolicy {
  const d = DEFAULT_RETRY_POLICY;
  const maxAttempts = readPositiveNumber(ENV.maxAttempts, d.maxAttempts, env);
  if (!Number.isInteger(maxAttempts)) throw new Error(`${ENV.maxAttempts} must be a whole number, got ${maxAttempts}`);
  return {
    maxAttempts,
    functionTimeoutSeconds: readPositiveNumber(ENV.functionTimeoutSeconds, d.functionTimeoutSeconds, env),
    leaseMarginSeconds: readPositiveNumber(ENV.leaseMarginSeconds, d.leaseMarginSeconds, env),
  };
}

/** Checks a policy for what SQS and Lambda accept (maxReceiveCount 1-1000, visibility ≤ 12 h). */
export function validateRetryPolicy(p: RetryPolicy): RetryPolicy {
  if (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 1 || p.maxAttempts > 1000) throw new Error(`maxAttempts must be a whole number from 1 to 1000, got ${p.maxAttempts}`);
  if (visibilityTimeoutSeconds(p) > 43_200) throw new Error(`a function timeout of ${p.functionTimeoutSeconds} s needs a queue visibility timeout above SQS's 12 hours`);
  if (p.leaseMarginSeconds >= p.functionTimeoutSeconds) throw new Error('the lease margin must be shorter than the function timeout');
  return p;
}
