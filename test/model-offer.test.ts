/** Models whose files come from the shared folder (`*-arch`) are offered only where it is present. */
import { afterEach, describe, expect, it } from 'vitest';
import { ENV } from '../layers/core/env.js';
import { validateOptions } from '../layers/jobs/validate.js';
import { availableModels } from '../local/page-config.js';
import { tmpDir } from '../dev/models.js';
import { sharedOrSkipReason } from '../dev/reference.js';

const saved = process.env[ENV.sharedDir];
afterEach(() => {
  if (saved === undefined) delete process.env[ENV.sharedDir];
  else process.env[ENV.sharedDir] = saved;
});

describe('models offered to the page and the API', () => {
  it('leaves out the *-arch models when the shared folder is missing, and the API refuses them', async () => {
    process.env[ENV.sharedDir] = tmpDir('no-shared');
    const ids = (await availableModels()).map((m) => m.id);
    expect(ids).toContain('default');
    expect(ids.filter((id) => id.endsWith('-arch'))).toEqual([]);
    await expect(validateOptions({ model: 'mdx-arch' })).rejects.toThrow(/mdx-arch is not available here/);
  });

  it.skipIf(!sharedOrSkipReason().dir)('offers them, with their stems, where the shared folder is present', async () => {
    const models = await availableModels();
    expect(models.find((m) => m.id === 'mdx-arch')?.stems).toEqual(['vocals', 'instrumental']);
    expect((await validateOptions({ model: 'mdx-arch', stems: ['vocals'] })).stems).toEqual(['vocals']);
  });
});
