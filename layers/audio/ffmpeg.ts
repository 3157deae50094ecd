/**
 * Finds an ffmpeg binary: FFMPEG_PATH, then ffmpeg-static's download (only there where someone
 * ran its install script: `npm ci` runs none), then `ffmpeg` on PATH, then the static build that
 * ships inside the @ffmpeg-installer package (no download; the Lambda image uses it too).
 */
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ENV, readOptional } from '../core/env.js';
import { ToolMissingError } from '../core/errors.js';

const require = createRequire(import.meta.url);
let cached: string | undefined;

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

function fromFfmpegInstaller(): string | undefined {
  try {
    const p = path.join(path.dirname(require.resolve(`@ffmpeg-installer/${process.platform}-${process.arch}/package.json`)), 'ffmpeg');
    return isExecutable(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

function fromPath(env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'ffmpeg');
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
  const found = fromFfmpegStatic() ?? fromPath(env) ?? fromFfmpegInstaller();
  if (!found) {
    throw new ToolMissingError(
      'ffmpeg not found: install it (e.g. `apt-get install ffmpeg` or `brew install ffmpeg`), ' +
        `or set ${ENV.ffmpegPath} to an ffmpeg binary`,
    );
  }
  return found;
}

/** The binary for this process, located once. */
export function ffmpegBinary(): string {
  cached ??= findFfmpeg();
  return cached;
}
