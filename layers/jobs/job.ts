/** The job record (`jobs/<id>.json`) and the options a job runs with. */
import type { SourceInfo } from '../audio/probe.js';
import type { JobError, JobOptions, JobProgress, JobState, JobTimings } from '../contracts/api.js';

export type { JobOptions, JobState } from '../contracts/api.js';

export interface JobResult {
  zipKey: string;
  stems: { stem: string; key: string; bytes: number; clippedSamples: number }[];
}

export interface Job {
  id: string;
  state: JobState;
  /** 'api' jobs were created by POST /jobs; 'batch' jobs by a file dropped into uploads/. */
  origin: 'api' | 'batch';
  createdAt: string;
  updatedAt: string;
  options: JobOptions;
  upload: { key: string; filename: string; contentType?: string; bytes?: number; etag?: string; uploadedAt?: string };
  progress?: JobProgress;
  attempts: number;
  /** While `processing`: until when the current worker owns the job. */
  leaseUntil?: string;
  source?: SourceInfo;
  result?: JobResult;
  timings?: JobTimings;
  error?: JobError;
}

/** Job ids: 128 random bits, URL-safe. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;

/** A live lease: a worker that may still be running owns the job. */
export function leaseHeld(job: Job, now = Date.now()): boolean {
  return job.state === 'processing' && job.leaseUntil !== undefined && Date.parse(job.leaseUntil) > now;
}

/** A lease that ran out with the job still `processing`: its worker stopped without recording anything. */
export function leaseExpired(job: Job, now = Date.now()): boolean {
  return job.state === 'processing' && job.leaseUntil !== undefined && Date.parse(job.leaseUntil) <= now;
}
