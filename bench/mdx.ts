/**
 * bench:mdx — the mdx family against the sherpa-onnx reference (`sherpa_separate --uvr`) on the
 * same >= 3-minute input with the same model (shared mdx-arch: real MDX-Net size, random weights)
 * and the same threads, in one run: wall time and peak RSS of the reference grid against theirs,
 * our peak RSS from 3 to 10 minutes of audio, and the quality grid's time. The 3-minute runs go
 * reference, ours, ours, reference, and each side keeps its faster run.
 *
 *   npm run bench:mdx [-- --threads N]      (run it under `flock /tmp/heavy.lock` on shared machines)
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../layers/core/env.js';
import { benchInputs, buildReference, mdxArchModelFile, mixtureWav, musdbSongs, runUvrReference, sharedOrSkipReason } from '../dev/reference.js';

const exec = promisify(execFile);
const threads = Number(process.argv[process.argv.indexOf('--threads') + 1]) || os.availableParallelism();

const { dir: shared, reason } = sharedOrSkipReason();
if (!shared) {
  console.error(`bench:mdx needs the shared folder: ${reason}`);
  process.exit(1);
}
const work = path.join(cacheDir(), 'bench-engine');
const { three, ten } = await benchInputs(shared, work);

interface Ours { wallMs: number; processWallMs: number; timings: Record<string, number>; audioSeconds: number; maxRssMb: number }
async function ours(input: string, out: string, grid: 'reference' | 'aligned'): Promise<Ours> {
  const t0 = performance.now();
  const { stdout } = await exec('node', ['--import', 'tsx', path.join(import.meta.dirname, 'separate-once.ts'), input, out, 'mdx-arch', grid, String(threads)],
    { maxBuffer: 1 << 20 });
  return { ...JSON.parse(stdout.trim().split('\n').pop()!), processWallMs: performance.now() - t0 };
}

const ref = buildReference(shared);
const model = mdxArchModelFile(shared);
// warm the page cache for the model file and the input, so neither side pays the first read
await ours(await mixtureWav([musdbSongs(shared)[0]], path.join(work, 'warm.wav')), path.join(work, 'warm'), 'reference');

// reference, ours, ours, reference: each keeps its faster run, so a slow spell of this shared machine hits neither alone
const refRuns = [await runUvrReference(ref, model, three, path.join(work, 'ref-uvr'), { threads })];
const ourRuns = [await ours(three, path.join(work, 'mdx-ours3'), 'reference'), await ours(three, path.join(work, 'mdx-ours3'), 'reference')];
refRuns.push(await runUvrReference(ref, model, three, path.join(work, 'ref-uvr'), { threads }));
const r = refRuns.reduce((a, b) => (b.wallSeconds < a.wallSeconds ? b : a));
const o3 = ourRuns.reduce((a, b) => (b.processWallMs < a.processWallMs ? b : a));
const q3 = await ours(three, path.join(work, 'mdx-quality3'), 'aligned');
const o10 = await ours(ten, path.join(work, 'mdx-ours10'), 'reference');

const f = (ms: number) => (ms / 1000).toFixed(2).padStart(7);
console.log(`machine: ${os.cpus()[0].model}, ${os.availableParallelism()} cores; threads=${threads}`);
console.log(`input: ${o3.audioSeconds.toFixed(1)} s (3 min) and ${o10.audioSeconds.toFixed(1)} s (10 min), 44.1 kHz stereo, mdx-arch (n_fft 6144, dim_f 3072, dim_t 256)`);
console.log('');
console.log('                              wall s   peak RSS MB');
console.log(`(3-min runs, reference / ours: ${refRuns.map((x) => x.wallSeconds.toFixed(2)).join(', ')} / ${ourRuns.map((x) => (x.processWallMs / 1000).toFixed(2)).join(', ')} s; the faster of each below)`);
console.log(`reference (sherpa --uvr)    ${f(r.wallSeconds * 1000)}   ${r.peakRssMb.toFixed(0).padStart(8)}   (load ${r.loadSeconds.toFixed(2)} s, separate ${r.separateSeconds.toFixed(2)} s)`);
console.log(`ours, reference grid, 3 min ${f(o3.processWallMs)}   ${o3.maxRssMb.toFixed(0).padStart(8)}   (in-process ${f(o3.wallMs).trim()} s)`);
console.log(`ours, quality grid, 3 min   ${f(q3.processWallMs)}   ${q3.maxRssMb.toFixed(0).padStart(8)}   (overlap 0.25)`);
console.log(`ours, reference grid, 10 min${f(o10.processWallMs)}   ${o10.maxRssMb.toFixed(0).padStart(8)}`);
console.log('');
const t = o3.timings;
console.log(`our breakdown (reference grid, 3 min), s: probe ${f(t.probeMs)}  load ${f(t.loadModelMs)}  decode ${f(t.decodeMs)}  STFT ${f(t.stftMs)}  inference ${f(t.inferenceMs)}  iSTFT ${f(t.istftMs)}  encode ${f(t.encodeMs)}  total ${f(t.totalMs)}`);
const perCore = (o: Ours) => o.audioSeconds / (o.timings.totalMs / 1000) / threads;
console.log(`speed, audio s per s per core: reference grid ${perCore(o3).toFixed(2)}, quality grid ${perCore(q3).toFixed(2)} (the time guard's realtimePerCore)`);
const timeRatio = o3.processWallMs / 1000 / r.wallSeconds;
const rssRatio = o3.maxRssMb / r.peakRssMb;
const growth = o10.maxRssMb / o3.maxRssMb;
const qualityRatio = q3.processWallMs / 1000 / r.wallSeconds;
console.log(`bench:mdx time_ratio=${timeRatio.toFixed(3)} rss_ratio=${rssRatio.toFixed(3)} rss_mb=${o3.maxRssMb.toFixed(0)} rss_growth=${growth.toFixed(3)} quality_time_ratio=${qualityRatio.toFixed(3)}`);
