/**
 * The streaming loop for spectrogram-chunk models (UVR MDX-Net): samples in, [primary, secondary]
 * out, one segment of hop x (dim_t - 1) samples at a time, so memory depends on the segment (and
 * in the reference grid on sherpa-onnx's 17-s chunk), never on the song's length.
 *
 *   segment → centred reflect-padded STFT → model → inverse STFT → place or overlap-add → emit
 *   secondary = input - compensate x primary
 *
 * Two grids:
 * - 'aligned' (quality, default), as python-audio-separator / UVR run MDX-Net: the input padded by
 *   n_fft/2 zeros, segments every (1 - overlap) x segment length, each multiplied by a symmetric
 *   Hann window of its length and overlap-added, divided by the sum of the windows; the three
 *   lowest bins of the model's input are zeroed as UVR does.
 * - 'reference', exactly sherpa-onnx's UVR chunking, for comparison: 15-s chunks with 1-s margins
 *   joined without crossfade; each chunk zero-padded and cut into segments that advance by the
 *   segment length minus n_fft, each trimmed by n_fft/2 at both ends and joined end to end.
 */
import { type FrameTransform, prepareTransform, sharedTransform } from './stft.js';
import type { FrameGrid, SeparatorStats, StemSink } from './separator.js';
import type { InferenceTimings, SpectrogramChunkModel } from './types.js';

export interface ChunkedSeparatorOptions {
  grid?: FrameGrid;
  /** Quality grid: fraction of each segment shared with the next (default 0.25, as python-audio-separator). */
  overlap?: number;
  expectedSamples?: number;
  onProgress?: (fraction: number) => void;
}

export const DEFAULT_OVERLAP = 0.25;
/** sherpa-onnx's UVR chunking: chunks of this many seconds, margins of one second either side. */
const REFERENCE_CHUNK_SECONDS = 15;
/** UVR zeroes the lowest bins of the model's input (python-audio-separator: spek[:, :, :3, :] *= 0). */
const QUALITY_ZEROED_BINS = 3;

export async function separateChunked(
  input: AsyncIterable<Float32Array>,
  model: SpectrogramChunkModel,
  sink: StemSink,
  opts: ChunkedSeparatorOptions = {},
): Promise<SeparatorStats> {
  await prepareTransform(model.stft.nFft);
  const loop = (opts.grid ?? 'aligned') === 'reference' ? new ReferenceLoop(model, sink, opts) : new QualityLoop(model, sink, opts);
  for await (const chunk of input) await loop.push(chunk);
  await loop.finish();
  return loop.stats;
}

/** One segment's model input and output, and its model call. */
interface SegmentJob {
  spec: Float32Array;
  est: Float32Array;
  timings: InferenceTimings;
  inference: Promise<void>;
  consume: (yL: Float32Array, yR: Float32Array) => Promise<void>;
}

/**
 * Segments through the model: L = hop x (dim_t - 1) samples per channel in, the primary stem's
 * L samples out. STFT centred with reflect padding (torch.stft / kaldi-native-fbank center=True),
 * inverse divided by the window-square sum of the segment's frames. Up to the model's
 * `concurrency` segments are in flight: this thread analyses the next segment and synthesises the
 * last while the model (in its workers) runs; results are consumed in submission order.
 */
class SegmentTransform {
  readonly length: number;
  readonly half: number;
  private readonly tf: FrameTransform;
  private readonly T: number;
  private readonly F: number;
  private readonly hop: number;
  private readonly padded: Float32Array;
  private readonly accL: Float32Array;
  private readonly accR: Float32Array;
  private readonly norm: Float32Array;
  private readonly yL: Float32Array;
  private readonly yR: Float32Array;
  private readonly free: SegmentJob[];
  private readonly inFlight: SegmentJob[] = [];

