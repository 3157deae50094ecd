/** The job record (`jobs/<id>.json`) and the options a job runs with. */
import type { SourceInfo } from '../audio/probe.js';
import type { OutputFormat } from '../audio/encode.js';
import type { Quality } from '../engine/quality.js';
import type { SampleRatePolicy, SeparationTimings } from '../engine/separate-file.js';
import type { ProgressStage } from '../engine/types.js';

export type JobState = 'awaiting-upload' | 'queued' | 'processing' | 'retrying' | 'done' | 'failed';

export interface JobOptions {
  model: string;
  /** Stems to produce; empty means all of the model's. */
  stems: string[];
  format: OutputFormat;
  sampleRate: SampleRatePolicy;
  /** fast | best (Wiener filtering); absent: the model's default. */
  quality?: Quality;
  /** Wiener iterations overriding the quality's; absent: the quality's. */
  iterations?: number;
}

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
  progress?: { stage: ProgressStage; fraction: number };
  attempts: number;
  /** While `processing`: until when the current worker owns the job. */
  leaseUntil?: string;
  source?: SourceInfo;
  result?: JobResult;
  timings?: Partial<SeparationTimings> & { queueMs?: number; uploadResultsMs?: number; totalMs?: number };
  error?: { code: string; message: string };
}

/** Job ids: 128 random bits, URL-safe. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;
