/**
 * Demucs family (HTDemucs, official or converted by models/convert/demucs_onnx.py): each network
 * of the bag is one ONNX file in the contract of the community exports (sevagh/demucs.onnx): the
 * waveform segment `mix` [1, 2, L] and its spectrogram `spec` [1, 4, F, T] (complex as channels)
 * in; the frequency branch `freq` [1, S, 4, F, T] and the time branch `time` [1, S, 2, L] out.
 * The engine's hybrid loop (hybrid-separator.ts) does the spectrogram, its inverse and
 * apply_model's segmenting; this module runs one network on one segment.
 */
import path from 'node:path';
import { ModelLoadError } from '../../core/errors.js';
import type { ModelManifest } from '../../models/manifest.js';
import { getSession, ort } from '../ort-sessions.js';
import type { HybridSegmentModel, InferenceTimings } from '../types.js';

export async function createDemucsModel(m: ModelManifest, filesDir: string, threads: number): Promise<HybridSegmentModel> {
  const d = m.demucs;
  if (!d) throw new ModelLoadError(`model ${m.id}: a demucs model needs its "demucs" settings`);
  const L = d.segmentSamples;
  const T = m.framesPerSplit;
  const F = m.bins;
  const S = m.stems.length;
  const sizes = { freq: S * 4 * F * T, time: S * 2 * L };
  // the arena keeps the largest activations alive between runs: without it the same speed at a fraction of the memory (as mdx)
  const sessions = await Promise.all(m.files.map(async (f) => {
    const session = await getSession(path.join(filesDir, f.path), threads, { memArena: false });
    for (const name of [d.io.mix, d.io.spec]) {
      if (!session.inputNames.includes(name)) throw new ModelLoadError(`${f.path}: input "${name}" not found (has ${session.inputNames.join(', ')})`);
    }
    for (const name of [d.io.freq, d.io.time]) {
      if (!session.outputNames.includes(name)) throw new ModelLoadError(`${f.path}: output "${name}" not found (has ${session.outputNames.join(', ')})`);
    }
    return { session, file: f.path };
  }));

  return {
    kind: 'hybrid-segments',
    id: m.id,
    family: 'demucs',
    stems: m.stems,
    sampleRate: m.sampleRate,
    stft: m.stft,
    bins: F,
    segmentSamples: L,
    framesPerSegment: T,
    weights: d.weights,

    async run(network: number, mix: Float32Array, spec: Float32Array, timings: InferenceTimings) {
      const { session, file } = sessions[network];
      const t0 = performance.now();
      const r = await session.run({
        [d.io.mix]: new ort.Tensor('float32', mix, [1, 2, L]),
        [d.io.spec]: new ort.Tensor('float32', spec, [1, 4, F, T]),
      });
      const freq = r[d.io.freq].data;
      const time = r[d.io.time].data;
      if (!(freq instanceof Float32Array) || freq.length !== sizes.freq) {
        throw new ModelLoadError(`${file}: output "${d.io.freq}" is not float32 of shape [1, ${S}, 4, ${F}, ${T}]`);
      }
      if (!(time instanceof Float32Array) || time.length !== sizes.time) {
        throw new ModelLoadError(`${file}: output "${d.io.time}" is not float32 of shape [1, ${S}, 2, ${L}]`);
      }
      timings.inferenceMs = performance.now() - t0;
      return { freq, time };
    },
  };
}
