/**
 * File in, stem files out: probe → checks → decode (streamed) → separate (streamed) → encode
 * (streamed). Outputs appear all at once or not at all: they are written to a hidden folder next
 * to their destination and renamed into place only when every stem has been encoded.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { decodeAudio } from '../audio/decode.js';
import { DEFAULT_FORMAT, OUTPUT_FORMATS, StemEncoder, type OutputFormat } from '../audio/encode.js';
import { probeAudio, type SourceInfo } from '../audio/probe.js';
import { maxDurationSeconds, mediaLimits, type MediaLimits } from '../core/env.js';
import { InvalidRequestError, TooLongError } from '../core/errors.js';
import type { ModelManifest } from '../models/manifest.js';
import { defaultModelId, readModelManifest } from '../models/registry.js';
import { loadModel } from './load-model.js';
import { checkOutputPlan, checkSourceRate, outputRate as chooseOutputRate, planOutput, type OutputPlan, type SampleRatePolicy } from './output-plan.js';
import { wienerSettingsFor, type Quality } from './quality.js';
import { separateChunked } from './chunked-separator.js';
import { separateHybrid } from './hybrid-separator.js';
import { separateStream, type FrameGrid, type StemSink } from './separator.js';
import { isMaskModel, type HighBandPolicy, type ProgressCallback } from './types.js';

export type { SampleRatePolicy } from './output-plan.js';

export interface SeparateFileOptions {
  /** Model id or folder; default: the registry's default model. */
  model?: string;
  /** Which stems to write; default: all of the model's. */
  stems?: string[];
  format?: OutputFormat;
  sampleRate?: SampleRatePolicy;
  grid?: FrameGrid;
  highBand?: HighBandPolicy;
  /** fast: the model's masks; best: multichannel Wiener filtering (model default from its manifest). */
  quality?: Quality;
  /** Wiener iterations, overriding the quality's (0 = masks only). */
  iterations?: number;
  /** Chunk models (mdx), quality grid, and demucs models: fraction of each segment overlapped with the next. */
  overlap?: number;
  /** Demucs models: random time shifts averaged (apply_model's shifts; default 0). */
  shifts?: number;
  /** Demucs models: seed of the shifts (reproducible output). */
  seed?: number;
  maxDurationSeconds?: number;
  threads?: number;
  /** How the input is named in messages (e.g. the upload's file name). */
  name?: string;
  /** Rate caps and the per-job output cap; default: from the environment (mediaLimits). */
  limits?: MediaLimits;
  /** Called with the probed source and the output plan before the model loads: throw to refuse the job up front. */
  guard?: (source: SourceInfo, plan: OutputPlan, manifest: ModelManifest) => void;
  onProgress?: ProgressCallback;
  /** The result of prepareSeparation for this input and these options (skips probing again). */
  prepared?: PreparedSeparation;
}

export interface StemOutput { stem: string; file: string; frames: number; clippedSamples: number }

export interface SeparationTimings {
  probeMs: number; loadModelMs: number; decodeMs: number; stftMs: number; inferenceMs: number;
  istftMs: number; wienerMs: number; encodeMs: number; totalMs: number;
}

