/**
 * Installs a published model: download each file (streamed to disk, hashed on the way), check
 * the recorded sha256 and the ONNX I/O contract, then move the whole folder into place with one
 * rename. A failed or interrupted fetch leaves no half-written model behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { modelsInstallDir } from '../core/env.js';
import { ModelLoadError, ModelNotFoundError } from '../core/errors.js';
import { fetchUrl } from '../core/fetch-url.js';
import { parseManifest, type ModelManifest } from './manifest.js';
import { reconcileWithTable } from './mdx-params.js';
import { readOnnxContract, type OnnxContract } from './onnx-proto.js';
import { convertCommand, MODELS_ROOT, readRegistry, type RegistryEntry } from './registry.js';

export interface FetchProgress { file: string; received: number; total: number | undefined }

export interface FetchOptions {
  installDir?: string;
  onProgress?: (p: FetchProgress) => void;
}

/** Checks a downloaded file against what the manifest says it is. Exported for tests. */
export function verifyContract(m: ModelManifest, fileIndex: number, bytes: Uint8Array): void {
  const f = m.files[fileIndex];
  let c: OnnxContract;
  try {
    c = readOnnxContract(bytes);
  } catch (err) {
    throw new ModelLoadError(`${f.path} is not a valid ONNX file`, { cause: err });
  }
  if (m.family === 'demucs') {
    verifyDemucsContract(m, f.path, c);
    return;
  }
  const input = c.inputs.find((i) => i.name === f.input);
  if (!input) throw new ModelLoadError(`${f.path}: expected input "${f.input}", found ${c.inputs.map((i) => i.name).join(', ') || 'none'}`);
  // spleeter: [2, splits, frames, bins] magnitudes; mdx: [batch, 4, dim_f, dim_t] complex spectrogram
  const mdx = m.family === 'mdx';
  const want = mdx ? [undefined, 4, m.bins, m.framesPerSplit] : [2, undefined, m.framesPerSplit, m.bins];
  if (input.shape.length !== 4 || want.some((d, i) => d !== undefined && typeof input.shape[i] === 'number' && input.shape[i] !== d)) {
    const shape = mdx ? `[batch, 4, ${m.bins}, ${m.framesPerSplit}]` : `[2, splits, ${m.framesPerSplit}, ${m.bins}]`;
    throw new ModelLoadError(`${f.path}: input shape [${input.shape.join(', ')}] does not match ${shape}`);
  }
  for (const out of Object.values(f.outputs)) {
    if (!c.outputs.some((o) => o.name === out)) throw new ModelLoadError(`${f.path}: expected output "${out}"`);
  }
  const type = c.metadata.model_type;
  const expectedType = mdx ? 'UVR' : m.family;
  if (type !== undefined && type !== expectedType) {
    throw new ModelLoadError(`${f.path}: metadata model_type "${type}" is not the manifest's family "${m.family}" (${expectedType})`);
  }
  // sherpa-onnx's copies write n_fft = 2 x dim_f, which is wrong for some files: the manifest's n_fft wins, dim_f/dim_t must agree
  if (mdx && type === 'UVR' && (Number(c.metadata.dim_f) !== m.bins || Number(c.metadata.dim_t) !== m.framesPerSplit)) {
    throw new ModelLoadError(`${f.path}: metadata dim_f ${c.metadata.dim_f}, dim_t ${c.metadata.dim_t} do not match the manifest's ${m.bins}, ${m.framesPerSplit}`);
  }
}

