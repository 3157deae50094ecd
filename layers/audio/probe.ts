/**
 * Reads what a file holds (container, codec, rate, channels, duration) with `ffprobe -print_format
 * json`, sandboxed (layers/audio/sandbox.ts): a container outside the audio allowlist fails
 * NOT_AUDIO here, before anything is decoded. Then a demux-only counting pass (packets copied to
 * nowhere, no decoding: ~0.2 s for 25 minutes of MP3) measures the real length, so a header that
 * lies about the duration (an MP3 Xing header claiming 10 s of a 25-minute file) is caught before
 * the model loads.
 */
import { spawn } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { maxDurationSeconds } from '../core/env.js';
import { EmptyInputError, InvalidRequestError, NotAudioError } from '../core/errors.js';
import { ffmpegBinary, ffprobeBinary } from './ffmpeg.js';
import { allowedDemuxer, sandboxedInput } from './sandbox.js';

export interface SourceInfo {
  /** The demuxer (container) ffprobe found: one of sandbox.ts's INPUT_DEMUXERS. */
  format: string;
  codec: string;
  sampleRate: number;
  channels: number;
  /**
   * Seconds: the longer of what the container says and what the counting pass measured (a header
   * may under-declare; the packets do not lie). Undefined when neither could tell.
   */
  durationSeconds: number | undefined;
  /** What the counting pass measured; it stops a second past the limit, so at that value it is a lower bound. */
  countedSeconds?: number;
  /**
   * What the file's own header promises when it says more than ffmpeg reports (ffmpeg sizes a WAV
   * whose data chunk runs past the end of the file by what is there): evidence of truncation.
   */
  declaredSeconds?: number;
  /**
   * Exact length in frames at `sampleRate`, where the header states it (WAV data chunk, FLAC
   * STREAMINFO) and it agrees with ffmpeg's duration; lets outputs at the source's rate match it.
   */
  frames?: number;
  bytes: number;
}

export interface ProbeOptions {
  /** The counting pass stops a little past this (the job is refused anyway). @default STEMS_MAX_DURATION_S */
  maxSeconds?: number;
  /** Kills a probe or counting pass that runs longer (a decoder stuck on crafted input). */
  timeoutMs?: number;
}

interface FfprobeJson {
  streams?: { codec_type?: string; codec_name?: string; sample_rate?: string; channels?: number; duration?: string }[];
  format?: { format_name?: string; duration?: string };
}

const num = (s: string | undefined) => (s !== undefined && Number.isFinite(Number(s)) ? Number(s) : undefined);

/** Turns ffprobe's JSON into SourceInfo, refusing what is not an allowed audio container. Exported for tests. */
export function parseProbeJson(json: string, bytes: number, name = 'input'): SourceInfo {
  let parsed: FfprobeJson;
  try {
    parsed = JSON.parse(json) as FfprobeJson;
  } catch {
    throw new NotAudioError(`${name} is not an audio file we can read`);
  }
  const formatName = parsed.format?.format_name;
  if (!formatName) throw new NotAudioError(`${name} is not an audio file we can read`);
  const demuxer = allowedDemuxer(formatName);
  if (!demuxer) throw new NotAudioError(`${name} is not an audio file we can read (its format, ${formatName.split(',')[0]}, is not an audio container we accept)`);
  const audio = parsed.streams?.find((s) => s.codec_type === 'audio');
  const sampleRate = num(audio?.sample_rate);
  if (!audio || !sampleRate) throw new NotAudioError(`${name} contains no audio stream`);
  return {
    format: demuxer,
    codec: audio.codec_name ?? 'unknown',
    sampleRate,
    channels: audio.channels && audio.channels > 0 ? audio.channels : 2,
    durationSeconds: num(parsed.format?.duration) ?? num(audio.duration),
    bytes,
  };
}

