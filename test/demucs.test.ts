/**
 * The demucs family against upstream Demucs: the fixtures (test/fixtures/demucs/README.md) hold a
 * reduced HTDemucs exported by models/convert/demucs_onnx.py and what upstream's unmodified
 * apply_model (shifts 0, overlap 0.25, split) made of real MUSDB mixtures with it. Our stems must
 * match per stem over the whole signal; also lengths, shifts, and the bag's weights.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpDir, writeDemucsGainModel } from '../dev/models.js';
import { sdr } from '../dev/wav.js';
import { ffmpegBinary } from '../layers/audio/ffmpeg.js';
import { createModel } from '../layers/engine/families/index.js';
import { separateHybrid, shiftDeltas, type HybridSeparatorOptions } from '../layers/engine/hybrid-separator.js';
import type { HybridSegmentModel } from '../layers/engine/types.js';
import { parseManifest, readManifest } from '../layers/models/manifest.js';

const FIXTURES = new URL('./fixtures/demucs/', import.meta.url).pathname;
const MODEL_DIR = path.join(FIXTURES, 'model');
const fixture = JSON.parse(readFileSync(path.join(FIXTURES, 'fixture.json'), 'utf8')) as {
  cases: Record<string, { frames: number; scales: number[]; quantisationSnrDb: number[] }>;
};

/** A FLAC file as 16-bit samples (exact), interleaved. */
function flacS16(file: string): Int16Array {
  const buf = execFileSync(ffmpegBinary(), ['-v', 'error', '-i', file, '-f', 's16le', '-'], { maxBuffer: 1 << 28 });
  return new Int16Array(buf.buffer, buf.byteOffset, buf.length / 2);
}

function input(name: string): Float32Array {
  return Float32Array.from(flacS16(path.join(FIXTURES, `${name}.in.flac`)), (v) => v / 32768);
}

/** Upstream's stems: [stem] -> interleaved stereo. */
function reference(name: string): Float32Array[] {
  const { scales } = fixture.cases[name];
  const q = flacS16(path.join(FIXTURES, `${name}.flac`));
  const C = scales.length;
  const n = q.length / C;
  return Array.from({ length: C / 2 }, (_, s) => {
    const out = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      out[2 * i] = q[i * C + 2 * s] * scales[2 * s];
      out[2 * i + 1] = q[i * C + 2 * s + 1] * scales[2 * s + 1];
    }
    return out;
  });
}

async function* pieces(x: Float32Array, frames: number[]): AsyncGenerator<Float32Array> {
  let at = 0;
  for (let k = 0; at < x.length; k++) {
    const n = 2 * frames[k % frames.length];
    yield x.slice(at, at + n);
    at += n;
  }
}

async function hybridModel(dir: string): Promise<HybridSegmentModel> {
  const model = await createModel(await readManifest(dir), dir, 2);
  if (model.kind !== 'hybrid-segments') throw new Error('expected a hybrid segment model');
  return model;
}

/** The bag: both fixture networks with bag.model.json's weights, in a folder of its own. */
function bagDir(weights?: number[][]): string {
  const dir = tmpDir('demucs-bag');
  const doc = JSON.parse(readFileSync(path.join(FIXTURES, 'bag.model.json'), 'utf8'));
  if (weights) doc.demucs.weights = weights;
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(doc));
  for (const f of doc.files) copyFileSync(path.join(MODEL_DIR, f.path), path.join(dir, f.path));
  return dir;
}

async function separate(model: HybridSegmentModel, x: Float32Array, opts: HybridSeparatorOptions = {}, frames = [1000, 37, 12345, 4096]): Promise<Float32Array[]> {
  const parts: Float32Array[][] = model.stems.map(() => []);
  await separateHybrid(pieces(x, frames), model, async (blocks) => { for (const [s, b] of blocks.entries()) parts[s].push(b.slice()); }, opts);
  return parts.map((p) => {
    const out = new Float32Array(p.reduce((a, b) => a + b.length, 0));
    let o = 0;
    for (const b of p) { out.set(b, o); o += b.length; }
    return out;
  });
}

describe('demucs family: fidelity to upstream apply_model', () => {
  for (const name of ['clip', 'long', 'bag'] as const) {
    it(`${name}: every stem within 60 dB SDR of upstream's, whole signal, same length`, async () => {
      const model = await hybridModel(name === 'bag' ? bagDir() : MODEL_DIR);
      const x = input(name);
      expect(x.length / 2).toBe(fixture.cases[name].frames);
      const ours = await separate(model, x, { overlap: 0.25 });
      const ref = reference(name);
      const sdrs = ours.map((y, s) => {
        expect(y.length).toBe(x.length);
        return sdr(ref[s], y);
      });
      console.log(`demucs fidelity ${name}: SDR ${sdrs.map((v) => v.toFixed(1)).join(' / ')} dB (storage ceiling ${fixture.cases[name].quantisationSnrDb.join(' / ')})`);
      for (const v of sdrs) expect(v).toBeGreaterThanOrEqual(60);
    }, 60_000);
  }
});

