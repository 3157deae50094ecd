/**
 * The Lambda bundles carry only what runs in AWS: no local mode (s3rver, the HTTP adapter, the
 * EMF file store), no shared-folder unpacking, no test or benchmark code.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type BundleInputs, bundleInputs, FUNCTIONS } from '../infra/image/bundle.js';
import { tmpDir } from '../dev/models.js';

let inputs: BundleInputs;
beforeAll(async () => {
  inputs = await bundleInputs(tmpDir('bundles'));
});

describe.each(FUNCTIONS)('the %s bundle', (fn) => {
  it('contains its handler and the shared layers', () => {
    expect(inputs[fn]).toContain(`functions/${fn}/handler.ts`);
    expect(inputs[fn].some((f) => f.startsWith('layers/'))).toBe(true);
  });

  it('contains no local-mode, shared-folder, test or benchmark code', () => {
    const forbidden = inputs[fn].filter((f) => /^(local|test|bench|cli|web)\/|node_modules\/(s3rver|busboy|koa)\/|shared-models/.test(f));
    expect(forbidden).toEqual([]);
  });
});
