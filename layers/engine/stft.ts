/**
 * Frame-level STFT maths on preallocated typed arrays (all STFT code lives here). One forward
 * real FFT per channel per frame; the inverse transforms both channels of a frame with one
 * complex FFT (x_L + i x_R), since both are real.
 */
import FFT from 'fft.js';

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

export class FrameTransform {
  readonly nFft: number;
  readonly nBins: number;
  readonly window: Float64Array;
  private readonly fft: FFT;
  // the windowed frame is rounded to float32 as in the reference; the FFT itself runs in float64
  private readonly frame: Float32Array;
  private readonly spec: Float64Array;
  private readonly full: Float64Array;
  private readonly time: Float64Array;

  constructor(nFft: number) {
    this.nFft = nFft;
    this.nBins = nFft / 2 + 1;
    this.window = periodicHann(nFft);
    this.fft = new FFT(nFft);
    this.frame = new Float32Array(nFft);
    this.spec = new Float64Array(2 * nFft);
    this.full = new Float64Array(2 * nFft);
    this.time = new Float64Array(2 * nFft);
  }

  /** Windowed FFT of src[offset .. offset+nFft) into re/im[outOffset .. +nBins). */
  forward(src: Float32Array, offset: number, re: Float32Array, im: Float32Array, outOffset: number): void {
    const { frame, window, spec, nFft, nBins } = this;
    for (let i = 0; i < nFft; i++) frame[i] = src[offset + i] * window[i];
    this.fft.realTransform(spec, frame);
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
    this.fft.inverseTransform(time, full);
    for (let i = 0; i < nFft; i++) {
      const w = window[i];
      outL[outOffset + i] += time[2 * i] * w;
      outR[outOffset + i] += time[2 * i + 1] * w;
    }
  }
}
