/**
 * The mdx family against the sherpa-onnx reference (shared/tools/sherpa-reference, `--uvr`) with
 * the shared MDX-Net architecture model (random weights, real size, well-conditioned): in the
 * reference grid our primary and secondary stems must match theirs >= 60 dB over the whole
 * signal, on a real MUSDB clip and on a concatenation of more than 60 s (several 15-s chunks).
 * A small position-dependent test model checks the chunk and segment joins the same way, and the
 * quality grid is checked for what it promises on the architecture model: stems that sum to the
 * input and joins no rougher than the model's own output.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cacheDir } from '../layers/core/env.js';
import { separateFile } from '../layers/engine/separate-file.js';
import { tmpDir, writeUvrModel } from '../dev/models.js';
import { buildReference, mdxArchModelFile, mixtureWav, musdbSongs, runUvrReference, type Reference } from '../dev/reference.js';
import { sharedForTests } from './helpers/prerequisites.js';
import { readWav, sdr } from '../dev/wav.js';

const shared = sharedForTests();

async function ours(wav: string, model: string, out: string, grid: 'reference' | 'aligned'): Promise<Float32Array[]> {
  const r = await separateFile(wav, out, { model, format: 'wav32f', grid });
  return r.stems.map((s) => readWav(s.file).data);
}

function compare(refDir: string, mine: Float32Array[]): { primary: number; secondary: number } {
  const [p, s] = ['primary', 'secondary'].map((n) => readWav(path.join(refDir, `${n}.wav`)).data);
  expect(mine[0].length).toBe(p.length);
  return { primary: sdr(p, mine[0]), secondary: sdr(s, mine[1]) };
}

/** Largest |x[n] - x[n-1]| (either channel) for n in [from, to). */
function maxJump(x: Float32Array, from: number, to: number): number {
  let m = 0;
  for (let n = Math.max(1, from); n < Math.min(x.length / 2, to); n++) {
    for (let c = 0; c < 2; c++) m = Math.max(m, Math.abs(x[2 * n + c] - x[2 * (n - 1) + c]));
  }
  return m;
}

/**
 * At each join: the largest jump within 2 samples of it over the largest jump of the same stem
 * in the 1024 samples around it (join excluded). The random-weight model's stems are whiter than
 * music, so they are measured against themselves rather than against the input (test/mdx.test.ts
 * holds the input-relative check with a well-conditioned model).
 */
function worstJoin(y: Float32Array, joins: number[]): number {
  let worst = 0;
  for (const q of joins) {
    const around = Math.max(maxJump(y, q - 512, q - 2), maxJump(y, q + 3, q + 512));
    worst = Math.max(worst, maxJump(y, q - 2, q + 3) / around);
  }
  return worst;
}

describe.skipIf(!shared)('mdx family: fidelity to sherpa-onnx --uvr', () => {
  let ref: Reference;
  let arch: string;
  const inputs: Record<string, string> = {};

  beforeAll(async () => {
    ref = buildReference(shared!);
    arch = mdxArchModelFile(shared!);
    const songs = musdbSongs(shared!);
    const work = path.join(cacheDir(), 'fidelity');
    inputs.song = await mixtureWav([songs[0]], path.join(work, 'song.wav'));
    // 9 clips of ~7 s: a little over a minute, five 15-s chunks in the reference
    inputs.minute = await mixtureWav(songs.slice(0, 9), path.join(work, 'minute.wav'));
    expect(readWav(inputs.minute).data.length / 2 / 44100).toBeGreaterThan(60);
  }, 600_000);

  for (const which of ['song', 'minute'] as const) {
    it(`${which}: reference grid with the architecture model matches the reference >= 60 dB per stem`, async () => {
      const out = tmpDir(`mdx-ref-${which}`);
      await runUvrReference(ref, arch, inputs[which], out);
      const scores = compare(out, await ours(inputs[which], 'mdx-arch', path.join(out, 'ours'), 'reference'));
      console.log(`fidelity mdx ${which} arch model, reference grid: ${JSON.stringify(scores)}`);
      expect(scores.primary).toBeGreaterThanOrEqual(60);
      expect(scores.secondary).toBeGreaterThanOrEqual(60);
    }, 900_000);
  }

  it('minute: reference grid with a position-dependent small model (every segment and chunk join shows) matches >= 60 dB', async () => {
    const model = writeUvrModel({ dimF: 1024, dimT: 64, gain: [0.5, 1.5], metadata: { nFft: 2048, hop: 512 } });
    const out = tmpDir('mdx-ref-ramp');
    await runUvrReference(ref, model, inputs.minute, out);
    const scores = compare(out, await ours(inputs.minute, model, path.join(out, 'ours'), 'reference'));
    console.log(`fidelity mdx minute ramp model, reference grid: ${JSON.stringify(scores)}`);
    expect(scores.primary).toBeGreaterThanOrEqual(60);
    expect(scores.secondary).toBeGreaterThanOrEqual(60);
  }, 600_000);

  it('song: quality grid with the architecture model: stems sum to the input (>= 90 dB), no step at segment joins', async () => {
    const out = tmpDir('mdx-quality');
    const [p, s] = await ours(inputs.song, 'mdx-arch', out, 'aligned');
    const x = readWav(inputs.song).data;
    const N = x.length / 2;
    const sumSdr = sdr(x, p.map((v, i) => v + s[i]));
    // segment joins of the quality grid: starts and ends of segments every 0.75 x L (input padded by n_fft/2)
    const L = 1024 * 255;
    const half = 3072;
    const joins: number[] = [];
    for (let i = 0; i - half < N; i += Math.floor(0.75 * L)) joins.push(i - half, i - half + L);
    const inside = joins.filter((j) => j > 600 && j < N - 600);
    const quality = Math.max(worstJoin(p, inside), worstJoin(s, inside));
    // the reference grid's segment joins (every L - n_fft samples, no crossfade), for comparison
    const [rp, rs] = await ours(inputs.song, 'mdx-arch', path.join(out, 'ref'), 'reference');
    const refJoins = Array.from({ length: Math.floor(N / (L - 2 * half)) }, (_, k) => (k + 1) * (L - 2 * half)).filter((j) => j < N - 600);
    const reference = Math.max(worstJoin(rp, refJoins), worstJoin(rs, refJoins));
    console.log(`mdx quality grid, song: stems sum to input at ${sumSdr.toFixed(1)} dB; worst join jump / local jumps: quality ${quality.toFixed(3)}, reference grid ${reference.toFixed(3)}`);
    expect(sumSdr).toBeGreaterThanOrEqual(90);
    expect(quality).toBeLessThanOrEqual(1.5);
  }, 900_000);
});
