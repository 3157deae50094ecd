/**
 * Finds an ffmpeg binary: FFMPEG_PATH, then ffmpeg-static's download (only there where someone
 * ran its install script: `npm ci` runs none), then `ffmpeg` on PATH; and its ffprobe:
 * FFPROBE_PATH, then the `ffprobe` next to the chosen ffmpeg (Debian's package and the image's
 * static build ship both together), then `ffprobe` on PATH.
 */
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ENV, readOptional } from '../core/env.js';
import { ToolMissingError } from '../core/errors.js';

const require = createRequire(import.meta.url);
let cached: string | undefined;
let cachedProbe: string | undefined;

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function fromFfmpegStatic(): string | undefined {
  try {
    const p = require('ffmpeg-static') as string | null;
    return p && isExecutable(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

function fromPath(env: NodeJS.ProcessEnv, tool = 'ffmpeg'): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, tool);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function findFfmpeg(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = readOptional(ENV.ffmpegPath, env);
  if (explicit) {
    if (!isExecutable(explicit)) {
      throw new ToolMissingError(`${ENV.ffmpegPath}=${explicit} is not an executable file`);
    }
    return explicit;
  }
  const found = fromFfmpegStatic() ?? fromPath(env);
  if (!found) {
    throw new ToolMissingError(
      'ffmpeg not found: install it (e.g. `apt-get install ffmpeg` or `brew install ffmpeg`), ' +
        `or set ${ENV.ffmpegPath} to an ffmpeg binary`,
    );
  }
  return found;
}

export function findFfprobe(env: NodeJS.ProcessEnv = process.env, ffmpeg?: string): string {
  const explicit = readOptional(ENV.ffprobePath, env);
  if (explicit) {
    if (!isExecutable(explicit)) throw new ToolMissingError(`${ENV.ffprobePath}=${explicit} is not an executable file`);
    return explicit;
  }
  const beside = path.join(path.dirname(ffmpeg ?? findFfmpeg(env)), 'ffprobe');
  const found = isExecutable(beside) ? beside : fromPath(env, 'ffprobe');
  if (!found) {
    throw new ToolMissingError(
      `ffprobe not found next to ffmpeg or on PATH: install ffmpeg's full package (it ships ffprobe), or set ${ENV.ffprobePath}`,
    );
  }
  return found;
}

/** The binaries for this process, located once. */
export function ffmpegBinary(): string {
  cached ??= findFfmpeg();
  return cached;
}

export function ffprobeBinary(): string {
  cachedProbe ??= findFfprobe(process.env, ffmpegBinary());
  return cachedProbe;
}
