/** Command-line options and their parsing: pure functions, tested table-driven. */
import { parseArgs } from 'node:util';
import { parseFormat, type OutputFormat } from '../layers/audio/encode.js';
import { InvalidRequestError } from '../layers/core/errors.js';
import { MAX_SHIFTS } from '../layers/engine/hybrid-separator.js';
import type { FrameGrid } from '../layers/engine/separator.js';
import { parseIterations, parseQuality, type Quality } from '../layers/engine/quality.js';
import type { SampleRatePolicy } from '../layers/engine/separate-file.js';
import type { HighBandPolicy } from '../layers/engine/types.js';

export const USAGE = `usage:
  stem-splitter separate <files...> [options]
      --model <id|path>         registry id, folder with model.json, or a UVR .onnx file (default: the default model)
      --stems <a,b,...>         stems to write (default: all of the model's)
      --format <f>              wav16 | wav24 | wav32f | flac | mp3 (default wav16)
      --sample-rate <p>         model | source (default model)
      --quality <q>             fast | best: the model's masks, or multichannel Wiener filtering
                                (slower, cleaner stems; default: the model's, usually fast)
      --iterations <n>          Wiener iterations, 0-10 (overrides the quality's; 0 = masks only)
      --out <dir>               output folder (default ./stems); one subfolder per input, named
                                after it (with its extension when two inputs share a name)
      --threads <n>             inference threads (default: all cores)
      --high-band <p>           zero | residual (default: the model's)
      --grid <g>                aligned | reference (default aligned)
      --overlap <f>             mdx (aligned grid) and demucs models: segment overlap in [0, 1) (default 0.25)
      --shifts <n>              demucs models: random time shifts averaged, 0-20 (default 0; n times slower)
      --seed <n>                demucs models: seed of the shifts (same seed, same output)
  stem-splitter submit <file> --api <url> [--out <dir>] [--model ...] [--stems ...] [--format ...] [--sample-rate ...] [--quality ...]
                                separate through a running API (local \`npm start\` or deployed)
  stem-splitter models          list models: installed or not, size, stems, quality, speed, licence`;

export interface SeparateCommand {
  command: 'separate';
  files: string[];
  model?: string;
  stems?: string[];
  format: OutputFormat;
  sampleRate: SampleRatePolicy;
  out: string;
  threads?: number;
  highBand?: HighBandPolicy;
  grid: FrameGrid;
  quality?: Quality;
  iterations?: number;
  overlap?: number;
  shifts?: number;
  seed?: number;
}

export interface SubmitCommand {
  command: 'submit';
  file: string;
  api: string;
  out: string;
  model?: string;
  stems?: string[];
  format: OutputFormat;
  sampleRate: SampleRatePolicy;
  quality?: Quality;
  iterations?: number;
}

export type Command = SeparateCommand | SubmitCommand | { command: 'models' } | { command: 'help' };

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw new InvalidRequestError(`--${name} must be one of ${allowed.join(', ')} (got "${value}")`);
  return value as T;
}

export function parseCommand(argv: string[]): Command {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      model: { type: 'string' }, stems: { type: 'string' }, format: { type: 'string' },
      'sample-rate': { type: 'string' }, out: { type: 'string' }, threads: { type: 'string' },
      'high-band': { type: 'string' }, grid: { type: 'string' }, overlap: { type: 'string' }, api: { type: 'string' },
      quality: { type: 'string' }, iterations: { type: 'string' }, shifts: { type: 'string' }, seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') return { command: 'help' };
  const stems = values.stems?.split(',').map((s) => s.trim()).filter(Boolean);
  const format = parseFormat(values.format ?? 'wav16');
  const quality = parseQuality(values.quality, '--quality');
  const iterations = parseIterations(values.iterations, '--iterations');
  if (command === 'models') return { command: 'models' };
  if (command === 'separate') {
    if (rest.length === 0) throw new InvalidRequestError('separate needs at least one input file');
    let overlap: number | undefined;
    if (values.overlap !== undefined) {
      overlap = Number(values.overlap);
      if (!(overlap >= 0 && overlap < 1)) throw new InvalidRequestError(`--overlap must be a number in [0, 1) (got "${values.overlap}")`);
    }
    const integer = (name: 'shifts' | 'seed', max: number): number | undefined => {
      const v = values[name];
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > max) throw new InvalidRequestError(`--${name} must be an integer from 0 to ${max} (got "${v}")`);
      return n;
    };
    const shifts = integer('shifts', MAX_SHIFTS);
    const seed = integer('seed', 2 ** 32 - 1);
    let threads: number | undefined;
    if (values.threads !== undefined) {
      threads = Number(values.threads);
      if (!Number.isInteger(threads) || threads < 1) throw new InvalidRequestError(`--threads must be a positive integer (got "${values.threads}")`);
    }
    return {
      command, files: rest, model: values.model, stems, format, threads, quality, iterations,
      sampleRate: oneOf('sample-rate', values['sample-rate'], ['model', 'source'] as const, 'model'),
      out: values.out ?? 'stems',
      highBand: values['high-band'] === undefined ? undefined : oneOf('high-band', values['high-band'], ['zero', 'residual'] as const, 'residual'),
      grid: oneOf('grid', values.grid, ['aligned', 'reference'] as const, 'aligned'),
      ...(overlap !== undefined ? { overlap } : {}),
      ...(shifts !== undefined ? { shifts } : {}),
      ...(seed !== undefined ? { seed } : {}),
    };
  }
  if (command === 'submit') {
    if (rest.length !== 1) throw new InvalidRequestError('submit takes exactly one file');
    if (!values.api) throw new InvalidRequestError('submit needs --api <url>');
    if (!URL.canParse(values.api) || !/^https?:$/.test(new URL(values.api).protocol)) {
      throw new InvalidRequestError(`--api must be an http(s) URL such as http://127.0.0.1:3000 (got "${values.api}")`);
    }
    return {
      command, file: rest[0], api: values.api, out: values.out ?? 'stems', model: values.model, stems, format, quality, iterations,
      sampleRate: oneOf('sample-rate', values['sample-rate'], ['model', 'source'] as const, 'model'),
    };
  }
  throw new InvalidRequestError(`unknown command "${command}"`);
}
