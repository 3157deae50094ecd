/**
 * The streaming loop for hybrid segment models (HTDemucs): samples in, one stereo block per stem
 * out, as upstream Demucs' `apply_model` computes them (demucs/apply.py, htdemucs.py, spec.py),
 * with memory bounded by a few segments whatever the song's length.
 *
 * - Segments of L samples start every floor((1 - overlap) x L) samples; a segment shorter than L
 *   (the last one, or a clip shorter than L) is padded to L as TensorChunk.padded does: half the
 *   missing length taken from before it (zeros before the start), the rest after it (zeros past the
 *   end), and its output trimmed back to its centre (center_trim).
 * - Each segment's output is weighted by apply_model's triangular weight (1 .. L/2 .. 1, divided by
 *   its maximum), summed, and divided by the sum of the weights.
 * - shifts > 0: the whole split runs once per shift on the input moved by a random offset of up to
 *   half a second (seeded here), and the runs are averaged.
 * - A bag of networks: each network runs the whole procedure; stem k is sum_m w[m][k] x out_m[k]
 *   divided by sum_m w[m][k].
 * Every (network, shift) pass runs in lockstep over one input buffer, so output leaves as soon as
 * every pass has finished it.
 *
 * Around the network, Demucs' spectrogram (HTDemucs._spec / _ispec): the segment reflect-padded
 * by 3/4 hop on the left and up to a whole number of hops plus 3/4 hop on the right, frames of
 * n_fft every hop (hop = n_fft / 4), periodic Hann window, normalised by 1/sqrt(n_fft), last bin
 * dropped; the inverse puts the bin back as zero, overlap-adds the windowed frames (x sqrt(n_fft))
 * and divides by the window-square sum of all frames torch.istft sees, the two zero frames on each
 * side included.
 */
import { InputBuffer } from './chunked-separator.js';
import type { SeparatorStats, StemSink } from './separator.js';
import { type FrameTransform, prepareTransform, sharedTransform } from './stft.js';
import type { HybridSegmentModel, InferenceTimings } from './types.js';
import { mulberry32 } from '../core/seeded-random.js';

export interface HybridSeparatorOptions {
  /** Fraction of each segment shared with the next (apply_model's overlap, default 0.25). */
  overlap?: number;
  /** Random time shifts averaged (apply_model's shifts, default 0). */
  shifts?: number;
  /** Seed of the shifts' offsets (default: random). */
  seed?: number;
  expectedSamples?: number;
  onProgress?: (fraction: number) => void;
}

export const DEFAULT_HYBRID_OVERLAP = 0.25;
export const MAX_SHIFTS = 20;
/** apply_model shifts the input by up to half a second. */
const MAX_SHIFT_SECONDS = 0.5;
/** Frames per block handed to the sink. */
const EMIT_BLOCK = 1 << 16;

export async function separateHybrid(
  input: AsyncIterable<Float32Array>,
  model: HybridSegmentModel,
  sink: StemSink,
  opts: HybridSeparatorOptions = {},
): Promise<SeparatorStats> {
  await prepareTransform(model.stft.nFft);
  const loop = new HybridLoop(model, sink, opts);
  for await (const chunk of input) await loop.push(chunk);
  await loop.finish();
  return loop.stats;
}

/** Demucs' spectrogram of one segment and its inverse, on preallocated arrays (after prepareTransform(nFft)). */
export class DemucsSpectrum {
  readonly L: number;
  readonly T: number;
  readonly F: number;
  private readonly hop: number;
  private readonly nBins: number;
  private readonly padL: number;
  private readonly tf: FrameTransform;
  private readonly padded: Float32Array;
  private readonly re: Float32Array;
  private readonly im: Float32Array;
  private readonly accL: Float32Array;
  private readonly accR: Float32Array;
  /** sqrt(n_fft) / window-square sum, per sample of the segment. */
  private readonly norm: Float64Array;
  private readonly scale: number;

