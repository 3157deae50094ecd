/**
 * bench:engine — ours against the sherpa-onnx reference on the same >= 3-minute input with the
 * same models (shared Spleeter architecture), in one run: wall time, peak RSS, our stage
 * breakdown, and how our peak RSS grows from 3 to 10 minutes of audio.
 *
 *   npm run bench:engine [-- --threads N]
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../layers/core/env.js';
import { archModelFiles, buildReference, mixtureWav, musdbSongs, runReference, sharedOrSkipReason } from '../test/helpers/reference.js';

const exec = promisify(execFile);
const threads = Number(process.argv[process.argv.indexOf('--threads') + 1]) || os.availableParallelism();

const { dir: shared, reason } = sharedOrSkipReason();
if (!shared) {
  console.error(`bench:engine needs the shared folder: ${reason}`);
  process.exit(1);
}
const work = path.join(cacheDir(), 'bench-engine');
const songs = musdbSongs(shared);
const three = await mixtureWav(songs.slice(0, 27), path.join(work, 'three-minutes.wav'));
const ten = await mixtureWav(Array.from({ length: 89 }, (_, i) => songs[i % songs.length]), path.join(work, 'ten-minutes.wav'));

interface Ours { wallMs: number; timings: Record<string, number>; audioSeconds: number; maxRssMb: number }
async function ours(input: string, out: string): Promise<Ours & { processWallMs: number }> {
  const t0 = performance.now();
  const { stdout } = await exec('node', ['--import', 'tsx', path.join(import.meta.dirname, 'separate-once.ts'), input, out, 'spleeter-2stems-arch', 'reference', String(threads)],
    { maxBuffer: 1 << 20 });
  return { ...JSON.parse(stdout.trim().split('\n').pop()!), processWallMs: performance.now() - t0 };
}

const ref = buildReference(shared);
const arch = await archModelFiles();
// warm the page cache for both (model files, input) so neither pays the first read
await ours(three, path.join(work, 'warm'));

const r = await runReference(ref, arch.vocals, arch.accompaniment, three, path.join(work, 'ref'), { threads });
const o3 = await ours(three, path.join(work, 'ours3'));
const o10 = await ours(ten, path.join(work, 'ours10'));

const f = (ms: number) => (ms / 1000).toFixed(2).padStart(7);
console.log(`machine: ${os.cpus()[0].model}, ${os.availableParallelism()} cores; threads=${threads}`);
console.log(`input: ${o3.audioSeconds.toFixed(1)} s (3 min) and ${o10.audioSeconds.toFixed(1)} s (10 min), 44.1 kHz stereo, spleeter-2stems-arch`);
console.log('');
console.log('                       wall s   peak RSS MB');
console.log(`reference (sherpa)   ${f(r.wallSeconds * 1000)}   ${r.peakRssMb.toFixed(0).padStart(8)}   (load ${r.loadSeconds.toFixed(2)} s, separate ${r.separateSeconds.toFixed(2)} s)`);
console.log(`ours, 3 min          ${f(o3.processWallMs)}   ${o3.maxRssMb.toFixed(0).padStart(8)}   (in-process ${f(o3.wallMs).trim()} s)`);
console.log(`ours, 10 min         ${f(o10.processWallMs)}   ${o10.maxRssMb.toFixed(0).padStart(8)}`);
console.log('');
console.log('our breakdown (3 min), seconds (stages overlap: the model runs in onnxruntime threads while this');
console.log('thread does STFT/iSTFT, and encode includes waiting on the ffmpeg encoders, so they sum past total):');
const t = o3.timings;
console.log(`  probe ${f(t.probeMs)}  load model ${f(t.loadModelMs)}  decode ${f(t.decodeMs)}  STFT ${f(t.stftMs)}  inference ${f(t.inferenceMs)}  iSTFT ${f(t.istftMs)}  encode ${f(t.encodeMs)}  total ${f(t.totalMs)}`);
const timeRatio = o3.processWallMs / 1000 / r.wallSeconds;
const rssRatio = o3.maxRssMb / r.peakRssMb;
const growth = o10.maxRssMb / o3.maxRssMb;
console.log(`bench:engine time_ratio=${timeRatio.toFixed(3)} rss_ratio=${rssRatio.toFixed(3)} rss_mb=${o3.maxRssMb.toFixed(0)} rss_growth=${growth.toFixed(3)}`);
