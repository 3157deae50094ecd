/**
 * bench:quality — separation quality through the engine, as in the SDX23 challenge: per-stem SDR
 * = 10·log10(Σs² / Σ(s−ŝ)²) over the whole clip and both channels, for every song of a folder of
 * MUSDB-style .stem.mp4 files; with two baselines in the same run: the mixture as every stem's
 * estimate, and the oracle ideal ratio mask on the same STFT (the ceiling for mask models).
 *
 *   npm run bench:quality [-- --model ID|DIR] [--dataset DIR] [--limit N] [--quality fast|best] [--iterations N]
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ffmpegBinary } from '../layers/audio/ffmpeg.js';
import { enableSharedModels, sharedDir } from '../local/shared-models.js';
import { loadModel } from '../layers/engine/load-model.js';
import { parseIterations, parseQuality } from '../layers/engine/quality.js';
import { separateFile } from '../layers/engine/separate-file.js';
import { FrameTransform, steadyWindowSquareSum } from '../layers/engine/stft.js';
import { defaultModelId } from '../layers/models/registry.js';
import { readWav, sdr } from '../dev/wav.js';

const exec = promisify(execFile);
const opt = (name: string) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : undefined; };
const dataset = path.resolve(opt('dataset') ?? path.join(sharedDir(), 'datasets', 'musdb18-7', 'test'));
enableSharedModels();
const modelId = opt('model') ?? defaultModelId();
const limit = Number(opt('limit')) || Infinity;
if (!existsSync(dataset)) {
  console.error(`bench:quality needs a MUSDB-style dataset: ${dataset} not found (set STEMS_SHARED_DIR to the shared folder, or pass --dataset DIR)`);
  process.exit(1);
}
const quality = parseQuality(opt('quality'), '--quality');
const iterations = parseIterations(opt('iterations'), '--iterations');

/** MUSDB .stem.mp4 stream order. */
const STREAMS = { mixture: 0, drums: 1, bass: 2, other: 3, vocals: 4 } as const;
const TARGETS = ['vocals', 'drums', 'bass', 'other'] as const;
type Target = (typeof TARGETS)[number];

async function decodeStream(file: string, stream: number): Promise<Float32Array> {
  const { stdout } = await exec(ffmpegBinary(), ['-v', 'error', '-i', file, '-map', `0:${stream}`, '-ac', '2', '-ar', '44100', '-f', 'f32le', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 1 << 30 });
  return new Float32Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + stdout.byteLength));
}

/** What a model stem is measured against: itself, or the sum of the targets it stands for. */
function referenceFor(stem: string, refs: Record<Target, Float32Array>): Float32Array | undefined {
  if ((TARGETS as readonly string[]).includes(stem)) return refs[stem as Target];
  if (stem === 'accompaniment' || stem === 'instrumental') {
    const out = new Float32Array(refs.drums.length);
    for (const t of ['drums', 'bass', 'other'] as const) for (let i = 0; i < out.length; i++) out[i] += refs[t][i];
    return out;
  }
  return undefined;
}

/**
 * Oracle ideal ratio mask on the engine's STFT (the same FrameTransform and padded grid):
 * mask_s = |S_s|² / Σ_k |S_k|², applied to the mixture's STFT.
 */
function oracle(mix: Float32Array, refs: Record<Target, Float32Array>, nFft: number, hop: number): Record<Target, Float32Array> {
  const tf = new FrameTransform(nFft);
  const nBins = nFft / 2 + 1;
  const pad = nFft - hop;
  const N = mix.length / 2;
  const frames = Math.floor((pad + N - 1) / hop) + 1;
  const len = (frames - 1) * hop + nFft;
  const planar = (x: Float32Array, c: number) => { const p = new Float32Array(len); for (let i = 0; i < N; i++) p[pad + i] = x[2 * i + c]; return p; };
  const mixP = [planar(mix, 0), planar(mix, 1)];
  const refP = TARGETS.map((t) => [planar(refs[t], 0), planar(refs[t], 1)]);
  const outL = TARGETS.map(() => new Float32Array(len));
  const outR = TARGETS.map(() => new Float32Array(len));
  const re = new Float32Array(2 * nBins), im = new Float32Array(2 * nBins);
  const sr = TARGETS.map(() => new Float32Array(2 * nBins)), si = TARGETS.map(() => new Float32Array(2 * nBins));
  const mre = new Float32Array(2 * nBins), mim = new Float32Array(2 * nBins);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < 2; c++) {
      tf.forward(mixP[c], f * hop, re, im, c * nBins);
      for (let s = 0; s < TARGETS.length; s++) tf.forward(refP[s][c], f * hop, sr[s], si[s], c * nBins);
    }
    TARGETS.forEach((_, s) => {
      for (let k = 0; k < 2 * nBins; k++) {
        let total = 1e-10;
        for (let j = 0; j < TARGETS.length; j++) total += sr[j][k] ** 2 + si[j][k] ** 2;
        const m = (sr[s][k] ** 2 + si[s][k] ** 2) / total;
        mre[k] = re[k] * m;
        mim[k] = im[k] * m;
      }
      tf.inverseAdd(mre, mim, 0, outL[s], f * hop);
      tf.inverseAdd(mre, mim, nBins, outR[s], f * hop);
    });
  }
  const norm = 1 / steadyWindowSquareSum(tf.window, hop);
  return Object.fromEntries(TARGETS.map((t, s) => {
    const o = new Float32Array(2 * N);
    for (let i = 0; i < N; i++) { o[2 * i] = outL[s][pad + i] * norm; o[2 * i + 1] = outR[s][pad + i] * norm; }
    return [t, o];
  })) as Record<Target, Float32Array>;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const f1 = (x: number) => x.toFixed(2).padStart(7);

