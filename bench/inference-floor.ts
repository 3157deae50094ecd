/**
 * The inference floor of a separation, in its own process (as separate-once.ts runs ours): the
 * model's ONNX sessions, with the engine's session options and threads, run on the same inputs
 * the engine feeds them for this song, scheduled as the family schedules them, with nothing
 * around them. Inputs are prepared first (untimed) with the engine's own STFT; only the runs are
 * timed. Prints one JSON line: { floorMs, runs, maxRssMb }.
 *
 *   node --import tsx bench/inference-floor.ts IN.wav MODEL GRID THREADS
 */
import path from 'node:path';
import { getSession } from '../layers/engine/ort-sessions.js';
import { FrameTransform, prepareTransform } from '../layers/engine/stft.js';
import { resolveModel } from '../layers/models/registry.js';
import { enableSharedModels } from '../local/shared-models.js';
import { readWav } from '../dev/wav.js';

enableSharedModels();
const [input, modelId, grid, threadsArg] = process.argv.slice(2);
const threads = Number(threadsArg);
const { manifest: m, filesDir } = await resolveModel(modelId);
if (m.family !== 'spleeter') throw new Error(`inference floor: family ${m.family} not supported (spleeter only)`);

const { data } = readWav(input);
const N = data.length >> 1;
const { nFft, hop } = m.stft;
const F = m.framesPerSplit;
const bins = m.bins;
// the frames the engine analyses: reference grid from sample 0 to the last whole frame; aligned grid padded by nFft - hop
const pad = grid === 'reference' ? 0 : nFft - hop;
const frames = grid === 'reference' ? Math.floor((N - nFft) / hop) + 1 : Math.floor((pad + N - 1) / hop) + 1;
const splits = Math.ceil(frames / F);
await prepareTransform(nFft);
const tf = new FrameTransform(nFft);
const planar = [0, 1].map((c) => {
  const p = new Float32Array(pad + splits * F * hop + nFft);
  for (let i = 0; i < N; i++) p[pad + i] = data[2 * i + c];
  return p;
});
const re = new Float32Array(nFft / 2 + 1);
const im = new Float32Array(nFft / 2 + 1);
const inputs: Float32Array[] = [];
for (let s = 0; s < splits; s++) {
  const mag = new Float32Array(2 * F * bins);
  for (let c = 0; c < 2; c++) {
    for (let f = 0; f < F && s * F + f < frames; f++) tf.forwardWithMagnitude(planar[c], (s * F + f) * hop, re, im, 0, mag, (c * F + f) * bins, bins);
  }
  inputs.push(mag);
}

// the family's schedule (spleeter.ts): the files in parallel with a share of the threads each when there are enough
const parallel = threads >= m.files.length;
const perSession = parallel ? Math.floor(threads / m.files.length) : threads;
const sessions = await Promise.all(m.files.map((f) => getSession(path.join(filesDir, f.path), perSession)));
const dims = [2, 1, F, bins];
const feed = (i: number, x: Float32Array) => ({ [m.files[i].input]: { data: x, dims } });
const t0 = performance.now();
// as the engine runs them: in parallel, every split queued in each session (one after the other,
// back to back); in turn, each split through every session before the next
if (parallel) await Promise.all(sessions.map((s, i) => Promise.all(inputs.map((x) => s.run(feed(i, x))))));
else for (const x of inputs) for (const [i, s] of sessions.entries()) await s.run(feed(i, x));
const floorMs = performance.now() - t0;
console.log(JSON.stringify({ floorMs, runs: inputs.length * sessions.length, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
