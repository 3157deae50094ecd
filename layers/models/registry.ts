/**
 * Where models come from: bundled folders in this repo (`models/<id>/model.json`), models that
 * `npm run models:fetch` installed, any folder holding a model.json, or a bare UVR MDX-Net
 * `.onnx` file (parameters from its metadata or UVR's table, see mdx-params.ts).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV, modelsInstallDir, readOptional } from '../core/env.js';
import { ModelLoadError, ModelNotFoundError } from '../core/errors.js';
import { parseManifest, readManifest, type ModelManifest } from './manifest.js';
import { manifestForOnnxFile } from './mdx-params.js';

/** The repo's models/ data folder, or where the Lambda image put it (bundled code has no source tree). */
export const MODELS_ROOT = readOptional(ENV.bundledModelsDir) ?? fileURLToPath(new URL('../../models/', import.meta.url));

export interface RegistryDownload { path: string; url: string; sha256?: string }
export interface RegistryEntry {
  id: string;
  description: string;
  bundled?: boolean;
  manifest?: string;
  downloads?: RegistryDownload[];
  /** Short measured-quality phrase (what the page and `stem-splitter models` show). */
  quality?: string;
  /** Measured speed, times real time on the project's 2-core machine (bench or model card). */
  speed?: number;
  /** Approximate size of its files in MB, for models not installed here. */
  sizeMb?: number;
  /** Models with no download in the contract: the command that makes them (run where torch and the upstream code are). */
  convert?: string;
}
export interface Registry { default: string; models: RegistryEntry[] }

let registry: Registry | undefined;

/** The registry ships with the code: read once per process. */
export function readRegistry(): Registry {
  registry ??= JSON.parse(readFileSync(path.join(MODELS_ROOT, 'registry.json'), 'utf8')) as Registry;
  return registry;
}

export function defaultModelId(): string {
  return readOptional(ENV.defaultModel) ?? readRegistry().default;
}

/** A registry model's manifest, installed or not: what an image build or the page offers. */
export function registryManifest(id: string): ModelManifest {
  const entry = readRegistry().models.find((m) => m.id === id);
  if (!entry) throw new ModelNotFoundError(`unknown model "${id}" (known: ${readRegistry().models.map((m) => m.id).join(', ')})`);
  const file = entry.manifest ? path.join(MODELS_ROOT, 'manifests', entry.manifest) : path.join(MODELS_ROOT, id, 'model.json');
  const m = parseManifest({ ...JSON.parse(readFileSync(file, 'utf8')), id }, file);
  return { ...m, description: m.description ?? entry.description };
}


export interface ResolvedModel {
  manifest: ModelManifest;
  /** Folder holding model.json. */
  dir: string;
  /** Folder holding the model files. */
  filesDir: string;
}

/** Finds the folder of a model given an id or a path to a folder with model.json. */
export function locateModel(idOrPath: string): string {
  if (idOrPath.includes('/') || idOrPath.startsWith('.')) {
    const dir = path.resolve(idOrPath);
    if (!existsSync(path.join(dir, 'model.json'))) throw new ModelNotFoundError(`no model.json in ${dir}`);
    return dir;
  }
  for (const dir of [path.join(MODELS_ROOT, idOrPath), path.join(modelsInstallDir(), idOrPath)]) {
    if (existsSync(path.join(dir, 'model.json'))) return dir;
  }
  const entry = readRegistry().models.find((m) => m.id === idOrPath);
  if (entry?.bundled) {
    throw new ModelNotFoundError(`bundled model "${idOrPath}" is missing from ${path.join(MODELS_ROOT, idOrPath)}`);
  }
  if (entry?.downloads) {
    throw new ModelNotFoundError(`model "${idOrPath}" is not installed: run \`npm run models:fetch -- ${idOrPath}\``);
  }
  if (entry?.convert) {
    throw new ModelNotFoundError(`model "${idOrPath}" is not installed: convert it with \`${convertCommand(entry)}\``);
  }
  const known = readRegistry().models.map((m) => m.id).join(', ');
  throw new ModelNotFoundError(`unknown model "${idOrPath}" (known: ${known}; or give a folder holding model.json)`);
}