  constructor(private readonly model: SpectrogramChunkModel, private readonly zeroedBins: number, private readonly stats: SeparatorStats) {
    const { nFft, hop } = model.stft;
    this.tf = sharedTransform(nFft);
    this.T = model.framesPerSegment;
    this.F = model.bins;
    this.hop = hop;
    this.half = nFft / 2;
    this.length = hop * (this.T - 1);
    if (this.length <= nFft) throw new Error(`model ${model.id}: a segment of ${this.T} frames is too short for n_fft ${nFft}`);
    this.padded = new Float32Array(this.length + nFft);
    // one job more than the model runs at once: the next segment is analysed while the model works
    this.free = Array.from({ length: Math.max(1, model.concurrency ?? 1) + 1 }, () => ({
      spec: new Float32Array(4 * this.F * this.T), est: new Float32Array(4 * this.F * this.T), timings: { inferenceMs: 0 },
      inference: Promise.resolve(), consume: async () => {},
    }));
    this.accL = new Float32Array(this.length + nFft);
    this.accR = new Float32Array(this.length + nFft);
    this.yL = new Float32Array(this.length);
    this.yR = new Float32Array(this.length);
    const wsum = new Float64Array(this.length + nFft);
    const w = this.tf.window;
    for (let t = 0; t < this.T; t++) for (let i = 0; i < nFft; i++) wsum[t * hop + i] += w[i] * w[i];
    this.norm = new Float32Array(this.length);
    for (let j = 0; j < this.length; j++) this.norm[j] = 1 / wsum[this.half + j];
  }

  /**
   * segL/segR: L samples each (read at once: the caller may reuse them). Starts the model on the
   * segment; consume receives its primary stem's L samples (buffers reused after it resolves),
   * in submission order, once the model is done and every earlier segment has been consumed.
   */
  async submit(segL: Float32Array, segR: Float32Array, consume: SegmentJob['consume']): Promise<void> {
    if (this.free.length === 0) await this.completeOldest();
    const job = this.free.pop()!;
    const { T, F, hop } = this;
    const spec = job.spec;
    const t0 = performance.now();
    // each frame's bins go straight into the model's [channel][bin][frame] layout
    for (let c = 0; c < 2; c++) {
      this.reflectPad(c === 0 ? segL : segR);
      const sRe = 2 * c * F * T;
      const sIm = (2 * c + 1) * F * T;
      this.tf.forwardStrided(this.padded, 0, hop, T, spec, sRe, sIm, T, F);
    }
    if (this.zeroedBins > 0) for (let ch = 0; ch < 4; ch++) spec.fill(0, ch * F * T, (ch * F + this.zeroedBins) * T);
    this.stats.stftMs += performance.now() - t0;
    job.consume = consume;
    job.inference = this.model.estimate(spec, job.est, job.timings);
    job.inference.catch(() => {}); // awaited in completeOldest; never an unhandled rejection meanwhile
    this.inFlight.push(job);
  }

  /** Consumes every segment in flight. */
  async drain(): Promise<void> {
    while (this.inFlight.length) await this.completeOldest();
  }

  private async completeOldest(): Promise<void> {
    const job = this.inFlight.shift()!;
    try {
      await job.inference;
    } catch (err) {
      this.free.push(job);
      throw err;
    }
    this.stats.inferenceMs += job.timings.inferenceMs;
    const { T, F, hop } = this;
    const est = job.est;
    const t2 = performance.now();
    this.accL.fill(0);
    this.accR.fill(0);
    for (let c = 0; c < 2; c++) {
      const sRe = 2 * c * F * T;
      const sIm = (2 * c + 1) * F * T;
      const acc = c === 0 ? this.accL : this.accR;
      this.tf.inverseStridedAdd(est, sRe, sIm, T, F, T, acc, 0, hop);
    }
    const { half, norm, yL, yR } = this;
    for (let j = 0; j < this.length; j++) {
      yL[j] = this.accL[half + j] * norm[j];
      yR[j] = this.accR[half + j] * norm[j];
    }
    this.stats.istftMs += performance.now() - t2;
    this.free.push(job);
    await job.consume(yL, yR);
  }

