/**
 * Tests that need something a fresh clone may lack (../shared, Chromium) skip with the reason on a
 * developer's machine; under CI=true a missing prerequisite fails the run instead of hiding tests.
 */
import { sharedOrSkipReason } from '../../dev/reference.js';

export function hasPrerequisite(ok: boolean, reason: string, env: Record<string, string | undefined> = process.env): boolean {
  if (ok) return true;
  if (env.CI === 'true' || env.CI === '1') throw new Error(`missing prerequisite under CI: ${reason}`);
  console.warn(`${reason}: tests skipped`);
  return false;
}

/** The shared folder for a test file: skipped without it locally, a failure under CI=true. */
export function sharedForTests(): string | undefined {
  const { dir, reason } = sharedOrSkipReason();
  return hasPrerequisite(dir !== undefined, reason ?? '') ? dir : undefined;
}
