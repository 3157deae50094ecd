/** Starts the local stack on ephemeral ports with a small test model installed as `tiny`. */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { cpSync, mkdirSync } from 'node:fs';
import { vi } from 'vitest';
import type { S3EventRecord } from 'aws-lambda';
import type { Job } from '../../layers/jobs/job.js';
import { encodeEventKey } from '../../layers/storage/s3.js';
import path from 'node:path';
import { localS3Client as localS3ClientFor } from '../../local/s3-server.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack.js';
import { tmpDir, writeGainModel } from '../../dev/models.js';

export async function startTestStack(opts: Pick<LocalStackOptions, 'concurrency' | 'workers' | 'site' | 'env' | 'policy' | 'duplicateRate' | 'separate'> = {}): Promise<LocalStack> {
  const models = tmpDir('models');
  const src = writeGainModel({ id: 'tiny', gains: { vocals: 2, accompaniment: 1 }, residualStem: 'accompaniment', highBand: 'residual' });
  mkdirSync(path.join(models, 'tiny'));
  cpSync(src, path.join(models, 'tiny'), { recursive: true });
  // each stack gets fresh handler modules: their clients are created at module scope, as in Lambda,
  // so a module loaded for an earlier stack would still point at that stack's S3 server
  vi.resetModules();
  // settings a previous stack in this process may have changed
  delete process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE;
  return startLocalStack({
    port: 0,
    dataDir: tmpDir('local-data'),
    concurrency: opts.concurrency ?? 1,
    workers: opts.workers,
    policy: opts.policy,
    duplicateRate: opts.duplicateRate,
    separate: opts.separate,
    env: {
      STEMS_MODELS_DIR: models, STEMS_DEFAULT_MODEL: 'tiny', STEMS_THREADS: '2',
      STEMS_MAX_DURATION_S: '1200', STEMS_MAX_UPLOAD_BYTES: String(200 * 1024 * 1024),
      ...opts.env,
    },
    site: opts.site,
  });
}

/** An SDK client for the local stack's S3 server, as a batch user would have. */
export function localS3Client(stack: LocalStack): S3Client {
  return localS3ClientFor(stack.s3Endpoint);
}

export async function keysUnder(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key!).sort();
}

/** The job record created for an upload key (batch or API), read straight from the bucket. */
export async function jobRecordFor(s3: S3Client, bucket: string, uploadKey: string): Promise<Job | undefined> {
  for (const key of await keysUnder(s3, bucket, 'jobs/')) {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const job = JSON.parse(await r.Body!.transformToString()) as Job;
    if (job.upload.key === uploadKey) return job;
  }
  return undefined;
}

/** An S3 ObjectCreated record as S3 delivers it (key URL-encoded with '+' for spaces, ETag unquoted). */
export function s3EventRecord(bucket: string, key: string, size: number, etag: string): S3EventRecord {
  return {
    eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'us-east-1', eventTime: new Date().toISOString(), eventName: 'ObjectCreated:Put',
    s3: { s3SchemaVersion: '1.0', configurationId: 'uploads', bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key: encodeEventKey(key), size, eTag: etag.replace(/"/g, ''), sequencer: '0' } },
  } as unknown as S3EventRecord;
}