  constructor(nFft: number, hop: number, segmentSamples: number) {
    if (hop * 4 !== nFft) throw new Error(`Demucs' spectrogram needs hop = n_fft / 4 (got ${hop}, ${nFft})`);
    this.hop = hop;
    this.L = segmentSamples;
    this.T = Math.ceil(segmentSamples / hop);
    this.F = nFft / 2;
    this.nBins = nFft / 2 + 1;
    this.padL = (hop / 2) * 3;
    if (this.L <= this.padL + (this.T * hop - this.L)) throw new Error(`a segment of ${segmentSamples} samples is too short for n_fft ${nFft}`);
    // PFFFT (float32, as upstream's torch.stft): fft.js would cost a tenth of the network's time here
    this.tf = sharedTransform(nFft);
    const span = (this.T + 3) * hop; // padded segment: frame t covers [t hop, t hop + n_fft)
    this.padded = new Float32Array(span);
    this.re = new Float32Array(2 * this.T * this.nBins);
    this.im = new Float32Array(2 * this.T * this.nBins);
    this.accL = new Float32Array(span);
    this.accR = new Float32Array(span);
    this.scale = 1 / Math.sqrt(nFft);
    // torch.istft sees T + 4 frames (two zero frames padded on each side) starting at (t - 2) hop
    const env = new Float64Array(span);
    const w = this.tf.window;
    for (let t = -2; t < this.T + 2; t++) {
      for (let i = 0; i < nFft; i++) {
        const at = t * hop + i;
        if (at >= 0 && at < span) env[at] += w[i] * w[i];
      }
    }
    this.norm = new Float64Array(this.L);
    for (let j = 0; j < this.L; j++) this.norm[j] = Math.sqrt(nFft) / env[this.padL + j];
  }

  /** spec [4][F][T] (L.re, L.im, R.re, R.im) of the segment segL/segR (L samples each). */
  forward(segL: Float32Array, segR: Float32Array, spec: Float32Array): void {
    const { T, F, nBins, hop, re, im, scale } = this;
    for (let c = 0; c < 2; c++) {
      this.reflectPad(c === 0 ? segL : segR);
      for (let t = 0; t < T; t++) this.tf.forward(this.padded, t * hop, re, im, (c * T + t) * nBins);
      const sRe = 2 * c * F * T;
      const sIm = (2 * c + 1) * F * T;
      for (let k = 0; k < F; k++) {
        for (let t = 0; t < T; t++) {
          const at = (c * T + t) * nBins + k;
          spec[sRe + k * T + t] = re[at] * scale;
          spec[sIm + k * T + t] = im[at] * scale;
        }
      }
    }
  }

  /**
   * Adds the inverse of stem `s` of freq [S][4][F][T] to outL/outR (L samples each, which hold
   * the time branch): the stem's waveform, as float32 sums like upstream's.
   */
  inverseAdd(freq: Float32Array, s: number, outL: Float32Array, outR: Float32Array): void {
    const { T, F, nBins, hop, re, im } = this;
    const base = s * 4 * F * T;
    for (let c = 0; c < 2; c++) {
      const fRe = base + 2 * c * F * T;
      const fIm = base + (2 * c + 1) * F * T;
      // bin-major reads, frame rows written a few bins at a time (the rows' cache lines stay hot)
      const rows = c * T * nBins;
      for (let k = 0; k < F; k++) {
        const a = fRe + k * T;
        const b = fIm + k * T;
        for (let t = 0, at = rows + k; t < T; t++, at += nBins) {
          re[at] = freq[a + t];
          im[at] = freq[b + t];
        }
      }
      for (let t = 0; t < T; t++) {
        const row = rows + t * nBins;
        // the dropped top bin comes back as zero; a real inverse ignores the DC bin's imaginary part
        re[row + F] = 0;
        im[row + F] = 0;
        im[row] = 0;
      }
    }
    this.accL.fill(0);
    this.accR.fill(0);
    for (let t = 0; t < T; t++) {
      this.tf.inverseAdd(re, im, t * nBins, this.accL, t * hop);
      this.tf.inverseAdd(re, im, (T + t) * nBins, this.accR, t * hop);
    }
    const { padL, norm, accL, accR, L } = this;
    for (let j = 0; j < L; j++) {
      outL[j] += Math.fround(accL[padL + j] * norm[j]);
      outR[j] += Math.fround(accR[padL + j] * norm[j]);
    }
  }

  /** padded = reflect(padL) + seg + reflect(padR), as numpy/torch 'reflect' (edge not repeated). */
  private reflectPad(seg: Float32Array): void {
    const { padded, padL, L } = this;
    const padR = padded.length - L - padL;
    padded.set(seg.subarray(0, L), padL);
    for (let i = 0; i < padL; i++) padded[i] = seg[padL - i];
    for (let j = 0; j < padR; j++) padded[padL + L + j] = seg[L - 2 - j];
  }
}

/** One (network, shift) run of the split: song index = virtual index + delta. */
interface Pass {
  network: number;
  delta: number;
  /** Virtual start of the next segment. */
  next: number;
  /** Virtual index below which the output is final. */
  final: number;
  /** Virtual index of acc[0]. */
  base: number;
  /** [stem][channel] accumulators, then the weight sum. */
  acc: Float32Array[];
  wsum: Float32Array;
}