const songs = readdirSync(dataset).filter((f) => f.endsWith('.stem.mp4')).sort().slice(0, limit);
if (songs.length === 0) {
  console.error(`bench:quality: no .stem.mp4 files in ${dataset}`);
  process.exit(1);
}
const { model } = await loadModel(modelId);
const stems = [...model.stems];
console.log(`model ${model.id} (${stems.join(', ')}), ${songs.length} songs from ${dataset}; ${os.cpus()[0].model}, ${os.availableParallelism()} cores`);
console.log(`${'song'.padEnd(44)} ${stems.map((s) => s.padStart(13)).join('')} | mixture: ${TARGETS.join('/')} | oracle IRM: ${TARGETS.join('/')}`);
const scores: Record<string, number[]> = Object.fromEntries(stems.map((s) => [s, []]));
const mixScores: Record<Target, number[]> = { vocals: [], drums: [], bass: [], other: [] };
const oracleScores: Record<Target, number[]> = { vocals: [], drums: [], bass: [], other: [] };
const work = await mkdtemp(path.join(os.tmpdir(), 'bench-quality-'));
let audio = 0;
let wienerIterations = 0;
let busy = 0;
try {
  for (const song of songs) {
    const file = path.join(dataset, song);
    const mix = await decodeStream(file, STREAMS.mixture);
    const refs = Object.fromEntries(await Promise.all(TARGETS.map(async (t) => [t, await decodeStream(file, STREAMS[t])]))) as Record<Target, Float32Array>;
    const out = path.join(work, song);
    const t0 = performance.now();
    const r = await separateFile(file, out, { model: modelId, format: 'wav32f', quality, iterations });
    wienerIterations = r.wienerIterations;
    busy += performance.now() - t0;
    audio += mix.length / 2 / 44100;
    const row: number[] = [];
    for (const s of r.stems) {
      const ref = referenceFor(s.stem, refs);
      const v = ref ? sdr(ref, readWav(s.file).data) : NaN;
      scores[s.stem].push(v);
      row.push(v);
    }
    const orc = oracle(mix, refs, model.stft.nFft, model.stft.hop);
    const mixRow = TARGETS.map((t) => { const v = sdr(refs[t], mix); mixScores[t].push(v); return v; });
    const orcRow = TARGETS.map((t) => { const v = sdr(refs[t], orc[t]); oracleScores[t].push(v); return v; });
    console.log(`${song.replace('.stem.mp4', '').slice(0, 44).padEnd(44)} ${row.map((v) => f1(v).padStart(13)).join('')} | ${mixRow.map((v) => v.toFixed(1)).join('/')} | ${orcRow.map((v) => v.toFixed(1)).join('/')}`);
    await rm(out, { recursive: true, force: true });
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
console.log(`\nmedian SDR (dB)   ${stems.map((s) => `${s} ${median(scores[s]).toFixed(2)}`).join('   ')}`);
console.log(`mixture baseline  ${TARGETS.map((t) => `${t} ${median(mixScores[t]).toFixed(2)}`).join('   ')}`);
console.log(`oracle ratio mask ${TARGETS.map((t) => `${t} ${median(oracleScores[t]).toFixed(2)}`).join('   ')}`);
console.log(`speed: ${(audio / (busy / 1000)).toFixed(1)}x real time through the engine; Wiener iterations: ${wienerIterations}`);
console.log(`bench:quality ${stems.map((s) => `${s}=${median(scores[s]).toFixed(2)}`).join(' ')}`);
