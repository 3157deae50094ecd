/**
 * The model contract (`models/<id>/model.json`): everything the engine needs to run a model
 * without guessing. Validated on load so a bad manifest fails with the field it got wrong.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelLoadError } from '../core/errors.js';
import type { HighBandPolicy } from '../engine/types.js';
import type { StftSettings } from '../engine/stft.js';
import { pffftSupports } from '../engine/pffft.js';

export interface ModelFile {
  /** Relative to the folder the files live in. */
  path: string;
  sha256?: string;
  /** Size in bytes, recorded when the file is fetched. */
  bytes?: number;
  /** Input tensor name. */
  input: string;
  /** Stem name -> output tensor name, for the stems this file estimates. */
  outputs: Record<string, string>;
}

export interface ModelManifest {
  id: string;
  family: string;
  description?: string;
  stems: string[];
  /** The stem that receives what the model's bins do not cover (policy `residual`). */
  residualStem: string;
  files: ModelFile[];
  sampleRate: number;
  stft: StftSettings;
  bins: number;
  framesPerSplit: number;
  highBand: HighBandPolicy;
  licence: string;
  source: string;
  /** Family `mdx` (UVR MDX-Net): how the secondary stem is formed, and the optional denoise pass. */
  mdx?: MdxSettings;
  /** Family `demucs` (HTDemucs): the segment and the bag's per-stem weights. */
  demucs?: DemucsSettings;
  /** Measured speed, for the time guard: audio seconds per second per core (see layers/jobs/limits.ts). */
  realtimePerCore?: number;
  /** Measured peak memory of a separation, MB, where the model's activations dwarf its file (Demucs); for the memory guard. */
  peakMemoryMb?: number;
  /**
   * Where the files come from when they are not next to model.json: a script under the shared
   * folder (STEMS_SHARED_DIR) that unpacks them and prints their folder.
   */
  filesFrom?: { sharedUnpack: string };
  /** Multichannel Wiener filtering: what quality "best" runs, and which quality is the default. */
  wiener?: WienerDefaults;
}

export interface WienerDefaults {
  /** EM iterations of quality "best" (default 1). */
  iterations: number;
  softmask: boolean;
  residual: boolean;
  /** Frames filtered together (default: framesPerSplit). */
  blockFrames?: number;
  /** Quality when the request names none (default "fast"). */
  defaultQuality: 'fast' | 'best';
}

export interface MdxSettings {
  /** secondary = input - compensate x primary (UVR's `compensate`; 1 when unknown). */
  compensate: number;
  /** Run the model on x and -x and average (UVR's denoise); doubles the cost. */
  denoise: boolean;
}

export interface DemucsSettings {
  /** Samples per segment the network takes (int(segment x samplerate): 343980 for the official models). */
  segmentSamples: number;
  /** Per file (network of the bag), one weight per stem (upstream BagOfModels.weights). */
  weights: number[][];
  /**
   * Tensor names: inputs mix [1, 2, L] and spec [1, 4, bins, frames]; outputs freq
   * [1, S, 4, bins, frames] and time [1, S, 2, L]. Absent: by position, in that order (sevagh's
   * exports name only the first input and output).
   */
  io?: DemucsTensorNames;
}

export interface DemucsTensorNames { mix: string; spec: string; freq: string; time: string }

