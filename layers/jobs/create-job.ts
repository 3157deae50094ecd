/**
 * POST /jobs: validate the request, record the job, and hand out a presigned POST that can only
 * put this one file, of this size range and content type, at this key, for a few minutes.
 */
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { jobStatusPath, type CreateJobResponse } from '../contracts/api.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import type { ServiceConfig } from '../core/env.js';
import { InvalidRequestError } from '../core/errors.js';
import type { JobStore } from '../storage/job-store.js';
import { KEYS } from '../storage/s3.js';
import type { Job } from './job.js';
import { validateContentType, validateFilename, validateOptions, validateSize } from './validate.js';

export type { CreateJobResponse } from '../contracts/api.js';

export function newJobId(): string {
  return randomBytes(16).toString('base64url');
}

export async function createJob(body: unknown, deps: { s3: S3Client; jobs: JobStore; config: ServiceConfig }): Promise<CreateJobResponse> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidRequestError('body must be a JSON object');
  const b = body as Record<string, unknown>;
  const filename = validateFilename(b.filename);
  const contentType = validateContentType(b.contentType);
  const bytes = validateSize(b.bytes, deps.config.maxUploadBytes);
  if (b.options !== undefined && (typeof b.options !== 'object' || b.options === null)) throw new InvalidRequestError('options must be an object');
  const options = await validateOptions(b.options as Record<string, unknown> | undefined);

  const id = newJobId();
  const key = KEYS.upload(id, filename);
  const now = new Date().toISOString();
  const job: Job = {
    id, state: 'awaiting-upload', origin: 'api', createdAt: now, updatedAt: now, options, attempts: 0,
    upload: { key, filename, contentType, bytes },
  };
  await deps.jobs.create(job);
  const upload = await presignUpload(deps.s3, deps.config, key, contentType, bytes);
  return { jobId: id, upload, statusPath: jobStatusPath(id) };
}

/** The presigned POST; its policy is what S3 enforces (exported for the policy tests). */
export async function presignUpload(s3: S3Client, config: ServiceConfig, key: string, contentType: string, bytes: number) {
  const post = await createPresignedPost(s3, {
    Bucket: config.bucket,
    Key: key,
    Conditions: [
      ['eq', '$key', key],
      ['content-length-range', bytes, bytes],
      ['eq', '$Content-Type', contentType],
    ],
    Fields: { 'Content-Type': contentType },
    Expires: config.uploadUrlSeconds,
  });
  return { ...post, expiresAt: new Date(Date.now() + config.uploadUrlSeconds * 1000).toISOString() };
}
