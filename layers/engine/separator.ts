/**
 * The streaming separation loop: samples in, stems out, one split of frames at a time, so memory
 * depends on the split size and not on the song's length.
 *
 *   frame → STFT → model masks → masked iSTFT → overlap-add → emit finished samples
 *
 * With Wiener filtering (opts.wiener, magnitude families), the masking step is replaced by the
 * multichannel Wiener filter (wiener.ts) on the model's magnitude estimates, fitted per block of
 * frames inside each split, so memory stays bounded the same way.
 *
 * Two sets of split buffers let the model work on split k (in its worker threads) while this
 * thread synthesises split k-1 and analyses split k+1; split k+1 is handed to the model as soon as
 * it is analysed, so the model never waits for this thread.
 *
 * Two frame grids:
 * - 'aligned' (default): the input is padded by nFft - hop zeros at the start and enough at the
 *   end that every real sample is covered by the full window overlap, so masks that sum to one
 *   give stems that sum to the input everywhere, edges included.
 * - 'reference': the first frame starts at sample 0 and the grid stops at the last whole frame,
 *   as sherpa-onnx does, for bit-level comparisons with it. Where the overlap is thin (the first
 *   and last nFft - hop samples) the normaliser is floored instead of dividing by near-zero.
 */
import { HeapFloats } from './pffft.js';
import { type FrameTransform, normaliseInterleave, prepareTransform, sharedTransform, steadyWindowSquareSum } from './stft.js';
import type { InferenceTimings, SeparationModel } from './types.js';
import { WienerFilter, type WienerSettings } from './wiener.js';
import { InvalidRequestError } from '../core/errors.js';

export type FrameGrid = 'aligned' | 'reference';

export interface SeparatorOptions {
  grid?: FrameGrid;
  /** Overrides the model's declared high-band policy. */
  highBand?: SeparationModel['highBand'];
  /** Expected input length in frames of audio (for progress only). */
  expectedSamples?: number;
  onProgress?: (fraction: number) => void;
  /** Multichannel Wiener filtering; absent or iterations 0: the family's masks. */
  wiener?: WienerSettings;
}

export interface SeparatorStats {
  samples: number;
  stftMs: number;
  inferenceMs: number;
  istftMs: number;
  /** Time in the Wiener filter (part of the synthesis, outside istftMs). */
  wienerMs: number;
}

/** Receives each finished block: one interleaved stereo Float32Array per stem (reused buffers). */
export type StemSink = (stems: Float32Array[], frames: number) => Promise<void>;

export async function separateStream(
  input: AsyncIterable<Float32Array>,
  model: SeparationModel,
  sink: StemSink,
  opts: SeparatorOptions = {},
): Promise<SeparatorStats> {
  await prepareTransform(model.stft.nFft);
  const s = new Separator(model, sink, opts);
  try {
    for await (const chunk of input) await s.push(chunk);
    await s.finish();
    return s.stats;
  } finally {
    s.dispose();
  }
}

class Separator {
  readonly stats: SeparatorStats = { samples: 0, stftMs: 0, inferenceMs: 0, istftMs: 0, wienerMs: 0 };
  private readonly tf: FrameTransform;
  private readonly nFft: number;
  private readonly hop: number;
  private readonly F: number;
  private readonly bins: number;
  private readonly nBins: number;
  private readonly S: number;
  private readonly pad: number;
  private readonly grid: FrameGrid;
  private readonly highBand: SeparationModel['highBand'];
  private readonly floor: number;

  // input, in padded sample coordinates: inL[0] is padded sample `inBase`
  private readonly inL: Float32Array;
  private readonly inR: Float32Array;
  private inBase = 0;
  private inFill = 0; // padded samples written so far (absolute)
  private nextFrame = 0; // absolute index of the next frame to analyse
  private ended = false;

  // two splits in flight (see above); the model runs on one at a time
  private readonly splits: [SplitBuffers, SplitBuffers];
  private current = 0;
  private pending: SplitBuffers | null = null;
  // Wiener filtering: the filter and one frame's filtered spectra per stem [2][nBins]
  private readonly wiener: WienerFilter | null = null;
  private readonly stemRe: Float32Array[] = [];
  private readonly stemIm: Float32Array[] = [];
  private wienerSplitMs = 0; // of the split being synthesised (kept out of istftMs)

