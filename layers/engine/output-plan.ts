/**
 * Limits checked before any work: what the job will write, projected from the probed source, is
 * compared with the per-job cap and with the free space where it will be written, and sources
 * above the maximum sample rate are refused. A 32 KB 384 kHz FLAC asked for `source`-rate wav32f
 * would otherwise fill /tmp only after all the compute.
 */
import { statfs } from 'node:fs/promises';
import type { SourceInfo } from '../audio/probe.js';
import type { OutputFormat } from '../audio/encode.js';
import { ExceedsStorageError, OutputTooLargeError, SourceRateTooHighError } from '../core/errors.js';

export type SampleRatePolicy = 'model' | 'source';

export interface OutputPlan {
  sampleRate: number;
  stems: number;
  format: OutputFormat;
  /** Audio seconds the projection is for. */
  seconds: number;
  /** All stem files together (on disk while the job runs). */
  stemBytes: number;
  /** What the job stores: the stems and the zip that holds them again. */
  resultBytes: number;
}

/** Upper bound of one stereo stem's bytes per second in each format. */
export function bytesPerSecond(format: OutputFormat, sampleRate: number): number {
  switch (format) {
    case 'wav16': return sampleRate * 2 * 2;
    case 'wav24': return sampleRate * 2 * 3;
    case 'wav32f': return sampleRate * 2 * 4;
    case 'flac': return sampleRate * 2 * 3 * 1.02; // 24-bit; noise may not compress at all
    case 'mp3': return (320 * 1000) / 8; // the encoder writes 320 kbps
  }
}

/** `source` keeps the source's rate up to the cap; `model` writes at the model's rate. */
export function outputRate(policy: SampleRatePolicy | undefined, source: SourceInfo, modelRate: number, maxOutputRate: number): number {
  return policy === 'source' ? Math.min(source.sampleRate, maxOutputRate) : modelRate;
}

export function planOutput(source: SourceInfo, o: { sampleRate: number; stems: number; format: OutputFormat }): OutputPlan {
  // unknown length: assume a 128 kbps stream, as the time projection does
  const seconds = source.durationSeconds ?? source.bytes / 16_000;
  const stemBytes = Math.ceil(bytesPerSecond(o.format, o.sampleRate) * seconds + 4096) * o.stems;
  return { sampleRate: o.sampleRate, stems: o.stems, format: o.format, seconds, stemBytes, resultBytes: stemBytes * 2 };
}

export function checkSourceRate(source: SourceInfo, maxSourceRate: number, name: string): void {
  if (source.sampleRate > maxSourceRate) {
    throw new SourceRateTooHighError(`${name} is sampled at ${source.sampleRate} Hz; the maximum accepted is ${maxSourceRate} Hz`);
  }
}

const mb = (b: number) => `${Math.ceil(b / 1048576)} MB`;

/** Refuses a plan over the per-job cap, or one whose stems (plus the input) would not fit where they go. */
export async function checkOutputPlan(plan: OutputPlan, o: { maxOutputBytes: number; dir: string; name: string; inputBytes?: number }): Promise<void> {
  if (plan.resultBytes > o.maxOutputBytes) {
    throw new OutputTooLargeError(`${o.name} would produce about ${mb(plan.resultBytes)} of results (${plan.stems} ${plan.format} stems at ${plan.sampleRate} Hz and their zip); the maximum per job is ${mb(o.maxOutputBytes)}: choose fewer stems, a compressed format or the model's sample rate`);
  }
  const fs = await statfs(o.dir);
  const free = fs.bavail * fs.bsize;
  if (plan.stemBytes > free) {
    throw new ExceedsStorageError(`${o.name} would need about ${mb(plan.stemBytes)} of working storage for its stems, but only ${mb(free)} is free`);
  }
}