  /** padded = reflect(n_fft/2) + seg + reflect(n_fft/2), as numpy/torch 'reflect' (edge not repeated). */
  private reflectPad(seg: Float32Array): void {
    const { padded, half, length } = this;
    padded.set(seg.subarray(0, length), half);
    for (let i = 0; i < half; i++) padded[i] = seg[half - i];
    for (let j = 0; j < half; j++) padded[half + length + j] = seg[length - 2 - j];
  }
}

/** Input samples by absolute index, deinterleaved, from `base` on; grows as needed, drops what is consumed (also used by hybrid-separator.ts). */
export class InputBuffer {
  L = new Float32Array(1 << 16);
  R = new Float32Array(1 << 16);
  base = 0;
  end = 0; // absolute index one past the last sample received

  append(chunk: Float32Array): void {
    const n = chunk.length >> 1;
    const need = this.end + n - this.base;
    if (need > this.L.length) {
      let cap = this.L.length;
      while (cap < need) cap *= 2;
      const L = new Float32Array(cap);
      const R = new Float32Array(cap);
      L.set(this.L.subarray(0, this.end - this.base));
      R.set(this.R.subarray(0, this.end - this.base));
      this.L = L;
      this.R = R;
    }
    let w = this.end - this.base;
    for (let i = 0; i < n; i++, w++) {
      this.L[w] = chunk[2 * i];
      this.R[w] = chunk[2 * i + 1];
    }
    this.end += n;
  }

  /** Copies absolute samples [from, from + n) into dst (zero outside [0, end)). */
  read(from: number, n: number, dstL: Float32Array, dstR: Float32Array): void {
    for (let j = 0; j < n; j++) {
      const a = from + j;
      const ok = a >= 0 && a < this.end;
      if (ok && a < this.base) throw new Error('chunked separator: read before the kept input');
      dstL[j] = ok ? this.L[a - this.base] : 0;
      dstR[j] = ok ? this.R[a - this.base] : 0;
    }
  }

  discardBefore(abs: number): void {
    const by = Math.min(abs, this.end) - this.base;
    if (by <= 0) return;
    this.L.copyWithin(0, by, this.end - this.base);
    this.R.copyWithin(0, by, this.end - this.base);
    this.base += by;
  }
}

/** What both grids share: input, segment transform, output of [primary, secondary] in blocks. */
abstract class Loop {
  readonly stats: SeparatorStats = { samples: 0, stftMs: 0, inferenceMs: 0, istftMs: 0, wienerMs: 0 };
  protected readonly input = new InputBuffer();
  protected readonly seg: SegmentTransform;
  protected readonly L: number;
  protected readonly segL: Float32Array;
  protected readonly segR: Float32Array;
  private readonly out: [Float32Array, Float32Array];
  private readonly xL: Float32Array;
  private readonly xR: Float32Array;
  protected emitted = 0;

  constructor(protected readonly model: SpectrogramChunkModel, private readonly sink: StemSink, private readonly opts: ChunkedSeparatorOptions, zeroedBins: number) {
    this.seg = new SegmentTransform(model, zeroedBins, this.stats);
    this.L = this.seg.length;
    this.segL = new Float32Array(this.L);
    this.segR = new Float32Array(this.L);
    this.out = [new Float32Array(2 * this.L), new Float32Array(2 * this.L)];
    this.xL = new Float32Array(this.L);
    this.xR = new Float32Array(this.L);
  }

  async push(chunk: Float32Array): Promise<void> {
    this.input.append(chunk);
    this.stats.samples += chunk.length >> 1;
    await this.work(false);
  }

  async finish(): Promise<void> {
    await this.work(true);
    await this.seg.drain();
  }

  protected abstract work(ended: boolean): Promise<void>;