class HybridLoop {
  readonly stats: SeparatorStats = { samples: 0, stftMs: 0, inferenceMs: 0, istftMs: 0, wienerMs: 0 };
  private readonly input = new InputBuffer();
  private readonly spectrum: DemucsSpectrum;
  private readonly L: number;
  private readonly stride: number;
  private readonly weight: Float32Array;
  private readonly S: number;
  private readonly shifts: number;
  private readonly passes: Pass[];
  /** The segment, [2][L]: segL and segR are its halves. */
  private readonly mix: Float32Array;
  private readonly segL: Float32Array;
  private readonly segR: Float32Array;
  private readonly spec: Float32Array;
  private readonly out: Float32Array[];
  private readonly bagScale: Float32Array[];
  private readonly blocks: Float32Array[];
  private readonly cap: number;
  private readonly timings: InferenceTimings = { inferenceMs: 0 };
  private emitted = 0;

  constructor(private readonly model: HybridSegmentModel, private readonly sink: StemSink, private readonly opts: HybridSeparatorOptions) {
    const overlap = opts.overlap ?? DEFAULT_HYBRID_OVERLAP;
    if (!(overlap >= 0 && overlap < 1)) throw new RangeError(`overlap must be in [0, 1), got ${overlap}`);
    const shifts = opts.shifts ?? 0;
    if (!Number.isInteger(shifts) || shifts < 0 || shifts > MAX_SHIFTS) throw new RangeError(`shifts must be an integer from 0 to ${MAX_SHIFTS}, got ${shifts}`);
    this.shifts = shifts;
    this.spectrum = new DemucsSpectrum(model.stft.nFft, model.stft.hop, model.segmentSamples);
    const L = (this.L = model.segmentSamples);
    this.stride = Math.max(1, Math.trunc((1 - overlap) * L));
    // apply_model: cat(arange(1, L//2 + 1), arange(L - L//2, 0, -1)) / max
    const half = Math.floor(L / 2);
    const max = L - half;
    this.weight = new Float32Array(L);
    for (let i = 0; i < L; i++) this.weight[i] = (i < half ? i + 1 : L - i) / max;
    this.S = model.stems.length;
    const maxShift = Math.trunc(MAX_SHIFT_SECONDS * model.sampleRate);
    const deltas = shiftDeltas(opts.seed ?? Math.floor(Math.random() * 2 ** 32), model.weights.length * shifts, model.sampleRate);
    // passes may lag one another by a segment and differ in delta by up to maxShift
    this.cap = 2 * L + this.stride + maxShift + EMIT_BLOCK;
    this.passes = [];
    for (let m = 0; m < model.weights.length; m++) {
      for (let s = 0; s < Math.max(1, shifts); s++) {
        const delta = shifts ? deltas[m * shifts + s] : 0;
        this.passes.push({
          network: m, delta, next: 0, final: 0, base: 0,
          acc: Array.from({ length: 2 * this.S }, () => new Float32Array(this.cap)), wsum: new Float32Array(this.cap),
        });
      }
    }
    // bag: stem k of network m counts w[m][k] / sum_m w[m][k] (divided by the shifts averaged)
    this.bagScale = model.weights.map((row) => Float32Array.from(row, (w, k) => w / model.weights.reduce((t, r) => t + r[k], 0) / Math.max(1, shifts)));
    this.mix = new Float32Array(2 * L);
    this.segL = this.mix.subarray(0, L);
    this.segR = this.mix.subarray(L);
    this.spec = new Float32Array(4 * this.spectrum.F * this.spectrum.T);
    this.out = Array.from({ length: 2 * this.S }, () => new Float32Array(L));
    this.blocks = Array.from({ length: this.S }, () => new Float32Array(2 * EMIT_BLOCK));
  }

  async push(chunk: Float32Array): Promise<void> {
    this.input.append(chunk);
    this.stats.samples += chunk.length >> 1;
    await this.work(false);
  }

  async finish(): Promise<void> {
    await this.work(true);
  }

  /** One segment per pass in turn, then whatever every pass has finished, until nothing is ready. */
  private async work(ended: boolean): Promise<void> {
    const N = this.input.end;
    for (;;) {
      let progressed = false;
      for (const p of this.passes) {
        const length = N - p.delta; // the pass's virtual length (once the input has ended)
        if (ended ? p.next >= length : this.input.end < p.next + this.L + p.delta) {
          if (ended) p.final = Math.max(p.final, length);
          continue;
        }
        await this.segment(p, ended ? Math.min(this.L, length - p.next) : this.L);
        progressed = true;
      }
      await this.emit(ended);
      if (!progressed) return;
    }
  }

