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
  /** Set when the song was cut into segments for many workers (layers/jobs/fanout.ts). */
  fanout?: JobFanout;
}

/** A fanned-out job's plan and its race-free segment counter (updated with If-Match like the rest of the record). */
export interface JobFanout {
  /** The attempt that cut the song: tasks and intermediate objects of another attempt are ignored. */
  generation: number;
  total: number;
  /** Indices of the segments whose stems are stored, ascending. */
  done: number[];
  /** The song's length in frames at the model's rate (from a full decode). */
  samples: number;
  splitsPerSegment: number;
  outputRate: number;
  /** When the song was cut (the job's separation time runs from here to the stitch's end). */
  startedAt: string;
  /** The stitch has claimed the job (its lease is leaseUntil). */
  stitching?: boolean;
  /** What each step cost (ms): cutting the song (download, probe, counting), each segment's invocation by index, the stitch. */
  planMs?: number;
  segmentMs?: Record<string, number>;
  stitchMs?: number;
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
