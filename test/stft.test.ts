/** FrameTransform (PFFFT at every size) against a direct DFT, its fused variants, and the identity round trip. */
import { describe, expect, it } from 'vitest';
import { FrameTransform, prepareTransform, steadyWindowSquareSum } from '../layers/engine/stft.js';

const signal = (n: number) => new Float32Array(n).map((_, i) => Math.sin(i * 0.013) + 0.5 * Math.cos(i * 0.77) + ((i * 7919) % 13) / 50);

describe('FrameTransform', () => {
  for (const n of [4096, 5120, 6144, 7680]) {
    it(`n=${n}: forward matches a direct DFT, the fused variants match forward, inverse(forward(x)) = window^2 x`, async () => {
      await prepareTransform(n);
      const tf = new FrameTransform(n);
      const x = signal(n);
      const half = n / 2;
      const re = new Float32Array(half + 1);
      const im = new Float32Array(half + 1);
      tf.forward(x, 0, re, im, 0);
      let scale = 0;
      for (let i = 0; i < n; i++) scale += Math.abs(x[i]);
      for (const k of [0, 1, 2, 37, 1000, half - 1, half]) {
        let a = 0;
        let b = 0;
        for (let i = 0; i < n; i++) {
          const v = x[i] * tf.window[i];
          a += v * Math.cos((2 * Math.PI * k * i) / n);
          b -= v * Math.sin((2 * Math.PI * k * i) / n);
        }
        expect(Math.abs(re[k] - a) / scale).toBeLessThan(1e-6);
        expect(Math.abs(im[k] - b) / scale).toBeLessThan(1e-6);
      }

      // fused forward variants give the same numbers
      const bins = half - 7;
      const re2 = new Float32Array(half + 1), im2 = new Float32Array(half + 1), mag = new Float32Array(bins);
      tf.forwardWithMagnitude(x, 0, re2, im2, 0, mag, 0, bins);
      expect(re2).toEqual(re);
      expect(im2).toEqual(im);
      for (const k of [0, 1, 500, bins - 1]) expect(mag[k]).toBeCloseTo(Math.hypot(re[k], im[k]), 4);
      const stride = 3;
      const strided = new Float32Array(2 * stride * (half + 1));
      tf.forwardStrided(x, 0, 0, 1, strided, 1, stride * (half + 1) + 1, stride, half + 1);
      for (const k of [0, 1, 999, half]) {
        expect(strided[1 + k * stride]).toBe(re[k]);
        expect(strided[stride * (half + 1) + 1 + k * stride]).toBe(im[k]);
      }

      // inverse: every variant returns window^2 x (identity round trip)
      const want = (i: number) => x[i] * tf.window[i] * tf.window[i];
      const outs = Array.from({ length: 3 }, () => new Float32Array(n));
      tf.inverseAdd(re, im, 0, outs[0], 0);
      tf.inverseMaskedAdd(re, im, 0, new Float32Array(bins).fill(1), 0, bins, 1, outs[1], 0);
      tf.inverseStridedAdd(strided, 1, stride * (half + 1) + 1, stride, half + 1, 1, outs[2], 0, 0);
      let err = 0;
      for (const out of outs) for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(out[i] - want(i)));
      expect(err).toBeLessThan(1e-5);
    });
  }

  it('strided variants over many frames (blocks and a partial block): the [bin][frame] layout of forward, and back by overlap-add', async () => {
    const n = 6144, hop = 1024, T = 19, count = 3000;
    await prepareTransform(n);
    const tf = new FrameTransform(n);
    const x = signal(hop * (T - 1) + n);
    const stride = T + 3;
    const dst = new Float32Array(2 * stride * (n / 2 + 1));
    const imAt = stride * (n / 2 + 1);
    tf.forwardStrided(x, 0, hop, T, dst, 0, imAt, stride, count);
    const re = new Float32Array(n / 2 + 1), im = new Float32Array(n / 2 + 1);
    const want = new Float32Array(x.length);
    for (const t of [0, 7, 8, 18]) {
      tf.forward(x, t * hop, re, im, 0);
      for (const k of [0, 1, 2, 1500, count - 1]) {
        expect(dst[k * stride + t]).toBe(re[k]);
        expect(dst[imAt + k * stride + t]).toBe(k === 0 ? 0 : im[k]);
      }
    }
    for (let t = 0; t < T; t++) {
      tf.forward(x, t * hop, re, im, 0);
      for (let k = count; k <= n / 2; k++) re[k] = im[k] = 0;
      tf.inverseAdd(re, im, 0, want, t * hop);
    }
    const got = new Float32Array(x.length);
    tf.inverseStridedAdd(dst, 0, imAt, stride, count, T, got, 0, hop);
    let err = 0;
    for (let i = 0; i < x.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
    expect(err).toBeLessThan(1e-6);
  });

  it('masks: bins below `bins` scaled by the mask, the band above by `high`', async () => {
    const n = 4096;
    await prepareTransform(n);
    const tf = new FrameTransform(n);
    const x = signal(n);
    const re = new Float32Array(n / 2 + 1), im = new Float32Array(n / 2 + 1);
    tf.forward(x, 0, re, im, 0);
    const bins = 1024;
    // half of the low band plus none of the high band = half the low-passed frame
    const masked = new Float32Array(n);
    tf.inverseMaskedAdd(re, im, 0, new Float32Array(bins).fill(0.5), 0, bins, 0, masked, 0);
    const low = new Float32Array(n);
    const reLow = re.map((v, k) => (k < bins ? v : 0)), imLow = im.map((v, k) => (k < bins ? v : 0));
    tf.inverseAdd(reLow, imLow, 0, low, 0);
    for (let i = 0; i < n; i += 97) expect(masked[i]).toBeCloseTo(0.5 * low[i], 5);
    expect(steadyWindowSquareSum(tf.window, 1024)).toBeCloseTo(1.5, 5);
  });

  it('refuses a size no back end can transform', async () => {
    await expect(prepareTransform(6000)).rejects.toThrow(/n_fft 6000/);
    await expect(prepareTransform(16)).rejects.toThrow(/n_fft 16/);
  });
});
