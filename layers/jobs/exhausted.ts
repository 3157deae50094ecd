/**
 * The end of a job that ran out of deliveries: the upload reached the dead-letter queue, or a
 * delivery found every allowed attempt used. The job becomes `failed` with ATTEMPTS_EXHAUSTED and
 * its last error, and partial results are removed, so nothing is left `processing` or `retrying`.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { ATTEMPTS_EXHAUSTED, LeaseHeldError, WORKER_LOST } from '../core/errors.js';
import { ConflictError, type JobStore, type Versioned } from '../storage/job-store.js';
import { deletePrefix } from '../storage/results.js';
import { KEYS } from '../storage/s3.js';
import type { JobError } from '../contracts/api.js';
import { type Job, leaseHeld } from './job.js';
import type { JobLogger, Outcome } from './process-upload.js';

interface EndDeps { s3: S3Client; jobs: JobStore; logger?: JobLogger }

/** What the last attempt left behind, in words. */
export function lastErrorOf(job: Job): JobError {
  if (job.state === 'processing') {
    return { code: WORKER_LOST, message: `attempt ${job.attempts} stopped without finishing (timeout, out of memory or crash)` };
  }
  return job.error ?? { code: WORKER_LOST, message: 'no attempt recorded an outcome' };
}

export function exhaustedError(job: Job): JobError {
  const last = lastErrorOf(job);
  return { code: ATTEMPTS_EXHAUSTED, message: `gave up after ${job.attempts} attempt${job.attempts === 1 ? '' : 's'}; last error ${last.code}: ${last.message}` };
}

/**
 * Marks the job failed (ATTEMPTS_EXHAUSTED) and removes its partial results. A job that is
 * already done or failed is left as it is; one leased by a live worker throws LeaseHeldError.
 */
export async function endExhaustedJob(found: Versioned<Job>, bucket: string, deps: EndDeps): Promise<Outcome> {
  for (let current = found; ;) {
    const job = current.value;
    if (job.state === 'done' || job.state === 'failed') return { jobId: job.id, outcome: 'skipped', reason: `already ${job.state}` };
    if (leaseHeld(job)) {
      throw new LeaseHeldError(`job ${job.id} is leased by a worker until ${job.leaseUntil}; end it after that`);
    }
    const error = exhaustedError(job);
    await deletePrefix(deps.s3, bucket, KEYS.resultsPrefix(job.id));
    try {
      await deps.jobs.replace({ ...job, state: 'failed', leaseUntil: undefined, result: undefined, error }, current.etag);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      const again = await deps.jobs.get(job.id); // changed under us: decide again on the new version
      if (!again) throw err;
      current = again;
      continue;
    }
    deps.logger?.warn('job failed: attempts exhausted', { jobId: job.id, code: error.code, error: error.message });
    const o = job.options;
    return {
      jobId: job.id, outcome: 'failed', reason: error.message, errorCode: error.code,
      job: { model: o.model, stems: o.stems.join('+') || 'all', format: o.format, timings: {} },
    };
  }
}
