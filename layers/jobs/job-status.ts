/**
 * GET /jobs/{id}: what a client polls — state, progress, timings, error, and download links. A job
 * whose worker's lease ran out is never reported `processing`: it is `retrying` (waiting for the
 * queue to deliver the upload again) or, with every attempt used, `failed`.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import path from 'node:path';
import type { ServiceConfig } from '../core/env.js';
import { JobNotFoundError } from '../core/errors.js';
import type { JobStore } from '../storage/job-store.js';
import type { JobStatusResponse } from '../contracts/api.js';
import { exhaustedError, lastErrorOf } from './exhausted.js';
import { JOB_ID_PATTERN, leaseExpired } from './job.js';
import { isLastAttempt, type RetryPolicy } from './retry-policy.js';

export type JobStatus = JobStatusResponse;

export async function jobStatus(id: string | undefined, deps: { s3: S3Client; jobs: JobStore; config: ServiceConfig; retry: RetryPolicy }): Promise<JobStatus> {
  if (!id || !JOB_ID_PATTERN.test(id)) throw new JobNotFoundError(`no job "${id ?? ''}"`);
  const found = await deps.jobs.get(id);
  if (!found) throw new JobNotFoundError(`no job "${id}"`);
  const job = found.value;
  const status: JobStatus = {
    id: job.id, state: job.state, createdAt: job.createdAt, updatedAt: job.updatedAt, file: job.upload.filename,
    options: job.options, progress: job.progress, timings: job.timings, source: job.source, error: job.error,
  };
  if (leaseExpired(job)) {
    const exhausted = isLastAttempt(job.attempts, deps.retry);
    status.state = exhausted ? 'failed' : 'retrying';
    status.error = exhausted ? exhaustedError(job) : { ...lastErrorOf(job), message: `${lastErrorOf(job).message}; waiting for the upload to be delivered again` };
    status.progress = undefined;
  }
  if (job.state === 'done' && job.result) {
    const expiresIn = deps.config.downloadUrlSeconds;
    const sign = (key: string) => getSignedUrl(deps.s3, new GetObjectCommand({
      Bucket: deps.config.bucket, Key: key, ResponseContentDisposition: attachment(path.basename(key)),
    }), { expiresIn });
    status.downloads = {
      zip: await sign(job.result.zipKey),
      stems: await Promise.all(job.result.stems.map(async (s) => ({ stem: s.stem, url: await sign(s.key), bytes: s.bytes, clippedSamples: s.clippedSamples }))),
      expiresAt: new Date(Date.now() + expiresIn * 1000).toISOString(),
    };
  }
  return status;
}

/** RFC 6266 attachment with a UTF-8 file name. */
function attachment(name: string): string {
  return `attachment; filename="${name.replace(/[^\x20-\x7e]|"/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
