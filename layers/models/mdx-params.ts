/**
 * Parameters of a bare UVR MDX-Net .onnx file (no model.json), from, in this order:
 *   1. the metadata sherpa-onnx writes into its copies (model_type=UVR, n_fft, hop_length, dim_f, dim_t, ...);
 *   2. UVR's model-data table (uvr-mdx-model-data.json), keyed by the MD5 of the file's last
 *      10,000 x 1024 bytes: n_fft, dim_f, dim_t, compensate, primary stem.
 * A model.json, when there is one, comes before both (registry.ts reads it instead).
 * n_fft is never inferred from the tensor shape: published files pair dim_f 3072 with n_fft 7680
 * and 6144, and dim_f 2048 with 5120 and 6144.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { ModelLoadError } from '../core/errors.js';
import { parseManifest, type ModelManifest } from './manifest.js';
import { readOnnxContract, type OnnxContract } from './onnx-proto.js';
import { MODELS_ROOT } from './registry.js';

export interface UvrTableEntry {
  compensate: number;
  mdx_dim_f_set: number;
  /** log2 of dim_t. */
  mdx_dim_t_set: number;
  mdx_n_fft_scale_set: number;
  primary_stem: string;
  is_karaoke?: boolean;
}
export type UvrTable = Record<string, UvrTableEntry>;

/** How many trailing bytes UVR hashes (separate.py / python-audio-separator: f.seek(-10000 * 1024, 2)). */
const HASHED_TAIL = 10000 * 1024;
const HOP = 1024;

let table: UvrTable | undefined;

/** UVR's table as shipped with the code (source and commit inside the file). */
export function readUvrTable(): UvrTable {
  table ??= (JSON.parse(readFileSync(path.join(MODELS_ROOT, 'uvr-mdx-model-data.json'), 'utf8')) as { models: UvrTable }).models;
  return table;
}

/** UVR's model hash: MD5 of the last 10,000 x 1024 bytes, or of the whole file when it is smaller. */
export function uvrHash(file: string): string {
  const size = statSync(file).size;
  const n = Math.min(size, HASHED_TAIL);
  const buf = Buffer.alloc(n);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, n, size - n);
  } finally {
    closeSync(fd);
  }
  return createHash('md5').update(buf).digest('hex');
}

const OPPOSITE: Record<string, string> = { vocals: 'instrumental', instrumental: 'vocals', 'no-crowd': 'crowd', crowd: 'no-crowd' };

/** Stem names from UVR's primary_stem: [primary, secondary] (secondary = input - primary). */
export function stemNames(primaryStem: string, karaoke = false): [string, string] {
  const p = primaryStem.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  if (!p) throw new ModelLoadError(`primary stem "${primaryStem}" gives no usable stem name`);
  // karaoke models split lead vocals from the rest (backing vocals stay with the instrumental)
  if (karaoke && p === 'instrumental') return ['karaoke', 'lead-vocals'];
  if (karaoke && p === 'vocals') return ['lead-vocals', 'karaoke'];
  return [p, OPPOSITE[p] ?? (p.startsWith('no-') ? p.slice(3) : `no-${p}`)];
}

interface MdxParams { nFft: number; hop: number; dimF: number; dimT: number; sampleRate: number; compensate: number; stems: [string, string] }

const SHERPA_KEYS = ['n_fft', 'hop_length', 'dim_f', 'dim_t'] as const;

/** Parameters from sherpa-onnx metadata, or undefined when the file has none; throws when they are inconsistent. */
function fromMetadata(meta: Record<string, string>, where: string): Omit<MdxParams, 'compensate' | 'stems'> | undefined {
  if (meta.model_type === undefined) return undefined;
  if (meta.model_type !== 'UVR') throw new ModelLoadError(`${where}: metadata model_type is "${meta.model_type}", not "UVR"`);
  const missing = SHERPA_KEYS.filter((k) => !/^\d+$/.test(meta[k] ?? ''));
  if (missing.length) throw new ModelLoadError(`${where}: UVR metadata lacks ${missing.join(', ')}`);
  const num = (k: string) => Number(meta[k]);
  const bad: string[] = [];
  if (meta.window_type !== undefined && meta.window_type !== 'hann') bad.push(`window_type ${meta.window_type} (only hann)`);
  if (meta.win_length !== undefined && num('win_length') !== num('n_fft')) bad.push('win_length != n_fft');
  if (meta.center !== undefined && meta.center !== '1') bad.push('center != 1');
  if (meta.dim_c !== undefined && meta.dim_c !== '4') bad.push('dim_c != 4');
  if (meta.stems !== undefined && meta.stems !== '2') bad.push('stems != 2');
  if (bad.length) throw new ModelLoadError(`${where}: unsupported UVR metadata: ${bad.join('; ')}`);
  return { nFft: num('n_fft'), hop: num('hop_length'), dimF: num('dim_f'), dimT: num('dim_t'), sampleRate: meta.sample_rate ? num('sample_rate') : 44100 };
}

