/** The page's config.json in local mode: same origin API, limits, and the models this machine has. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { maxDurationSeconds, modelsInstallDir, readPositiveNumber, ENV } from '../layers/core/env.js';
import { readManifest } from '../models/manifest.js';
import { defaultModelId, filesAvailable, locateModel, readRegistry } from '../models/registry.js';

export interface PageModel { id: string; description: string; stems: string[]; default: boolean }

export async function availableModels(): Promise<PageModel[]> {
  const ids = new Set(readRegistry().models.map((m) => m.id));
  const installed = modelsInstallDir();
  if (existsSync(installed)) for (const d of readdirSync(installed)) if (existsSync(path.join(installed, d, 'model.json'))) ids.add(d);
  const out: PageModel[] = [];
  for (const id of ids) {
    try {
      const m = await readManifest(locateModel(id));
      if (!filesAvailable(m)) continue;
      out.push({ id, description: m.description ?? '', stems: m.stems, default: id === defaultModelId() });
    } catch {
      // not available here (not fetched, or its shared files are missing)
    }
  }
  return out.sort((a, b) => Number(b.default) - Number(a.default));
}

export async function pageConfig() {
  return {
    apiUrl: '',
    maxUploadBytes: readPositiveNumber(ENV.maxUploadBytes, 200 * 1024 * 1024),
    maxDurationSeconds: maxDurationSeconds(),
    models: await availableModels(),
  };
}