  /**
   * Emits primary samples for absolute [this.emitted, this.emitted + n), read from pL/pR at
   * offset `off`, with the secondary from the input.
   */
  protected async emit(pL: ArrayLike<number>, pR: ArrayLike<number>, off: number, n: number): Promise<void> {
    if (n <= 0) return;
    for (let done = 0; done < n;) {
      const m = Math.min(n - done, this.L);
      this.input.read(this.emitted, m, this.xL, this.xR);
      const [p, s] = this.out;
      const c = this.model.compensate;
      for (let j = 0; j < m; j++) {
        const l = Math.fround(pL[off + done + j]);
        const r = Math.fround(pR[off + done + j]);
        p[2 * j] = l;
        p[2 * j + 1] = r;
        s[2 * j] = this.xL[j] - (c === 1 ? l : Math.fround(c * l));
        s[2 * j + 1] = this.xR[j] - (c === 1 ? r : Math.fround(c * r));
      }
      await this.sink([p.subarray(0, 2 * m), s.subarray(0, 2 * m)], m);
      this.emitted += m;
      done += m;
    }
    const expected = this.opts.expectedSamples;
    if (expected) this.opts.onProgress?.(Math.min(1, this.emitted / expected));
  }
}

/** sherpa-onnx's UVR chunking (offline-source-separation-uvr-impl.h), one segment at a time. */
class ReferenceLoop extends Loop {
  private readonly chunk: number;
  private readonly margin: number;
  private readonly gen: number;
  private next = 0; // start of the next chunk's kept part

  constructor(model: SpectrogramChunkModel, sink: StemSink, opts: ChunkedSeparatorOptions) {
    super(model, sink, opts, 0);
    this.chunk = REFERENCE_CHUNK_SECONDS * model.sampleRate;
    this.margin = model.sampleRate;
    this.gen = this.L - 2 * this.seg.half;
  }

  protected async work(ended: boolean): Promise<void> {
    const N = this.input.end;
    for (;;) {
      const i = this.next;
      if (i >= N && (ended || i > 0)) return;
      const end = i + this.chunk + this.margin;
      // a chunk is the last when it reaches the end of the input; before the end is known, wait for one sample past it
      if (!ended && N <= end) return;
      const last = end >= N;
      await this.processChunk(i, last ? N : end, last);
      if (last) return;
      this.next = i + this.chunk;
    }
  }

  private async processChunk(i: number, c1: number, last: boolean): Promise<void> {
    const { gen, L } = this;
    const half = this.seg.half;
    const first = i === 0;
    const c0 = Math.max(0, i - this.margin);
    const M = c1 - c0;
    const pad = gen - (M % gen);
    const keepFrom = first ? 0 : this.margin;
    const keepTo = last ? M : M - this.margin;
    const starts: number[] = []; // chunk index of each computed segment's first kept sample
    for (let s = 0; s * gen < M + pad; s++) {
      const q0 = s * gen;
      if (q0 + gen <= keepFrom) continue; // wholly in the leading margin: sherpa computes and drops it
      if (q0 >= keepTo) break;
      starts.push(q0);
    }
    if (starts.length === 0) this.input.discardBefore(c1 - 2 * this.margin);
    for (const [k, q0] of starts.entries()) {
      // segment = chunk-padded samples [q0, q0 + L) = chunk samples [q0 - half, q0 - half + L), zero outside the chunk
      this.readChunk(c0, M, q0 - half, L);
      const from = Math.max(q0, keepFrom);
      const to = Math.min(q0 + gen, keepTo);
      await this.seg.submit(this.segL, this.segR, async (yL, yR) => {
        await this.emit(yL, yR, from - q0 + half, to - from);
        // the input this chunk's secondary needs is emitted once its last segment is
        if (k === starts.length - 1) this.input.discardBefore(c1 - 2 * this.margin);
      });
    }
  }

