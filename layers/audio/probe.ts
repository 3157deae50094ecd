/**
 * Reads what a file holds (container, codec, rate, channels, duration) from ffmpeg's own report
 * of its input, so the same binary that decodes also decides what is audio: no ffprobe needed
 * (ffmpeg-static ships none).
 */
import { spawn } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { EmptyInputError, InvalidRequestError, NotAudioError } from '../core/errors.js';
import { ffmpegBinary } from './ffmpeg.js';

export interface SourceInfo {
  format: string;
  codec: string;
  sampleRate: number;
  channels: number;
  /** Seconds, from the container; undefined when the container does not say. */
  durationSeconds: number | undefined;
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

const LAYOUT_CHANNELS: Record<string, number> = {
  mono: 1, stereo: 2, '2.1': 3, '3.0': 3, '3.0(back)': 3, '3.1': 4, '4.0': 4, quad: 4,
  'quad(side)': 4, '4.1': 5, '5.0': 5, '5.0(side)': 5, '5.1': 6, '5.1(side)': 6, '6.0': 6,
  '6.1': 7, '7.0': 7, '7.1': 8, '7.1(wide)': 8, octagonal: 8, downmix: 2,
};

export function parseChannels(layout: string): number | undefined {
  const n = /^(\d+) channels/.exec(layout);
  if (n) return Number(n[1]);
  return LAYOUT_CHANNELS[layout.replace(/\s.*$/, '')];
}

/** Parses ffmpeg's stderr banner for the first audio stream. Exported for tests. */
export function parseProbe(stderr: string, bytes: number, name = 'input'): SourceInfo {
  const input = /Input #0, ([^,]+(?:,[^,]+)*?), from/.exec(stderr);
  if (!input) {
    const reason = /: (Invalid data found when processing input|[^\n]*)$/m.exec(stderr)?.[1];
    throw new NotAudioError(`${name} is not an audio file ffmpeg can read${reason ? ` (${reason.trim()})` : ''}`);
  }
  const audio = /Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: Audio: ([^,\s]+)[^,]*, (\d+) Hz, ([^,]+)/.exec(stderr);
  if (!audio) throw new NotAudioError(`${name} contains no audio stream`);
  const channels = parseChannels(audio[3].trim());
  const d = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(stderr);
  const durationSeconds = d ? Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]) : undefined;
  return {
    format: input[1].split(',')[0].trim(),
    codec: audio[1],
    sampleRate: Number(audio[2]),
    channels: channels ?? 2,
    durationSeconds,
    bytes,
  };
}

export async function probeAudio(file: string, name = 'input'): Promise<SourceInfo> {
  const size = await stat(file).then((s) => s.size, (err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? new InvalidRequestError(`${name} not found`) : err;
  });
  if (size === 0) throw new EmptyInputError(`${name} is empty (0 bytes)`);
  const stderr = await new Promise<string>((resolve, reject) => {
    const proc = spawn(ffmpegBinary(), ['-hide_banner', '-nostdin', '-i', file], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let text = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (c: string) => {
      if (text.length < 64 * 1024) text += c;
    });
    proc.on('error', reject);
    proc.on('close', () => resolve(text));
  });
  const info = parseProbe(stderr, size, name);
  const head = await readHead(file, size);
  const declared = wavDeclaredSeconds(head);
  if (declared !== undefined && info.durationSeconds !== undefined && declared > info.durationSeconds) {
    info.declaredSeconds = declared;
  }
  const frames = headerFrames(head, info.sampleRate);
  // ffmpeg's banner duration is rounded to 10 ms; a header that disagrees by more is not trusted
  if (frames !== undefined && info.durationSeconds !== undefined && Math.abs(frames / info.sampleRate - info.durationSeconds) <= 0.02) {
    info.frames = frames;
  }
  return info;
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