describe('demucs family: edges, shifts, bags', () => {
  it("Demucs' spectrogram and its inverse, at the official shapes: the input's spectrogram through the iSTFT is the input away from the segment's edges", async () => {
    const dir = writeDemucsGainModel({ stems: ['spectral', 'direct'], gains: { freq: [1, 0], time: [0, 1] }, segmentSamples: 343980 });
    const model = await hybridModel(dir);
    expect([model.segmentSamples, model.framesPerSegment, model.bins]).toEqual([343980, 336, 2048]);
    // one segment of tones (no noise: Demucs drops the top bin, whose content would not come back)
    const L = model.segmentSamples;
    const x = new Float32Array(2 * L);
    for (let i = 0; i < L; i++) {
      const t = i / 44100;
      x[2 * i] = 0.3 * Math.sin(2 * Math.PI * 220 * t) + 0.2 * (0.5 + 0.5 * Math.sin(2 * Math.PI * 1.5 * t)) * Math.sin(2 * Math.PI * 3300 * t);
      x[2 * i + 1] = 0.25 * Math.sin(2 * Math.PI * 330 * t + 1) + 0.15 * Math.sin(2 * Math.PI * 12000 * t);
    }
    const [spectral, direct] = await separate(model, x);
    expect(sdr(x, direct)).toBeGreaterThan(130);
    // upstream's _spec keeps frames 2 .. T+2 of the centred STFT and _ispec puts zeros back for the
    // others: the first and last ~1.5k samples of a segment do not come back whole (upstream alike)
    expect(sdr(x, spectral, 2 * 4096, 2 * (L - 4096))).toBeGreaterThan(100);
    expect(sdr(x, spectral, 0, 2 * 1024)).toBeLessThan(40);
  }, 60_000);

  it('any input length, shorter than a segment down to one sample: as many samples out as in', async () => {
    const model = await hybridModel(MODEL_DIR);
    const x = input('clip');
    for (const frames of [1, 5000, model.segmentSamples, model.segmentSamples + 1]) {
      const src = new Float32Array(2 * frames);
      for (let i = 0; i < src.length; i++) src[i] = x[i % x.length];
      const out = await separate(model, src, {}, [frames]);
      for (const y of out) expect(y.length).toBe(2 * frames);
      expect(out.every((y) => y.every(Number.isFinite))).toBe(true);
    }
    expect(await separate(model, new Float32Array(0))).toEqual(model.stems.map(() => new Float32Array(0)));
  }, 60_000);

  it('the output does not depend on how the input arrives', async () => {
    const model = await hybridModel(MODEL_DIR);
    const x = input('long').subarray(0, 2 * 70_000);
    const a = await separate(model, x, {}, [70_000]);
    const b = await separate(model, x, {}, [777, 31_000]);
    expect(b).toEqual(a);
  }, 60_000);

  it('shifts: each shift is the plain split of the input moved by a seeded offset, the shifts averaged', async () => {
    const model = await hybridModel(MODEL_DIR);
    const x = input('clip');
    const moved = async (delta: number) => {
      // apply_model: the input moved right by -delta samples (zeros before), the output moved back
      const z = new Float32Array(x.length - 2 * delta);
      z.set(x, -2 * delta);
      return (await separate(model, z)).map((y) => y.subarray(-2 * delta));
    };
    const [d1, d2] = shiftDeltas(7, 2, model.sampleRate);
    expect(d1).not.toBe(d2);
    const one = await separate(model, x, { shifts: 1, seed: 7 });
    expect(one).toEqual(await moved(d1));
    const two = await separate(model, x, { shifts: 2, seed: 7 });
    expect(await separate(model, x, { shifts: 2, seed: 7 })).toEqual(two);
    const [m1, m2] = [await moved(d1), await moved(d2)];
    for (const [s, y] of two.entries()) {
      expect(y.length).toBe(x.length);
      expect(sdr(m1[s].map((v, i) => 0.5 * v + 0.5 * m2[s][i]), y)).toBeGreaterThan(120);
    }
    await expect(separate(model, x, { shifts: -1 })).rejects.toThrow(/shifts/);
    await expect(separate(model, x, { overlap: 1 })).rejects.toThrow(/overlap/);
  }, 60_000);

  it('a bag combines its networks per stem with its weights', async () => {
    const x = input('bag');
    const single = await separate(await hybridModel(MODEL_DIR), x);
    const second = await separate(await hybridModel(bagDir([[0, 0, 0, 0.5], [1, 1, 1, 1]])), x);
    const bag = await separate(await hybridModel(bagDir()), x);
    const weights = [[1, 0, 0.5, 2], [0.25, 1, 0.5, 1]];
    for (let s = 0; s < 4; s++) {
      // second: stems 0-2 are the second network alone; stem 3 is (0.5 first + second) / 1.5
      const w = [weights[0][s], weights[1][s]];
      const secondAlone = s < 3 ? second[s] : second[s].map((v, i) => 1.5 * v - 0.5 * single[s][i]);
      const expected = single[s].map((v, i) => (w[0] * v + w[1] * secondAlone[i]) / (w[0] + w[1]));
      expect(sdr(expected, bag[s])).toBeGreaterThan(100);
    }
  }, 60_000);

  it('manifest: the bag needs one weight row per file, one weight per stem, every stem weighted', () => {
    const doc = JSON.parse(readFileSync(path.join(FIXTURES, 'bag.model.json'), 'utf8'));
    const parse = (demucs: unknown) => parseManifest({ ...doc, demucs: { ...doc.demucs, ...(demucs as object) } }, 'test');
    expect(parse({}).demucs?.weights).toEqual([[1, 0, 0.5, 2], [0.25, 1, 0.5, 1]]);
    expect(() => parse({ weights: [[1, 1, 1, 1]] })).toThrow(/one row per file/);
    expect(() => parse({ weights: [[1, 1, 1], [1, 1, 1]] })).toThrow(/one per stem/);
    expect(() => parse({ weights: [[1, 0, 1, 1], [1, 0, 1, 1]] })).toThrow(/no weight/);
    expect(() => parse({ segmentSamples: 1000 })).toThrow(/framesPerSplit/);
    expect(() => parseManifest({ ...doc, stft: { ...doc.stft, hop: 512 } }, 'test')).toThrow(/nFft \/ 4/);
  });
});
