/**
 * Model id or folder -> ready EngineModel, memoised per process so every warm call reuses
 * the same ONNX sessions.
 */
import { defaultModelId, resolveModel, type ResolvedModel } from '../models/registry.js';
import { threadCount } from '../core/env.js';
import { memoizeAsync } from '../core/memoize.js';
import { createModel } from './families/index.js';
import type { EngineModel } from './types.js';

export interface LoadedModel { model: EngineModel; resolved: ResolvedModel }

const load = memoizeAsync(async (idOrPath: string, threads: number): Promise<LoadedModel> => {
  const resolved = await resolveModel(idOrPath);
  return { model: await createModel(resolved.manifest, resolved.filesDir, threads), resolved };
}, (idOrPath, threads) => `${idOrPath}#${threads}`);

export function loadModel(idOrPath: string = defaultModelId(), threads: number = threadCount()): Promise<LoadedModel> {
  return load(idOrPath, threads);
}
