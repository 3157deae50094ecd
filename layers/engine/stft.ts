/**
 * Frame-level STFT maths on preallocated typed arrays (all STFT code lives here). One forward
 * real FFT per channel per frame; the inverse transforms both channels of a frame with one
 * complex FFT (x_L + i x_R), since both are real.
 *
 * Two FFT back ends, chosen by size: powers of two run fft.js in float64 (what the Spleeter
 * fidelity checks were built on); other sizes (MDX-Net's 5120, 6144, 7680) run PFFFT (wasm,
 * float32), the fastest mixed-radix candidate in bench:fft. Call prepareTransform(nFft) once
 * before constructing a FrameTransform of a size that is not a power of two.
 */
import FFT from 'fft.js';
import { loadPffft, PffftReal, pffftSupports } from './pffft.js';

export interface StftSettings {
  nFft: number;
  hop: number;
  /** Only the periodic Hann window is supported today (what every supported family uses). */
  window: 'hann-periodic';
  center: boolean;
}

export function periodicHann(n: number): Float64Array {
  const w = new Float64Array(n);
  // rounded to float32, as the reference implementations store it
  for (let i = 0; i < n; i++) w[i] = Math.fround(0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
  return w;
}

/** Sum over frames of w^2 at any sample in steady state (what iSTFT divides by). */
export function steadyWindowSquareSum(window: Float64Array, hop: number): number {
  let max = 0;
  for (let t = 0; t < hop; t++) {
    let s = 0;
    for (let i = t; i < window.length; i += hop) s += window[i] * window[i];
    max = Math.max(max, s);
  }
  return max;
}

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

/**
 * Which FFT a FrameTransform runs: 'auto' as above; 'pffft' runs PFFFT (float32) whatever the size
 * (Demucs' 4096, where it is ~10x faster than fft.js and float32 is what upstream computes in).
 */
export type FftBackend = 'auto' | 'pffft';

/** Loads what a FrameTransform of this size needs (the wasm FFT for sizes that are not powers of two, or when asked for). */
export async function prepareTransform(nFft: number, backend: FftBackend = 'auto'): Promise<void> {
  if (isPowerOfTwo(nFft) && backend === 'auto') return;
  if (!pffftSupports(nFft)) throw new Error(`no FFT for n_fft ${nFft}: it must be a power of two or 32 x 2^a 3^b 5^c`);
  await loadPffft();
}

export class FrameTransform {
  readonly nFft: number;
  readonly nBins: number;
  readonly window: Float64Array;
  private readonly fft: FFT | undefined;
  private readonly pf: PffftReal | undefined;
  // the windowed frame is rounded to float32 as in the reference; the FFT itself runs in float64
  private readonly frame: Float32Array;
  private readonly spec: Float64Array;
  private readonly full: Float64Array;
  private readonly time: Float64Array;

  constructor(nFft: number, backend: FftBackend = 'auto') {
    this.nFft = nFft;
    this.nBins = nFft / 2 + 1;
    this.window = periodicHann(nFft);
    if (isPowerOfTwo(nFft) && backend === 'auto') this.fft = new FFT(nFft);
    else this.pf = new PffftReal(nFft);
    this.frame = new Float32Array(nFft);
    this.spec = new Float64Array(2 * nFft);
    this.full = new Float64Array(2 * nFft);
    this.time = new Float64Array(2 * nFft);
  }

  /** Windowed FFT of src[offset .. offset+nFft) into re/im[outOffset .. +nBins). */
  forward(src: Float32Array, offset: number, re: Float32Array, im: Float32Array, outOffset: number): void {
    const { frame, window, spec, nFft, nBins } = this;
    if (this.pf) {
      this.forwardPf(src, offset, re, im, outOffset);
      return;
    }
    for (let i = 0; i < nFft; i++) frame[i] = src[offset + i] * window[i];
    this.fft!.realTransform(spec, frame);
    for (let k = 0; k < nBins; k++) {
      re[outOffset + k] = spec[2 * k];
      im[outOffset + k] = spec[2 * k + 1];
    }
  }

  /**
   * Inverse FFT of two half spectra (left and right channel, nBins each, read from the given
   * offsets), windowed and added into outL/outR at outOffset (overlap-add).
   */
  inverseStereoAdd(
    reL: Float32Array, imL: Float32Array, offL: number,
    reR: Float32Array, imR: Float32Array, offR: number,
    outL: Float64Array, outR: Float64Array, outOffset: number,
  ): void {
    const { full, time, window, nFft } = this;
    if (this.pf) {
      this.inversePf(reL, imL, offL, outL, outOffset);
      this.inversePf(reR, imR, offR, outR, outOffset);
      return;
    }
    const half = nFft / 2;
    // Z[k] = L[k] + i R[k], with the upper half from conjugate symmetry of L and R.
    for (let k = 0; k <= half; k++) {
      full[2 * k] = reL[offL + k] - imR[offR + k];
      full[2 * k + 1] = imL[offL + k] + reR[offR + k];
    }
    for (let k = half + 1; k < nFft; k++) {
      const m = nFft - k;
      full[2 * k] = reL[offL + m] + imR[offR + m];
      full[2 * k + 1] = reR[offR + m] - imL[offL + m];
    }
    this.fft!.inverseTransform(time, full);
    for (let i = 0; i < nFft; i++) {
      const w = window[i];
      outL[outOffset + i] += time[2 * i] * w;
      outR[outOffset + i] += time[2 * i + 1] * w;
    }
  }

  private forwardPf(src: Float32Array, offset: number, re: Float32Array, im: Float32Array, outOffset: number): void {
    const { window, nFft } = this;
    const half = nFft / 2;
    const pf = this.pf!;
    const x = pf.input;
    for (let i = 0; i < nFft; i++) x[i] = src[offset + i] * window[i];
    pf.forward();
    const y = pf.output;
    re[outOffset] = y[0];
    im[outOffset] = 0;
    re[outOffset + half] = y[1];
    im[outOffset + half] = 0;
    for (let k = 1; k < half; k++) {
      re[outOffset + k] = y[2 * k];
      im[outOffset + k] = y[2 * k + 1];
    }
  }

  /** Real inverse of one half spectrum (imaginary parts of bins 0 and nFft/2 are ignored, as any real iFFT does). */
  private inversePf(re: Float32Array, im: Float32Array, off: number, out: Float64Array, outOffset: number): void {
    const { window, nFft } = this;
    const half = nFft / 2;
    const pf = this.pf!;
    const x = pf.input;
    x[0] = re[off];
    x[1] = re[off + half];
    for (let k = 1; k < half; k++) {
      x[2 * k] = re[off + k];
      x[2 * k + 1] = im[off + k];
    }
    pf.backward();
    const y = pf.output;
    const scale = 1 / nFft;
    for (let i = 0; i < nFft; i++) out[outOffset + i] += y[i] * scale * window[i];
  }
}
