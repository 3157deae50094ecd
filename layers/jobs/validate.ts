/** Validation of what clients send: every field checked, every error specific. */
import { parseFormat } from '../audio/encode.js';
import { OPTION_KEYS } from '../contracts/api.js';
import { AUDIO_CONTENT_TYPES } from '../contracts/media.js';
import { InvalidRequestError, ModelNotFoundError } from '../core/errors.js';
import { memoizeAsync } from '../core/memoize.js';
import { parseIterations, parseQuality } from '../engine/quality.js';
import { readManifest } from '../models/manifest.js';
import { defaultModelId, filesAvailable, locateModel } from '../models/registry.js';
import type { JobOptions } from './job.js';


const MODEL_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Stems per model folder, read once (manifests do not change while a process runs). */
const stemsOfDir = memoizeAsync((dir: string) => readManifest(dir).then((m) => {
  if (!filesAvailable(m)) throw new ModelNotFoundError(`model ${m.id} is not available here (its files come from the shared folder, which this machine lacks)`);
  return m.stems;
}), (dir) => dir);
const modelStems = (model: string): Promise<string[]> => stemsOfDir(locateModel(model));

export function validateFilename(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidRequestError('filename is required');
  if (value.length > 200) throw new InvalidRequestError('filename must be at most 200 characters');
  // a lone surrogate cannot be encoded as UTF-8: the key, the S3 POST and the download would disagree
  if (/[\uD800-\uDFFF]/u.test(value)) throw new InvalidRequestError('filename must be well-formed Unicode (it has a lone surrogate)');
  // control (incl. U+0085), format (bidi overrides such as U+202E, zero-width) and line/paragraph separators
  if (/[/\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(value) || value === '.' || value === '..') {
    throw new InvalidRequestError('filename must not contain slashes or control characters (Unicode control, format or line/paragraph separator characters)');
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
  if (value === 0) throw new InvalidRequestError('the file is empty');
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new InvalidRequestError('bytes must be a positive integer');
  if (value > max) throw new InvalidRequestError(`file is ${value} bytes; the maximum is ${max} bytes`);
  return value;
}

/**
 * Options from a request body or from upload metadata; model and stems checked against the
 * manifest. Keys outside the contract's OPTION_KEYS are a typo we refuse rather than ignore.
 */
export async function validateOptions(raw: Record<string, unknown> = {}): Promise<JobOptions> {
  const unknownKeys = Object.keys(raw).filter((k) => !(OPTION_KEYS as readonly string[]).includes(k));
  if (unknownKeys.length) {
    throw new InvalidRequestError(`unknown option(s) ${unknownKeys.map((k) => JSON.stringify(k)).join(', ')} (known: ${OPTION_KEYS.join(', ')})`);
  }
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
    // an explicit empty list is a mistake (every stem unticked), not a request for all of them
    if (stems.length === 0) throw new InvalidRequestError('stems is empty: name at least one stem, or leave stems out for all of them');
    const unknown = stems.filter((s) => !stemsKnown.includes(s));
    if (unknown.length) throw new InvalidRequestError(`model ${model} has no stem(s) ${unknown.join(', ')} (it has ${stemsKnown.join(', ')})`);
  }
  const format = parseFormat(typeof raw.format === 'string' && raw.format ? raw.format : 'wav16');
  const sampleRate = raw.sampleRate ?? 'model';
  if (sampleRate !== 'model' && sampleRate !== 'source') throw new InvalidRequestError('sampleRate must be "model" or "source"');
  const quality = parseQuality(raw.quality);
  const iterations = parseIterations(raw.iterations);
  return { model, stems, format, sampleRate, ...(quality && { quality }), ...(iterations !== undefined && { iterations }) };
}
