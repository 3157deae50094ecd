/**
 * Job records in S3 with conditional writes (If-None-Match on create, If-Match on every update),
 * so two workers can never both believe they own a job: the loser gets a ConflictError.
 */
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { StemSplitterError } from '../core/errors.js';
import type { Job } from '../jobs/job.js';
import { KEYS } from './s3.js';

export class ConflictError extends StemSplitterError {
  override readonly code = 'CONFLICT';
  override readonly status = 409;
}

export interface Versioned<T> { value: T; etag: string }

function isPreconditionFailure(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412 || e?.$metadata?.httpStatusCode === 409;
}

export class JobStore {
  constructor(private readonly s3: S3Client, private readonly bucket: string) {}

  async get(id: string): Promise<Versioned<Job> | undefined> {
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: KEYS.job(id) }));
      return { value: JSON.parse(await r.Body!.transformToString()) as Job, etag: r.ETag! };
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
      // with ListBucket limited to a prefix (s3:prefix condition), S3 answers 403 for a missing key:
      // a listing of that exact key, which the condition allows, tells missing from forbidden
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403 && !(await this.exists(KEYS.job(id)))) return undefined;
      throw err;
    }
  }

  private async exists(key: string): Promise<boolean> {
    const r = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: key, MaxKeys: 1 }));
    return (r.Contents ?? []).some((o) => o.Key === key);
  }

  /** Creates the record; ConflictError if it already exists. */
  create(job: Job): Promise<Versioned<Job>> {
    return this.put(job, { IfNoneMatch: '*' });
  }

  /** Replaces the record if it is still the version read; ConflictError otherwise. */
  replace(job: Job, etag: string): Promise<Versioned<Job>> {
    return this.put({ ...job, updatedAt: new Date().toISOString() }, { IfMatch: etag });
  }

  private async put(job: Job, condition: { IfNoneMatch?: string; IfMatch?: string }): Promise<Versioned<Job>> {
    try {
      const r = await this.s3.send(new PutObjectCommand({
        Bucket: this.bucket, Key: KEYS.job(job.id), Body: JSON.stringify(job), ContentType: 'application/json', ...condition,
      }));
      return { value: job, etag: r.ETag! };
    } catch (err) {
      if (isPreconditionFailure(err)) throw new ConflictError(`job ${job.id} changed concurrently`, { cause: err });
      throw err;
    }
  }
}