/** The converter command of a registry entry, writing into this machine's models folder. */
export function convertCommand(entry: RegistryEntry): string {
  return `${entry.convert} ${path.join(modelsInstallDir(), entry.id)}`;
}

/**
 * Where a manifest's `filesFrom` files come from. Only development entry points (local mode,
 * CLI, tests, benchmarks) install a provider (local/shared-models.ts), so the Lambda bundle
 * carries no shared-folder code and refuses such models with a clear error.
 */
export interface ExternalFilesProvider {
  /** The folder holding the model's files (unpacked on first use). */
  filesDir(m: ModelManifest): Promise<string>;
  /** Why the files cannot be had here (e.g. no shared folder), or undefined when they can. */
  problem(m: ModelManifest): string | undefined;
}
let externalFiles: ExternalFilesProvider | undefined;

export function useExternalModelFiles(provider: ExternalFilesProvider): void {
  externalFiles = provider;
}

/** Why a manifest's `filesFrom` files cannot be had here, or undefined when they can. */
export function externalFilesProblem(m: ModelManifest): string | undefined {
  return externalFiles ? externalFiles.problem(m) : 'this installation does not use the shared folder';
}

function filesDirOf(m: ModelManifest, dir: string): Promise<string> | string {
  if (!m.filesFrom) return dir;
  const problem = externalFilesProblem(m);
  if (problem !== undefined || !externalFiles) throw new ModelLoadError(`model ${m.id} needs the shared folder: ${problem ?? 'no provider for its files'}`);
  return externalFiles.filesDir(m);
}

/**
 * Whether a model's files can be had on this machine: a model whose files come from the shared
 * folder (the `*-arch` checks) only where that folder is present. The page and the API offer
 * only such models.
 */
export function filesAvailable(m: ModelManifest): boolean {
  return !m.filesFrom || externalFilesProblem(m) === undefined;
}

const isOnnxPath = (p: string) => p.toLowerCase().endsWith('.onnx');

export async function resolveModel(idOrPath: string): Promise<ResolvedModel> {
  if (isOnnxPath(idOrPath)) {
    const file = path.resolve(idOrPath);
    if (!existsSync(file) || !statSync(file).isFile()) throw new ModelNotFoundError(`no model file ${file}`);
    return { manifest: manifestForOnnxFile(file), dir: path.dirname(file), filesDir: path.dirname(file) };
  }
  const dir = locateModel(idOrPath);
  const manifest = await readManifest(dir);
  const filesDir = await filesDirOf(manifest, dir);
  for (const f of manifest.files) {
    if (!existsSync(path.join(filesDir, f.path))) {
      throw new ModelLoadError(`model ${manifest.id}: file ${f.path} missing from ${filesDir}`);
    }
  }
  return { manifest, dir, filesDir };
}

/** The manifest of a model id, folder or bare .onnx file, without loading or unpacking anything. */
export async function readModelManifest(idOrPath: string): Promise<ModelManifest> {
  if (isOnnxPath(idOrPath)) {
    const file = path.resolve(idOrPath);
    if (!existsSync(file) || !statSync(file).isFile()) throw new ModelNotFoundError(`no model file ${file}`);
    return manifestForOnnxFile(file);
  }
  return readManifest(locateModel(idOrPath));
}

/** Total size of a model's files in MB (for memory projections); 0 when it cannot be told. */
export function modelSizeMb(idOrPath: string): number {
  try {
    if (isOnnxPath(idOrPath)) return statSync(idOrPath).size / 1e6;
    const dir = locateModel(idOrPath);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as { files: { path: string }[]; filesFrom?: unknown };
    if (manifest.filesFrom) return 80; // unpacked elsewhere; the shared architecture models are 2 x 39 MB
    return manifest.files.reduce((mb, f) => mb + statSync(path.join(dir, f.path)).size / 1e6, 0);
  } catch {
    return 0;
  }
}
