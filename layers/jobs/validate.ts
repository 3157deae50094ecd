/** Validation of what clients send: every field checked, every error specific. */
import { parseFormat } from '../audio/encode.js';
import { InvalidRequestError, ModelNotFoundError } from '../core/errors.js';
import { readManifest } from '../../models/manifest.js';
import { defaultModelId, filesAvailable, locateModel } from '../../models/registry.js';
import type { JobOptions } from './job.js';

/** What browsers and scripts may upload (the presigned policy pins the one given). */
export const AUDIO_CONTENT_TYPES = [
  'audio/mpeg', 'audio/mp3', 'audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave', 'audio/flac', 'audio/x-flac',
  'audio/ogg', 'audio/opus', 'audio/webm', 'audio/mp4', 'audio/x-m4a', 'audio/aac', 'audio/aiff', 'audio/x-aiff',
] as const;

const MODEL_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Stems per model folder, read once (manifests do not change while a process runs). */
const stemsByDir = new Map<string, Promise<string[]>>();
function modelStems(model: string): Promise<string[]> {
  const dir = locateModel(model);
  let p = stemsByDir.get(dir);
  if (!p) {
    p = readManifest(dir).then((m) => {
      if (!filesAvailable(m)) throw new ModelNotFoundError(`model ${m.id} is not available here (its files come from the shared folder, which this machine lacks)`);
      return m.stems;
    });
    p.catch(() => stemsByDir.delete(dir));
    stemsByDir.set(dir, p);
  }
  return p;
}

export function validateFilename(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidRequestError('filename is required');
  if (value.length > 200) throw new InvalidRequestError('filename must be at most 200 characters');
  // eslint-disable-next-line no-control-regex
  if (/[\/\\\u0000-\u001f\u007f]/.test(value) || value === '.' || value === '..') {
    throw new InvalidRequestError('filename must not contain slashes or control characters');
  }
  return value;
}

export function validateContentType(value: unknown): string {
  const v = typeof value === 'string' ? value.toLowerCase().split(';')[0].trim() : '';
  if (!(AUDIO_CONTENT_TYPES as readonly string[]).includes(v)) {
    throw new InvalidRequestError(`contentType must be an audio type (${AUDIO_CONTENT_TYPES.join(', ')}), got "${String(value)}"`);
  }
  return v;
}

export function validateSize(value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new InvalidRequestError('bytes must be a positive integer');
  if (value > max) throw new InvalidRequestError(`file is ${value} bytes; the maximum is ${max} bytes`);
  return value;
}

/** Options from a request body or from upload metadata; model and stems checked against the manifest. */
export async function validateOptions(raw: Record<string, unknown> = {}): Promise<JobOptions> {
  const model = raw.model === undefined || raw.model === '' ? defaultModelId() : raw.model;
  if (typeof model !== 'string' || !MODEL_ID.test(model)) throw new InvalidRequestError('model must be a model id (lowercase letters, digits, . _ -)');
  let stemsKnown: string[];
  try {
    stemsKnown = await modelStems(model);
  } catch (err) {
    if (err instanceof ModelNotFoundError) throw new InvalidRequestError(err.message, { cause: err });
    throw err;
  }
  let stems: string[] = [];
  if (raw.stems !== undefined && raw.stems !== '') {
    const list = typeof raw.stems === 'string' ? raw.stems.split(',') : raw.stems;
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) throw new InvalidRequestError('stems must be a list of stem names');
    stems = [...new Set(list.map((s: string) => s.trim()).filter(Boolean))];
    const unknown = stems.filter((s) => !stemsKnown.includes(s));
    if (unknown.length) throw new InvalidRequestError(`model ${model} has no stem(s) ${unknown.join(', ')} (it has ${stemsKnown.join(', ')})`);
  }
  const format = parseFormat(typeof raw.format === 'string' && raw.format ? raw.format : 'wav16');
  const sampleRate = raw.sampleRate ?? 'model';
  if (sampleRate !== 'model' && sampleRate !== 'source') throw new InvalidRequestError('sampleRate must be "model" or "source"');
  return { model, stems, format, sampleRate };
}
