/**
 * Frame-level STFT maths on preallocated typed arrays (all STFT code lives here), float32 end to
 * end. Every size runs PFFFT (WebAssembly SIMD, sizes 32 x 2^a 3^b 5^c): bench:fft measured it
 * 4-5x faster than fft.js (float64 JS) at 4096 forward and inverse, and it is the only candidate
 * for MDX-Net's 5120, 6144 and 7680. Call prepareTransform(nFft) once before constructing a
 * FrameTransform (the engine's loops do).
 *
 * Each method is one fused pass on each side of the FFT: window while copying in; unpack and take
 * the magnitude (or transpose into a model's layout) while copying out; mask (or transpose back)
 * while packing the inverse's input; window, scale and overlap-add while copying out. The passes
 * run as WebAssembly SIMD kernels (frame-kernels.wat) on buffers next to the FFT's; the caller's
 * arrays are copied in and out with memcpy (TypedArray.set), which costs less than any JS loop
 * over them (measured at 4096: 16 KB in about 0.65 us; a JS multiply-add loop took 5-8 us).
 * Nothing is allocated per frame but a few typed-array views.
 */
import { frameKernels, heapAddress, HeapFloats, loadPffft, PffftReal, pffftSupports, type FrameKernels } from './pffft.js';

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

/** Frames per block in the strided variants: a block's values of one bin fill a cache line (6144: 57 -> 22 us a frame forward, 65 -> 25 inverse). */
const BLOCK_FRAMES = 16;

const shared = new Map<number, FrameTransform>();

/**
 * The process' transform of this size (after prepareTransform). Its methods are synchronous and
 * keep nothing between calls, so every separation in the process can share it (its buffers in
 * WebAssembly memory are allocated once, not per job).
 */
export function sharedTransform(nFft: number): FrameTransform {
  let tf = shared.get(nFft);
  if (!tf) shared.set(nFft, (tf = new FrameTransform(nFft)));
  return tf;
}

/**
 * Overlap-added stereo in WebAssembly memory, divided by its window-square sum and interleaved:
 * out[2j], out[2j+1] = L[from + j], R[from + j] / d with d = wsum[from + j], floored at `floor`
 * where 0 < d < floor (the thin edges of the overlap), and 0 where d = 0; j < frames.
 */
export function normaliseInterleave(L: HeapFloats, R: HeapFloats, wsum: HeapFloats, from: number, floor: number, out: HeapFloats, frames: number): void {
  frameKernels().normInterleave(out.ptr, L.ptr + 4 * from, R.ptr + 4 * from, wsum.ptr + 4 * from, floor, frames);
}

export class FrameTransform {
  readonly nFft: number;
  readonly nBins: number;
  readonly window: Float32Array;
  private readonly pf: PffftReal;
  private readonly k: FrameKernels;
  // in WebAssembly memory, next to the FFT's buffers, for the kernels
  private readonly win: HeapFloats;
  /** window / nFft: PFFFT's backward transform is unscaled. */
  private readonly synthesisWindow: HeapFloats;
  private readonly acc: HeapFloats;
  private readonly re: HeapFloats;
  private readonly im: HeapFloats;
  private readonly mag: HeapFloats;
  private readonly gain: HeapFloats;
  private readonly scalar: HeapFloats;
  /** BLOCK_FRAMES packed spectra, for the strided (transposing) variants. */
  private readonly block: Float32Array;

  constructor(nFft: number) {
    this.nFft = nFft;
    this.nBins = nFft / 2 + 1;
    this.window = periodicHann(nFft);
    this.pf = new PffftReal(nFft);
    this.k = frameKernels();
    this.win = new HeapFloats(nFft);
    this.synthesisWindow = new HeapFloats(nFft);
    this.acc = new HeapFloats(nFft);
    this.re = new HeapFloats(this.nBins);
    this.im = new HeapFloats(this.nBins);
    this.mag = new HeapFloats(this.nBins);
    this.gain = new HeapFloats(this.nBins);
    this.scalar = new HeapFloats(4);
    this.block = new Float32Array(BLOCK_FRAMES * nFft);
    this.win.view.set(this.window);
    this.synthesisWindow.view.set(this.window.map((w) => w / nFft));
  }

  /** Windowed FFT of src[offset .. offset+nFft) into re/im[outOffset .. +nBins). */
  forward(src: Float32Array, offset: number, re: Float32Array, im: Float32Array, outOffset: number): void {
    this.forwardUnpacked(src, offset, re, im, outOffset, 0);
  }

