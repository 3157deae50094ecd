/**
 * Every environment variable the project reads is named here, and read through a typed getter,
 * so a reader finds all configuration in one file and a bad value fails loudly with its name.
 */
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS } from '../contracts/defaults.js';
import { InvalidRequestError } from './errors.js';

export const ENV = {
  /** Path to an ffmpeg binary; overrides ffmpeg-static and PATH. */
  ffmpegPath: 'FFMPEG_PATH',
  /** Path to an ffprobe binary; default: the one next to ffmpeg, then PATH. */
  ffprobePath: 'FFPROBE_PATH',
  /** Folder holding the project's shared material (datasets, architecture models, tools). */
  sharedDir: 'STEMS_SHARED_DIR',
  /** Folder of the repo's models/ (registry, manifests, bundled models); set in the Lambda image. */
  bundledModelsDir: 'STEMS_BUNDLED_MODELS_DIR',
  /** Where `models:fetch` installs models (default: a user cache folder). */
  modelsDir: 'STEMS_MODELS_DIR',
  /** Cache for unpacked/derived files (default: $XDG_CACHE_HOME/stem-splitter). */
  cacheDir: 'STEMS_CACHE_DIR',
  /** onnxruntime intra-op threads in total (default: all cores). */
  threads: 'STEMS_THREADS',
  /** Longest input accepted, in seconds (default 1200 = 20 min). */
  maxDurationSeconds: 'STEMS_MAX_DURATION_S',
  /** Highest output sample rate; `sampleRate: "source"` keeps the source's rate up to it (default 48000). */
  maxOutputRate: 'STEMS_MAX_OUTPUT_RATE',
  /** Sources sampled above this are refused (default 192000). */
  maxSourceRate: 'STEMS_MAX_SOURCE_RATE',
  /** Most bytes of results (stems + zip) one job may produce (default 2 GiB). */
  maxOutputBytes: 'STEMS_MAX_OUTPUT_BYTES',
  /** Default model id when a request names none. */
  defaultModel: 'STEMS_DEFAULT_MODEL',
  /** The bucket holding uploads/, jobs/ and results/. */
  bucket: 'STEMS_BUCKET',
  /** S3 endpoint override (local mode: the loopback S3 server). */
  s3Endpoint: 'STEMS_S3_ENDPOINT',
  /** Largest upload accepted, in bytes (default 200 MB). */
  maxUploadBytes: 'STEMS_MAX_UPLOAD_BYTES',
  /** Lifetime of presigned upload and download URLs, in seconds (default 900 / 3600). */
  uploadUrlSeconds: 'STEMS_UPLOAD_URL_SECONDS',
  downloadUrlSeconds: 'STEMS_DOWNLOAD_URL_SECONDS',
  /** Slowest real-time factor to plan for when deciding whether a job fits the time left (default 4). */
  minRealTimeFactor: 'STEMS_MIN_REALTIME_FACTOR',
  /** Set by Lambda: the function's memory in MB (absent elsewhere). */
  functionMemoryMb: 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  /** Set by Lambda: the function's name (absent elsewhere: local mode, CLI, tests). */
  functionName: 'AWS_LAMBDA_FUNCTION_NAME',
  /** The secret CloudFront adds to API requests; set by the stack when it deploys the front door. */
  originVerify: 'STEMS_ORIGIN_VERIFY',
  /** CLI: a bearer token for APIs deployed with authMode jwt or cognito. */
  apiToken: 'STEMS_API_TOKEN',
  /** Least time between two progress writes of one stage to the job record (ms, default 2000). */
  progressIntervalMs: 'STEMS_PROGRESS_INTERVAL_MS',
  /** Seconds a job needs besides separating (download, model load, upload) when checking it fits (default 10). */
  jobOverheadSeconds: 'STEMS_JOB_OVERHEAD_S',
  /** The retry policy (layers/jobs/retry-policy.ts): attempts per upload (= the queue's maxReceiveCount). */
  maxAttempts: 'STEMS_MAX_ATTEMPTS',
  /** The separate function's timeout, seconds (the queue's visibility timeout is derived from it). */
  functionTimeoutSeconds: 'STEMS_FUNCTION_TIMEOUT_S',
  /** Seconds added to an invocation's deadline before its job's lease runs out (clock skew). */
  leaseMarginSeconds: 'STEMS_LEASE_MARGIN_S',
  /** Fan-out (layers/jobs/fanout.ts): wanted length of one segment, seconds (rounded to whole model splits; default 120). */
  fanoutSegmentSeconds: 'STEMS_FANOUT_SEGMENT_S',
  /** Fan out when a single run is projected to take more than this fraction of the function's timeout (default 0.5). */
  fanoutTimeFraction: 'STEMS_FANOUT_TIME_FRACTION',
  /** Also fan out every song longer than this many seconds (default: never by length alone). */
  fanoutAboveSeconds: 'STEMS_FANOUT_ABOVE_S',
} as const;

