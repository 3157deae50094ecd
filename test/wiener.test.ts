/**
 * The Wiener filter against upstream Open-Unmix's wiener() (fixtures in test/fixtures/wiener,
 * generated once from real musdb18-7 STFTs and the default model's estimates; see its README).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../layers/engine/load-model.js';
import { parseIterations, parseQuality, wienerSettingsFor } from '../layers/engine/quality.js';
import { separateStream, type SeparatorOptions } from '../layers/engine/separator.js';
import { asMaskModel, type SeparationModel } from '../layers/engine/types.js';
import { WienerFilter, type WienerSettings } from '../layers/engine/wiener.js';
import { parseManifest } from '../layers/models/manifest.js';
import { writeGainModel } from '../dev/models.js';
import { musicLike } from '../dev/signals.js';

const dir = path.join(import.meta.dirname, 'fixtures', 'wiener');
const meta = JSON.parse(readFileSync(path.join(dir, 'inputs.json'), 'utf8')) as { frames: number; bins: number[]; stems: string[] };
const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as {
  cases: { name: string; stems: number; sources: number; iterations: number; softmask?: boolean; residual?: boolean }[];
};
const f32 = (name: string) => { const b = readFileSync(path.join(dir, name)); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };

const T = meta.frames, K = meta.bins.length, S = meta.stems.length;
const inputs = f32('inputs.f32');
const re = inputs.subarray(0, 2 * T * K);
const im = inputs.subarray(2 * T * K, 4 * T * K);
const est = Array.from({ length: S }, (_, s) => inputs.subarray(4 * T * K + s * 2 * T * K, 4 * T * K + (s + 1) * 2 * T * K));
/** Our filter on the fixture block with the first `stems` estimates: per source [c][t][k][re, im]. */
function ours(settings: WienerSettings, stems = S): Float32Array[] {
  const w = new WienerFilter(T, K, stems, settings);
  const J = w.sources;
  w.fit({ re, im, nBins: K, est: est.slice(0, stems), stride: T }, 0, T);
  const outRe = Array.from({ length: J }, () => new Float32Array(2 * K));
  const outIm = Array.from({ length: J }, () => new Float32Array(2 * K));
  const out = Array.from({ length: J }, () => new Float32Array(2 * T * K * 2));
  for (let t = 0; t < T; t++) {
    // the residual source (if any) in its own arrays, as upstream returns it
    w.apply(t, outRe, outIm, stems);
    for (let s = 0; s < J; s++) {
      for (let c = 0; c < 2; c++) {
        for (let k = 0; k < K; k++) {
          out[s][((c * T + t) * K + k) * 2] = outRe[s][c * K + k];
          out[s][((c * T + t) * K + k) * 2 + 1] = outIm[s][c * K + k];
        }
      }
    }
  }
  return out;
}

/** Signal-to-difference ratio in dB over all complex values. */
function agreementDb(ref: Float32Array, got: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) { num += ref[i] * ref[i]; den += (ref[i] - got[i]) ** 2; }
  return 10 * Math.log10(num / Math.max(den, 1e-300));
}

