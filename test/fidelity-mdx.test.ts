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
import { tmpDir, writeUvrModel } from './helpers/models.js';
import { buildReference, mdxArchModelFile, mixtureWav, musdbSongs, runUvrReference, sharedOrSkipReason, type Reference } from './helpers/reference.js';
import { readWav, sdr } from './helpers/wav.js';

const { dir: shared, reason } = sharedOrSkipReason();
if (reason) console.warn(reason);

async function ours(wav: string, model: string, out: string, grid: 'reference' | 'aligned'): Promise<Float32Array[]> {
  const r = await separateFile(wav, out, { model, format: 'wav32f', grid });
  return r.stems.map((s) => readWav(s.file).data);
}

function compare(refDir: string, mine: Float32Array[]): { primary: number; secondary: number } {
  const [p, s] = ['primary', 'secondary'].map((n) => readWav(path.join(refDir, `${n}.wav`)).data);
  expect(mine[0].length).toBe(p.length);
  return { primary: sdr(p, mine[0]), secondary: sdr(s, mine[1]) };
}

/** Largest sample-to-sample jump of a stem, over all samples. */
function maxJump(x: Float32Array): number {
  let m = 0;
  for (let i = 2; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - x[i - 2]));
  return m;
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

  it('song: quality grid with the architecture model: stems sum to the input (>= 90 dB), joins no rougher than the stem itself', async () => {
    const out = tmpDir('mdx-quality');
    const [p, s] = await ours(inputs.song, 'mdx-arch', out, 'aligned');
    const x = readWav(inputs.song).data;
    const sum = p.map((v, i) => v + s[i]);
    const sumSdr = sdr(x, sum);
    // segment joins of the quality grid: starts and ends of segments every 0.75 x L (padded by n_fft/2)
    const L = 1024 * 255;
    const half = 3072;
    const joins: number[] = [];
    for (let i = 0; i - half < x.length / 2; i += Math.floor(0.75 * L)) joins.push(i - half, i - half + L);
    let worst = 0;
    for (const stem of [p, s]) {
      const whole = maxJump(stem);
      for (const q of joins.filter((j) => j > 2 && j < x.length / 2 - 2)) {
        worst = Math.max(worst, maxJump(stem.subarray(2 * (q - 2), 2 * (q + 3))) / whole);
      }
    }
    console.log(`mdx quality grid, song: stems sum to input at ${sumSdr.toFixed(1)} dB; largest jump at a join / largest jump anywhere = ${worst.toFixed(3)}`);
    expect(sumSdr).toBeGreaterThanOrEqual(90);
    expect(worst).toBeLessThanOrEqual(1);
  }, 900_000);
});