  /** Runs pass p's segment at p.next, n samples of it kept, and adds it to the pass's accumulators. */
  private async segment(p: Pass, n: number): Promise<void> {
    const { L, S, spectrum, segL, segR, spec, out, weight } = this;
    const v0 = p.next;
    const trim = (L - n) >> 1; // TensorChunk.padded / center_trim
    this.input.read(v0 + p.delta - trim, L, segL, segR);
    const t0 = performance.now();
    spectrum.forward(segL, segR, spec);
    const t1 = performance.now();
    this.stats.stftMs += t1 - t0;
    const { freq, time } = await this.model.run(p.network, this.mix, spec, this.timings);
    this.stats.inferenceMs += this.timings.inferenceMs;
    const t2 = performance.now();
    const at = v0 - p.base;
    if (at + n > this.cap) throw new Error('hybrid separator: segment past its accumulator (internal error)');
    for (let s = 0; s < S; s++) {
      if (this.bagScale[p.network][s] === 0) continue; // a bag member this stem does not take (htdemucs_ft: one per stem)
      const oL = out[2 * s];
      const oR = out[2 * s + 1];
      oL.set(time.subarray((2 * s) * L, (2 * s + 1) * L));
      oR.set(time.subarray((2 * s + 1) * L, (2 * s + 2) * L));
      spectrum.inverseAdd(freq, s, oL, oR);
      const aL = p.acc[2 * s];
      const aR = p.acc[2 * s + 1];
      for (let j = 0; j < n; j++) {
        aL[at + j] += weight[j] * oL[trim + j];
        aR[at + j] += weight[j] * oR[trim + j];
      }
    }
    for (let j = 0; j < n; j++) p.wsum[at + j] += weight[j];
    p.next = v0 + this.stride;
    p.final = Math.max(p.final, p.next);
    this.stats.istftMs += performance.now() - t2;
  }

  /** Emits the song samples every pass has finished, then drops what no pass needs any more. */
  private async emit(ended: boolean): Promise<void> {
    const { S, passes, blocks, bagScale } = this;
    let upTo = Math.min(...passes.map((p) => p.final + p.delta));
    if (ended) upTo = Math.min(upTo, this.input.end);
    while (this.emitted < upTo) {
      const m = Math.min(EMIT_BLOCK, upTo - this.emitted);
      for (let s = 0; s < S; s++) blocks[s].fill(0, 0, 2 * m);
      for (const p of passes) {
        const at = this.emitted - p.delta - p.base;
        for (let s = 0; s < S; s++) {
          const g = bagScale[p.network][s];
          if (g === 0) continue;
          const b = blocks[s];
          const aL = p.acc[2 * s];
          const aR = p.acc[2 * s + 1];
          for (let j = 0; j < m; j++) {
            const w = p.wsum[at + j];
            b[2 * j] += g * (aL[at + j] / w);
            b[2 * j + 1] += g * (aR[at + j] / w);
          }
        }
      }
      await this.sink(blocks.map((b) => b.subarray(0, 2 * m)), m);
      this.emitted += m;
      for (const p of passes) this.shift(p, this.emitted - p.delta);
    }
    const expected = this.opts.expectedSamples;
    if (expected) this.opts.onProgress?.(Math.min(1, this.emitted / expected));
    // a segment reads up to half its length before its start (the last, short one)
    this.input.discardBefore(Math.min(...passes.map((p) => p.next + p.delta)) - this.L);
  }

  /** Moves pass p's accumulators so that acc[0] is virtual index `to`. */
  private shift(p: Pass, to: number): void {
    const by = to - p.base;
    if (by <= 0) return;
    for (const a of [...p.acc, p.wsum]) {
      a.copyWithin(0, by);
      a.fill(0, a.length - by);
    }
    p.base = to;
  }
}

/**
 * The shifts' moves, network by network as apply_model draws them: offset uniform in
 * [0, maxShift] (half a second), song index = the pass's index + offset - maxShift.
 */
export function shiftDeltas(seed: number, count: number, sampleRate: number): number[] {
  const maxShift = Math.trunc(MAX_SHIFT_SECONDS * sampleRate);
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => Math.floor(random() * (maxShift + 1)) - maxShift);
}
