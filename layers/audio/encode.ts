/**
 * Writes one stem: WAV at the engine's rate in-process (wav-writer.ts; ffmpeg would only
 * reformat the samples), everything else through ffmpeg. Samples go in as float32 stereo; no
 * renormalisation happens (stems keep their level relative to the mix). Integer formats clamp to
 * [-1, 1] and count what they clamped, so a caller can report clipping instead of hiding it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { InvalidRequestError, StemSplitterError } from '../core/errors.js';
import type { OutputFormatId } from '../contracts/media.js';
import { ffmpegBinary } from './ffmpeg.js';
import { WavWriter, type WavSampleFormat } from './wav-writer.js';

export { DEFAULT_FORMAT, OUTPUT_FORMATS } from '../contracts/media.js';
export type OutputFormat = OutputFormatId;

/** How ffmpeg writes each format; `integer` formats clamp to [-1, 1]. */
const ENCODERS: Record<OutputFormat, { integer: boolean; args: readonly string[]; wav?: WavSampleFormat }> = {
  wav16: { integer: true, args: ['-c:a', 'pcm_s16le', '-f', 'wav'], wav: 's16' },
  wav24: { integer: true, args: ['-c:a', 'pcm_s24le', '-f', 'wav'], wav: 's24' },
  wav32f: { integer: false, args: ['-c:a', 'pcm_f32le', '-f', 'wav'], wav: 'f32' },
  flac: { integer: true, args: ['-c:a', 'flac', '-sample_fmt', 's32', '-bits_per_raw_sample', '24', '-f', 'flac'] },
  mp3: { integer: true, args: ['-c:a', 'libmp3lame', '-b:a', '320k', '-f', 'mp3'] },
};

export function parseFormat(value: string): OutputFormat {
  if (!Object.hasOwn(ENCODERS, value)) {
    throw new InvalidRequestError(`unknown output format "${value}" (one of ${Object.keys(ENCODERS).join(', ')})`);
  }
  return value as OutputFormat;
}

export interface EncoderOptions {
  format: OutputFormat;
  inputRate: number;
  /** Resample to this rate on the way out (e.g. the source's); default: inputRate. */
  outputRate?: number;
  /**
   * Exact length of the output in frames at outputRate (e.g. the source's own length): the
   * resampler's rounding would otherwise leave a frame more or less.
   */
  outputFrames?: number;
}

export interface EncodeResult { frames: number; clippedSamples: number }

export class StemEncoder {
  private readonly backend: FfmpegEncoder | InProcessWav;
  private readonly clamp: boolean;
  private readonly copy: Float32Array[] = [];
  private frames = 0;
  private clipped = 0;

  constructor(readonly file: string, opts: EncoderOptions) {
    const fmt = ENCODERS[opts.format];
    this.clamp = fmt.integer;
    const resamples = (opts.outputRate ?? opts.inputRate) !== opts.inputRate || opts.outputFrames !== undefined;
    this.backend = fmt.wav && !resamples ? new InProcessWav(file, fmt.wav, opts.inputRate) : new FfmpegEncoder(file, opts, fmt.args);
  }

  /** Interleaved stereo; the caller may reuse its buffer once this resolves. */
  async write(samples: Float32Array): Promise<void> {
    let data = samples;
    if (this.clamp) {
      // clamped into a buffer of our own (the caller's samples stay as they are)
      const c = this.copy[0]?.length >= samples.length ? this.copy[0] : (this.copy[0] = new Float32Array(samples.length));
      data = c.subarray(0, samples.length);
      for (let i = 0; i < samples.length; i++) {
        const v = samples[i];
        if (v > 1) { data[i] = 1; this.clipped++; } else if (v < -1) { data[i] = -1; this.clipped++; } else data[i] = v;
      }
    }
    this.frames += samples.length >> 1;
    await this.backend.write(data);
  }

  async finish(): Promise<EncodeResult> {
    await this.backend.finish();
    return { frames: this.frames, clippedSamples: this.clipped };
  }

  abort(): void {
    this.backend.abort();
  }
}

class InProcessWav {
  private readonly writer: Promise<WavWriter>;

  constructor(file: string, format: WavSampleFormat, rate: number) {
    this.writer = WavWriter.create(file, format, rate);
    this.writer.catch(() => {}); // reported by the next write or finish
  }

  async write(samples: Float32Array): Promise<void> {
    await (await this.writer).write(samples);
  }

  async finish(): Promise<void> {
    await (await this.writer).finish();
  }

  abort(): void {
    this.writer.then((w) => w.abort(), () => {});
  }
}

/** One ffmpeg process reading float32 stereo from a pipe. */
class FfmpegEncoder {
  private readonly proc: ChildProcess;
  private readonly done: Promise<void>;
  private stderr = '';

  constructor(file: string, opts: EncoderOptions, formatArgs: readonly string[]) {
    const args = ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'f32le', '-ar', String(opts.inputRate), '-ac', '2',
      '-protocol_whitelist', 'pipe', '-i', 'pipe:0', ...formatArgs];
    const rate = opts.outputRate ?? opts.inputRate;
    // resample inside the filter graph so the trim counts output frames (-ar would resample after it)
    if (opts.outputFrames !== undefined) {
      args.push('-af', `aresample=${rate},apad=whole_len=${opts.outputFrames},atrim=end_sample=${opts.outputFrames}`);
    } else if (rate !== opts.inputRate) {
      args.push('-ar', String(rate));
    }
    args.push(`file:${file}`); // a path, never another protocol's URL
    this.proc = spawn(ffmpegBinary(), args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (c: string) => {
      if (this.stderr.length < 8192) this.stderr += c;
    });
    this.proc.stdin!.on('error', () => {}); // reported through the exit code
    this.done = new Promise((resolve, reject) => {
      this.proc.on('error', reject);
      this.proc.on('close', (code) =>
        code === 0 ? resolve() : reject(new StemSplitterError(`encoding ${path.basename(file)} failed: ${this.stderr.trim() || `ffmpeg exited ${code}`}`)));
    });
    this.done.catch(() => {});
  }

  async write(samples: Float32Array): Promise<void> {
    // the pipe keeps the buffer until it is flushed: hand it a copy
    const copy = Buffer.from(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
    const stdin = this.proc.stdin!;
    if (!stdin.write(copy)) {
      await Promise.race([once(stdin, 'drain'), this.done]);
    }
  }

  async finish(): Promise<void> {
    this.proc.stdin!.end();
    await this.done;
  }

  abort(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}