  // overlap-add accumulators per stem and channel; acc[0] is padded sample `accBase`
  // (in WebAssembly memory, so the overlap-add and the normalisation run in place as SIMD kernels)
  private readonly accL: HeapFloats[];
  private readonly accR: HeapFloats[];
  private readonly wsum: HeapFloats;
  /** One stem's normalised, interleaved block, before it is copied out to the sink's buffer. */
  private readonly block: HeapFloats;
  private accBase = 0;
  private readonly out: Float32Array[];

  constructor(private readonly model: SeparationModel, private readonly sink: StemSink, private readonly opts: SeparatorOptions) {
    const { nFft, hop } = model.stft;
    this.nFft = nFft;
    this.hop = hop;
    this.F = model.framesPerSplit;
    this.bins = model.bins;
    this.nBins = nFft / 2 + 1;
    this.S = model.stems.length;
    this.grid = opts.grid ?? 'aligned';
    this.highBand = opts.highBand ?? model.highBand;
    this.pad = this.grid === 'aligned' ? nFft - hop : 0;
    this.tf = sharedTransform(nFft);
    this.floor = 0.5 * steadyWindowSquareSum(this.tf.window, hop);

    const span = this.F * hop + nFft;
    this.inL = new Float32Array(span);
    this.inR = new Float32Array(span);
    this.inFill = this.pad;
    this.splits = [new SplitBuffers(this.F, this.nBins, this.bins, this.S), new SplitBuffers(this.F, this.nBins, this.bins, this.S)];
    const w = opts.wiener;
    if (w && w.iterations > 0) {
      if (!model.magnitudeEstimates) throw new InvalidRequestError(`model ${model.id} (${model.family}) gives no magnitude estimates: Wiener filtering does not apply to it`);
      if (!Number.isInteger(w.blockFrames) || w.blockFrames < 1) throw new InvalidRequestError('Wiener blockFrames must be a positive integer');
      this.wiener = new WienerFilter(Math.min(w.blockFrames, this.F), this.bins, this.S, w);
      this.stemRe = Array.from({ length: this.S }, () => new Float32Array(2 * this.nBins));
      this.stemIm = Array.from({ length: this.S }, () => new Float32Array(2 * this.nBins));
    }
    const zeroed = (n: number) => { const h = new HeapFloats(n); h.view.fill(0); return h; };
    this.accL = Array.from({ length: this.S }, () => zeroed(span));
    this.accR = Array.from({ length: this.S }, () => zeroed(span));
    this.wsum = zeroed(span);
    this.block = new HeapFloats(2 * span);
    this.out = Array.from({ length: this.S }, () => new Float32Array(2 * this.F * hop));
  }

  /** Returns the WebAssembly buffers (the separator is done, or failed). */
  dispose(): void {
    for (const h of [...this.accL, ...this.accR, this.wsum, this.block]) h.free();
  }

  /** Interleaved stereo samples. */
  async push(chunk: Float32Array): Promise<void> {
    const frames = chunk.length >> 1;
    let i = 0;
    while (i < frames) {
      const room = this.inL.length - (this.inFill - this.inBase);
      const n = Math.min(room, frames - i);
      let w = this.inFill - this.inBase;
      for (let j = 0; j < n; j++, w++) {
        this.inL[w] = chunk[2 * (i + j)];
        this.inR[w] = chunk[2 * (i + j) + 1];
      }
      this.inFill += n;
      i += n;
      this.stats.samples += n;
      // a full split of frames is available once the buffer is full
      if (this.inFill - this.inBase === this.inL.length) await this.processSplit(this.F);
    }
  }