function fail(where: string, msg: string): never {
  throw new ModelLoadError(`invalid model manifest ${where}: ${msg}`);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function posInt(o: Record<string, unknown>, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(where, `${key} must be a positive integer`);
  return v;
}

function str(o: Record<string, unknown>, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') fail(where, `${key} must be a non-empty string`);
  return v;
}

export function parseManifest(raw: unknown, where: string): ModelManifest {
  if (!isObj(raw)) fail(where, 'not a JSON object');
  const id = str(raw, 'id', where);
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(id)) fail(where, `id "${id}" must be lowercase letters, digits, . _ -`);
  const family = str(raw, 'family', where);
  const stems = raw.stems;
  if (!Array.isArray(stems) || stems.length === 0 || !stems.every((s) => typeof s === 'string' && /^[a-z0-9_-]+$/.test(s))) {
    fail(where, 'stems must be a non-empty list of lowercase names');
  }
  if (new Set(stems).size !== stems.length) fail(where, 'stems must be unique');
  const residualStem = typeof raw.residualStem === 'string' ? raw.residualStem : stems[stems.length - 1];
  if (!stems.includes(residualStem)) fail(where, `residualStem "${residualStem}" is not one of the stems`);
  if (!Array.isArray(raw.files) || raw.files.length === 0) fail(where, 'files must be a non-empty list');
  const covered = new Set<string>();
  const files: ModelFile[] = raw.files.map((f: unknown, i: number) => {
    const w = `${where} files[${i}]`;
    if (!isObj(f)) fail(w, 'not an object');
    const p = str(f, 'path', w);
    if (path.isAbsolute(p) || p.split(/[\\/]/).includes('..')) fail(w, 'path must stay inside the model folder');
    if (f.sha256 !== undefined && (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256))) fail(w, 'sha256 must be 64 hex digits');
    // a demucs network estimates every stem at once: no per-stem outputs (its tensor names are in `demucs.io`)
    const outputs: Record<string, unknown> = family === 'demucs' && f.outputs === undefined ? {} : isObj(f.outputs) ? f.outputs : {};
    if (family === 'demucs' ? Object.keys(outputs).length > 0 : Object.keys(outputs).length === 0) {
      fail(w, family === 'demucs' ? 'a demucs file has no per-stem outputs (leave "outputs" empty)' : 'outputs must map stem names to output tensor names');
    }
    for (const [stem, out] of Object.entries(outputs)) {
      if (!stems.includes(stem)) fail(w, `output for unknown stem "${stem}"`);
      if (covered.has(stem)) fail(w, `stem "${stem}" is estimated by two files`);
      if (typeof out !== 'string' || !out) fail(w, `output name for "${stem}" must be a string`);
      covered.add(stem);
    }
    if (f.bytes !== undefined && (typeof f.bytes !== 'number' || !Number.isInteger(f.bytes) || f.bytes <= 0)) fail(w, 'bytes must be a positive integer');
    return {
      path: p, sha256: f.sha256 as string | undefined, input: str(f, 'input', w), outputs: outputs as Record<string, string>,
      ...(f.bytes !== undefined ? { bytes: f.bytes as number } : {}),
    };
  });
  // an mdx model estimates its primary stem; the secondary (the residual stem) is input minus primary
  const isMdx = family === 'mdx';
  if (isMdx && (stems.length !== 2 || files.length !== 1 || covered.size !== 1 || covered.has(residualStem))) {
    fail(where, 'an mdx model has two stems and one file whose one output is the primary stem (the other is the residual)');
  }
  const isDemucs = family === 'demucs';
  const missing = isDemucs ? [] : stems.filter((s) => !covered.has(s) && !(isMdx && s === residualStem));
  if (missing.length) fail(where, `no file estimates stem(s) ${missing.join(', ')}`);
  if (!isObj(raw.stft)) fail(where, 'stft must be an object');
  const nFft = posInt(raw.stft, 'nFft', where);
  const hop = posInt(raw.stft, 'hop', where);
  if (!pffftSupports(nFft)) fail(where, 'stft.nFft must be 32 x 2^a 3^b 5^c (what the engine\'s FFT transforms)');
  if (raw.stft.window !== 'hann-periodic') fail(where, 'stft.window must be "hann-periodic"');
  // mask models: the engine pads the input itself (and its grid needs hop | nFft); mdx models: frames centred with reflect padding
  if (!isMdx && nFft % hop !== 0) fail(where, 'stft.hop must divide stft.nFft');
  if (raw.stft.center !== (isMdx || isDemucs)) fail(where, `stft.center must be ${isMdx || isDemucs} for family ${family}`);
  if (isDemucs && hop * 4 !== nFft) fail(where, 'a demucs model has stft.hop = stft.nFft / 4');
  const bins = posInt(raw, 'bins', where);
  if (bins > nFft / 2 + 1) fail(where, `bins must be at most nFft/2+1 = ${nFft / 2 + 1}`);
  const highBand = raw.highBand ?? 'residual';
  if (highBand !== 'zero' && highBand !== 'residual') fail(where, 'highBand must be "zero" or "residual"');
  let mdx: MdxSettings | undefined;
  if (isMdx) {
    const m = raw.mdx ?? {};
    if (!isObj(m)) fail(where, 'mdx must be an object');
    const compensate = m.compensate ?? 1;
    if (typeof compensate !== 'number' || !(compensate > 0 && compensate < 10)) fail(where, 'mdx.compensate must be a number in (0, 10)');
    if (m.denoise !== undefined && typeof m.denoise !== 'boolean') fail(where, 'mdx.denoise must be true or false');
    mdx = { compensate, denoise: m.denoise === true };
  }
  const demucs = isDemucs ? parseDemucs(raw.demucs, stems.length, files.length, where) : undefined;
  if (demucs) {
    if (bins !== nFft / 2) fail(where, `a demucs model has bins = stft.nFft / 2 (${nFft / 2})`);
    if (raw.framesPerSplit !== Math.ceil(demucs.segmentSamples / hop)) fail(where, `framesPerSplit must be ceil(demucs.segmentSamples / hop) = ${Math.ceil(demucs.segmentSamples / hop)}`);
  }
  let realtimePerCore: number | undefined;
  if (raw.realtimePerCore !== undefined) {
    if (typeof raw.realtimePerCore !== 'number' || !(raw.realtimePerCore > 0)) fail(where, 'realtimePerCore must be a positive number');
    realtimePerCore = raw.realtimePerCore;
  }
  let peakMemoryMb: number | undefined;
  if (raw.peakMemoryMb !== undefined) {
    if (typeof raw.peakMemoryMb !== 'number' || !(raw.peakMemoryMb > 0)) fail(where, 'peakMemoryMb must be a positive number');
    peakMemoryMb = raw.peakMemoryMb;
  }
  let filesFrom: ModelManifest['filesFrom'];
  if (raw.filesFrom !== undefined) {
    if (!isObj(raw.filesFrom)) fail(where, 'filesFrom must be an object');
    filesFrom = { sharedUnpack: str(raw.filesFrom, 'sharedUnpack', where) };
  }
  const framesPerSplit = posInt(raw, 'framesPerSplit', where);
  let wiener: WienerDefaults | undefined;
  if (raw.wiener !== undefined) {
    const w = raw.wiener;
    if (!isObj(w)) fail(where, 'wiener must be an object');
    const iterations = w.iterations ?? 1;
    if (typeof iterations !== 'number' || !Number.isInteger(iterations) || iterations < 1 || iterations > 10) fail(where, 'wiener.iterations must be an integer from 1 to 10');
    for (const k of ['softmask', 'residual'] as const) if (w[k] !== undefined && typeof w[k] !== 'boolean') fail(where, `wiener.${k} must be true or false`);
    const blockFrames = w.blockFrames === undefined ? undefined : posInt(w, 'blockFrames', where);
    if (blockFrames !== undefined && blockFrames > framesPerSplit) fail(where, 'wiener.blockFrames must be at most framesPerSplit');
    const defaultQuality = w.defaultQuality ?? 'fast';
    if (defaultQuality !== 'fast' && defaultQuality !== 'best') fail(where, 'wiener.defaultQuality must be "fast" or "best"');
    wiener = { iterations, softmask: w.softmask === true, residual: w.residual === true, blockFrames, defaultQuality };
  }
  return {
    id, family, stems, residualStem, files,
    description: typeof raw.description === 'string' ? raw.description : undefined,
    sampleRate: posInt(raw, 'sampleRate', where),
    stft: { nFft, hop, window: 'hann-periodic', center: isMdx || isDemucs },
    bins,
    framesPerSplit,
    highBand,
    licence: str(raw, 'licence', where),
    source: str(raw, 'source', where),
    filesFrom,
    wiener,
    ...(mdx ? { mdx } : {}),
    ...(demucs ? { demucs } : {}),
    ...(realtimePerCore ? { realtimePerCore } : {}),
    ...(peakMemoryMb ? { peakMemoryMb } : {}),
  };
}

