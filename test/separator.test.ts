import { describe, expect, it } from 'vitest';
import { loadModel } from '../layers/engine/load-model.js';
import { separateStream, type FrameGrid } from '../layers/engine/separator.js';
import { asMaskModel, type EngineModel } from '../layers/engine/types.js';
import { writeGainModel } from '../dev/models.js';
import { musicLike } from '../dev/signals.js';

async function* chunked(x: Float32Array, sizes: number[]): AsyncGenerator<Float32Array> {
  let i = 0;
  let k = 0;
  while (i < x.length) {
    const n = Math.min(2 * sizes[k++ % sizes.length], x.length - i);
    yield x.slice(i, i + n);
    i += n;
  }
}

async function run(engineModel: EngineModel, x: Float32Array, opts: { grid?: FrameGrid; highBand?: 'zero' | 'residual' } = {}) {
  const model = asMaskModel(engineModel);
  const stems = model.stems.map(() => [] as Float32Array[]);
  await separateStream(chunked(x, [1000, 37, 4096, 12345]), model, async (blocks) => {
    for (const [s, b] of blocks.entries()) stems[s].push(b.slice());
  }, opts);
  return stems.map((parts) => {
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('streaming separator', () => {
  // 5000 frames of a 256-point STFT: many 16-frame splits, so split seams are exercised.
  const x = musicLike(5000 * 64 + 123);

  it('reconstructs the input exactly with identity masks (one stem, residual high band)', async () => {
    const { model } = await loadModel(writeGainModel({ gains: { all: 1 } }), 2);
    const [y] = await run(model, x);
    expect(y.length).toBe(x.length);
    expect(maxAbsDiff(x, y)).toBeLessThan(1e-4);
  });

  it('gives each stem its known ratio mask, and the stems sum back to the input', async () => {
    const dir = writeGainModel({ gains: { vocals: 2, drums: 1, other: 0.5 }, residualStem: 'other' });
    const { model } = await loadModel(dir, 2);
    const stems = await run(model, x);
    const sum = new Float32Array(x.length);
    for (const s of stems) for (let i = 0; i < x.length; i++) sum[i] += s[i];
    expect(maxAbsDiff(x, sum)).toBeLessThan(1e-4);
    // drums carries 1/(4+1+0.25) of the model's band and none of the band above it
    const onlyLow = await run((await loadModel(writeGainModel({ gains: { all: 1 }, highBand: 'zero' }), 2)).model, x);
    const expected = onlyLow[0].map((v) => v * (1 / 5.25));
    expect(maxAbsDiff(stems[1], expected)).toBeLessThan(1e-4);
  });

  it('drops the band above the model with the zero policy and keeps it in the residual stem otherwise', async () => {
    // 19 kHz sits at bin 110 of the 256-point STFT, above the model's 96 bins (16.5 kHz); only
    // window leakage (< -40 dB) reaches the model's band
    const tone = new Float32Array(2 * 44100);
    for (let i = 0; i < 44100; i++) tone[2 * i] = tone[2 * i + 1] = 0.5 * Math.sin((2 * Math.PI * 19000 * i) / 44100);
    const zero = (await loadModel(writeGainModel({ gains: { a: 1, b: 1 }, highBand: 'zero' }), 2)).model;
    const [a0, b0] = await run(zero, tone);
    const energy = (v: Float32Array) => v.reduce((s, q) => s + q * q, 0);
    expect(energy(a0) + energy(b0)).toBeLessThan(1e-4 * energy(tone));
    const residual = (await loadModel(writeGainModel({ gains: { a: 1, b: 1 }, highBand: 'residual', residualStem: 'b' }), 2)).model;
    const [a1, b1] = await run(residual, tone);
    expect(energy(a1)).toBeLessThan(1e-4 * energy(tone));
    expect(maxAbsDiff(a1.map((v, i) => v + b1[i]), tone)).toBeLessThan(1e-4);
    expect(energy(b1)).toBeGreaterThan(0.99 * energy(tone));
  });

  it('keeps every stem sample under twice the input peak at the edges in the reference grid', async () => {
    const dir = writeGainModel({ gains: { v: 3, a: 1 }, highBand: 'zero' });
    const { model } = await loadModel(dir, 2);
    const loud = x.map((v) => v * 2.5);
    const peak = loud.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (const s of await run(model, loud, { grid: 'reference' })) {
      expect(s.length).toBe(loud.length);
      expect(s.reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBeLessThan(2 * peak);
    }
  });

  it('handles input shorter than one frame', async () => {
    const { model } = await loadModel(writeGainModel({ gains: { all: 1 } }), 2);
    const short = musicLike(100);
    const [y] = await run(model, short);
    expect(y.length).toBe(short.length);
    expect(maxAbsDiff(short, y)).toBeLessThan(1e-4);
  });
});
