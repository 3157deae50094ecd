/**
 * File in, stem files out: probe → checks → decode (streamed) → separate (streamed) → encode
 * (streamed). Outputs appear all at once or not at all: they are written to a hidden folder next
 * to their destination and renamed into place only when every stem has been encoded.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { decodeAudio } from '../audio/decode.js';
import { DEFAULT_FORMAT, OUTPUT_FORMATS, StemEncoder, type OutputFormat } from '../audio/encode.js';
import { probeAudio, type SourceInfo } from '../audio/probe.js';
import { maxDurationSeconds } from '../core/env.js';
import { InvalidRequestError, TooLongError } from '../core/errors.js';
import { loadModel } from './load-model.js';
import { separateChunked } from './chunked-separator.js';
import { separateStream, type FrameGrid, type StemSink } from './separator.js';
import type { HighBandPolicy, ProgressCallback } from './types.js';

export type SampleRatePolicy = 'model' | 'source';

export interface SeparateFileOptions {
  /** Model id or folder; default: the registry's default model. */
  model?: string;
  /** Which stems to write; default: all of the model's. */
  stems?: string[];
  format?: OutputFormat;
  sampleRate?: SampleRatePolicy;
  mp3Kbps?: number;
  grid?: FrameGrid;
  highBand?: HighBandPolicy;
  /** Chunk models (mdx), quality grid: fraction of each segment overlapped with the next. */
  overlap?: number;
  maxDurationSeconds?: number;
  threads?: number;
  /** How the input is named in messages (e.g. the upload's file name). */
  name?: string;
  /** Called with the probed source before any decoding: throw to refuse the job up front. */
  guard?: (source: SourceInfo) => void;
  onProgress?: ProgressCallback;
}

export interface StemOutput { stem: string; file: string; frames: number; clippedSamples: number }

export interface SeparationTimings {
  probeMs: number; loadModelMs: number; decodeMs: number; stftMs: number; inferenceMs: number;
  istftMs: number; encodeMs: number; totalMs: number;
}

export interface SeparationResult {
  model: { id: string; family: string; stems: readonly string[]; sampleRate: number };
  source: SourceInfo;
  outputSampleRate: number;
  format: OutputFormat;
  stems: StemOutput[];
  timings: SeparationTimings;
}

export function selectStems(available: readonly string[], wanted: string[] | undefined, modelId: string): string[] {
  if (!wanted || wanted.length === 0) return [...available];
  const unknown = wanted.filter((s) => !available.includes(s));
  if (unknown.length) {
    throw new InvalidRequestError(`model ${modelId} has no stem(s) ${unknown.join(', ')} (it has ${available.join(', ')})`);
  }
  return available.filter((s) => wanted.includes(s));
}

export async function separateFile(input: string, outDir: string, opts: SeparateFileOptions = {}): Promise<SeparationResult> {
  const t0 = performance.now();
  const name = opts.name ?? path.basename(input);
  const format = opts.format ?? DEFAULT_FORMAT;
  const progress = opts.onProgress ?? (() => {});
  progress('probe', 0);
  const source = await probeAudio(input, name);
  const maxSeconds = opts.maxDurationSeconds ?? maxDurationSeconds();
  if (source.durationSeconds !== undefined && source.durationSeconds > maxSeconds) {
    throw new TooLongError(`${name} lasts ${source.durationSeconds.toFixed(1)} s, more than the maximum of ${maxSeconds} s`);
  }
  opts.guard?.(source);
  const t1 = performance.now();
  const { model } = await loadModel(opts.model, opts.threads);
  const t2 = performance.now();
  const wanted = selectStems(model.stems, opts.stems, model.id);
  const outputRate = opts.sampleRate === 'source' ? source.sampleRate : model.sampleRate;

  await mkdir(outDir, { recursive: true });
  const staging = path.join(outDir, `.partial-${randomBytes(6).toString('hex')}`);
  await mkdir(staging);
  const ext = OUTPUT_FORMATS[format].ext;
  const encoders = new Map(wanted.map((stem) => [stem, new StemEncoder(path.join(staging, `${stem}.${ext}`), {
    format, inputRate: model.sampleRate, outputRate, mp3Kbps: opts.mp3Kbps,
  })]));
  const stemIdx = wanted.map((s) => model.stems.indexOf(s));
  let encodeMs = 0;
  let decodeMs = 0;

  try {
    const decoded = decodeAudio(input, { sampleRate: model.sampleRate, maxSeconds, source, name });
    const timed = async function* () {
      for (;;) {
        const d0 = performance.now();
        const r = await decoded.next();
        decodeMs += performance.now() - d0;
        if (r.done) return;
        yield r.value;
      }
    };
    const expectedSamples = source.durationSeconds ? Math.round(source.durationSeconds * model.sampleRate) : undefined;
    progress('separate', 0);
    const sink: StemSink = async (blocks) => {
      const e0 = performance.now();
      await Promise.all(wanted.map((stem, i) => encoders.get(stem)!.write(blocks[stemIdx[i]])));
      encodeMs += performance.now() - e0;
    };
    const onProgress = (f: number) => progress('separate', f);
    const stats = model.kind === 'spectrogram-chunks'
      ? await separateChunked(timed(), model, sink, { grid: opts.grid, overlap: opts.overlap, expectedSamples, onProgress })
      : await separateStream(timed(), model, sink, { grid: opts.grid, highBand: opts.highBand, expectedSamples, onProgress });
    progress('encode', 1);
    const e0 = performance.now();
    const results = await Promise.all(wanted.map((stem) => encoders.get(stem)!.finish()));
    encodeMs += performance.now() - e0;
    const stems: StemOutput[] = [];
    for (const [i, stem] of wanted.entries()) {
      const file = path.join(outDir, `${stem}.${ext}`);
      await rename(path.join(staging, `${stem}.${ext}`), file);
      stems.push({ stem, file, ...results[i] });
    }
    progress('done', 1);
    return {
      model: { id: model.id, family: model.family, stems: model.stems, sampleRate: model.sampleRate },
      source, outputSampleRate: outputRate, format, stems,
      timings: {
        probeMs: t1 - t0, loadModelMs: t2 - t1, decodeMs, stftMs: stats.stftMs, inferenceMs: stats.inferenceMs,
        istftMs: stats.istftMs, encodeMs, totalMs: performance.now() - t0,
      },
    };
  } catch (err) {
    for (const e of encoders.values()) e.abort();
    throw err;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
