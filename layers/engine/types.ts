import type { StftSettings } from './stft.js';

export type HighBandPolicy = 'zero' | 'residual';

/** What every model of every family says about itself. */
export interface ModelIdentity {
  readonly id: string;
  readonly family: string;
  /** Mask models: one per estimate; chunk models: [primary, secondary]. */
  readonly stems: readonly string[];
  readonly sampleRate: number;
  readonly stft: StftSettings;
  /**
   * Frequency bins fed to the model. Mask models: the band above follows the high-band policy;
   * chunk models (dim_f): the band above comes back as zero.
   */
  readonly bins: number;
}

/**
 * What the engine needs from a model of any family: its STFT grid and a function that turns one
 * split of magnitudes into one mask per stem. The engine owns STFT, masking, iSTFT and
 * streaming; a family module owns only the network call and its mask rule.
 */
export interface SeparationModel extends ModelIdentity {
  readonly framesPerSplit: number;
  readonly highBand: HighBandPolicy;
  /** Stem that receives what the others do not claim (e.g. accompaniment, other). */
  readonly residualStem: number;
  /** True when estimateMasks can also hand out per-stem magnitude estimates (what Wiener filtering needs). */
  readonly magnitudeEstimates?: boolean;
  /**
   * mag: [2][framesPerSplit][bins] magnitudes (channel-major, as the Spleeter contract).
   * masks: one [2][framesPerSplit][bins] array per stem, to fill with values in [0, 1].
   * magnitudes (only when magnitudeEstimates): its entries are set to the model's per-stem
   * magnitude estimates, same layout (arrays owned by the model run, not copied).
   */
  estimateMasks(mag: Float32Array, masks: Float32Array[], timings: InferenceTimings, magnitudes?: Float32Array[]): Promise<void>;
}

/**
 * A model that maps a complex spectrogram chunk to the complex spectrogram of its primary stem
 * (UVR MDX-Net). The engine owns the chunk loop (chunked-separator.ts): centred, reflect-padded
 * STFT of each segment, inverse STFT, overlap-add of segments; the secondary stem is the input
 * minus compensate x primary.
 */
export interface SpectrogramChunkModel extends ModelIdentity {
  readonly kind: 'spectrogram-chunks';
  /** Frames per segment (dim_t). */
  readonly framesPerSegment: number;
  /** The secondary stem is input - compensate x primary (UVR's volume compensation). */
  readonly compensate: number;
  /** How many estimate() calls may be in flight at once (the loop keeps that many segments going). */
  readonly concurrency?: number;
  /**
   * spec: [4][bins][framesPerSegment] (L.re, L.im, R.re, R.im) of one segment (left unchanged until this resolves).
   * out: same layout, to fill with the primary stem's spectrogram.
   */
  estimate(spec: Float32Array, out: Float32Array, timings: InferenceTimings): Promise<void>;
}

/**
 * A model whose network takes a fixed-length waveform segment and its spectrogram and returns, per
 * stem, a complex spectrogram and a waveform to add (HTDemucs; possibly a bag of networks). The
 * engine owns the loop (hybrid-separator.ts): Demucs' STFT and iSTFT around the network and what
 * upstream apply_model does around that (overlapping segments blended with a triangular weight,
 * random time shifts, the bag's per-stem weights), streaming.
 */
export interface HybridSegmentModel extends ModelIdentity {
  readonly kind: 'hybrid-segments';
  /** Samples per segment (L). */
  readonly segmentSamples: number;
  /** Spectrogram frames per segment: ceil(L / hop). */
  readonly framesPerSegment: number;
  /** Per network of the bag, one weight per stem. */
  readonly weights: readonly (readonly number[])[];
  /**
   * One segment through network `network`: mix [2][L] (L then R), spec [4][bins][frames]
   * (L.re, L.im, R.re, R.im) in; freq [stems][4][bins][frames] (same channel order) and
   * time [stems][2][L] out (arrays owned by the run, valid until the next call).
   */
  run(network: number, mix: Float32Array, spec: Float32Array, timings: InferenceTimings): Promise<{ freq: Float32Array; time: Float32Array }>;
}

/**
 * Any model the engine runs: mask models go through separator.ts, chunk models through
 * chunked-separator.ts, hybrid segment models through hybrid-separator.ts.
 */
export type EngineModel = (SeparationModel & { readonly kind?: 'masks' }) | SpectrogramChunkModel | HybridSegmentModel;

export function isMaskModel(m: EngineModel): m is SeparationModel & { readonly kind?: 'masks' } {
  return m.kind === undefined || m.kind === 'masks';
}

/** The mask model inside an EngineModel, or a clear error (for code that only handles mask models). */
export function asMaskModel(m: EngineModel): SeparationModel {
  if (!isMaskModel(m)) throw new Error(`model ${m.id} (family ${m.family}) is not a mask model`);
  return m;
}

export interface InferenceTimings {
  inferenceMs: number;
}

export type { ProgressStage } from '../contracts/api.js';
import type { ProgressStage } from '../contracts/api.js';
export type ProgressCallback = (stage: ProgressStage, fraction: number) => void;
