/**
 * The HTTP API's contract, shared by the server (handlers, local stack), the CLI, the page and the
 * stack: routes, request and response shapes. Types and plain data only, so a browser bundle can
 * import it.
 */
import type { ErrorCode } from './errors.js';
import type { OutputFormatId } from './media.js';

/** Every route, the function that serves it, and its API Gateway route key. */
export const ROUTES = {
  createJob: { method: 'POST', path: '/jobs', handler: 'presign' },
  jobStatus: { method: 'GET', path: '/jobs/{id}', handler: 'status' },
  metrics: { method: 'GET', path: '/metrics', handler: 'metrics' },
} as const;
export type RouteName = keyof typeof ROUTES;
export type Route = (typeof ROUTES)[RouteName];

export function routeKey(r: Route): string {
  return `${r.method} ${r.path}`;
}

export function jobStatusPath(jobId: string): string {
  return ROUTES.jobStatus.path.replace('{id}', encodeURIComponent(jobId));
}

/** 'model': the model's own rate; 'source': the uploaded file's rate. */
export type SampleRatePolicy = 'model' | 'source';
export const SAMPLE_RATE_POLICIES: readonly SampleRatePolicy[] = ['model', 'source'];

/** fast: the model's own masks; best: multichannel Wiener filtering (magnitude families). */
export const QUALITIES = ['fast', 'best'] as const;
export type Quality = (typeof QUALITIES)[number];
export const MAX_WIENER_ITERATIONS = 10;

/** The options a client may set; any other key is refused. */
export const OPTION_KEYS = ['model', 'stems', 'format', 'sampleRate', 'quality', 'iterations'] as const;
export interface JobOptionsRequest {
  model?: string;
  /** A list, or a comma-separated string (S3 metadata); empty or absent means all stems. */
  stems?: string[] | string;
  format?: OutputFormatId;
  sampleRate?: SampleRatePolicy;
  quality?: Quality;
  /** Wiener iterations (0 to MAX_WIENER_ITERATIONS), overriding the quality's. */
  iterations?: number;
}

/** The options a job runs with, after validation and defaults. */
export interface JobOptions {
  model: string;
  /** Stems to produce; empty means all of the model's. */
  stems: string[];
  format: OutputFormatId;
  sampleRate: SampleRatePolicy;
  /** fast | best; absent: the model's default. */
  quality?: Quality;
  /** Wiener iterations overriding the quality's; absent: the quality's. */
  iterations?: number;
}

export interface CreateJobRequest {
  filename: string;
  contentType: string;
  bytes: number;
  options?: JobOptionsRequest;
}

/** A presigned S3 POST: send `fields` then the file as multipart/form-data to `url`. */
export interface PresignedUpload {
  url: string;
  fields: Record<string, string>;
  expiresAt: string;
}

export interface CreateJobResponse {
  jobId: string;
  upload: PresignedUpload;
  statusPath: string;
}

export const JOB_STATES = ['awaiting-upload', 'queued', 'processing', 'retrying', 'done', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** The stages a job reports progress in, in order. */
export const PROGRESS_STAGES = ['probe', 'decode', 'separate', 'encode', 'upload', 'done'] as const;
export type ProgressStage = (typeof PROGRESS_STAGES)[number];
export interface JobProgress {
  stage: ProgressStage;
  fraction: number;
  /** A fanned-out job (a long song cut into segments run by many workers): segments separated so far, of how many. */
  segments?: { done: number; total: number };
}

export interface JobError { code: ErrorCode; message: string }

/** What the uploaded file turned out to be. */
export interface SourceSummary {
  format: string;
  codec: string;
  sampleRate: number;
  channels: number;
  durationSeconds: number | undefined;
  bytes: number;
}

export interface JobTimings {
  queueMs?: number; probeMs?: number; loadModelMs?: number; decodeMs?: number; stftMs?: number; inferenceMs?: number;
  istftMs?: number; wienerMs?: number; encodeMs?: number; uploadResultsMs?: number; totalMs?: number;
}

export interface StemDownload { stem: string; url: string; bytes: number; clippedSamples: number }

export interface JobStatusResponse {
  id: string;
  state: JobState;
  createdAt: string;
  updatedAt: string;
  file: string;
  options: JobOptions;
  progress?: JobProgress;
  timings?: JobTimings;
  source?: SourceSummary;
  error?: JobError;
  /** Once done: presigned links, valid until expiresAt. */
  downloads?: { zip: string; stems: StemDownload[]; expiresAt: string };
}

/** Every 4xx/5xx answer. */
export interface ApiErrorBody { error: JobError }

/** A model as the page offers it: description is one line (stems, quality, speed). */
export interface PageModel {
  id: string;
  description: string;
  stems: string[];
  default: boolean;
  /** Measured speed, times real time (for the page's time estimate). */
  speed?: number;
}

/** The page's config.json: written by the local stack and by the stack at deploy time. */
export interface PageConfig {
  /** Base URL of the API; '' when the page is served by the API's own origin (local mode). */
  apiUrl: string;
  maxUploadBytes: number;
  maxDurationSeconds: number;
  models: PageModel[];
  /** How often the page asks for a job's status (default 1000 ms). */
  pollIntervalMs?: number;
}
