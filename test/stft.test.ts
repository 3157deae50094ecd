/** The mixed-radix FFT path of FrameTransform (PFFFT) against a direct DFT, and its inverse. */
import { describe, expect, it } from 'vitest';
import { FrameTransform, prepareTransform } from '../layers/engine/stft.js';

describe('FrameTransform at sizes that are not powers of two', () => {
  for (const n of [5120, 6144, 7680]) {
    it(`n=${n}: forward matches a direct DFT and inverse(forward(x)) = window^2 x`, async () => {
      await prepareTransform(n);
      const tf = new FrameTransform(n);
      const x = new Float32Array(n).map((_, i) => Math.sin(i * 0.013) + 0.5 * Math.cos(i * 0.77) + ((i * 7919) % 13) / 50);
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
      const outL = new Float64Array(n);
      const outR = new Float64Array(n);
      tf.inverseStereoAdd(re, im, 0, re, im, 0, outL, outR, 0);
      for (let i = 0; i < n; i++) {
        const want = x[i] * tf.window[i] * tf.window[i];
        expect(Math.abs(outL[i] - want)).toBeLessThan(1e-5);
        expect(outR[i]).toBe(outL[i]);
      }
    });
  }

  it('refuses a size no back end can transform', async () => {
    await expect(prepareTransform(6000)).rejects.toThrow(/n_fft 6000/);
  });
});