  /** forward(), plus |X[k]| for k < bins into mag[magOffset ..), in the same pass. */
  forwardWithMagnitude(src: Float32Array, offset: number, re: Float32Array, im: Float32Array, outOffset: number,
    mag: Float32Array, magOffset: number, bins: number): void {
    const half = this.nFft >> 1;
    const y = this.forwardUnpacked(src, offset, re, im, outOffset, Math.min(bins, half));
    mag[magOffset] = Math.abs(y[0]);
    if (bins > half) mag[magOffset + half] = Math.abs(y[1]);
    if (bins > 1) mag.set(this.mag.view.subarray(1, Math.min(bins, half)), magOffset + 1);
  }

  /**
   * Windowed FFTs of `frames` frames, frame t from src[offset + t * hop ..), bins [0, count) written
   * in a model's [bin][frame] layout: re of bin k of frame t to dst[reOffset + k * stride + t], im
   * to dst[imOffset + k * stride + t]. Frames go through in blocks, so each bin's row is written a
   * block of consecutive frames at a time (one frame at a time touched a cache line per bin:
   * 57 us a frame at 6144 against 13 us for a contiguous frame).
   */
  forwardStrided(src: Float32Array, offset: number, hop: number, frames: number, dst: Float32Array, reOffset: number, imOffset: number,
    stride: number, count: number): void {
    const { nFft, block } = this;
    const half = nFft >> 1;
    const n = Math.min(count, half);
    for (let t0 = 0; t0 < frames; t0 += BLOCK_FRAMES) {
      const b = Math.min(BLOCK_FRAMES, frames - t0);
      for (let j = 0; j < b; j++) block.set(this.forwardPacked(src, offset + (t0 + j) * hop), j * nFft);
      for (let j = 0; j < b; j++) {
        dst[reOffset + t0 + j] = block[j * nFft];
        dst[imOffset + t0 + j] = 0;
      }
      for (let k = 1; k < n; k++) {
        const r = reOffset + k * stride + t0;
        const q = imOffset + k * stride + t0;
        for (let j = 0, y = 2 * k; j < b; j++, y += nFft) {
          dst[r + j] = block[y];
          dst[q + j] = block[y + 1];
        }
      }
      if (count > half) {
        for (let j = 0; j < b; j++) {
          dst[reOffset + half * stride + t0 + j] = block[j * nFft + 1];
          dst[imOffset + half * stride + t0 + j] = 0;
        }
      }
    }
  }

  /**
   * Inverse FFT of one half spectrum (nBins at re/im[offset ..)), each bin k < bins scaled by
   * mask[maskOffset + k] and each bin above by `high`; windowed and added into out[outOffset ..)
   * (overlap-add). The imaginary parts of bins 0 and nFft/2 are ignored, as any real iFFT does.
   */
  inverseMaskedAdd(re: Float32Array, im: Float32Array, offset: number, mask: Float32Array, maskOffset: number, bins: number,
    high: number, out: Float32Array, outOffset: number): void {
    const half = this.nFft >> 1;
    const n = Math.min(bins, half);
    this.stageSpectrum(re, im, offset);
    if (n > 0) {
      this.gain.view.set(mask.subarray(maskOffset, maskOffset + n));
      this.k.pack(this.pf.in.ptr, this.re.ptr, this.im.ptr, this.gain.ptr, 0, n);
    }
    this.packScaled(n, high);
    const x = this.pf.input;
    x[0] = re[offset] * (bins > 0 ? mask[maskOffset] : high);
    x[1] = re[offset + half] * (bins > half ? mask[maskOffset + half] : high);
    this.backwardAdd(out, outOffset);
  }

  /** Inverse FFT of one half spectrum (nBins at re/im[offset ..)), windowed and added into out[outOffset ..). */
  inverseAdd(re: Float32Array, im: Float32Array, offset: number, out: Float32Array, outOffset: number): void {
    const half = this.nFft >> 1;
    this.stageSpectrum(re, im, offset);
    this.packScaled(0, 1);
    const x = this.pf.input;
    x[0] = re[offset];
    x[1] = re[offset + half];
    this.backwardAdd(out, outOffset);
  }

