/**
 * bench:wiener — Wiener settings side by side on the same songs and the same model run: median
 * SDR per stem for each setting and its gain over the masks (quality "fast"), per song in
 * --per-song mode. In-process (no encoding), so settings compare fairly in one run.
 *
 *   npm run bench:wiener [-- --model ID] [--dataset DIR] [--limit N] [--settings 0,1,2,s1,1b64] [--per-song]
 *
 * A setting is [s]<iterations>[r][b<blockFrames>]: s = softmask start, r = residual source.
 * --oracle replaces the model's estimates by the true stems' magnitudes (setting 0 is then the
 * oracle ratio mask of bench:quality): what the filter gives when the estimates are good.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ffmpegBinary } from '../layers/audio/ffmpeg.js';
import { enableSharedModels, sharedDir } from '../local/shared-models.js';
import { loadModel } from '../layers/engine/load-model.js';
import { separateStream } from '../layers/engine/separator.js';
import { FrameTransform } from '../layers/engine/stft.js';
import { asMaskModel, type SeparationModel } from '../layers/engine/types.js';
import type { WienerSettings } from '../layers/engine/wiener.js';
import { defaultModelId } from '../layers/models/registry.js';
import { sdr } from '../dev/wav.js';

const exec = promisify(execFile);
const opt = (name: string) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : undefined; };
const dataset = path.resolve(opt('dataset') ?? path.join(sharedDir(), 'datasets', 'musdb18-7', 'test'));
const modelId = opt('model') ?? defaultModelId();
const limit = Number(opt('limit')) || Infinity;
const perSong = process.argv.includes('--per-song');
const useOracle = process.argv.includes('--oracle');
const STREAMS = { mixture: 0, drums: 1, bass: 2, other: 3, vocals: 4 } as const;

enableSharedModels();
const model = asMaskModel((await loadModel(modelId)).model);
function parseSetting(s: string): WienerSettings | undefined {
  const m = /^(s?)(\d+)(r?)(?:b(\d+))?$/.exec(s);
  if (!m) throw new Error(`bad setting "${s}"`);
  if (Number(m[2]) === 0) return undefined;
  return { softmask: m[1] === 's', iterations: Number(m[2]), residual: m[3] === 'r', blockFrames: m[4] ? Number(m[4]) : model.framesPerSplit };
}
const names = (opt('settings') ?? '0,1').split(',');
const settings = names.map(parseSetting);
if (settings[0] !== undefined) throw new Error('the first setting must be 0 (the masks), the baseline');

async function decode(file: string, stream: number): Promise<Float32Array> {
  const { stdout } = await exec(ffmpegBinary(), ['-v', 'error', '-i', file, '-map', `0:${stream}`, '-ac', '2', '-ar', String(model.sampleRate), '-f', 'f32le', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 1 << 30 });
  return new Float32Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + stdout.byteLength));
}

/** The model with its estimates replaced by the true stems' magnitudes on the engine's aligned grid. */
function oracleModel(refs: Record<string, Float32Array>): SeparationModel {
  const { nFft, hop } = model.stft;
  const F = model.framesPerSplit, bins = model.bins, nBins = nFft / 2 + 1;
  const pad = nFft - hop;
  const tf = new FrameTransform(nFft);
  const re = new Float32Array(nBins), im = new Float32Array(nBins);
  const planar = Object.fromEntries(Object.entries(refs).map(([s, x]) => [s, [0, 1].map((c) => {
    const p = new Float32Array(pad + x.length / 2 + F * hop + nFft);
    for (let i = 0; i < x.length / 2; i++) p[pad + i] = x[2 * i + c];
    return p;
  })]));
  const mags = model.stems.map(() => [new Float32Array(2 * F * bins), new Float32Array(2 * F * bins)]);
  let split = 0;
  return {
    ...model,
    async estimateMasks(_mag, masks, timings, magnitudes) {
      const cur = split++ % 2;
      for (const [s, stem] of model.stems.entries()) {
        const m = mags[s][cur];
        for (let c = 0; c < 2; c++) for (let f = 0; f < F; f++) {
          const start = ((split - 1) * F + f) * hop;
          if (start + nFft > planar[stem][c].length) { m.fill(0, (c * F + f) * bins, (c * F + f + 1) * bins); continue; }
          tf.forward(planar[stem][c], start, re, im, 0);
          for (let k = 0; k < bins; k++) m[(c * F + f) * bins + k] = Math.hypot(re[k], im[k]);
        }
        if (magnitudes) magnitudes[s] = m;
      }
      for (let i = 0; i < 2 * F * bins; i++) {
        let total = 1e-10;
        for (let s = 0; s < masks.length; s++) total += mags[s][cur][i] ** 2;
        for (let s = 0; s < masks.length; s++) masks[s][i] = mags[s][cur][i] ** 2 / total;
      }
      timings.inferenceMs = 0;
    },
  };
}

async function separate(mix: Float32Array, wiener: WienerSettings | undefined, refs: Record<string, Float32Array>) {
  const out = model.stems.map(() => new Float32Array(mix.length));
  let at = 0;
  async function* input() { yield mix; }
  const stats = await separateStream(input(), useOracle ? oracleModel(refs) : model, async (blocks, frames) => {
    for (const [s, b] of blocks.entries()) out[s].set(b.subarray(0, 2 * frames), 2 * at);
    at += frames;
  }, { wiener });
  return { out, stats };
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const songs = readdirSync(dataset).filter((f) => f.endsWith('.stem.mp4')).sort().slice(0, limit);
const stems = model.stems.filter((s) => s in STREAMS);
const scores = names.map(() => Object.fromEntries(stems.map((s) => [s, [] as number[]])));
const ms = names.map(() => 0);
let audio = 0;
console.log(`${useOracle ? 'oracle magnitudes on the grid of ' : ''}model ${model.id}, ${songs.length} songs from ${dataset}; ${os.cpus()[0].model}, ${os.availableParallelism()} cores; settings ${names.join(' ')}`);
for (const song of songs) {
  const file = path.join(dataset, song);
  const mix = await decode(file, STREAMS.mixture);
  const refs = Object.fromEntries(await Promise.all(stems.map(async (s) => [s, await decode(file, STREAMS[s as keyof typeof STREAMS])])));
  audio += mix.length / 2 / model.sampleRate;
  const row: string[] = [];
  for (const [i, w] of settings.entries()) {
    const t0 = performance.now();
    const { out } = await separate(mix, w, refs);
    ms[i] += performance.now() - t0;
    for (const s of stems) scores[i][s].push(sdr(refs[s], out[model.stems.indexOf(s)]));
    row.push(stems.map((s) => scores[i][s].at(-1)!.toFixed(2)).join('/'));
  }
  if (perSong) console.log(`${song.replace('.stem.mp4', '').slice(0, 40).padEnd(40)} ${row.join('  ')}`);
}
console.log(`\n${'setting'.padEnd(10)} ${stems.map((s) => `${s} (gain)`.padStart(16)).join('')}   seconds per minute of audio`);
for (const [i, n] of names.entries()) {
  const cells = stems.map((s) => {
    const m = median(scores[i][s]);
    const gain = median(scores[i][s].map((v, k) => v - scores[0][s][k]));
    return `${m.toFixed(2)} (${gain >= 0 ? '+' : ''}${gain.toFixed(2)})`.padStart(16);
  });
  console.log(`${n.padEnd(10)} ${cells.join('')}   ${(ms[i] / 1000 / (audio / 60)).toFixed(2)}`);
}