export interface SeparationResult {
  model: { id: string; family: string; stems: readonly string[]; sampleRate: number };
  source: SourceInfo;
  outputSampleRate: number;
  format: OutputFormat;
  /** Wiener iterations run (0: the model's masks). */
  wienerIterations: number;
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

/** What is known before the model loads: the probed source, the manifest, the stems and the output plan, every limit checked. */
export interface PreparedSeparation {
  source: SourceInfo;
  manifest: ModelManifest;
  wanted: string[];
  outputRate: number;
  plan: OutputPlan;
  probeMs: number;
}

/** Probe and every check that needs no model: duration, source rate, stems, output size and free space in `dir`. */
export async function prepareSeparation(input: string, dir: string, opts: SeparateFileOptions = {}): Promise<PreparedSeparation> {
  const t0 = performance.now();
  const name = opts.name ?? path.basename(input);
  const maxSeconds = opts.maxDurationSeconds ?? maxDurationSeconds();
  const limits = opts.limits ?? mediaLimits();
  const source = await probeAudio(input, name, { maxSeconds });
  // every limit is checked here, before the model loads: from the probe, the counting pass and the manifest
  if (source.durationSeconds !== undefined && source.durationSeconds > maxSeconds) {
    // the counting pass stops a second past the limit: then all we know is "longer than that"
    const capped = source.countedSeconds !== undefined && source.countedSeconds === source.durationSeconds && source.countedSeconds >= maxSeconds + 0.99;
    const lasts = capped ? `at least ${maxSeconds + 1}` : source.durationSeconds.toFixed(1);
    throw new TooLongError(`${name} lasts ${lasts} s, more than the maximum of ${maxSeconds} s`);
  }
  checkSourceRate(source, limits.maxSourceRate, name);
  const manifest = await readModelManifest(opts.model ?? defaultModelId());
  const wanted = selectStems(manifest.stems, opts.stems, manifest.id);
  const outputRate = chooseOutputRate(opts.sampleRate, source, manifest.sampleRate, limits.maxOutputRate);
  const plan = planOutput(source, { sampleRate: outputRate, stems: wanted.length, format: opts.format ?? DEFAULT_FORMAT });
  await checkOutputPlan(plan, { maxOutputBytes: limits.maxOutputBytes, dir, name });
  return { source, manifest, wanted, outputRate, plan, probeMs: performance.now() - t0 };
}

export async function separateFile(input: string, outDir: string, opts: SeparateFileOptions = {}): Promise<SeparationResult> {
  const t0 = performance.now();
  const format = opts.format ?? DEFAULT_FORMAT;
  const progress = opts.onProgress ?? (() => {});
  progress('probe', 0);
  const maxSeconds = opts.maxDurationSeconds ?? maxDurationSeconds();
  const name = opts.name ?? path.basename(input);
  // the first folder this call creates, if any: removed again (when empty) if the separation fails
  const created = await mkdir(outDir, { recursive: true });
  const removeCreated = async () => { if (created) await removeEmptyFolders(outDir, created); };
  let succeeded = false;
  const loaded = await (async () => {
    const prepared = opts.prepared ?? await prepareSeparation(input, outDir, opts);
    const { source, manifest } = prepared;
    opts.guard?.(source, prepared.plan, manifest);
    const t1 = performance.now();
    const { model, resolved } = await loadModel(opts.model, opts.threads);
    const t2 = performance.now();
    const wiener = wienerSettingsFor(resolved.manifest, isMaskModel(model) && !!model.magnitudeEstimates, { quality: opts.quality, iterations: opts.iterations });
    return { t1, t2, model, wiener, prepared };
  })().catch(async (err) => { await removeCreated(); throw err; });
  const { t1, t2, model, wiener, prepared: { source, wanted, outputRate } } = loaded;

  const staging = path.join(outDir, `.partial-${randomBytes(6).toString('hex')}`);
  await mkdir(staging);
  const ext = OUTPUT_FORMATS[format].ext;
  // resampled stems are exactly as long as the source (in time) where its header says how long
  const outputFrames = source.frames !== undefined && outputRate !== model.sampleRate
    ? Math.round((source.frames * outputRate) / source.sampleRate) : undefined;
  const encoders = new Map(wanted.map((stem) => [stem, new StemEncoder(path.join(staging, `${stem}.${ext}`), {
    format, inputRate: model.sampleRate, outputRate, outputFrames,
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
      : model.kind === 'hybrid-segments'
        ? await separateHybrid(timed(), model, sink, { overlap: opts.overlap, shifts: opts.shifts, seed: opts.seed, expectedSamples, onProgress })
        : await separateStream(timed(), model, sink, { grid: opts.grid, highBand: opts.highBand, wiener, expectedSamples, onProgress });
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
    succeeded = true;
    return {
      model: { id: model.id, family: model.family, stems: model.stems, sampleRate: model.sampleRate },
      source, outputSampleRate: outputRate, format, wienerIterations: wiener?.iterations ?? 0, stems,
      timings: {
        probeMs: t1 - t0, loadModelMs: t2 - t1, decodeMs, stftMs: stats.stftMs, inferenceMs: stats.inferenceMs,
        istftMs: stats.istftMs, wienerMs: stats.wienerMs, encodeMs, totalMs: performance.now() - t0,
      },
    };
  } catch (err) {
    for (const e of encoders.values()) e.abort();
    throw err;
  } finally {
    await rm(staging, { recursive: true, force: true });
    if (!succeeded) await removeCreated();
  }
}

/** Removes `dir` and its parents up to `top` while they are empty (a failed job leaves no folder). */
async function removeEmptyFolders(dir: string, top: string): Promise<void> {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      await rmdir(d);
    } catch {
      return; // not empty (or gone): leave it and everything above
    }
    if (d === path.resolve(top) || d === path.dirname(d)) return;
  }
}
