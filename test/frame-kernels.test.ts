/** The frame kernels (frame-kernels.wat): the committed bytes are the WAT's, and each kernel against a scalar loop, tails included. */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { assembleKernels, KERNELS_TS } from '../dev/build-kernels.js';
import { ratioMasks } from '../layers/engine/families/spleeter.js';
import { frameKernels, HeapFloats, loadPffft } from '../layers/engine/pffft.js';
import { normaliseInterleave } from '../layers/engine/stft.js';

const values = (n: number, seed: number) => new Float32Array(n).map((_, i) => Math.sin(i * 0.37 + seed) * (1 + ((i * 31) % 7)));
const heap = (a: Float32Array) => { const h = new HeapFloats(a.length + 8); h.view.set(a); return h; };

describe('frame kernels', () => {
  beforeAll(loadPffft);

  it('frame-kernels.wasm.ts is what the WAT assembles to (run `npm run build:kernels` after editing it)', async () => {
    expect(readFileSync(KERNELS_TS, 'utf8')).toBe(await assembleKernels());
  });

  for (const n of [4096, 1027, 3, 0]) {
    it(`n=${n}: mul, mulAdd, unpack (with magnitudes for part of the bins) and pack (per-bin and scalar gain)`, () => {
      const k = frameKernels();
      const a = values(2 * n, 1), b = values(2 * n, 2), c = values(2 * n, 3);
      const ha = heap(a), hb = heap(b), hc = heap(c), out = heap(new Float32Array(2 * n)), out2 = heap(new Float32Array(n));
      k.mul(out.ptr, ha.ptr, hb.ptr, n);
      for (let i = 0; i < n; i++) expect(out.view[i]).toBe(Math.fround(a[i] * b[i]));
      expect(out.view[n]).toBe(0); // nothing past n

      k.mulAdd(hc.ptr, ha.ptr, hb.ptr, n);
      for (let i = 0; i < n; i++) expect(hc.view[i]).toBe(Math.fround(c[i] + Math.fround(a[i] * b[i])));
      expect(hc.view[n]).toBe(c[n] ?? 0);

      const m = Math.max(0, n - 5);
      const re = heap(new Float32Array(n)), im = heap(new Float32Array(n)), mag = heap(new Float32Array(n));
      k.unpack(ha.ptr, re.ptr, im.ptr, mag.ptr, n, m);
      for (let i = 0; i < n; i++) {
        expect(re.view[i]).toBe(a[2 * i]);
        expect(im.view[i]).toBe(a[2 * i + 1]);
      }
      for (let i = 0; i < m; i++) expect(mag.view[i]).toBeCloseTo(Math.hypot(a[2 * i], a[2 * i + 1]), 4);

      k.pack(out.ptr, re.ptr, im.ptr, hb.ptr, 0, n);
      for (let i = 0; i < n; i++) {
        expect(out.view[2 * i]).toBe(Math.fround(a[2 * i] * b[i]));
        expect(out.view[2 * i + 1]).toBe(Math.fround(a[2 * i + 1] * b[i]));
      }
      const g = heap(new Float32Array([0.25]));
      k.pack(out.ptr, re.ptr, im.ptr, g.ptr, 1, n);
      for (let i = 0; i < n; i++) {
        expect(out.view[2 * i]).toBe(Math.fround(a[2 * i] * 0.25));
        expect(out.view[2 * i + 1]).toBe(Math.fround(a[2 * i + 1] * 0.25));
      }
      expect(out2.view.every((v) => v === 0)).toBe(true);
    });
  }

  for (const S of [1, 2, 4]) {
    it(`ratio masks of ${S} stem(s) over several chunks and a tail: (y_s² + eps/S) / (Σ y² + eps), summing to one`, () => {
      const n = 2 * 16384 + 7;
      const est = Array.from({ length: S }, (_, s) => values(n, s).map((v, i) => (i % 97 === 0 ? 0 : Math.abs(v))));
      const masks = est.map(() => new Float32Array(n));
      ratioMasks(est, masks, n);
      for (let i = 0; i < n; i++) {
        let sum = 1e-10;
        for (let s = 0; s < S; s++) sum += est[s][i] ** 2;
        let total = 0;
        for (let s = 0; s < S; s++) {
          expect(masks[s][i]).toBeCloseTo((est[s][i] ** 2 + 1e-10 / S) / sum, 6);
          total += masks[s][i];
        }
        expect(Math.abs(total - 1)).toBeLessThan(1e-6);
      }
    });
  }

  it('normalise and interleave: 1/d above the floor, 1/floor on the thin edges, 0 where nothing overlapped', () => {
    const n = 1031;
    const L = values(n, 5), R = values(n, 6);
    const d = new Float32Array(n).map((_, i) => [0, 0.2, 1.5, 0.75][i % 4]);
    const hL = heap(L), hR = heap(R), hd = heap(d), out = heap(new Float32Array(2 * n));
    normaliseInterleave(hL, hR, hd, 0, 0.75, out, n);
    for (let j = 0; j < n; j++) {
      const g = d[j] >= 0.75 ? 1 / d[j] : d[j] > 0 ? 1 / 0.75 : 0;
      expect(out.view[2 * j]).toBeCloseTo(L[j] * g, 5);
      expect(out.view[2 * j + 1]).toBeCloseTo(R[j] * g, 5);
    }
  });
});