  async finish(): Promise<void> {
    const N = this.stats.samples;
    const totalFrames = this.grid === 'aligned'
      ? Math.floor((this.pad + N - 1) / this.hop) + 1
      : N >= this.nFft ? Math.floor((N - this.nFft) / this.hop) + 1 : 0;
    this.ended = true;
    // zero-pad the tail (the buffer beyond inFill may hold stale samples)
    this.inL.fill(0, this.inFill - this.inBase);
    this.inR.fill(0, this.inFill - this.inBase);
    while (this.nextFrame < totalFrames) {
      const n = Math.min(this.F, totalFrames - this.nextFrame);
      await this.processSplit(n);
    }
    if (this.pending) await this.completeSplit(this.pending);
    this.pending = null;
    await this.emit(this.pad + N, true);
  }

  /**
   * Analyses `n` frames from nextFrame into a free split buffer (the rest of the split is zero),
   * hands it to the model, then waits for the split before it and synthesises that one while the
   * model runs.
   */
  private async processSplit(n: number): Promise<void> {
    const split = this.splits[(this.current ^= 1)];
    const t0 = performance.now();
    this.analyse(split, this.nextFrame, n);
    this.stats.stftMs += performance.now() - t0;
    this.nextFrame += n;
    this.shiftInput();

    // the model gets this split before the previous one is done: its sessions queue it and go
    // straight on to it (see RUNS_QUEUED in ort-sessions.ts)
    const previous = this.pending;
    this.pending = split;
    split.inference = this.model.estimateMasks(split.mag, split.masks, split.timings, this.wiener ? split.magnitudes : undefined)
      .then(() => { this.stats.inferenceMs += split.timings.inferenceMs; });
    split.inference.catch(() => {}); // awaited later; never an unhandled rejection meanwhile
    if (previous) await this.completeSplit(previous);
  }

  private analyse(split: SplitBuffers, first: number, n: number): void {
    const { F, nBins, bins, hop, tf } = this;
    const { re, im, mag } = split;
    split.first = first;
    split.n = n;
    for (let f = 0; f < F; f++) {
      for (let c = 0; c < 2; c++) {
        const specOff = (c * F + f) * nBins;
        const magOff = (c * F + f) * bins;
        if (f < n) {
          const src = c === 0 ? this.inL : this.inR;
          tf.forwardWithMagnitude(src, (first + f) * hop - this.inBase, re, im, specOff, mag, magOff, bins);
        } else {
          mag.fill(0, magOff, magOff + bins);
        }
      }
    }
  }

  /** Synthesises a split whose masks are ready and emits the samples no later frame touches. */
  private async completeSplit(split: SplitBuffers): Promise<void> {
    await split.inference;
    const t0 = performance.now();
    if (this.wiener) this.synthesiseFiltered(split, this.wiener);
    else this.synthesise(split);
    this.stats.istftMs += performance.now() - t0 - this.wienerSplitMs;
    await this.emit((split.first + split.n) * this.hop, false);
    this.opts.onProgress?.(this.progress(split.first + split.n));
  }

  private synthesise(split: SplitBuffers): void {
    const { F, nBins, bins, hop, tf, S } = this;
    const { re, im, masks, first, n } = split;
    const residual = this.model.residualStem;
    const keepHigh = this.highBand === 'residual';
    for (let f = 0; f < n; f++) {
      const at = (first + f) * hop - this.accBase;
      tf.addWindowSquared(this.wsum.view, at);
      for (let s = 0; s < S; s++) {
        const mask = masks[s];
        const high = keepHigh && s === residual ? 1 : 0;
        for (let c = 0; c < 2; c++) {
          tf.inverseMaskedAdd(re, im, (c * F + f) * nBins, mask, (c * F + f) * bins, bins, high, (c === 0 ? this.accL[s] : this.accR[s]).view, at);
        }
      }
    }
  }

