/**
 * What users choose ("quality": fast | best, or a number of Wiener iterations) → the engine's
 * Wiener settings, with the model's defaults from its manifest (`wiener` in model.json).
 * fast = the family's masks (no filtering); best = the manifest's Wiener settings.
 */
import { MAX_WIENER_ITERATIONS, QUALITIES, type Quality } from '../contracts/api.js';
import type { ModelManifest } from '../models/manifest.js';
import { InvalidRequestError } from '../core/errors.js';
import type { WienerSettings } from './wiener.js';

export { MAX_WIENER_ITERATIONS, QUALITIES, type Quality } from '../contracts/api.js';

export interface QualityChoice {
  quality?: Quality;
  /** Overrides the iterations of the chosen quality (0 = masks only). */
  iterations?: number;
}

export function parseQuality(value: unknown, field = 'quality'): Quality | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !(QUALITIES as readonly string[]).includes(value)) {
    throw new InvalidRequestError(`${field} must be one of ${QUALITIES.join(', ')}, got "${String(value)}"`);
  }
  return value as Quality;
}

export function parseIterations(value: unknown, field = 'iterations'): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_WIENER_ITERATIONS) {
    throw new InvalidRequestError(`${field} must be an integer from 0 to ${MAX_WIENER_ITERATIONS}, got "${String(value)}"`);
  }
  return n;
}

/** The Wiener settings to run with, or undefined for the family's masks. */
export function wienerSettingsFor(m: ModelManifest, magnitudeEstimates: boolean, choice: QualityChoice): WienerSettings | undefined {
  const quality = choice.quality ?? m.wiener?.defaultQuality ?? 'fast';
  const best = m.wiener?.iterations ?? 1;
  const iterations = choice.iterations ?? (quality === 'best' ? best : 0);
  if (iterations === 0) return undefined;
  if (!magnitudeEstimates) {
    throw new InvalidRequestError(`model ${m.id} (${m.family}) has no quality "best" (Wiener filtering needs magnitude estimates); use "fast"`);
  }
  const stems = m.stems.length;
  const residual = m.wiener?.residual ?? false;
  if (stems + (residual ? 1 : 0) < 2) throw new InvalidRequestError(`model ${m.id} has one stem: Wiener filtering needs its residual option`);
  return { iterations, softmask: m.wiener?.softmask ?? false, residual, blockFrames: m.wiener?.blockFrames ?? m.framesPerSplit };
}
