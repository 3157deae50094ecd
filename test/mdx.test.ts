/**
 * The mdx family without the shared folder: where a bare UVR file's parameters come from
 * (metadata, UVR's table, neither), stem naming and compensate, and the chunk loop's two grids
 * on small test models written here (input times a per-frame gain).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { separateChunked, type ChunkedSeparatorOptions } from '../layers/engine/chunked-separator.js';
import { createModel } from '../layers/engine/families/index.js';
import { separateFile } from '../layers/engine/separate-file.js';
import type { SpectrogramChunkModel } from '../layers/engine/types.js';
import type { ModelManifest } from '../layers/models/manifest.js';
import { manifestForOnnxFile, readUvrTable, reconcileWithTable, stemNames, uvrHash } from '../layers/models/mdx-params.js';
import { tmpDir, writeUvrModel } from '../dev/models.js';
import { readWav, sdr, writeWav } from '../dev/wav.js';

const SR = 44100;

function tones(frames: number, parts: [number, number][]): Float32Array {
  const x = new Float32Array(2 * frames);
  for (let i = 0; i < frames; i++) {
    let v = 0;
    for (const [f, a] of parts) v += a * Math.sin((2 * Math.PI * f * i) / SR);
    x[2 * i] = v;
    x[2 * i + 1] = 0.8 * v;
  }
  return x;
}

async function* pieces(x: Float32Array, sizes: number[]): AsyncGenerator<Float32Array> {
  let at = 0;
  for (let k = 0; at < x.length; k++) {
    const n = 2 * sizes[k % sizes.length];
    yield x.slice(at, at + n);
    at += n;
  }
}

async function chunkModel(m: ModelManifest, file: string): Promise<SpectrogramChunkModel> {
  const model = await createModel(m, path.dirname(file), 2);
  if (model.kind !== 'spectrogram-chunks') throw new Error('expected a chunk model');
  return model;
}

async function run(model: SpectrogramChunkModel, x: Float32Array, opts: ChunkedSeparatorOptions = {}, sizes = [1000, 37, 4096, 12345]): Promise<[Float32Array, Float32Array]> {
  const parts: Float32Array[][] = [[], []];
  await separateChunked(pieces(x, sizes), model, async (blocks) => { for (const [s, b] of blocks.entries()) parts[s].push(b.slice()); }, opts);
  return parts.map((p) => {
    const out = new Float32Array(p.reduce((a, b) => a + b.length, 0));
    let o = 0;
    for (const b of p) { out.set(b, o); o += b.length; }
    return out;
  }) as [Float32Array, Float32Array];
}

/** Largest |y[n] - y[n-1]| within 2 samples of any join, over the input's largest jump within 256 samples. */
function worstJoinRatio(x: Float32Array, y: Float32Array, joins: number[]): number {
  const jump = (s: Float32Array, from: number, to: number) => {
    let m = 0;
    for (let n = Math.max(1, from); n < Math.min(s.length / 2, to); n++) {
      for (let c = 0; c < 2; c++) m = Math.max(m, Math.abs(s[2 * n + c] - s[2 * (n - 1) + c]));
    }
    return m;
  };
  let worst = 0;
  for (const q of joins) worst = Math.max(worst, jump(y, q - 2, q + 3) / jump(x, q - 256, q + 257));
  return worst;
}

