/**
 * One module per model family behind the engine's model interfaces (types.ts); this factory picks
 * it. Adding a family means adding a module and a line here.
 */
import type { ModelManifest } from '../../models/manifest.js';
import { ModelLoadError } from '../../core/errors.js';
import type { EngineModel } from '../types.js';
import { createDemucsModel } from './demucs.js';
import { createMdxModel } from './mdx.js';
import { createSpleeterModel } from './spleeter.js';

type FamilyFactory = (m: ModelManifest, filesDir: string, threads: number) => Promise<EngineModel>;

const FAMILIES: Record<string, FamilyFactory> = {
  spleeter: createSpleeterModel,
  mdx: createMdxModel,
  demucs: createDemucsModel,
};

export function supportedFamilies(): string[] {
  return Object.keys(FAMILIES);
}

export function createModel(m: ModelManifest, filesDir: string, threads: number): Promise<EngineModel> {
  const factory = FAMILIES[m.family];
  if (!factory) {
    throw new ModelLoadError(`model ${m.id}: family "${m.family}" is not supported (supported: ${supportedFamilies().join(', ')})`);
  }
  return factory(m, filesDir, threads);
}