  /**
   * inverseAdd of `frames` frames read from a model's [bin][frame] layout (bin k of frame t at
   * src[reOffset + k * stride + t] and src[imOffset + k * stride + t], bins from `count` up zero),
   * frame t windowed and added into out[outOffset + t * hop ..). Read in blocks of frames, as
   * forwardStrided writes.
   */
  inverseStridedAdd(src: Float32Array, reOffset: number, imOffset: number, stride: number, count: number, frames: number,
    out: Float32Array, outOffset: number, hop: number): void {
    const { nFft, block } = this;
    const half = nFft >> 1;
    const n = Math.min(count, half);
    for (let t0 = 0; t0 < frames; t0 += BLOCK_FRAMES) {
      const b = Math.min(BLOCK_FRAMES, frames - t0);
      for (let j = 0; j < b; j++) {
        block[j * nFft] = count > 0 ? src[reOffset + t0 + j] : 0;
        block[j * nFft + 1] = count > half ? src[reOffset + half * stride + t0 + j] : 0;
        if (n < half) block.fill(0, j * nFft + 2 * Math.max(1, n), (j + 1) * nFft);
      }
      for (let k = 1; k < n; k++) {
        const r = reOffset + k * stride + t0;
        const q = imOffset + k * stride + t0;
        for (let j = 0, y = 2 * k; j < b; j++, y += nFft) {
          block[y] = src[r + j];
          block[y + 1] = src[q + j];
        }
      }
      for (let j = 0; j < b; j++) {
        this.pf.input.set(block.subarray(j * nFft, (j + 1) * nFft));
        this.backwardAdd(out, outOffset + (t0 + j) * hop);
      }
    }
  }

  /** out[outOffset + i] += window[i]², i < nFft: the overlap-add normaliser's share of one frame. */
  addWindowSquared(out: Float32Array, outOffset: number): void {
    this.overlapAdd(out, outOffset, this.win.ptr, this.win.ptr);
  }

  /** Windows src[offset ..) into PFFFT's input and transforms it; returns the packed half spectrum. */
  private forwardPacked(src: Float32Array, offset: number): Float32Array {
    const { nFft, pf } = this;
    pf.input.set(src.subarray(offset, offset + nFft));
    this.k.mul(pf.in.ptr, pf.in.ptr, this.win.ptr, nFft);
    pf.forward();
    return pf.output;
  }

  /** forwardPacked, then the half spectrum into re/im[outOffset ..) and |X[k]|, 0 < k < magBins, into the kernel's buffer. */
  private forwardUnpacked(src: Float32Array, offset: number, re: Float32Array, im: Float32Array, outOffset: number, magBins: number): Float32Array {
    const y = this.forwardPacked(src, offset);
    const half = this.nFft >> 1;
    this.k.unpack(this.pf.out.ptr, this.re.ptr, this.im.ptr, this.mag.ptr, half, magBins);
    re.set(this.re.view.subarray(0, half), outOffset);
    im.set(this.im.view.subarray(0, half), outOffset);
    // PFFFT packs the two real bins, 0 and nFft/2, into the first pair
    re[outOffset] = y[0];
    im[outOffset] = 0;
    re[outOffset + half] = y[1];
    im[outOffset + half] = 0;
    return y;
  }

  /** Copies a half spectrum (bins 0 .. nFft/2 of re, 0 .. nFft/2 - 1 of im) next to the kernels. */
  private stageSpectrum(re: Float32Array, im: Float32Array, offset: number): void {
    const half = this.nFft >> 1;
    this.re.view.set(re.subarray(offset, offset + half + 1));
    this.im.view.set(im.subarray(offset, offset + half));
  }

  /** Packs the staged bins [from, nFft/2) scaled by `g` into the FFT's input (zeros for g = 0). */
  private packScaled(from: number, g: number): void {
    const half = this.nFft >> 1;
    if (from >= half) return;
    if (g === 0) {
      this.pf.input.fill(0, 2 * from, 2 * half);
      return;
    }
    this.scalar.view[0] = g;
    this.k.pack(this.pf.in.ptr + 8 * from, this.re.ptr + 4 * from, this.im.ptr + 4 * from, this.scalar.ptr, 1, half - from);
  }

  private backwardAdd(out: Float32Array, outOffset: number): void {
    this.pf.backward();
    this.overlapAdd(out, outOffset, this.pf.out.ptr, this.synthesisWindow.ptr);
  }

  /** out[outOffset + i] += a[i] * b[i], i < nFft (a, b: pointers): in place when `out` is in WebAssembly memory, else through the kernel's buffer. */
  private overlapAdd(out: Float32Array, outOffset: number, a: number, b: number): void {
    const { nFft, acc } = this;
    const at = heapAddress(out, outOffset);
    if (at >= 0 && outOffset + nFft <= out.length) {
      this.k.mulAdd(at, a, b, nFft);
      return;
    }
    const slice = out.subarray(outOffset, outOffset + nFft);
    acc.view.set(slice);
    this.k.mulAdd(acc.ptr, a, b, nFft);
    slice.set(acc.view);
  }
}
