/** The page's config.json in local mode: same origin API, limits, and the models this machine has. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { PageConfig, PageModel } from '../layers/contracts/api.js';
import { maxDurationSeconds, maxUploadBytes, modelsInstallDir } from '../layers/core/env.js';
import { readManifest } from '../layers/models/manifest.js';
import { defaultModelId, locateModel, pageModel, readRegistry } from '../layers/models/registry.js';


export async function availableModels(): Promise<PageModel[]> {
  const ids = new Set(readRegistry().models.map((m) => m.id));
  const installed = modelsInstallDir();
  if (existsSync(installed)) for (const d of readdirSync(installed)) if (existsSync(path.join(installed, d, 'model.json'))) ids.add(d);
  const out: PageModel[] = [];
  for (const id of ids) {
    try {
      out.push(pageModel(await readManifest(locateModel(id)), defaultModelId()));
    } catch {
      // not available here (not fetched, or its shared files are missing)
    }
  }
  return out.sort((a, b) => Number(b.default) - Number(a.default));
}

export async function pageConfig(): Promise<PageConfig> {
  return {
    apiUrl: '',
    maxUploadBytes: maxUploadBytes(),
    maxDurationSeconds: maxDurationSeconds(),
    models: await availableModels(),
  };
}
