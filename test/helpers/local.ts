/** Starts the local stack on ephemeral ports with a small test model installed as `tiny`. */
import { cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { StaticSite } from '../../local/http-api.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { tmpDir, writeGainModel } from './models.js';

export async function startTestStack(opts: { concurrency?: number; site?: StaticSite } = {}): Promise<LocalStack> {
  const models = tmpDir('models');
  const src = writeGainModel({ id: 'tiny', gains: { vocals: 2, accompaniment: 1 }, residualStem: 'accompaniment', highBand: 'residual' });
  mkdirSync(path.join(models, 'tiny'));
  cpSync(src, path.join(models, 'tiny'), { recursive: true });
  return startLocalStack({
    port: 0,
    dataDir: tmpDir('local-data'),
    concurrency: opts.concurrency ?? 1,
    retryDelayMs: 100,
    env: { STEMS_MODELS_DIR: models, STEMS_DEFAULT_MODEL: 'tiny', STEMS_THREADS: '2' },
    site: opts.site,
  });
}
