/**
 * What models there are and which can run on this machine: the registry's entries (bundled,
 * downloadable, shared-folder ones) plus any model installed by hand, each with its stems, size,
 * licence, measured quality and speed, and a one-line summary. `stem-splitter models` prints it;
 * the page offers only the runnable ones.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { PageModel } from '../contracts/api.js';
import { modelsInstallDir } from '../core/env.js';
import { readManifest, type ModelManifest } from './manifest.js';
import { convertCommand, defaultModelId, externalFilesProblem, locateModel, readRegistry, registryManifest, type RegistryEntry } from './registry.js';

export type ModelState = 'installed' | 'not installed' | 'needs the shared folder';

export interface CatalogEntry {
  id: string;
  default: boolean;
  state: ModelState;
  /** True when a job naming this model can run here now. */
  runnable: boolean;
  stems: string[];
  /** Installed size, or the download size when not installed. */
  sizeMb?: number;
  licence?: string;
  /** Short measured-quality phrase from the registry. */
  quality?: string;
  /** Measured speed, times real time (registry; see the model's card for the machine). */
  speed?: number;
  /** One line: stems, quality, speed. */
  summary: string;
  /** What to do to make it runnable, when it is not. */
  hint?: string;
}

/** "4 stems (vocals, drums, bass, other) · modest quality … · ~24× real time" */
export function summaryLine(stems: readonly string[], quality: string | undefined, speed: number | undefined): string {
  return [
    `${stems.length} stems (${stems.join(', ')})`,
    quality,
    speed ? `~${speed}× real time` : 'speed not measured',
  ].filter(Boolean).join(' · ');
}

function filesSizeMb(dir: string, m: ModelManifest): number | undefined {
  try {
    return m.files.reduce((mb, f) => mb + statSync(path.join(dir, f.path)).size / 1e6, 0);
  } catch {
    return undefined;
  }
}

/** A model as the page lists it. */
export function pageModelOf(e: CatalogEntry): PageModel {
  return { id: e.id, description: e.summary, stems: e.stems, default: e.default, speed: e.speed };
}

/** A registry model as the page offers it, installed here or not (the models an image bakes in). */
export function registryPageModel(id: string, defaultId: string): PageModel {
  const entry = readRegistry().models.find((m) => m.id === id);
  const m = registryManifest(id);
  return { id, description: summaryLine(m.stems, entry?.quality, entry?.speed), stems: m.stems, default: id === defaultId, speed: entry?.speed };
}

async function describe(id: string, entry: RegistryEntry | undefined): Promise<CatalogEntry | undefined> {
  const isDefault = id === defaultModelId();
  let dir: string | undefined;
  try {
    dir = locateModel(id);
  } catch {
    // not installed (downloadable), or missing
  }
  const manifest = dir ? await readManifest(dir).catch(() => undefined) : entry?.manifest ? registryManifest(id) : undefined;
  if (!manifest) return undefined;
  const base = {
    id, default: isDefault, stems: manifest.stems, licence: manifest.licence, quality: entry?.quality, speed: entry?.speed,
    summary: summaryLine(manifest.stems, entry?.quality, entry?.speed),
  };
  if (dir && manifest.filesFrom) {
    const problem = externalFilesProblem(manifest);
    if (problem) return { ...base, state: 'needs the shared folder', runnable: false, hint: problem };
    return { ...base, state: 'installed', runnable: true, sizeMb: entry?.sizeMb };
  }
  if (dir) {
    const sizeMb = filesSizeMb(dir, manifest);
    if (sizeMb === undefined) return { ...base, state: 'not installed', runnable: false, hint: `files missing from ${dir}` };
    return { ...base, state: 'installed', runnable: true, sizeMb };
  }
  const hint = entry?.convert && !entry.downloads ? convertCommand(entry) : `npm run models:fetch -- ${id}`;
  return { ...base, state: 'not installed', runnable: false, sizeMb: entry?.sizeMb, hint };
}

/** Every model this machine knows of: the registry's, then any installed by hand. */
export async function modelCatalog(): Promise<CatalogEntry[]> {
  const entries = readRegistry().models;
  const ids = entries.map((e) => e.id);
  const installed = modelsInstallDir();
  if (existsSync(installed)) {
    for (const d of readdirSync(installed).sort()) {
      if (!ids.includes(d) && existsSync(path.join(installed, d, 'model.json'))) ids.push(d);
    }
  }
  const out: CatalogEntry[] = [];
  for (const id of ids) {
    const e = await describe(id, entries.find((x) => x.id === id)).catch(() => undefined);
    if (e) out.push(e);
  }
  return out;
}