describe('Wiener filter matches upstream Open-Unmix wiener()', () => {
  for (const c of expected.cases) {
    it(`${c.name}: >= 60 dB per stem`, () => {
      const ref = f32(`expected-${c.name}.f32`);
      const per = 2 * T * K * 2;
      expect(ref.length).toBe(c.sources * per);
      const got = ours({ iterations: c.iterations, softmask: !!c.softmask, residual: !!c.residual, blockFrames: T }, c.stems);
      expect(got.length).toBe(c.sources);
      const dbs = got.map((g, s) => agreementDb(ref.subarray(s * per, (s + 1) * per), g));
      if (process.env.WIENER_PRINT) console.log(c.name, dbs.map((d) => d.toFixed(1)).join(" / "));
      for (const db of dbs) expect(db).toBeGreaterThanOrEqual(60);
    });
  }

  it('differs from the unfiltered start, so the check can fail', () => {
    // the estimates with the mixture's phase (what iterations = 0 would give upstream) are far from the filtered result
    const ref = f32('expected-iter1.f32');
    const per = 2 * T * K * 2;
    const start = new Float32Array(per);
    for (let c = 0; c < 2; c++) for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) {
      const i = (c * T + t) * K + k, a = re[i], b = im[i], m = Math.hypot(a, b) || 1;
      start[2 * i] = est[0][i] * a / m;
      start[2 * i + 1] = est[0][i] * b / m;
    }
    expect(agreementDb(ref.subarray(0, per), start)).toBeLessThan(20);
    // and a filter with two iterations does not pass as one
    const two = ours({ iterations: 2, softmask: false, residual: false, blockFrames: T });
    expect(agreementDb(ref.subarray(0, per), two[0])).toBeLessThan(40);
  });

  it('adds the residual source to the residual stem', () => {
    const settings = { iterations: 1, softmask: false, residual: true, blockFrames: T };
    const own = ours(settings, S - 1);
    const w = new WienerFilter(T, K, S - 1, settings);
    w.fit({ re, im, nBins: K, est: est.slice(0, S - 1), stride: T }, 0, T);
    const outRe = Array.from({ length: S - 1 }, () => new Float32Array(2 * K));
    const outIm = Array.from({ length: S - 1 }, () => new Float32Array(2 * K));
    w.apply(5, outRe, outIm, 1);
    const i = ((1 * T + 5) * K + 7) * 2; // channel 1, frame 5, bin 7
    expect(outRe[1][K + 7]).toBeCloseTo(own[1][i] + own[S - 1][i], 3);
    expect(outIm[1][K + 7]).toBeCloseTo(own[1][i + 1] + own[S - 1][i + 1], 3);
    expect(Math.abs(own[S - 1][i]) + Math.abs(own[S - 1][i + 1])).toBeGreaterThan(1e-3);
  });

  it('refuses settings it cannot run', () => {
    expect(() => new WienerFilter(T, K, S, { iterations: 0, softmask: false, residual: false, blockFrames: T })).toThrow(/iterations/);
    expect(() => new WienerFilter(T, K, 1, { iterations: 1, softmask: false, residual: false, blockFrames: T })).toThrow(/two sources/);
    const w = new WienerFilter(8, K, S, { iterations: 1, softmask: false, residual: false, blockFrames: 8 });
    expect(() => w.fit({ re, im, nBins: K, est, stride: T }, 0, 9)).toThrow(/at most 8/);
  });
});

describe('Wiener filtering in the streaming separator', () => {
  // 700 frames of a 256-point STFT: 16-frame splits, blocks of 5 frames that do not divide them
  const x = musicLike(700 * 64 + 77);

  it('gives the ratio masks back when every estimate is a fixed share of the mixture, across splits and blocks', async () => {
    // est_j = g_j |X| with the mixture's phase: all spatial covariances are equal, so the filter is g_j² / Σ g²
    const model = asMaskModel((await loadModel(writeGainModel({ gains: { vocals: 2, drums: 1, other: 0.5 }, residualStem: 'other' }), 2)).model);
    const masked = await run(model, x);
    const filtered = await run(model, x, { wiener: { iterations: 1, softmask: false, residual: false, blockFrames: 5 } });
    for (let s = 0; s < 3; s++) expect(agreementDb(masked[s], filtered[s])).toBeGreaterThan(40);
    // and the filtered stems sum back to the input
    const sum = new Float32Array(x.length);
    for (const st of filtered) for (let i = 0; i < x.length; i++) sum[i] += st[i];
    expect(agreementDb(x, sum)).toBeGreaterThan(40);
  });

  it('iterations 0 reproduces the masks output exactly; iterations 1 changes it (default model)', async () => {
    const model = asMaskModel((await loadModel('default', 2)).model);
    const song = musicLike(44100 * 3, 44100, 7);
    const plain = await run(model, song);
    const zero = await run(model, song, { wiener: { iterations: 0, softmask: true, residual: true, blockFrames: 3 } });
    for (let s = 0; s < plain.length; s++) expect(Buffer.from(zero[s].buffer).equals(Buffer.from(plain[s].buffer))).toBe(true);
    const one = await run(model, song, { wiener: { iterations: 1, softmask: false, residual: false, blockFrames: 512 } });
    for (let s = 0; s < plain.length; s++) {
      expect(one[s].length).toBe(plain[s].length);
      expect(agreementDb(plain[s], one[s])).toBeLessThan(40);
    }
    const sum = new Float32Array(song.length);
    for (const st of one) for (let i = 0; i < song.length; i++) sum[i] += st[i];
    expect(agreementDb(song, sum)).toBeGreaterThan(40);
  });

  it('refuses Wiener filtering for a model without magnitude estimates', async () => {
    const model = asMaskModel((await loadModel(writeGainModel({ gains: { a: 1, b: 1 } }), 2)).model);
    const masksOnly: SeparationModel = { ...model, magnitudeEstimates: false, estimateMasks: model.estimateMasks };
    await expect(run(masksOnly, x, { wiener: { iterations: 1, softmask: false, residual: false, blockFrames: 8 } }))
      .rejects.toThrow(/no magnitude estimates/);
  });
});

