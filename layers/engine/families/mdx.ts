/**
 * UVR MDX-Net family: one ONNX file maps the complex STFT of a segment, [batch, 4, dim_f, dim_t]
 * (L.re, L.im, R.re, R.im), to the complex STFT of its primary stem, same shape. The engine's
 * chunk loop (chunked-separator.ts) does everything around the call; this module runs the
 * network one segment at a time (batch 1: the same result per segment as a larger batch, at a
 * fraction of onnxruntime's activation memory) and, when asked, UVR's denoise pass
 * (the network on x and -x, averaged, which cancels its even-order error).
 */
import type { ModelManifest } from '../../models/manifest.js';
import { ModelLoadError } from '../../core/errors.js';
import { getSession } from '../ort-sessions.js';
import { prepareTransform } from '../stft.js';
import type { InferenceTimings, SpectrogramChunkModel } from '../types.js';
import path from 'node:path';

export async function createMdxModel(m: ModelManifest, filesDir: string, threads: number): Promise<SpectrogramChunkModel> {
  await prepareTransform(m.stft.nFft);
  const file = m.files[0];
  const session = await getSession(path.join(filesDir, file.path), threads, { memArena: false });
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
  const negated = m.mdx?.denoise ? new Float32Array(size) : undefined;

  const run = async (x: Float32Array): Promise<Float32Array> => {
    const r = await session.run({ [file.input]: { data: x, dims } });
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

    async estimate(spec: Float32Array, out: Float32Array, timings: InferenceTimings): Promise<void> {
      const t0 = performance.now();
      const y = await run(spec);
      if (negated) {
        for (let i = 0; i < size; i++) negated[i] = -spec[i];
        const yNeg = await run(negated);
        for (let i = 0; i < size; i++) out[i] = 0.5 * y[i] - 0.5 * yNeg[i];
      } else {
        out.set(y);
      }
      timings.inferenceMs = performance.now() - t0;
    },
  };
}
