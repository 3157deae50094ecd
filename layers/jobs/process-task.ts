/**
 * A delivery of a fan-out task (work/<jobId>/g<n>/seg-<k>.task.json or stitch.task.json, through the
 * segment queue): separate's segment or stitch mode. A dead-lettered task ends its job.
 */
import { ATTEMPTS_EXHAUSTED } from '../core/errors.js';
import type { FanoutTask } from '../storage/s3.js';
import { failFanout } from './fanout.js';
import type { Delivery, Deps, JobLogger, Outcome } from './process-upload.js';
import { runSegment } from './segment-worker.js';
import { runStitch } from './stitch.js';
import type { S3Client } from '@aws-sdk/client-s3';
import type { JobStore } from '../storage/job-store.js';

export function processTask(task: FanoutTask, bucket: string, deps: Deps, delivery: Delivery): Promise<Outcome> {
  return task.kind === 'segment' ? runSegment(task, bucket, deps, delivery) : runStitch(task, bucket, deps, delivery);
}

/** The segment queue's dead letters: a segment (or the stitch) used every delivery; the job fails with ATTEMPTS_EXHAUSTED. */
export async function endExhaustedTask(task: FanoutTask, bucket: string, deps: { s3: S3Client; jobs: JobStore; logger?: JobLogger; maxAttempts: number }): Promise<Outcome> {
  const what = task.kind === 'segment' ? `segment ${task.index}` : 'the stitch';
  const error = { code: ATTEMPTS_EXHAUSTED, message: `${what} gave up after ${deps.maxAttempts} deliveries (timeout, out of memory or crash)` } as const;
  const ended = await failFanout(task.jobId, bucket, error, deps, task.generation);
  if (!ended) return { jobId: task.jobId, outcome: 'skipped', reason: 'job already ended' };
  return { jobId: task.jobId, outcome: 'failed', reason: error.message, errorCode: error.code, job: { model: '', stems: 'all', format: '', timings: {} } };
}