function parseDemucs(d: unknown, stems: number, files: number, where: string): DemucsSettings {
  if (!isObj(d)) fail(where, 'a demucs model needs a "demucs" object (segmentSamples, weights)');
  const segmentSamples = posInt(d, 'segmentSamples', where);
  const weights = d.weights ?? [Array(stems).fill(1)];
  if (!Array.isArray(weights) || weights.length !== files) fail(where, `demucs.weights must have one row per file (${files})`);
  for (const row of weights) {
    if (!Array.isArray(row) || row.length !== stems || !row.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
      fail(where, `each row of demucs.weights must hold ${stems} non-negative numbers (one per stem)`);
    }
  }
  for (let s = 0; s < stems; s++) if (!(weights.reduce((t: number, row: number[]) => t + row[s], 0) > 0)) fail(where, `demucs.weights give stem ${s} no weight`);
  if (d.io === undefined) return { segmentSamples, weights: weights as number[][] };
  const io = d.io;
  if (!isObj(io)) fail(where, 'demucs.io must be an object');
  const name = (k: string) => {
    const v = io[k];
    if (typeof v !== 'string' || v === '') fail(where, `demucs.io.${k} must be a tensor name`);
    return v;
  };
  return { segmentSamples, weights: weights as number[][], io: { mix: name('mix'), spec: name('spec'), freq: name('freq'), time: name('time') } };
}

export async function readManifest(dir: string): Promise<ModelManifest> {
  const file = path.join(dir, 'model.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ModelLoadError(`no model.json in ${dir}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelLoadError(`${file} is not valid JSON`, { cause: err });
  }
  return parseManifest(json, file);
}
