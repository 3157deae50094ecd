/** The page's config.json in local mode: same origin API, limits, and the models this machine can run. */
import { maxDurationSeconds, readPositiveNumber, ENV } from '../layers/core/env.js';
import { modelCatalog } from '../models/catalog.js';

export interface PageModel { id: string; description: string; stems: string[]; default: boolean; speed?: number }

/** Only models a job can use now: a model that is not installed, or that needs the shared folder
 * where there is none, is not offered (it would fail after the upload). */
export async function availableModels(): Promise<PageModel[]> {
  const out = (await modelCatalog()).filter((m) => m.runnable)
    .map((m) => ({ id: m.id, description: m.summary, stems: m.stems, default: m.default, speed: m.speed }));
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