/** A demucs network: mix [1, 2, L] and spec [1, 4, bins, frames] in, freq and time out (by name, or by position). */
function verifyDemucsContract(m: ModelManifest, file: string, c: OnnxContract): void {
  const d = m.demucs!;
  if (c.inputs.length !== 2 || c.outputs.length !== 2) {
    throw new ModelLoadError(`${file}: a demucs network has two inputs and two outputs (found ${c.inputs.length} and ${c.outputs.length})`);
  }
  const byName = (list: OnnxContract['inputs'], name: string | undefined, at: number, what: string) => {
    const t = name === undefined ? list[at] : list.find((x) => x.name === name);
    if (!t) throw new ModelLoadError(`${file}: expected ${what} "${name}", found ${list.map((x) => x.name).join(', ')}`);
    return t;
  };
  const want: [OnnxContract['inputs'][number], number[]][] = [
    [byName(c.inputs, d.io?.mix, 0, 'input'), [1, 2, d.segmentSamples]],
    [byName(c.inputs, d.io?.spec, 1, 'input'), [1, 4, m.bins, m.framesPerSplit]],
    [byName(c.outputs, d.io?.freq, 0, 'output'), [1, m.stems.length, 4, m.bins, m.framesPerSplit]],
    [byName(c.outputs, d.io?.time, 1, 'output'), [1, m.stems.length, 2, d.segmentSamples]],
  ];
  for (const [t, shape] of want) {
    // dimensions the file leaves symbolic are accepted
    if (t.shape.length !== shape.length || shape.some((n, i) => typeof t.shape[i] === 'number' && t.shape[i] !== n)) {
      throw new ModelLoadError(`${file}: ${t.name} has shape [${t.shape.join(', ')}], the manifest says [${shape.join(', ')}]`);
    }
  }
}

async function download(url: string, dest: string, label: string, onProgress?: FetchOptions['onProgress']): Promise<string> {
  const res = await fetchUrl(url, { redirect: 'follow' });
  if (!res.ok || !res.body) throw new ModelLoadError(`download of ${url} failed: HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length')) || undefined;
  const hash = createHash('sha256');
  let received = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      received += chunk.length;
      onProgress?.({ file: label, received, total });
      cb(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(res.body as never), meter, createWriteStream(dest));
  if (total !== undefined && received !== total) throw new ModelLoadError(`download of ${url} ended after ${received} of ${total} bytes`);
  return hash.digest('hex');
}

export async function fetchEntry(entry: RegistryEntry, manifestJson: unknown, opts: FetchOptions = {}): Promise<string> {
  if (!entry.downloads?.length && entry.convert) {
    throw new ModelNotFoundError(`model "${entry.id}" has no download in this project's contract: convert it with \`${convertCommand(entry)}\``);
  }
  if (!entry.downloads?.length) throw new ModelNotFoundError(`model "${entry.id}" has nothing to download (it is bundled)`);
  const base = parseManifest({ ...(manifestJson as object), id: entry.id }, `manifest of ${entry.id}`);
  const root = opts.installDir ?? modelsInstallDir();
  await mkdir(root, { recursive: true });
  const staging = path.join(root, `.${entry.id}.partial-${randomBytes(4).toString('hex')}`);
  const final = path.join(root, entry.id);
  await mkdir(staging);
  try {
    let manifest: ModelManifest = base;
    const files = [...base.files];
    for (const d of entry.downloads) {
      const i = files.findIndex((f) => f.path === d.path);
      if (i < 0) throw new ModelLoadError(`registry entry ${entry.id} downloads ${d.path}, which its manifest does not list`);
      const dest = path.join(staging, d.path);
      const sha = await download(d.url, dest, d.path, opts.onProgress);
      if (d.sha256 && d.sha256 !== sha) {
        throw new ModelLoadError(`${d.path}: sha256 ${sha} does not match the registry's ${d.sha256}`);
      }
      const bytes = await readFile(dest);
      verifyContract(base, i, bytes);
      files[i] = { ...files[i], sha256: sha, bytes: bytes.length };
    }
    manifest = { ...manifest, files };
    // a UVR file that UVR's table knows: its parameters must agree, and the table names its stems
    if (manifest.family === 'mdx') manifest = reconcileWithTable(manifest, path.join(staging, manifest.files[0].path));
    await writeFile(path.join(staging, 'model.json'), JSON.stringify(manifest, null, 2));
    if (existsSync(final)) {
      const old = `${final}.old-${randomBytes(4).toString('hex')}`;
      await rename(final, old);
      await rename(staging, final);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(staging, final);
    }
    return final;
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

export async function fetchModel(id: string, opts: FetchOptions = {}): Promise<string> {
  const entry = readRegistry().models.find((m) => m.id === id);
  if (!entry) {
    throw new ModelNotFoundError(`unknown model "${id}" (known: ${readRegistry().models.map((m) => m.id).join(', ')})`);
  }
  if (!entry.manifest) throw new ModelNotFoundError(`model "${id}" is bundled with the repo; nothing to fetch`);
  const manifestJson = JSON.parse(await readFile(path.join(MODELS_ROOT, 'manifests', entry.manifest), 'utf8'));
  return fetchEntry(entry, manifestJson, opts);
}
