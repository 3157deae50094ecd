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

/** Any model the engine runs: mask models go through separator.ts, chunk models through chunked-separator.ts. */
export type EngineModel = (SeparationModel & { readonly kind?: 'masks' }) | SpectrogramChunkModel;

/** The mask model inside an EngineModel, or a clear error (for code that only handles mask models). */
export function asMaskModel(m: EngineModel): SeparationModel {
  if (m.kind === 'spectrogram-chunks') throw new Error(`model ${m.id} (family ${m.family}) is not a mask model`);
  return m;
}

export interface InferenceTimings {
  inferenceMs: number;
}

export type { ProgressStage } from '../contracts/api.js';
import type { ProgressStage } from '../contracts/api.js';
export type ProgressCallback = (stage: ProgressStage, fraction: number) => void;
