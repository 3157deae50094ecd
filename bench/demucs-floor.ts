/**
 * bench:demucs's inference floor, in its own process: the same ONNX session (same options, same
 * threads) run on the same segments as the separation of the same WAV (apply_model's offsets, the
 * short last one padded the same way), with nothing around the timed calls: each segment is read
 * from the file and its spectrogram computed before its call, outside the time, and the song is
 * never held whole (its peak memory is the session's). Prints one JSON line.
 *
 *   tsx bench/demucs-floor.ts MODEL_DIR INPUT.wav THREADS      (a float32 stereo WAV, as benchInputs writes)
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createModel } from '../layers/engine/families/index.js';
import { DEFAULT_HYBRID_OVERLAP, DemucsSpectrum } from '../layers/engine/hybrid-separator.js';
import { readManifest } from '../layers/models/manifest.js';

const [dir, wav, threadsArg] = process.argv.slice(2);
const t0 = performance.now();
const model = await createModel(await readManifest(dir), dir, Number(threadsArg));
if (model.kind !== 'hybrid-segments') throw new Error(`${dir} is not a demucs model`);
const L = model.segmentSamples;
const stride = Math.trunc((1 - DEFAULT_HYBRID_OVERLAP) * L);

// the data chunk of a float32 stereo WAV: [offset, frames]
const fd = openSync(wav, 'r');
const head = Buffer.alloc(4096);
readSync(fd, head, 0, head.length, 0);
let pos = 12;
while (head.toString('ascii', pos, pos + 4) !== 'data') pos += 8 + head.readUInt32LE(pos + 4);
const dataAt = pos + 8;
const frames = head.readUInt32LE(pos + 4) / 8;

const mix = new Float32Array(2 * L);
const raw = Buffer.alloc(8 * L);
/** mix = song frames [from, from + L), deinterleaved, zero outside the song. */
function readSegment(from: number): void {
  mix.fill(0);
  const a = Math.max(0, from);
  const b = Math.min(frames, from + L);
  if (b <= a) return;
  readSync(fd, raw, 0, 8 * (b - a), dataAt + 8 * a);
  const x = new Float32Array(raw.buffer, raw.byteOffset, 2 * (b - a));
  for (let i = a; i < b; i++) {
    mix[i - from] = x[2 * (i - a)];
    mix[L + i - from] = x[2 * (i - a) + 1];
  }
}

const spectrum = new DemucsSpectrum(model.stft.nFft, model.stft.hop, L);
const spec = new Float32Array(4 * model.bins * model.framesPerSegment);
const t1 = performance.now();
const timings = { inferenceMs: 0 };
let inferenceMs = 0;
let segments = 0;
for (let o = 0; o < frames; o += stride) {
  const n = Math.min(L, frames - o);
  readSegment(o - ((L - n) >> 1));
  spectrum.forward(mix.subarray(0, L), mix.subarray(L), spec);
  for (let m = 0; m < model.weights.length; m++) {
    await model.run(m, mix, spec, timings);
    inferenceMs += timings.inferenceMs;
    segments++;
  }
}
closeSync(fd);
console.log(JSON.stringify({
  segments, loadMs: t1 - t0, inferenceMs, wallMs: performance.now() - t1,
  maxRssMb: process.resourceUsage().maxRSS / 1024,
}));