  /** synthesise() with Wiener-filtered spectra instead of masked ones, one block of frames at a time. */
  private synthesiseFiltered(split: SplitBuffers, wiener: WienerFilter): void {
    const { nBins, bins, hop, tf, S, stemRe, stemIm } = this;
    const { re, im, first, n } = split;
    const residual = this.model.residualStem;
    const keepHigh = this.highBand === 'residual';
    const block = { re, im, nBins, est: split.magnitudes, stride: this.F };
    const B = Math.min(wiener.settings.blockFrames, this.F);
    this.wienerSplitMs = 0;
    for (let b = 0; b < n; b += B) {
      const m = Math.min(B, n - b);
      let t0 = performance.now();
      wiener.fit(block, b, m);
      this.wienerSplitMs += performance.now() - t0;
      for (let f = b; f < b + m; f++) {
        const at = (first + f) * hop - this.accBase;
        tf.addWindowSquared(this.wsum.view, at);
        t0 = performance.now();
        wiener.apply(f, stemRe, stemIm, residual);
        this.wienerSplitMs += performance.now() - t0;
        for (let s = 0; s < S; s++) {
          const high = keepHigh && s === residual ? 1 : 0;
          const sr = stemRe[s], si = stemIm[s];
          for (let c = 0; c < 2; c++) {
            const specOff = (c * this.F + f) * nBins;
            const o = c * nBins;
            for (let k = bins; k < nBins; k++) {
              sr[o + k] = re[specOff + k] * high;
              si[o + k] = im[specOff + k] * high;
            }
          }
          tf.inverseAdd(sr, si, 0, this.accL[s].view, at);
          tf.inverseAdd(sr, si, nBins, this.accR[s].view, at);
        }
      }
    }
    this.stats.wienerMs += this.wienerSplitMs;
  }

  /** Writes finished padded samples [accBase, upTo) to the sink as real samples. */
  private async emit(upTo: number, final: boolean): Promise<void> {
    const { S, pad, floor } = this;
    const N = this.stats.samples;
    const start = this.accBase;
    const end = final ? Math.max(upTo, start) : upTo;
    // padded range [start, end) ∩ real range [pad, pad + N)
    const from = Math.max(start, pad);
    const to = Math.min(end, pad + N);
    const frames = Math.max(0, to - from);
    if (frames > 0) {
      for (let s = 0; s < S; s++) {
        const out = this.out[s].length >= 2 * frames ? this.out[s] : (this.out[s] = new Float32Array(2 * frames));
        normaliseInterleave(this.accL[s], this.accR[s], this.wsum, from - start, floor, this.block, frames);
        out.set(this.block.view.subarray(0, 2 * frames));
      }
      await this.sink(this.out.map((o) => o.subarray(0, 2 * frames)), frames);
    }
    if (!final) this.shiftAcc(end);
  }

  private shiftAcc(newBase: number): void {
    const by = newBase - this.accBase;
    if (by <= 0) return;
    for (const h of [...this.accL, ...this.accR, this.wsum]) {
      const a = h.view;
      a.copyWithin(0, by);
      a.fill(0, a.length - by);
    }
    this.accBase = newBase;
  }

  private shiftInput(): void {
    const newBase = this.nextFrame * this.hop;
    const by = newBase - this.inBase;
    const kept = Math.max(0, this.inFill - newBase);
    this.inL.copyWithin(0, by, by + kept);
    this.inR.copyWithin(0, by, by + kept);
    // past the end of the input everything is padding
    if (this.ended) {
      this.inL.fill(0, kept);
      this.inR.fill(0, kept);
    }
    this.inBase = newBase;
    this.inFill = Math.max(this.inFill, newBase);
  }

  private progress(framesDone: number): number {
    const expected = this.opts.expectedSamples;
    if (!expected) return 0;
    return Math.min(1, (framesDone * this.hop) / (expected + this.pad));
  }
}

/** One split's spectra [2][F][nBins], model input [2][F][bins] and masks, and its inference. */
class SplitBuffers {
  readonly re: Float32Array;
  readonly im: Float32Array;
  readonly mag: Float32Array;
  readonly masks: Float32Array[];
  /** The model's magnitude estimates per stem (set by the model; used by Wiener filtering). */
  readonly magnitudes: Float32Array[];
  readonly timings: InferenceTimings = { inferenceMs: 0 };
  first = 0;
  n = 0;
  inference: Promise<void> = Promise.resolve();

  constructor(F: number, nBins: number, bins: number, stems: number) {
    this.re = new Float32Array(2 * F * nBins);
    this.im = new Float32Array(2 * F * nBins);
    this.mag = new Float32Array(2 * F * bins);
    this.masks = Array.from({ length: stems }, () => new Float32Array(2 * F * bins));
    this.magnitudes = new Array<Float32Array>(stems);
  }
}
