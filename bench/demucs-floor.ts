/**
 * bench:demucs's inference floor, in its own process: the same ONNX session (same options, same
 * threads) run on as many segments as the separation of `frames` samples runs, with nothing
 * around it (no decode, STFT, iSTFT, blending or encode). The network's cost does not depend on
 * the values, so the segments are one seeded music-like signal. Prints one JSON line.
 *
 *   tsx bench/demucs-floor.ts MODEL_DIR FRAMES THREADS [OVERLAP]
 */
import { musicLike } from '../dev/signals.js';
import { createModel } from '../layers/engine/families/index.js';
import { DEFAULT_HYBRID_OVERLAP } from '../layers/engine/hybrid-separator.js';
import { readManifest } from '../layers/models/manifest.js';

const [dir, framesArg, threadsArg, overlapArg] = process.argv.slice(2);
const frames = Number(framesArg);
const overlap = overlapArg ? Number(overlapArg) : DEFAULT_HYBRID_OVERLAP;
const t0 = performance.now();
const model = await createModel(await readManifest(dir), dir, Number(threadsArg));
if (model.kind !== 'hybrid-segments') throw new Error(`${dir} is not a demucs model`);
const L = model.segmentSamples;
const stride = Math.trunc((1 - overlap) * L);
const segments = Math.ceil(frames / stride) * model.weights.length;
const x = musicLike(L);
const mix = new Float32Array(2 * L);
for (let i = 0; i < L; i++) {
  mix[i] = x[2 * i];
  mix[L + i] = x[2 * i + 1];
}
const spec = new Float32Array(4 * model.bins * model.framesPerSegment).map((_, i) => Math.sin(i) * 0.1);
const t1 = performance.now();
const timings = { inferenceMs: 0 };
let inferenceMs = 0;
for (let s = 0; s < segments; s++) {
  await model.run(s % model.weights.length, mix, spec, timings);
  inferenceMs += timings.inferenceMs;
}
console.log(JSON.stringify({
  segments, loadMs: t1 - t0, inferenceMs, wallMs: performance.now() - t1,
  maxRssMb: process.resourceUsage().maxRSS / 1024,
}));
