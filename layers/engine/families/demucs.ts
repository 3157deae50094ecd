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
import { getSession } from '../ort-sessions.js';
import { prepareTransform } from '../stft.js';
import type { HybridSegmentModel, InferenceTimings } from '../types.js';

export async function createDemucsModel(m: ModelManifest, filesDir: string, threads: number): Promise<HybridSegmentModel> {
  const d = m.demucs;
  if (!d) throw new ModelLoadError(`model ${m.id}: a demucs model needs its "demucs" settings`);
  await prepareTransform(m.stft.nFft);
  const L = d.segmentSamples;
  const T = m.framesPerSplit;
  const F = m.bins;
  const S = m.stems.length;
  const sizes = { freq: S * 4 * F * T, time: S * 2 * L };
  // onnxruntime's arena on (see SessionTuning): 20 s of the bench input with the full-size random-weight
  // HTDemucs, 2 threads: 7.8-8.0 s of inference at 1938-1975 MB with it, 8.8-9.5 s at 1921-1963 MB without
  const sessions = await Promise.all(m.files.map(async (f) => {
    const session = await getSession(path.join(filesDir, f.path), threads);
    if (session.inputNames.length !== 2 || session.outputNames.length !== 2) {
      throw new ModelLoadError(`${f.path}: a demucs network has two inputs (mix, spec) and two outputs (freq, time); it has ${session.inputNames.join(', ')} -> ${session.outputNames.join(', ')}`);
    }
    // by name when the manifest names them, else by position (sevagh's exports name only the first ones)
    const io = d.io ?? { mix: session.inputNames[0], spec: session.inputNames[1], freq: session.outputNames[0], time: session.outputNames[1] };
    for (const name of [io.mix, io.spec]) {
      if (!session.inputNames.includes(name)) throw new ModelLoadError(`${f.path}: input "${name}" not found (has ${session.inputNames.join(', ')})`);
    }
    for (const name of [io.freq, io.time]) {
      if (!session.outputNames.includes(name)) throw new ModelLoadError(`${f.path}: output "${name}" not found (has ${session.outputNames.join(', ')})`);
    }
    return { session, file: f.path, io };
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
      const { session, file, io } = sessions[network];
      const t0 = performance.now();
      const r = await session.run({
        [io.mix]: { data: mix, dims: [1, 2, L] },
        [io.spec]: { data: spec, dims: [1, 4, F, T] },
      });
      const freq = r[io.freq].data;
      const time = r[io.time].data;
      if (!(freq instanceof Float32Array) || freq.length !== sizes.freq) {
        throw new ModelLoadError(`${file}: output "${io.freq}" is not float32 of shape [1, ${S}, 4, ${F}, ${T}]`);
      }
      if (!(time instanceof Float32Array) || time.length !== sizes.time) {
        throw new ModelLoadError(`${file}: output "${io.time}" is not float32 of shape [1, ${S}, 2, ${L}]`);
      }
      timings.inferenceMs = performance.now() - t0;
      return { freq, time };
    },
  };
}
