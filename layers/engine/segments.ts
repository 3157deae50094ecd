/**
 * Fan-out of one song across workers, for mask models (family spleeter): segments cut on the
 * model's split grid, so each segment's analysis is what a single run computes there.
 *
 * A single run (separator.ts, aligned grid) pads the input by pad = nFft - hop zeros, analyses
 * frames f = 0..T-1 (frame f covers padded samples [f·hop, f·hop + nFft)) and runs the model on
 * splits of F frames; the model sees one split at a time, nothing across splits. A segment that
 * analyses frames [A, B) with A and B on split boundaries therefore gets the same spectra, the
 * same masks and the same overlap-add as the single run, and the real samples it holds exactly
 * (every frame that touches them is its own) are [A·hop, B·hop − pad). Adjacent segments share
 * one split, so their exact ranges overlap by F·hop − pad samples; the stitch crossfades there
 * (both sides hold the same samples, so the crossfade changes nothing but guards the join).
 *
 * Each segment is run with the separator's reference grid (first frame at the first sample it is
 * given) on the padded window [A·hop, B·hop + pad), i.e. real samples [A·hop − pad, B·hop), zeros
 * where that window leaves the song, as the single run's padding has.
 */
import type { ModelManifest } from '../models/manifest.js';
import { separateStream, type SeparatorStats, type StemSink } from './separator.js';
import type { SeparationModel } from './types.js';
import type { WienerSettings } from './wiener.js';

/** One segment of a fanned-out song, in real samples at the model's rate. */
export interface SegmentSpec {
  index: number;
  /** Frames of the single run's grid this segment analyses: [firstFrame, endFrame). */
  firstFrame: number;
  endFrame: number;
  /** Real samples fed to the model: [readStart, readEnd); outside the song they are zeros. */
  readStart: number;
  readEnd: number;
  /** Real samples of the song this segment's output holds, each as the single run computes it. */
  keepStart: number;
  keepEnd: number;
}

type GridModel = Pick<ModelManifest, 'family' | 'stft' | 'framesPerSplit' | 'sampleRate'>;

/** Mask models run the network on independent splits; chunk models (mdx) overlap-add windowed chunks and are not cut (yet). */
export function segmentable(m: Pick<ModelManifest, 'family'>): boolean {
  return m.family === 'spleeter';
}

/** Samples of one split: the unit segments are made of. */
export function samplesPerSplit(m: GridModel): number {
  return m.framesPerSplit * m.stft.hop;
}

/** Whole splits per segment for a wanted segment length (at least 2: one of them is shared with the next segment). */
export function splitsPerSegment(m: GridModel, segmentSeconds: number): number {
  return Math.max(2, Math.round((segmentSeconds * m.sampleRate) / samplesPerSplit(m)));
}

/** The single run's frame count for `samples` real samples (separator.ts, aligned grid). */
export function alignedFrames(m: GridModel, samples: number): number {
  const pad = m.stft.nFft - m.stft.hop;
  return Math.floor((pad + samples - 1) / m.stft.hop) + 1;
}

export function planSegments(m: GridModel, samples: number, splits: number): SegmentSpec[] {
  if (!Number.isInteger(splits) || splits < 2) throw new Error(`a segment needs at least 2 splits, got ${splits}`);
  const { nFft, hop } = m.stft;
  const pad = nFft - hop;
  const F = m.framesPerSplit;
  const T = alignedFrames(m, samples);
  const P = Math.ceil(T / F);
  const count = P <= splits ? 1 : Math.ceil((P - splits) / (splits - 1)) + 1;
  return Array.from({ length: count }, (_, index) => {
    const first = index * (splits - 1);
    const firstFrame = first * F;
    const endFrame = Math.min(T, (first + splits) * F);
    const last = index === count - 1;
    return {
      index, firstFrame, endFrame,
      readStart: firstFrame * hop - pad,
      readEnd: endFrame * hop,
      keepStart: index === 0 ? 0 : firstFrame * hop,
      keepEnd: last ? samples : endFrame * hop - pad,
    };
  });
}

/**
 * Separates one segment. `decoded` yields the song's samples from max(0, readStart) on (it may
 * run past readEnd or stop at the song's end); `sink` receives only the kept samples.
 */
export async function separateSegment(
  decoded: AsyncIterable<Float32Array>,
  model: SeparationModel,
  seg: SegmentSpec,
  sink: StemSink,
  opts: { wiener?: WienerSettings } = {},
): Promise<SeparatorStats> {
  const want = seg.readEnd - seg.readStart;
  async function* window(): AsyncGenerator<Float32Array> {
    let fed = 0;
    if (seg.readStart < 0) {
      fed = -seg.readStart;
      yield new Float32Array(2 * fed);
    }
    for await (const chunk of decoded) {
      const n = Math.min(chunk.length >> 1, want - fed);
      if (n > 0) yield chunk.subarray(0, 2 * n);
      fed += n;
      if (fed >= want) return;
    }
    if (fed < want) yield new Float32Array(2 * (want - fed)); // past the song's end: the single run's padding
  }
  // output sample j of the window is real sample readStart + j; keep [keepStart, keepEnd)
  const from = seg.keepStart - seg.readStart;
  const to = seg.keepEnd - seg.readStart;
  let at = 0;
  const trimmed: StemSink = async (blocks, frames) => {
    const a = Math.max(at, from);
    const b = Math.min(at + frames, to);
    at += frames;
    if (b > a) await sink(blocks.map((x) => x.subarray(2 * (a - (at - frames)), 2 * (b - (at - frames)))), b - a);
  };
  return separateStream(window(), model, trimmed, { grid: 'reference', wiener: opts.wiener });
}

/**
 * Joins two segments' overlap [0, n) frames with a raised-cosine crossfade (gains sum to one):
 * `tail` is the earlier segment's end, `head` the later one's start; interleaved stereo.
 */
export function crossfade(tail: Float32Array, head: Float32Array, out: Float32Array): void {
  const n = out.length >> 1;
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / n);
    out[2 * i] = tail[2 * i] * (1 - w) + head[2 * i] * w;
    out[2 * i + 1] = tail[2 * i + 1] * (1 - w) + head[2 * i + 1] * w;
  }
}
