/**
 * UVR MDX-Net family: one ONNX file maps the complex STFT of a segment, [batch, 4, dim_f, dim_t]
 * (L.re, L.im, R.re, R.im), to the complex STFT of its primary stem, same shape. The engine's
 * chunk loop (chunked-separator.ts) does everything around the call; this module runs the
 * network one segment at a time (batch 1: the same result per segment as a larger batch, at a
 * fraction of onnxruntime's activation memory) and, when asked, UVR's denoise pass
 * (the network on x and -x, averaged, which cancels its even-order error).
 *
 * One session runs one segment at a time on all threads, while the chunk loop analyses the next
 * segment and synthesises the last (the session is in a worker). Two one-thread sessions on two
 * segments at once were measured too (mdx-arch, this shared 2-core Xeon): 1.80-1.92 s per segment
 * against 2.11-3.39 s for one session on two threads in a micro-benchmark, but in bench:mdx they
 * gave 1.77 s per segment against sherpa's 1.81 and doubled the peak RSS (2181 MB, 0.42 of
 * sherpa's, over the 1/3 the issue allows), so MAX_SEGMENTS_IN_FLIGHT is 1.
 */
import type { ModelManifest } from '../../models/manifest.js';
import { ModelLoadError } from '../../core/errors.js';
import { getSession } from '../ort-sessions.js';
import { prepareTransform } from '../stft.js';
import type { InferenceTimings, SpectrogramChunkModel } from '../types.js';
import path from 'node:path';

/** Segments one model runs at once (each a session of its own: activation memory grows with it). */
const MAX_SEGMENTS_IN_FLIGHT = 1;

export async function createMdxModel(m: ModelManifest, filesDir: string, threads: number): Promise<SpectrogramChunkModel> {
  await prepareTransform(m.stft.nFft);
  const file = m.files[0];
  const concurrency = Math.min(MAX_SEGMENTS_IN_FLIGHT, threads);
  const sessions = await Promise.all(Array.from({ length: concurrency }, (_, replica) =>
    getSession(path.join(filesDir, file.path), Math.floor(threads / concurrency), { replica })));
  const session = sessions[0];
  const output = Object.values(file.outputs)[0];
  if (!session.inputNames.includes(file.input)) {
    throw new ModelLoadError(`${file.path}: input "${file.input}" not found (has ${session.inputNames.join(', ')})`);
  }
  if (!session.outputNames.includes(output)) {
    throw new ModelLoadError(`${file.path}: output "${output}" not found (has ${session.outputNames.join(', ')})`);
  }
  const primary = Object.keys(file.outputs)[0];
  const secondary = m.stems.find((s) => s !== primary)!;
  const dims = [1, 4, m.bins, m.framesPerSplit];
  const size = 4 * m.bins * m.framesPerSplit;
  const negated = sessions.map(() => (m.mdx?.denoise ? new Float32Array(size) : undefined));
  // sessions not running a segment; a segment waits for one
  const idle = sessions.map((_, i) => i);
  const waiting: ((i: number) => void)[] = [];
  const acquire = (): Promise<number> => (idle.length ? Promise.resolve(idle.pop()!) : new Promise((r) => waiting.push(r)));
  const release = (i: number) => { const w = waiting.shift(); if (w) w(i); else idle.push(i); };

  const run = async (i: number, x: Float32Array): Promise<Float32Array> => {
    const r = await sessions[i].run({ [file.input]: { data: x, dims } });
    const data = r[output].data;
    if (!(data instanceof Float32Array) || data.length !== size) {
      throw new ModelLoadError(`${file.path}: output "${output}" is not float32 of shape [${dims.join(', ')}]`);
    }
    return data;
  };

  return {
    kind: 'spectrogram-chunks',
    id: m.id,
    family: 'mdx',
    stems: [primary, secondary],
    sampleRate: m.sampleRate,
    stft: m.stft,
    bins: m.bins,
    framesPerSegment: m.framesPerSplit,
    compensate: m.mdx?.compensate ?? 1,
    concurrency,

    async estimate(spec: Float32Array, out: Float32Array, timings: InferenceTimings): Promise<void> {
      const i = await acquire();
      const t0 = performance.now();
      try {
        const y = await run(i, spec);
        const neg = negated[i];
        if (neg) {
          for (let k = 0; k < size; k++) neg[k] = -spec[k];
          const yNeg = await run(i, neg);
          for (let k = 0; k < size; k++) out[k] = 0.5 * y[k] - 0.5 * yNeg[k];
        } else {
          out.set(y);
        }
      } finally {
        release(i);
      }
      timings.inferenceMs = performance.now() - t0;
    },
  };
}