type Env = Record<string, string | undefined>;

export function readString(name: string, fallback: string, env: Env = process.env): string {
  const v = env[name];
  return v === undefined || v === '' ? fallback : v;
}

export function readOptional(name: string, env: Env = process.env): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

export function readPositiveNumber(name: string, fallback: number, env: Env = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new InvalidRequestError(`${name} must be a positive number, got "${raw}"`);
  }
  return n;
}

export function cacheDir(env: Env = process.env): string {
  const xdg = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return readString(ENV.cacheDir, path.join(xdg, 'stem-splitter'), env);
}

export function modelsInstallDir(env: Env = process.env): string {
  return readString(ENV.modelsDir, path.join(cacheDir(env), 'models'), env);
}

export function threadCount(env: Env = process.env): number {
  return Math.floor(readPositiveNumber(ENV.threads, os.availableParallelism(), env));
}

export function maxUploadBytes(env: Env = process.env): number {
  return readPositiveNumber(ENV.maxUploadBytes, DEFAULTS.maxUploadBytes, env);
}

export function maxDurationSeconds(env: Env = process.env): number {
  return readPositiveNumber(ENV.maxDurationSeconds, DEFAULTS.maxDurationSeconds, env);
}

/** Limits on what a job may read and write, checked before the model loads. */
export interface MediaLimits {
  maxOutputRate: number;
  maxSourceRate: number;
  maxOutputBytes: number;
}

export function mediaLimits(env: Env = process.env): MediaLimits {
  return {
    maxOutputRate: readPositiveNumber(ENV.maxOutputRate, 48_000, env),
    maxSourceRate: readPositiveNumber(ENV.maxSourceRate, 192_000, env),
    maxOutputBytes: readPositiveNumber(ENV.maxOutputBytes, 2 * 1024 ** 3, env),
  };
}

/** Reads a variable that must be set; the error names it (fail at cold start, not mid-request). */
export function readRequired(name: string, env: Env = process.env): string {
  const v = env[name];
  if (v === undefined || v === '') throw new Error(`environment variable ${name} is required`);
  return v;
}

/** Everything the storage layer and the functions need, read once. */
export interface ServiceConfig {
  bucket: string;
  region: string;
  endpoint: string | undefined;
  maxUploadBytes: number;
  maxDurationSeconds: number;
  uploadUrlSeconds: number;
  downloadUrlSeconds: number;
  minRealTimeFactor: number;
  /** The function's memory in MB when running in Lambda. */
  functionMemoryMb: number | undefined;
  /** True in a Lambda sandbox (one invocation at a time owns /tmp). */
  inLambda: boolean;
  /** Least time between two progress writes of one stage to a job record. */
  progressIntervalMs: number;
  jobOverheadSeconds: number;
  fanout: FanoutSettings;
}

/** When and how a song is cut into segments for many workers (layers/jobs/fanout.ts). */
export interface FanoutSettings {
  segmentSeconds: number;
  timeFraction: number;
  aboveSeconds: number | undefined;
}

export function fanoutSettings(env: Env = process.env): FanoutSettings {
  const above = readOptional(ENV.fanoutAboveSeconds, env);
  return {
    segmentSeconds: readPositiveNumber(ENV.fanoutSegmentSeconds, 120, env),
    timeFraction: readPositiveNumber(ENV.fanoutTimeFraction, 0.5, env),
    aboveSeconds: above === undefined ? undefined : readPositiveNumber(ENV.fanoutAboveSeconds, 0, env),
  };
}

export function serviceConfig(env: Env = process.env): ServiceConfig {
  return {
    bucket: readRequired(ENV.bucket, env),
    region: readString('AWS_REGION', 'us-east-1', env),
    endpoint: readOptional(ENV.s3Endpoint, env),
    maxUploadBytes: maxUploadBytes(env),
    maxDurationSeconds: maxDurationSeconds(env),
    uploadUrlSeconds: readPositiveNumber(ENV.uploadUrlSeconds, DEFAULTS.uploadUrlSeconds, env),
    downloadUrlSeconds: readPositiveNumber(ENV.downloadUrlSeconds, DEFAULTS.downloadUrlSeconds, env),
    minRealTimeFactor: readPositiveNumber(ENV.minRealTimeFactor, 4, env),
    functionMemoryMb: readOptional(ENV.functionMemoryMb, env) === undefined ? undefined : readPositiveNumber(ENV.functionMemoryMb, 0, env),
    inLambda: readOptional(ENV.functionName, env) !== undefined,
    progressIntervalMs: readPositiveNumber(ENV.progressIntervalMs, 2000, env),
    jobOverheadSeconds: readPositiveNumber(ENV.jobOverheadSeconds, 10, env),
    fanout: fanoutSettings(env),
  };
}