describe('mdx parameters of a bare .onnx file', () => {
  it('a file known only to UVR\'s table runs with the table\'s n_fft (7680 with dim_f 3072), not 2 x dim_f', async () => {
    const file = writeUvrModel({ dimF: 3072, dimT: 256 });
    const table = { [uvrHash(file)]: { compensate: 1.03, mdx_dim_f_set: 3072, mdx_dim_t_set: 8, mdx_n_fft_scale_set: 7680, primary_stem: 'Instrumental' } };
    const m = manifestForOnnxFile(file, table);
    expect(m.stft).toEqual({ nFft: 7680, hop: 1024, window: 'hann-periodic', center: true });
    expect([m.bins, m.framesPerSplit, m.mdx?.compensate]).toEqual([3072, 256, 1.03]);
    expect(m.stems).toEqual(['instrumental', 'vocals']);
    // bin 3072 of 7680 is 17.64 kHz: the model's band stops there (with n_fft 6144 it would reach 22 kHz)
    const model = await chunkModel(m, file);
    const x = tones(2 * SR, [[1000, 0.3], [19000, 0.3]]);
    const [primary, secondary] = await run(model, x);
    const low = tones(2 * SR, [[1000, 0.3]]);
    expect(sdr(low, primary)).toBeGreaterThan(30);
    const expectedSecondary = x.map((v, i) => v - 1.03 * primary[i]);
    expect(sdr(expectedSecondary, secondary)).toBeGreaterThan(100);
  });

  it('a file with sherpa-onnx metadata only runs from its path, with stems primary/secondary', async () => {
    const file = writeUvrModel({ dimF: 160, dimT: 32, metadata: { nFft: 480, hop: 120 } });
    const dir = tmpDir('mdx-meta');
    const wav = path.join(dir, 'in.wav');
    writeWav(wav, tones(SR, [[440, 0.3], [3000, 0.2]]), SR, 2);
    const r = await separateFile(wav, path.join(dir, 'out'), { model: file, format: 'wav32f', threads: 1 });
    expect(r.model.family).toBe('mdx');
    expect(r.stems.map((s) => s.stem)).toEqual(['primary', 'secondary']);
    const m = manifestForOnnxFile(file);
    expect([m.stft.nFft, m.stft.hop, m.bins, m.framesPerSplit, m.mdx?.compensate]).toEqual([480, 120, 160, 32, 1]);
    const second = readWav(r.stems[1].file).data;
    const sum = readWav(r.stems[0].file).data.map((v, i) => v + second[i]);
    expect(sdr(readWav(wav).data, sum)).toBeGreaterThan(90);
  });

  it('a file known to neither gets a clear error naming what is missing, and leaves no output', async () => {
    const file = writeUvrModel({ dimF: 160, dimT: 32 });
    const dir = tmpDir('mdx-unknown');
    const wav = path.join(dir, 'in.wav');
    writeWav(wav, tones(SR / 2, [[440, 0.3]]), SR, 2);
    await expect(separateFile(wav, path.join(dir, 'out'), { model: file })).rejects.toThrow(/no sherpa-onnx metadata \(model_type=UVR, n_fft, hop_length, dim_f, dim_t\) and its UVR hash [0-9a-f]{32} is not in UVR's model-data table/);
    expect(existsSync(path.join(dir, 'out'))).toBe(false);
  });

  it('metadata that contradicts the tensor shape is refused', () => {
    const file = writeUvrModel({ dimF: 160, dimT: 32, metadata: { nFft: 480, hop: 120 } });
    const table = { [uvrHash(file)]: { compensate: 1, mdx_dim_f_set: 128, mdx_dim_t_set: 5, mdx_n_fft_scale_set: 480, primary_stem: 'Vocals' } };
    // metadata wins over the table for the shape; the table still names the stems and gives compensate
    expect(manifestForOnnxFile(file, table).stems).toEqual(['vocals', 'instrumental']);
    const bare = writeUvrModel({ dimF: 160, dimT: 32 });
    expect(() => manifestForOnnxFile(bare, { [uvrHash(bare)]: table[uvrHash(file)] })).toThrow(/shape \[batch, 4, 160, 32\], expected \[batch, 4, 128, 32\]/);
  });

  it('names stems from primary_stem as UVR does, karaoke included', () => {
    expect(stemNames('Vocals')).toEqual(['vocals', 'instrumental']);
    expect(stemNames('Instrumental')).toEqual(['instrumental', 'vocals']);
    expect(stemNames('Reverb')).toEqual(['reverb', 'no-reverb']);
    expect(stemNames('No Crowd')).toEqual(['no-crowd', 'crowd']);
    expect(stemNames('Instrumental', true)).toEqual(['karaoke', 'lead-vocals']);
    expect(stemNames('Vocals', true)).toEqual(['lead-vocals', 'karaoke']);
  });

  it('hashes as UVR does: MD5 of the last 10,000 x 1024 bytes, or of the whole file when smaller', () => {
    const dir = tmpDir('uvr-hash');
    const small = Buffer.from('a small file');
    writeFileSync(path.join(dir, 'small.onnx'), small);
    expect(uvrHash(path.join(dir, 'small.onnx'))).toBe(createHash('md5').update(small).digest('hex'));
    const big = Buffer.alloc(10_500_000).map((_, i) => (i * 31) & 255);
    writeFileSync(path.join(dir, 'big.onnx'), big);
    expect(uvrHash(path.join(dir, 'big.onnx'))).toBe(createHash('md5').update(big.subarray(big.length - 10_240_000)).digest('hex'));
  });

  it('ships UVR\'s table with its source, including the n_fft values that are not 2 x dim_f', () => {
    const raw = JSON.parse(readFileSync(new URL('../models/uvr-mdx-model-data.json', import.meta.url), 'utf8'));
    expect(raw.source).toContain(raw.commit);
    const t = readUvrTable();
    expect(Object.keys(t).length).toBeGreaterThan(40);
    for (const [h, e] of Object.entries(t)) {
      expect(h).toMatch(/^[0-9a-f]{32}$/);
      expect(e.compensate).toBeGreaterThan(0);
    }
    const pairs = new Set(Object.values(t).map((e) => `${e.mdx_n_fft_scale_set}/${e.mdx_dim_f_set}`));
    for (const p of ['7680/3072', '6144/3072', '5120/2048', '6144/2048']) expect(pairs).toContain(p);
  });

  it('after a download, a file the table knows must agree with its manifest; the table names its stems', () => {
    const file = writeUvrModel({ dimF: 160, dimT: 32, metadata: { nFft: 480, hop: 120 } });
    const m = manifestForOnnxFile(file);
    const entry = { compensate: 1.02, mdx_dim_f_set: 160, mdx_dim_t_set: 5, mdx_n_fft_scale_set: 480, primary_stem: 'Instrumental' };
    const r = reconcileWithTable(m, file, { [uvrHash(file)]: entry });
    expect([r.stems, r.mdx?.compensate, r.files[0].outputs]).toEqual([['instrumental', 'vocals'], 1.02, { instrumental: 'output' }]);
    expect(() => reconcileWithTable(m, file, { [uvrHash(file)]: { ...entry, mdx_n_fft_scale_set: 960 } })).toThrow(/table says n_fft 960/);
    expect(reconcileWithTable(m, file, {})).toBe(m);
  });
});

describe('mdx chunk loop', () => {
  const nFft = 480;
  const hop = 120;
  const dimT = 32;
  const L = hop * (dimT - 1);
  const half = nFft / 2;

  it('quality grid: stems sum to the input (>= 90 dB) and joins between segments stay smooth', async () => {
    const file = writeUvrModel({ dimF: 200, dimT, gain: [0.6, 1.2], metadata: { nFft, hop } });
    const model = await chunkModel(manifestForOnnxFile(file), file);
    const N = 3 * SR;
    const x = tones(N, [[700, 0.3], [1900, 0.2]]);
    const [p, s] = await run(model, x);
    expect(p.length).toBe(x.length);
    expect(sdr(x, p.map((v, i) => v + s[i]))).toBeGreaterThan(90);
    const step = Math.floor(0.75 * L);
    const joins: number[] = [];
    for (let i = 0; i - half < N; i += step) joins.push(i - half, i - half + L);
    const q = worstJoinRatio(x, p, joins.filter((j) => j > 300 && j < N - 300));
    // the model's gain is at most 1.2 and the crossfade leaves no step
    expect(q).toBeLessThan(1.5);
    // the same model without overlap (segments end to end) does show its steps: the check can fail
    const [plain] = await run(model, x, { overlap: 0 });
    const plainJoins = Array.from({ length: Math.floor(N / L) }, (_, k) => (k + 1) * L - half).filter((j) => j > 300 && j < N - 300);
    expect(worstJoinRatio(x, plain, plainJoins)).toBeGreaterThan(3);
  });

  it('reference grid: segments of L - n_fft samples joined end to end (steps with a position-dependent model)', async () => {
    const file = writeUvrModel({ dimF: 200, dimT, gain: [0.6, 1.2], metadata: { nFft, hop } });
    const model = await chunkModel(manifestForOnnxFile(file), file);
    const N = 3 * SR;
    const x = tones(N, [[700, 0.3], [1900, 0.2]]);
    const [p, s] = await run(model, x, { grid: 'reference' });
    expect(p.length).toBe(x.length);
    expect(sdr(x, p.map((v, i) => v + s[i]))).toBeGreaterThan(90);
    const gen = L - nFft;
    const joins = Array.from({ length: Math.floor(N / gen) }, (_, k) => (k + 1) * gen).filter((j) => j < N - 300);
    expect(worstJoinRatio(x, p, joins)).toBeGreaterThan(3);
  });

  for (const grid of ['aligned', 'reference'] as const) {
    it(`${grid} grid: the output does not depend on how the input is cut into pieces (streaming), across 15-s chunks`, async () => {
      const file = writeUvrModel({ dimF: 200, dimT, gain: [0.9, 1.1], metadata: { nFft, hop } });
      const model = await chunkModel(manifestForOnnxFile(file), file);
      const x = tones(31 * SR + 123, [[300, 0.3], [5000, 0.1]]);
      const a = await run(model, x, { grid }, [SR * 40]);
      const b = await run(model, x, { grid }, [777, 4096, 100_003]);
      expect(a[0].length).toBe(x.length);
      expect(Buffer.compare(Buffer.from(a[0].buffer), Buffer.from(b[0].buffer))).toBe(0);
      expect(Buffer.compare(Buffer.from(a[1].buffer), Buffer.from(b[1].buffer))).toBe(0);
    });
  }

  it('handles inputs shorter than one segment and empty input', async () => {
    const file = writeUvrModel({ dimF: 200, dimT, metadata: { nFft, hop } });
    const model = await chunkModel(manifestForOnnxFile(file), file);
    for (const grid of ['aligned', 'reference'] as const) {
      const x = tones(1000, [[700, 0.3]]);
      const [p, s] = await run(model, x, { grid });
      expect(p.length).toBe(x.length);
      expect(sdr(x, p.map((v, i) => v + s[i]))).toBeGreaterThan(90);
      const [e] = await run(model, new Float32Array(0), { grid });
      expect(e.length).toBe(0);
    }
  });

  it('denoise runs the model on x and -x and averages (same result for an odd model)', async () => {
    const file = writeUvrModel({ dimF: 200, dimT, gain: 1, metadata: { nFft, hop } });
    const m = manifestForOnnxFile(file);
    const plain = await chunkModel(m, file);
    const denoised = await chunkModel({ ...m, mdx: { compensate: 1, denoise: true } }, file);
    const x = tones(SR, [[700, 0.3]]);
    const [a] = await run(plain, x);
    const [b] = await run(denoised, x);
    expect(sdr(a, b)).toBeGreaterThan(120);
    expect(readdirSync(path.dirname(file))).toEqual([path.basename(file)]);
  });
});
