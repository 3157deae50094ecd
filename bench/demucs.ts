/**
 * bench:demucs — the demucs family on a full-size HTDemucs (upstream's class, default
 * configuration, 7.8-s segment, seeded random weights: models/convert/demucs_random.py, made
 * once into the cache, never committed), same threads, in one run:
 *   (a) the inference floor: the same ONNX session on the same segments, nothing around the calls;
 *   (b) ours end to end (decode, Demucs STFT, network, iSTFT, apply_model blending, encode),
 *       on ~3 and ~10 minutes of MUSDB mixtures (peak RSS growth);
 *   (c) upstream Demucs' own apply_model on PyTorch CPU (Debian's python3-torch,
 *       torch.set_num_threads = threads, same overlap, no shifts) on the same 3 minutes.
 * The last line is machine-readable.
 *
 *   npm run bench:demucs [-- --threads N] [--upstream-seconds S]   (under `flock /tmp/heavy.lock`)
 *
 * Upstream demucs and its dependencies come from their repositories (fetched outside the repo):
 * DEMUCS_PYTHONPATH names the folder(s) holding demucs/, einops/, julius/ and openunmix/filtering.py.
 * Without them (or without /usr/bin/python3 with torch) the bench says so and skips.
 * --upstream-seconds S runs (c) on the first S seconds only and scales its time to the 3 minutes by
 * the number of segments (upstream costs the same per segment; the output says so).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ffmpegBinary } from '../layers/audio/ffmpeg.js';
import { cacheDir } from '../layers/core/env.js';
import { benchInputs, mixtureWav, musdbSongs, sharedOrSkipReason } from '../dev/reference.js';

const exec = promisify(execFile);
const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const threads = Number(arg('--threads')) || os.availableParallelism();
const upstreamSeconds = arg('--upstream-seconds') ? Number(arg('--upstream-seconds')) : undefined;
const python = process.env.DEMUCS_PYTHON ?? '/usr/bin/python3';
const pythonPath = process.env.DEMUCS_PYTHONPATH;
const root = path.join(import.meta.dirname, '..');

const { dir: shared, reason } = sharedOrSkipReason();
if (!shared) {
  console.error(`bench:demucs needs the shared folder: ${reason}`);
  process.exit(1);
}
const pyEnv = { ...process.env, PYTHONPATH: pythonPath ?? '' };
const probe = await exec(python, ['-c', 'import torch, numpy, soundfile, onnx, einops, julius, openunmix.filtering; import demucs.apply, demucs.htdemucs'], { env: pyEnv })
  .then(() => undefined, (err: Error & { stderr?: string }) => (err.stderr ?? err.message).trim().split('\n').pop());
if (!pythonPath || probe !== undefined) {
  console.log(`bench:demucs skipped: the reference (upstream Demucs on ${python} with torch) is not installed here `
    + `(${pythonPath ? probe : 'DEMUCS_PYTHONPATH is not set'}); see the header of bench/demucs.ts`);
  process.exit(0);
}

const work = path.join(cacheDir(), 'bench-engine');
const modelDir = path.join(cacheDir(), 'htdemucs-arch');
if (!existsSync(path.join(modelDir, 'model.json'))) {
  console.error(`making the full-size random-weight HTDemucs in ${modelDir} (once) ...`);
  await exec(python, [path.join(root, 'models', 'convert', 'demucs_random.py'), modelDir], { env: pyEnv, maxBuffer: 1 << 24 });
}
const { three, ten } = await benchInputs(shared, work);

interface Ours { wallMs: number; processWallMs: number; timings: Record<string, number>; audioSeconds: number; maxRssMb: number }
async function ours(input: string, out: string): Promise<Ours> {
  const t0 = performance.now();
  const { stdout } = await exec('node', ['--import', 'tsx', path.join(import.meta.dirname, 'separate-once.ts'), input, out, modelDir, 'aligned', String(threads)],
    { maxBuffer: 1 << 20 });
  return { ...JSON.parse(stdout.trim().split('\n').pop()!), processWallMs: performance.now() - t0 };
}
interface Floor { segments: number; loadMs: number; inferenceMs: number; wallMs: number; maxRssMb: number }
async function floor(input: string): Promise<Floor> {
  const { stdout } = await exec('node', ['--import', 'tsx', path.join(import.meta.dirname, 'demucs-floor.ts'), modelDir, input, String(threads)]);
  return JSON.parse(stdout.trim().split('\n').pop()!);
}
interface Upstream { loadSeconds: number; separateSeconds: number; audioSeconds: number; frames: number; cpuSeconds: number; threads: number; peakRssMb: number }
async function upstream(input: string): Promise<Upstream> {
  const { stdout } = await exec(python, [path.join(import.meta.dirname, 'demucs-upstream.py'), input, String(threads)], { env: pyEnv, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

// warm the page cache for the model file and the inputs, so no side pays the first read
await ours(await mixtureWav([musdbSongs(shared)[0]], path.join(work, 'warm.wav')), path.join(work, 'demucs-warm'));

const o3 = await ours(three, path.join(work, 'demucs-ours3'));
const f3 = await floor(three);
const o10 = await ours(ten, path.join(work, 'demucs-ours10'));
let upInput = three;
if (upstreamSeconds) {
  upInput = path.join(work, `three-minutes-first-${upstreamSeconds}s.wav`);
  await exec(ffmpegBinary(), ['-v', 'error', '-y', '-i', three, '-t', String(upstreamSeconds), '-c:a', 'pcm_f32le', upInput]);
}
const u = await upstream(upInput);
// apply_model's segments: ceil(frames / stride), stride = trunc(0.75 x 343980)
const segmentsOf = (frames: number) => Math.ceil(frames / Math.trunc(0.75 * 343980));
const upScale = segmentsOf(Math.round(o3.audioSeconds * 44100)) / segmentsOf(u.frames);

const s = (ms: number) => (ms / 1000).toFixed(2).padStart(8);
console.log(`machine: ${os.cpus()[0].model}, ${os.availableParallelism()} cores; threads=${threads}`);
console.log(`model: full-size HTDemucs, random weights (${modelDir}); input ${o3.audioSeconds.toFixed(1)} s and ${o10.audioSeconds.toFixed(1)} s, 44.1 kHz stereo; overlap 0.25, no shifts`);
console.log('');
console.log('                                   wall s   peak RSS MB');
console.log(`(a) floor: ${String(f3.segments).padStart(3)} segments, network only ${s(f3.wallMs)}   ${f3.maxRssMb.toFixed(0).padStart(8)}   (${(f3.inferenceMs / f3.segments / 1000).toFixed(2)} s per segment; load ${(f3.loadMs / 1000).toFixed(2)} s)`);
console.log(`(b) ours, 3 min                   ${s(o3.timings.totalMs)}   ${o3.maxRssMb.toFixed(0).padStart(8)}   (process ${s(o3.processWallMs).trim()} s)`);
console.log(`    ours, 10 min                  ${s(o10.timings.totalMs)}   ${o10.maxRssMb.toFixed(0).padStart(8)}`);
console.log(`(c) upstream apply_model, PyTorch ${s(u.separateSeconds * 1000)}   ${u.peakRssMb.toFixed(0).padStart(8)}   (${u.audioSeconds.toFixed(1)} s of audio${upstreamSeconds ? `, ${segmentsOf(u.frames)} segments; x${upScale.toFixed(2)} = ${s(u.separateSeconds * upScale * 1000).trim()} s for the 3 min` : ''}; CPU ${u.cpuSeconds.toFixed(0)} s on ${u.threads} threads; load ${u.loadSeconds.toFixed(2)} s)`);
console.log('');
const t = o3.timings;
console.log(`our breakdown (3 min), s: probe ${s(t.probeMs)}  load ${s(t.loadModelMs)}  decode ${s(t.decodeMs)}  STFT ${s(t.stftMs)}  inference ${s(t.inferenceMs)}  iSTFT+blend ${s(t.istftMs)}  encode ${s(t.encodeMs)}  total ${s(t.totalMs)}`);
const perCore = o3.audioSeconds / (o3.timings.totalMs / 1000) / threads;
console.log(`speed: ${(o3.audioSeconds / (o3.timings.totalMs / 1000)).toFixed(2)} x real time, ${perCore.toFixed(2)} audio s per s per core (the time guard's realtimePerCore); ${(60 / (o3.audioSeconds / (o3.timings.totalMs / 1000))).toFixed(1)} s per minute of audio`);
// ours against the floor without the model load (the floor's is outside its time too)
const overhead = (o3.timings.totalMs - o3.timings.loadModelMs) / f3.wallMs;
const timeRatio = o3.timings.totalMs / 1000 / (u.separateSeconds * upScale);
console.log(`floor vs ours, network time per segment: ${(f3.inferenceMs / f3.segments / 1000).toFixed(2)} s vs ${(o3.timings.inferenceMs / f3.segments / 1000).toFixed(2)} s`);
console.log(`bench:demucs time_ratio=${timeRatio.toFixed(3)} overhead=${overhead.toFixed(3)} rss_mb=${o3.maxRssMb.toFixed(0)} rss_floor_mb=${f3.maxRssMb.toFixed(0)} rss_growth=${(o10.maxRssMb / o3.maxRssMb).toFixed(3)}`);
