/**
 * The S3 client and the bucket's key layout. Local mode differs only by configuration: an
 * endpoint on loopback and path-style addressing.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { ServiceConfig } from '../core/env.js';

export function createS3Client(config: Pick<ServiceConfig, 'region' | 'endpoint'>): S3Client {
  return new S3Client({
    region: config.region,
    // an endpoint override means an S3-compatible server (local mode), addressed path-style;
    // anything else it needs comes from the SDK's own environment (local/s3-server.ts)
    ...(config.endpoint ? { endpoint: config.endpoint, forcePathStyle: true } : {}),
  });
}

/** Bucket layout: what users upload, job records, and results (never under uploads/). */
export const KEYS = {
  uploadsPrefix: 'uploads/',
  upload: (jobId: string, filename: string) => `uploads/${jobId}/${filename}`,
  job: (jobId: string) => `jobs/${jobId}.json`,
  resultsPrefix: (jobId: string) => `results/${jobId}/`,
  stem: (jobId: string, stem: string, ext: string) => `results/${jobId}/${stem}.${ext}`,
  zip: (jobId: string, base: string) => `results/${jobId}/${base}-stems.zip`,
  /** Fan-out: tasks (their creation is the message, through the bucket notification) and intermediate stems. */
  workPrefix: 'work/',
  work: (jobId: string) => `work/${jobId}/`,
  segmentTask: (jobId: string, generation: number, index: number) => `work/${jobId}/g${generation}/seg-${index}${TASK_SUFFIX}`,
  stitchTask: (jobId: string, generation: number) => `work/${jobId}/g${generation}/stitch${TASK_SUFFIX}`,
  segmentStem: (jobId: string, generation: number, index: number, stem: string) => `work/${jobId}/g${generation}/seg-${index}/${stem}.f32`,
};

/** Task objects end with this: the bucket notification for work/ sends only them to the segment queue. */
export const TASK_SUFFIX = '.task.json';

export type FanoutTask = { jobId: string; generation: number } & ({ kind: 'segment'; index: number } | { kind: 'stitch' });

/** The task a work/ key names, or undefined for any other key. */
export function parseTaskKey(key: string): FanoutTask | undefined {
  const m = /^work\/([A-Za-z0-9_-]{22,64})\/g(\d+)\/(?:seg-(\d+)|(stitch))\.task\.json$/.exec(key);
  if (!m) return undefined;
  const base = { jobId: m[1], generation: Number(m[2]) };
  return m[4] ? { ...base, kind: 'stitch' } : { ...base, kind: 'segment', index: Number(m[3]) };
}

/** S3 event notifications URL-encode keys, with '+' for spaces. */
export function decodeEventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/** The inverse, as S3 does it (used by the local event wiring; s3rver emits raw keys). */
export function encodeEventKey(key: string): string {
  return key.split('/').map((seg) => encodeURIComponent(seg).replace(/%20/g, '+')).join('/');
}