async function run(model: SeparationModel, x: Float32Array, opts: SeparatorOptions = {}): Promise<Float32Array[]> {
  const stems = model.stems.map(() => [] as Float32Array[]);
  async function* chunks() { for (let i = 0; i < x.length; i += 2 * 5000) yield x.subarray(i, i + 2 * 5000); }
  await separateStream(chunks(), model, async (blocks) => { for (const [s, b] of blocks.entries()) stems[s].push(b.slice()); }, opts);
  return stems.map((parts) => {
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  });
}

describe('quality choice → Wiener settings', () => {
  const manifest = (wiener?: unknown) => parseManifest({
    id: 'm', family: 'spleeter', stems: ['vocals', 'accompaniment'], files: [{ path: 'a.onnx', input: 'x', outputs: { vocals: 'v', accompaniment: 'a' } }],
    sampleRate: 44100, stft: { nFft: 4096, hop: 1024, window: 'hann-periodic', center: false }, bins: 1024, framesPerSplit: 512,
    licence: 'l', source: 's', ...(wiener !== undefined && { wiener }),
  }, 'test');

  it('fast by default (the masks), best = the manifest settings or Open-Unmix defaults, iterations override', () => {
    expect(wienerSettingsFor(manifest(), true, {})).toBeUndefined();
    expect(wienerSettingsFor(manifest(), true, { quality: 'best' })).toEqual({ iterations: 1, softmask: false, residual: false, blockFrames: 512 });
    const m = manifest({ iterations: 2, softmask: true, blockFrames: 300, defaultQuality: 'best' });
    expect(wienerSettingsFor(m, true, {})).toEqual({ iterations: 2, softmask: true, residual: false, blockFrames: 300 });
    expect(wienerSettingsFor(m, true, { quality: 'fast' })).toBeUndefined();
    expect(wienerSettingsFor(m, true, { quality: 'fast', iterations: 3 })?.iterations).toBe(3);
    expect(wienerSettingsFor(m, true, { iterations: 0 })).toBeUndefined();
    expect(() => wienerSettingsFor(manifest(), false, { quality: 'best' })).toThrow(/no quality "best"/);
  });

  it('rejects bad manifest settings and bad requests with the field at fault', () => {
    expect(() => manifest({ iterations: 0 })).toThrow(/wiener.iterations must be an integer from 1 to 10/);
    expect(() => manifest({ blockFrames: 600 })).toThrow(/wiener.blockFrames must be at most framesPerSplit/);
    expect(() => manifest({ softmask: 'yes' })).toThrow(/wiener.softmask must be true or false/);
    expect(() => manifest({ defaultQuality: 'great' })).toThrow(/wiener.defaultQuality/);
    expect(parseQuality('best')).toBe('best');
    expect(() => parseQuality('great')).toThrow(/quality must be one of fast, best/);
    expect(parseIterations('3')).toBe(3);
    expect(() => parseIterations(-1)).toThrow(/from 0 to 10/);
  });
});