  /** Segment buffers = chunk samples [q, q + n) (chunk = absolute [c0, c0 + M)), zero outside the chunk. */
  private readChunk(c0: number, M: number, q: number, n: number): void {
    const lo = Math.max(0, -q);
    const hi = Math.min(n, M - q);
    this.segL.fill(0);
    this.segR.fill(0);
    if (hi > lo) this.input.read(c0 + q + lo, hi - lo, this.segL.subarray(lo, hi), this.segR.subarray(lo, hi));
  }
}

/** python-audio-separator's MDX demix: windowed, overlapping segments over the zero-padded input. */
class QualityLoop extends Loop {
  private readonly step: number;
  private readonly full: Float64Array; // symmetric Hann of the segment length
  private readonly overlap: number;
  private readonly accL: Float64Array;
  private readonly accR: Float64Array;
  private readonly div: Float64Array;
  private accBase = 0; // padded index of acc[0]
  private next = 0; // padded index of the next segment
  private readonly half: number;

  constructor(model: SpectrogramChunkModel, sink: StemSink, opts: ChunkedSeparatorOptions) {
    super(model, sink, opts, QUALITY_ZEROED_BINS);
    this.overlap = opts.overlap ?? DEFAULT_OVERLAP;
    if (!(this.overlap >= 0 && this.overlap < 1)) throw new RangeError(`overlap must be in [0, 1), got ${this.overlap}`);
    this.step = Math.max(1, Math.floor((1 - this.overlap) * this.L));
    this.full = hanning(this.L, this.overlap);
    this.half = this.seg.half;
    this.accL = new Float64Array(2 * this.L);
    this.accR = new Float64Array(2 * this.L);
    this.div = new Float64Array(2 * this.L);
  }

  protected async work(ended: boolean): Promise<void> {
    const { L, half, step } = this;
    const N = this.input.end;
    const gen = L - 2 * half;
    // padded input: half zeros, the song, then zeros up to a whole number of gen plus half (as the reference code)
    const total = half + N + (gen + half - (N % gen));
    for (;;) {
      const i = this.next;
      if (!ended && i + L - half > N) return; // segment not yet complete
      if (ended && i >= total) break;
      const actual = ended ? Math.min(L, total - i) : L;
      this.input.read(i - half, L, this.segL, this.segR);
      this.next = i + step;
      await this.seg.submit(this.segL, this.segR, async (yL, yR) => {
        const w = actual === L ? this.full : hanning(actual, this.overlap);
        const at = i - this.accBase;
        for (let j = 0; j < actual; j++) {
          this.accL[at + j] += yL[j] * w[j];
          this.accR[at + j] += yR[j] * w[j];
          this.div[at + j] += w[j];
        }
        await this.flush(Math.min(i + step, total), N, i + step);
      });
    }
    await this.seg.drain();
    await this.flush(total, N, this.next);
  }

  /** Emits padded samples [emitted + half, upTo) ∩ the song, then shifts the accumulators and drops input before `next` - half. */
  private async flush(upTo: number, N: number, next: number): Promise<void> {
    const from = this.emitted + this.half;
    const to = Math.min(upTo, this.half + N);
    if (to > from) {
      const off = from - this.accBase;
      for (let j = off; j < off + (to - from); j++) {
        const d = this.div[j];
        const inv = d > 0 ? 1 / d : 0;
        this.accL[j] *= inv;
        this.accR[j] *= inv;
      }
      await this.emit(this.accL, this.accR, off, to - from);
    }
    const by = Math.max(0, to) - this.accBase;
    if (by > 0) {
      for (const a of [this.accL, this.accR, this.div]) {
        a.copyWithin(0, by);
        a.fill(0, a.length - by);
      }
      this.accBase += by;
    }
    this.input.discardBefore(next - this.half);
  }
}

/** numpy.hanning(n) (symmetric), or ones when overlap is 0 (no crossfade, as the reference code). */
function hanning(n: number, overlap: number): Float64Array {
  const w = new Float64Array(n);
  if (overlap === 0 || n === 1) return w.fill(1);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
  return w;
}
