/**
 * Model id or folder -> ready EngineModel, memoised per process so every warm call reuses
 * the same ONNX sessions.
 */
import { defaultModelId, resolveModel, type ResolvedModel } from '../../models/registry.js';
import { threadCount } from '../core/env.js';
import { createModel } from './families/index.js';
import type { EngineModel } from './types.js';

export interface LoadedModel { model: EngineModel; resolved: ResolvedModel }

const loaded = new Map<string, Promise<LoadedModel>>();

export function loadModel(idOrPath: string = defaultModelId(), threads: number = threadCount()): Promise<LoadedModel> {
  const key = `${idOrPath}#${threads}`;
  let p = loaded.get(key);
  if (!p) {
    p = (async () => {
      const resolved = await resolveModel(idOrPath);
      return { model: await createModel(resolved.manifest, resolved.filesDir, threads), resolved };
    })();
    p.catch(() => loaded.delete(key));
    loaded.set(key, p);
  }
  return p;
}
