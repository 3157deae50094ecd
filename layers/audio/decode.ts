/**
 * Streams a file through ffmpeg as float32 stereo at the engine's rate. The decoded song is never
 * held whole: chunks arrive in a reused buffer and the consumer must finish with one before
 * asking for the next (the async iterator's natural backpressure).
 */
import { spawn } from 'node:child_process';
import { NoAudioSamplesError, NotAudioError, TooLongError, TruncatedAudioError } from '../core/errors.js';
import { ffmpegBinary } from './ffmpeg.js';
import type { SourceInfo } from './probe.js';
import { sandboxedInput } from './sandbox.js';

export interface DecodeOptions {
  sampleRate: number;
  /** Abort once more than this many seconds have been decoded (containers can lie). */
  maxSeconds: number;
  /** Frames per yielded chunk. */
  chunkFrames?: number;
  /** Source info from probeAudio: enables the truncation check. */
  source?: SourceInfo;
  name?: string;
}

export interface DecodeResult {
  frames: number;
}

/**
 * Yields interleaved stereo Float32Array chunks (views of one reused buffer; the last may be
 * shorter). Mono is duplicated, more channels are downmixed by ffmpeg's standard matrix, other
 * rates resampled.
 */
export async function* decodeAudio(file: string, opts: DecodeOptions): AsyncGenerator<Float32Array, DecodeResult> {
  const chunkFrames = opts.chunkFrames ?? 65536;
  const name = opts.name ?? 'input';
  // mono is copied to both channels at full level (ffmpeg's default upmix attenuates it by 3 dB)
  const channels = opts.source?.channels === 1 ? ['-af', 'pan=stereo|c0=c0|c1=c0'] : ['-ac', '2'];
  // sandboxed, and pinned to the demuxer the probe accepted
  const args = ['-hide_banner', '-nostdin', '-v', 'error', ...sandboxedInput(file, opts.source?.format), '-map', '0:a:0', '-vn',
    ...channels, '-ar', String(opts.sampleRate), '-f', 'f32le', '-c:a', 'pcm_f32le', 'pipe:1'];
  const proc = spawn(ffmpegBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (c: string) => {
    if (stderr.length < 16 * 1024) stderr += c;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code) => resolve(code));
  });

  const buf = new Float32Array(chunkFrames * 2);
  const bytes = new Uint8Array(buf.buffer);
  const pipe = readAhead(proc.stdout, 2 * bytes.length);
  let fill = 0; // bytes in `bytes`
  let frames = 0;
  const maxFrames = Math.ceil(opts.maxSeconds * opts.sampleRate);
  let finished = false;
  try {
    for await (const chunk of pipe) {
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(chunk.length - off, bytes.length - fill);
        bytes.set(chunk.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === bytes.length) {
          frames += chunkFrames;
          if (frames > maxFrames) throw tooLong(name, opts.maxSeconds);
          yield buf;
          fill = 0;
        }
      }
    }
    const tailFrames = Math.floor(fill / 8);
    frames += tailFrames;
    if (frames > maxFrames) throw tooLong(name, opts.maxSeconds);
    const code = await exited;
    if (code !== 0 && frames === 0) {
      // ffmpeg's own words (paths, addresses) go to the logs through `cause`, not to the client
      throw new NotAudioError(`${name} could not be decoded`, { cause: new Error(stderr || `ffmpeg exited with ${code}`) });
    }
    if (frames === 0) throw new NoAudioSamplesError(`${name} contains no audio samples`);
    checkComplete(frames, opts, stderr, code, name);
    if (tailFrames > 0) yield buf.subarray(0, tailFrames * 2);
    finished = true;
    return { frames };
  } finally {
    if (!finished && proc.exitCode === null) proc.kill('SIGKILL');
  }
}

/**
 * The decoder's output, read ahead up to `limit` bytes: ffmpeg keeps decoding while the engine
 * works on the previous chunk, instead of stalling on a full pipe and refilling it in 64 KiB
 * steps when the next chunk is asked for.
 */
async function* readAhead(stream: NodeJS.ReadableStream, limit: number): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let wake: (() => void) | undefined;
  const signal = () => { const w = wake; wake = undefined; w?.(); };
  stream.on('data', (c: Buffer) => {
    queue.push(c);
    queued += c.length;
    if (queued >= limit) stream.pause();
    signal();
  });
  // a read error ends the stream here; the exit code and the frame count report it
  stream.on('end', () => { ended = true; signal(); });
  stream.on('error', () => { ended = true; signal(); });
  for (;;) {
    const c = queue.shift();
    if (c) {
      queued -= c.length;
      if (queued < limit && stream.isPaused()) stream.resume();
      yield c;
    } else if (ended) {
      return;
    } else {
      await new Promise<void>((r) => { wake = r; });
    }
  }
}

function tooLong(name: string, maxSeconds: number): TooLongError {
  return new TooLongError(`${name} is longer than the maximum of ${maxSeconds} s`);
}

/** A file that stops well short of what its header promises, or that ffmpeg chokes on midway. */
function checkComplete(frames: number, opts: DecodeOptions, stderr: string, code: number | null, name: string): void {
  const decodedSeconds = frames / opts.sampleRate;
  const declared = opts.source?.declaredSeconds ?? opts.source?.durationSeconds;
  const short = declared !== undefined && decodedSeconds < declared * 0.97 - 0.25;
  if (short || code !== 0) {
    const detail = short
      ? `decoded ${decodedSeconds.toFixed(2)} s of the ${declared!.toFixed(2)} s its header declares`
      : `the decoder stopped with an error after ${decodedSeconds.toFixed(2)} s`;
    throw new TruncatedAudioError(`${name} is truncated or corrupt: ${detail}`, { cause: new Error(stderr || `ffmpeg exited with ${code}`) });
  }
}

/**
 * decodeAudio from frame `start` on, sample-exact: the stream is decoded from its beginning and the
 * first `start` frames are dropped (a container seek lands on packet boundaries and, for MP3 and
 * AAC, on decoder priming that differs from a decode from the start).
 */
export async function* decodeFrom(file: string, start: number, opts: DecodeOptions): AsyncGenerator<Float32Array> {
  let skip = Math.max(0, start);
  for await (const chunk of decodeAudio(file, opts)) {
    const frames = chunk.length >> 1;
    if (skip >= frames) {
      skip -= frames;
      continue;
    }
    yield skip > 0 ? chunk.subarray(2 * skip) : chunk;
    skip = 0;
  }
}

/** Frames the decoder produces for the whole file at opts.sampleRate (what a single run separates). */
export async function countDecodedFrames(file: string, opts: DecodeOptions): Promise<number> {
  let frames = 0;
  for await (const chunk of decodeAudio(file, opts)) frames += chunk.length >> 1;
  return frames;
}