export async function probeAudio(file: string, name = 'input', opts: ProbeOptions = {}): Promise<SourceInfo> {
  const size = await stat(file).then((s) => s.size, (err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? new InvalidRequestError(`${name} not found`) : err;
  });
  if (size === 0) throw new EmptyInputError(`${name} is empty (0 bytes)`);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const probe = await runTool(ffprobeBinary(), ['-hide_banner', '-v', 'error', '-print_format', 'json',
    '-show_entries', 'format=format_name,duration:stream=codec_type,codec_name,sample_rate,channels,duration',
    '-select_streams', 'a:0', ...sandboxedInput(file)], timeoutMs);
  if (probe.code !== 0) {
    const refused = /not on whitelist|not on the whitelist/i.test(probe.stderr);
    throw new NotAudioError(`${name} is not an audio file we can read${refused ? ' (its format is not an audio container we accept)' : ''}`, { cause: new Error(probe.stderr.slice(0, 2000)) });
  }
  const info = parseProbeJson(probe.stdout, size, name);
  const limit = opts.maxSeconds ?? maxDurationSeconds();
  const counted = await countedSeconds(file, info.format, limit, timeoutMs);
  info.countedSeconds = counted;
  if (counted !== undefined && (info.durationSeconds === undefined || counted > info.durationSeconds)) info.durationSeconds = counted;
  const head = await readHead(file, size);
  const declared = wavDeclaredSeconds(head);
  if (declared !== undefined && info.durationSeconds !== undefined && declared > info.durationSeconds) {
    info.declaredSeconds = declared;
  }
  const frames = headerFrames(head, info.sampleRate);
  // a header that disagrees with the measured duration by more than 20 ms is not trusted
  if (frames !== undefined && info.durationSeconds !== undefined && Math.abs(frames / info.sampleRate - info.durationSeconds) <= 0.02) {
    info.frames = frames;
  }
  return info;
}

/**
 * The length the packets add up to: the audio stream copied (not decoded) to the null muxer, cut
 * a second past `limit` so a huge file costs no more than a file just over the limit.
 */
async function countedSeconds(file: string, demuxer: string, limit: number, timeoutMs: number): Promise<number | undefined> {
  const r = await runTool(ffmpegBinary(), ['-hide_banner', '-nostdin', '-v', 'error', ...sandboxedInput(file, demuxer),
    '-map', '0:a:0', '-c', 'copy', '-t', String(limit + 1), '-f', 'null', '-progress', 'pipe:1', '-nostats', '-'], timeoutMs);
  const all = [...r.stdout.matchAll(/^out_time_us=(\d+)$/gm)];
  const us = all.length ? Number(all[all.length - 1][1]) : NaN;
  return Number.isFinite(us) && us > 0 ? us / 1e6 : undefined;
}

/** Runs ffmpeg/ffprobe with no stdin; output capped (a crafted file cannot fill memory). */
function runTool(bin: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (c: string) => { if (stdout.length < 1 << 20) stdout += c; });
    proc.stderr.on('data', (c: string) => { if (stderr.length < 64 * 1024) stderr += c; });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('error', (err) => { clearTimeout(timer); reject(err); });
    proc.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

async function readHead(file: string, size: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, 4096));
    await fh.read(head, 0, head.length, 0);
    return head;
  } finally {
    await fh.close();
  }
}

/** Frames a WAV data chunk or a FLAC STREAMINFO block states, at the given rate; else undefined. */
export function headerFrames(head: Buffer, sampleRate: number): number | undefined {
  const wav = wavData(head);
  if (wav) return wav.rate === sampleRate && wav.len % wav.blockAlign === 0 ? wav.len / wav.blockAlign : undefined;
  // fLaC, then the STREAMINFO block (type 0): rate in 20 bits at byte 18, total samples in 36 bits from byte 21
  if (head.length >= 26 && head.toString('ascii', 0, 4) === 'fLaC' && (head[4] & 0x7f) === 0) {
    const rate = (head[18] << 12) | (head[19] << 4) | (head[20] >> 4);
    const total = (head[21] & 0x0f) * 2 ** 32 + head.readUInt32BE(22);
    return rate === sampleRate && total > 0 ? total : undefined;
  }
  return undefined;
}

/** Duration a RIFF/WAVE header declares from its data chunk size; undefined for other files. */
function wavDeclaredSeconds(head: Buffer): number | undefined {
  const wav = wavData(head);
  return wav ? wav.len / wav.blockAlign / wav.rate : undefined;
}

/** The WAV header's data chunk length, block size and rate, when they state a length. */
function wavData(head: Buffer): { len: number; blockAlign: number; rate: number } | undefined {
  if (head.length < 12 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') return undefined;
  let blockAlign = 0;
  let rate = 0;
  for (let pos = 12; pos + 8 <= head.length;) {
    const id = head.toString('ascii', pos, pos + 4);
    const len = head.readUInt32LE(pos + 4);
    if (id === 'fmt ' && pos + 24 <= head.length) {
      rate = head.readUInt32LE(pos + 12);
      blockAlign = head.readUInt16LE(pos + 20);
    }
    // 0 and 0xFFFFFFFF mean "unknown length" (streamed WAVs): no claim to check
    if (id === 'data') return blockAlign && rate && len > 0 && len < 0xffffffff ? { len, blockAlign, rate } : undefined;
    pos += 8 + len + (len & 1);
  }
  return undefined;
}