function fromTable(e: UvrTableEntry): MdxParams {
  return {
    nFft: e.mdx_n_fft_scale_set, hop: HOP, dimF: e.mdx_dim_f_set, dimT: 2 ** e.mdx_dim_t_set, sampleRate: 44100,
    compensate: e.compensate, stems: stemNames(e.primary_stem, e.is_karaoke === true),
  };
}

/** The single input and output of a UVR file, checked against [batch, 4, dim_f, dim_t]. */
function checkShape(c: OnnxContract, p: { dimF: number; dimT: number }, where: string): { input: string; output: string } {
  if (c.inputs.length !== 1 || c.outputs.length !== 1) {
    throw new ModelLoadError(`${where}: a UVR MDX-Net file has one input and one output (found ${c.inputs.length} and ${c.outputs.length})`);
  }
  for (const t of [c.inputs[0], c.outputs[0]]) {
    const want = [undefined, 4, p.dimF, p.dimT];
    if (t.shape.length !== 4 || want.some((d, i) => d !== undefined && typeof t.shape[i] === 'number' && t.shape[i] !== d)) {
      throw new ModelLoadError(`${where}: tensor "${t.name}" has shape [${t.shape.join(', ')}], expected [batch, 4, ${p.dimF}, ${p.dimT}]`);
    }
  }
  return { input: c.inputs[0].name, output: c.outputs[0].name };
}

/** A manifest for a bare .onnx file (see the order above); a clear error when neither source knows it. */
export function manifestForOnnxFile(file: string, uvrTable: UvrTable = readUvrTable()): ModelManifest {
  const where = path.basename(file);
  let contract: OnnxContract;
  try {
    contract = readOnnxContract(readFileSync(file));
  } catch (err) {
    throw new ModelLoadError(`${where} is not a readable ONNX file`, { cause: err });
  }
  const hash = uvrHash(file);
  const known = uvrTable[hash];
  const meta = fromMetadata(contract.metadata, where);
  let p: MdxParams;
  let source: string;
  if (meta) {
    // metadata first; the table may still supply what sherpa-onnx does not write (compensate, primary stem)
    p = { ...meta, compensate: known?.compensate ?? 1, stems: known ? fromTable(known).stems : ['primary', 'secondary'] };
    source = known ? `sherpa-onnx metadata; compensate and stems from UVR's table (hash ${hash})` : 'sherpa-onnx metadata';
  } else if (known) {
    p = fromTable(known);
    source = `UVR model-data table, hash ${hash}`;
  } else {
    throw new ModelLoadError(`${where}: cannot tell its MDX-Net parameters: it has no sherpa-onnx metadata (model_type=UVR, ${SHERPA_KEYS.join(', ')}) and its UVR hash ${hash} is not in UVR's model-data table; put a model.json next to it (see README, "Running UVR MDX-Net models")`);
  }
  const { input, output } = checkShape(contract, p, where);
  const id = path.basename(file, '.onnx').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '') || 'uvr-model';
  return parseManifest({
    id, family: 'mdx', description: `${path.basename(file)} (parameters from ${source})`,
    stems: p.stems, residualStem: p.stems[1],
    files: [{ path: path.basename(file), input, outputs: { [p.stems[0]]: output } }],
    sampleRate: p.sampleRate,
    stft: { nFft: p.nFft, hop: p.hop, window: 'hann-periodic', center: true },
    bins: p.dimF, framesPerSplit: p.dimT, highBand: 'zero',
    mdx: { compensate: p.compensate },
    licence: 'unknown (a file given by path)', source,
  }, where);
}

/**
 * After a download: the file must match its manifest's shape, and where UVR's table knows the file
 * its n_fft/dim_f/dim_t must agree (compensate and stem names are then taken from the table).
 */
export function reconcileWithTable(m: ModelManifest, file: string, uvrTable: UvrTable = readUvrTable()): ModelManifest {
  const known = uvrTable[uvrHash(file)];
  if (!known) return m;
  const t = fromTable(known);
  if (t.nFft !== m.stft.nFft || t.dimF !== m.bins || t.dimT !== m.framesPerSplit) {
    throw new ModelLoadError(`${path.basename(file)}: UVR's table says n_fft ${t.nFft}, dim_f ${t.dimF}, dim_t ${t.dimT}; the manifest says ${m.stft.nFft}, ${m.bins}, ${m.framesPerSplit}`);
  }
  const f = m.files[0];
  return { ...m, stems: t.stems, residualStem: t.stems[1], files: [{ ...f, outputs: { [t.stems[0]]: Object.values(f.outputs)[0] } }], mdx: { ...m.mdx!, compensate: t.compensate } };
}
