/**
 * Frame-level STFT maths on preallocated typed arrays (all STFT code lives here), float32 end to
 * end. Every size runs PFFFT (WebAssembly SIMD, sizes 32 x 2^a 3^b 5^c): bench:fft measured it
 * 4-5x faster than fft.js (float64 JS) at 4096 forward and inverse, and it is the only candidate
 * for MDX-Net's 5120, 6144 and 7680. Call prepareTransform(nFft) once before constructing a
 * FrameTransform (the engine's loops do).
 *
 * Each method is one fused pass on each side of the FFT: window while copying in; unpack and take
 * the magnitude (or transpose into a model's layout) while copying out; mask (or transpose back)
 * while packing the inverse's input; window, scale and overlap-add while copying out. Nothing is
 * allocated per frame.
 */
import { loadPffft, PffftReal, pffftSupports } from './pffft.js';

export interface StftSettings {
  nFft: number;
  hop: number;
  /** Only the periodic Hann window is supported today (what every supported family uses). */
  window: 'hann-periodic';
  center: boolean;
}

/** Periodic Hann window in float32, as the reference implementations store it. */
export function periodicHann(n: number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

/** Sum over frames of w^2 at any sample in steady state (what iSTFT divides by). */
export function steadyWindowSquareSum(window: ArrayLike<number>, hop: number): number {
  let max = 0;
  for (let t = 0; t < hop; t++) {
    let s = 0;
    for (let i = t; i < window.length; i += hop) s += window[i] * window[i];
    max = Math.max(max, s);
  }
  return max;
}

/** Whether a FrameTransform of this size can exist. */
export function transformSupports(nFft: number): boolean {
  return pffftSupports(nFft);
}

/** Loads what a FrameTransform needs (the WebAssembly FFT); refuses sizes it cannot transform. */
export async function prepareTransform(nFft: number): Promise<void> {
  if (!transformSupports(nFft)) throw new Error(`no FFT for n_fft ${nFft}: it must be 32 x 2^a 3^b 5^c`);
  await loadPffft();
}

export class FrameTransform {
  readonly nFft: number;
  readonly nBins: number;
  readonly window: Float32Array;
  /** window / nFft: PFFFT's backward transform is unscaled. */
  private readonly synthesisWindow: Float32Array;
  private readonly pf: PffftReal;

  constructor(nFft: number) {
    this.nFft = nFft;
    this.nBins = nFft / 2 + 1;
    this.window = periodicHann(nFft);
    this.synthesisWindow = this.window.map((w) => w / nFft);
    this.pf = new PffftReal(nFft);
  }

  /** Windowed FFT of src[offset .. offset+nFft) into re/im[outOffset .. +nBins). */
  forward(src: Float32Array, offset: number, re: Float32Array, im: Float32Array, outOffset: number): void {
    const y = this.forwardPacked(src, offset);
    const half = this.nFft >> 1;
    re[outOffset] = y[0];
    im[outOffset] = 0;
    re[outOffset + half] = y[1];
    im[outOffset + half] = 0;
    for (let k = 1; k < half; k++) {
      re[outOffset + k] = y[2 * k];
      im[outOffset + k] = y[2 * k + 1];
    }
  }

  /** forward(), plus |X[k]| for k < bins into mag[magOffset ..), in the same pass. */
  forwardWithMagnitude(src: Float32Array, offset: number, re: Float32Array, im: Float32Array, outOffset: number,
    mag: Float32Array, magOffset: number, bins: number): void {
    const y = this.forwardPacked(src, offset);
    const half = this.nFft >> 1;
    re[outOffset] = y[0];
    im[outOffset] = 0;
    re[outOffset + half] = y[1];
    im[outOffset + half] = 0;
    mag[magOffset] = Math.abs(y[0]);
    const n = Math.min(bins, half);
    for (let k = 1; k < n; k++) {
      const a = y[2 * k];
      const b = y[2 * k + 1];
      re[outOffset + k] = a;
      im[outOffset + k] = b;
      mag[magOffset + k] = Math.sqrt(a * a + b * b);
    }
    for (let k = n; k < half; k++) {
      re[outOffset + k] = y[2 * k];
      im[outOffset + k] = y[2 * k + 1];
    }
    if (bins > half) mag[magOffset + half] = Math.abs(y[1]);
  }

  /**
   * Windowed FFT of one frame, bins [0, count) written with a stride: re of bin k to
   * dst[reOffset + k * stride], im to dst[imOffset + k * stride] (a model's [bin][frame] layout).
   */
  forwardStrided(src: Float32Array, offset: number, dst: Float32Array, reOffset: number, imOffset: number, stride: number, count: number): void {
    const y = this.forwardPacked(src, offset);
    const half = this.nFft >> 1;
    dst[reOffset] = y[0];
    dst[imOffset] = 0;
    const n = Math.min(count, half);
    for (let k = 1; k < n; k++) {
      dst[reOffset + k * stride] = y[2 * k];
      dst[imOffset + k * stride] = y[2 * k + 1];
    }
    if (count > half) {
      dst[reOffset + half * stride] = y[1];
      dst[imOffset + half * stride] = 0;
    }
  }

  /**
   * Inverse FFT of one half spectrum (nBins at re/im[offset ..)), each bin k < bins scaled by
   * mask[maskOffset + k] and each bin above by `high`; windowed and added into out[outOffset ..)
   * (overlap-add). The imaginary parts of bins 0 and nFft/2 are ignored, as any real iFFT does.
   */
  inverseMaskedAdd(re: Float32Array, im: Float32Array, offset: number, mask: Float32Array, maskOffset: number, bins: number,
    high: number, out: Float32Array, outOffset: number): void {
    const x = this.pf.input;
    const half = this.nFft >> 1;
    const n = Math.min(bins, half);
    x[0] = re[offset] * (bins > 0 ? mask[maskOffset] : high);
    x[1] = re[offset + half] * (bins > half ? mask[maskOffset + half] : high);
    for (let k = 1; k < n; k++) {
      const m = mask[maskOffset + k];
      x[2 * k] = re[offset + k] * m;
      x[2 * k + 1] = im[offset + k] * m;
    }
    for (let k = Math.max(1, n); k < half; k++) {
      x[2 * k] = re[offset + k] * high;
      x[2 * k + 1] = im[offset + k] * high;
    }
    this.backwardAdd(out, outOffset);
  }

  /** Inverse FFT of one half spectrum (nBins at re/im[offset ..)), windowed and added into out[outOffset ..). */
  inverseAdd(re: Float32Array, im: Float32Array, offset: number, out: Float32Array, outOffset: number): void {
    const x = this.pf.input;
    const half = this.nFft >> 1;
    x[0] = re[offset];
    x[1] = re[offset + half];
    for (let k = 1; k < half; k++) {
      x[2 * k] = re[offset + k];
      x[2 * k + 1] = im[offset + k];
    }
    this.backwardAdd(out, outOffset);
  }

  /**
   * Inverse FFT of a half spectrum read with a stride (bin k at src[reOffset + k * stride] and
   * src[imOffset + k * stride], bins from `count` up zero), windowed and added into out[outOffset ..).
   */
  inverseStridedAdd(src: Float32Array, reOffset: number, imOffset: number, stride: number, count: number, out: Float32Array, outOffset: number): void {
    const x = this.pf.input;
    const half = this.nFft >> 1;
    const n = Math.min(count, half);
    x[0] = count > 0 ? src[reOffset] : 0;
    x[1] = count > half ? src[reOffset + half * stride] : 0;
    for (let k = 1; k < n; k++) {
      x[2 * k] = src[reOffset + k * stride];
      x[2 * k + 1] = src[imOffset + k * stride];
    }
    if (n < half) x.fill(0, 2 * Math.max(1, n), 2 * half);
    this.backwardAdd(out, outOffset);
  }

  /** Windows src[offset ..) into PFFFT's input and transforms it; returns the packed half spectrum. */
  private forwardPacked(src: Float32Array, offset: number): Float32Array {
    const { window, nFft, pf } = this;
    const x = pf.input;
    for (let i = 0; i < nFft; i++) x[i] = src[offset + i] * window[i];
    pf.forward();
    return pf.output;
  }

  private backwardAdd(out: Float32Array, outOffset: number): void {
    const { synthesisWindow: w, nFft, pf } = this;
    pf.backward();
    const y = pf.output;
    for (let i = 0; i < nFft; i++) out[outOffset + i] += y[i] * w[i];
  }
}
