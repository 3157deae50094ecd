/**
 * Spleeter family (the sherpa-onnx contract): each file maps magnitudes [2, splits, frames, bins]
 * to an estimated magnitude per stem; masks are Wiener-style ratios
 *   mask_s = (y_s^2 + eps/S) / (sum_k y_k^2 + eps),
 * which sum to one, so stems sum back to the mixture (float32, in a SIMD kernel).
 *
 * Scheduling: with at least one thread per file, the files' sessions run at the same time, each on
 * its share of the threads (each session has a worker thread of its own, see ort-sessions.ts);
 * with fewer threads than files they run one after the other on all of them. Measured on a
 * 2-core Xeon (bench:engine's 3-minute input, alternating runs): one thread per file in parallel
 * 4.95-5.65 s against 5.39-7.61 s for the files in turn on two threads each; one intra-op thread
 * needs no barrier between the two cores, which a shared or oversubscribed machine makes costly.
 */
import type { ModelManifest } from '../../models/manifest.js';
import { ModelLoadError } from '../../core/errors.js';
import { getSession, type ModelSession, type RunTiming } from '../ort-sessions.js';
import { frameKernels, HeapFloats } from '../pffft.js';
import { prepareTransform } from '../stft.js';
import type { InferenceTimings, SeparationModel } from '../types.js';
import path from 'node:path';

const EPS = 1e-10;

export async function createSpleeterModel(m: ModelManifest, filesDir: string, threads: number): Promise<SeparationModel> {
  await prepareTransform(m.stft.nFft);
  const parallel = threads >= m.files.length;
  const perSession = parallel ? Math.floor(threads / m.files.length) : threads;
  const sessions = await Promise.all(m.files.map((f) => getSession(path.join(filesDir, f.path), perSession)));
  sessions.forEach((s, i) => {
    const f = m.files[i];
    if (!s.inputNames.includes(f.input)) {
      throw new ModelLoadError(`${f.path}: input "${f.input}" not found (has ${s.inputNames.join(', ')})`);
    }
    for (const out of Object.values(f.outputs)) {
      if (!s.outputNames.includes(out)) throw new ModelLoadError(`${f.path}: output "${out}" not found (has ${s.outputNames.join(', ')})`);
    }
  });
  const S = m.stems.length;
  const stemIndex = new Map(m.stems.map((s, i) => [s, i]));
  const F = m.framesPerSplit;
  const dims = [2, 1, F, m.bins];
  const estimates: Float32Array[] = new Array(S);

  return {
    id: m.id,
    family: 'spleeter',
    stems: m.stems,
    sampleRate: m.sampleRate,
    stft: m.stft,
    bins: m.bins,
    framesPerSplit: F,
    highBand: m.highBand,
    residualStem: stemIndex.get(m.residualStem)!,
    magnitudeEstimates: true,

    async estimateMasks(mag: Float32Array, masks: Float32Array[], timings: InferenceTimings, magnitudes?: Float32Array[]): Promise<void> {
      const feed = (i: number) => ({ [m.files[i].input]: { data: mag, dims } });
      const ran: RunTiming[] = sessions.map(() => ({ ms: 0 }));
      const results: Awaited<ReturnType<ModelSession['run']>>[] = [];
      if (parallel) results.push(...await Promise.all(sessions.map((s, i) => s.run(feed(i), ran[i]))));
      else for (const [i, s] of sessions.entries()) results.push(await s.run(feed(i), ran[i]));
      // the models' own time (a run may wait in its session's queue behind the previous split's)
      timings.inferenceMs = parallel ? Math.max(...ran.map((r) => r.ms)) : ran.reduce((a, r) => a + r.ms, 0);
      results.forEach((r, i) => {
        for (const [stem, out] of Object.entries(m.files[i].outputs)) {
          const data = r[out].data;
          if (!(data instanceof Float32Array) || data.length !== mag.length) {
            throw new ModelLoadError(`${m.files[i].path}: output "${out}" is not float32 of shape [${dims.join(', ')}]`);
          }
          estimates[stemIndex.get(stem)!] = data;
        }
      });
      ratioMasks(estimates, masks, mag.length);
      if (magnitudes) for (let s = 0; s < S; s++) magnitudes[s] = estimates[s];
    },
  };
}

/** Floats of each stem per kernel call: the scratch stays in the caches. */
const MASK_CHUNK = 16384;
const maskScratch = new Map<number, { est: HeapFloats; masks: HeapFloats }>();

/** Exported for tests. Ratio masks in chunks, through the SIMD kernel (the arrays are the caller's). */
export function ratioMasks(est: Float32Array[], masks: Float32Array[], n: number): void {
  const S = est.length;
  if (S === 0) return;
  let scratch = maskScratch.get(S);
  if (!scratch) maskScratch.set(S, (scratch = { est: new HeapFloats(S * MASK_CHUNK), masks: new HeapFloats(S * MASK_CHUNK) }));
  const k = frameKernels();
  for (let o = 0; o < n; o += MASK_CHUNK) {
    const m = Math.min(MASK_CHUNK, n - o);
    const ev = scratch.est.view;
    for (let s = 0; s < S; s++) ev.set(est[s].subarray(o, o + m), s * MASK_CHUNK);
    k.ratioMasks(scratch.est.ptr, scratch.masks.ptr, 4 * MASK_CHUNK, S, m, EPS);
    const mv = scratch.masks.view;
    for (let s = 0; s < S; s++) masks[s].set(mv.subarray(s * MASK_CHUNK, s * MASK_CHUNK + m), o);
  }
}
