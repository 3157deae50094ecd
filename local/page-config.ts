/** The page's config.json in local mode: same origin API, limits, and the models this machine can run. */
import type { PageConfig, PageModel } from '../layers/contracts/api.js';
import { maxDurationSeconds, maxUploadBytes } from '../layers/core/env.js';
import { modelCatalog, pageModelOf } from '../layers/models/catalog.js';

/** Only models a job can use now: a model that is not installed, or that needs the shared folder
 * where there is none, is not offered (it would fail after the upload). */
export async function availableModels(): Promise<PageModel[]> {
  const out = (await modelCatalog()).filter((m) => m.runnable).map(pageModelOf);
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
