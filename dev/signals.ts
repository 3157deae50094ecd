/** Deterministic test signals, and ffmpeg-made files in the formats users upload. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ffmpegBinary } from '../layers/audio/ffmpeg.js';
import { writeWav } from './wav.js';

/** Interleaved stereo: a chord plus seeded noise, different per channel. */
export function musicLike(frames: number, sampleRate = 44100, seed = 1): Float32Array {
  const out = new Float32Array(frames * 2);
  let s = seed;
  for (let i = 0; i < frames; i++) {
    const t = i / sampleRate;
    s = (s * 16807) % 2147483647;
    const noise = (s / 2147483647 - 0.5) * 0.1;
    const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 1.5 * t);
    out[2 * i] = 0.3 * Math.sin(2 * Math.PI * 220 * t) + 0.2 * env * Math.sin(2 * Math.PI * 3300 * t) + noise;
    out[2 * i + 1] = 0.25 * Math.sin(2 * Math.PI * 330 * t + 1) + 0.15 * Math.sin(2 * Math.PI * 12000 * t) + noise * 0.5;
  }
  return out;
}

export function writeMusicWav(dir: string, name: string, seconds: number, sampleRate = 44100): string {
  const file = path.join(dir, name);
  writeWav(file, musicLike(Math.round(seconds * sampleRate), sampleRate), sampleRate, 2);
  return file;
}

/** Runs ffmpeg to make `out` from `input` with extra output args. */
export function ffmpeg(input: string, out: string, args: string[] = [], inputArgs: string[] = []): string {
  execFileSync(ffmpegBinary(), ['-hide_banner', '-v', 'error', '-y', ...inputArgs, '-i', input, ...args, out]);
  return out;
}

/** ffmpeg's lavfi sine source: a clean file with any rate and channel count. */
export function sineFile(out: string, seconds: number, sampleRate: number, channels: number, args: string[] = []): string {
  execFileSync(ffmpegBinary(), ['-hide_banner', '-v', 'error', '-y', '-f', 'lavfi', '-i',
    `sine=frequency=440:sample_rate=${sampleRate}:duration=${seconds}`, '-ac', String(channels), ...args, out]);
  return out;
}
