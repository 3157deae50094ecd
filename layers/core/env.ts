/**
 * Every environment variable the project reads is named here, and read through a typed getter,
 * so a reader finds all configuration in one file and a bad value fails loudly with its name.
 */
import os from 'node:os';
import path from 'node:path';
import { InvalidRequestError } from './errors.js';

export const ENV = {
  /** Path to an ffmpeg binary; overrides ffmpeg-static and PATH. */
  ffmpegPath: 'FFMPEG_PATH',
  /** Folder holding the project's shared material (datasets, architecture models, tools). */
  sharedDir: 'STEMS_SHARED_DIR',
  /** Where `models:fetch` installs models (default: a user cache folder). */
  modelsDir: 'STEMS_MODELS_DIR',
  /** Cache for unpacked/derived files (default: $XDG_CACHE_HOME/stem-splitter). */
  cacheDir: 'STEMS_CACHE_DIR',
  /** onnxruntime intra-op threads in total (default: all cores). */
  threads: 'STEMS_THREADS',
  /** Longest input accepted, in seconds (default 1200 = 20 min). */
  maxDurationSeconds: 'STEMS_MAX_DURATION_S',
  /** Default model id when a request names none. */
  defaultModel: 'STEMS_DEFAULT_MODEL',
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

export function maxDurationSeconds(env: Env = process.env): number {
  return readPositiveNumber(ENV.maxDurationSeconds, 1200, env);
}

/** `../shared` next to the repo unless STEMS_SHARED_DIR says otherwise. */
export function sharedDir(env: Env = process.env): string {
  const here = path.dirname(new URL(import.meta.url).pathname);
  return readString(ENV.sharedDir, path.resolve(here, '../../../shared'), env);
}
