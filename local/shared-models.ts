/**
 * The project's shared folder (../shared: datasets, random-weight architecture models, the
 * reference separator) for development entry points only: local mode, the CLI, tests and
 * benchmarks. Never imported by a Lambda handler (test/bundles.test.ts checks).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheDir, ENV, readString } from '../layers/core/env.js';
import { ModelLoadError } from '../layers/core/errors.js';
import type { ModelManifest } from '../layers/models/manifest.js';
import { useExternalModelFiles } from '../layers/models/registry.js';

const exec = promisify(execFile);

/** `../shared` next to the repo unless STEMS_SHARED_DIR says otherwise. */
export function sharedDir(env: Record<string, string | undefined> = process.env): string {
  return readString(ENV.sharedDir, path.resolve(import.meta.dirname, '..', '..', 'shared'), env);
}

/** Runs a shared unpack script (idempotent, checksummed) into the cache; returns the folder it filled. */
export async function unpackSharedModel(script: string, id: string): Promise<string> {
  const full = path.join(sharedDir(), script);
  if (!existsSync(full)) throw new ModelLoadError(`model ${id} needs the shared folder: ${full} not found (set ${ENV.sharedDir})`);
  const out = path.join(cacheDir(), id);
  const { stdout } = await exec('bash', [full, out]);
  return stdout.trim().split('\n').pop() || out;
}

/** Lets models whose manifest says `filesFrom.sharedUnpack` load from the shared folder. */
export function enableSharedModels(): void {
  useExternalModelFiles({
    filesDir: (m: ModelManifest) => unpackSharedModel(m.filesFrom!.sharedUnpack, m.id),
    problem: (m: ModelManifest) => {
      const script = path.join(sharedDir(), m.filesFrom!.sharedUnpack);
      return existsSync(script) ? undefined : `${script} not found; set ${ENV.sharedDir}`;
    },
  });
}
