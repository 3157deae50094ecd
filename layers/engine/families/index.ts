/**
 * One module per model family behind the SeparationModel interface; this factory picks it.
 * Adding a family (UVR MDX-Net, HTDemucs) means adding a module and a line here.
 */
import type { ModelManifest } from '../../models/manifest.js';
import { ModelLoadError } from '../../core/errors.js';
import type { SeparationModel } from '../types.js';
import { createSpleeterModel } from './spleeter.js';

type FamilyFactory = (m: ModelManifest, filesDir: string, threads: number) => Promise<SeparationModel>;

const FAMILIES: Record<string, FamilyFactory> = {
  spleeter: createSpleeterModel,
};

export function supportedFamilies(): string[] {
  return Object.keys(FAMILIES);
}

export function createModel(m: ModelManifest, filesDir: string, threads: number): Promise<SeparationModel> {
  const factory = FAMILIES[m.family];
  if (!factory) {
    throw new ModelLoadError(`model ${m.id}: family "${m.family}" is not supported (supported: ${supportedFamilies().join(', ')})`);
  }
  return factory(m, filesDir, threads);
}
