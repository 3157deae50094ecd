import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeAudio } from '../layers/audio/decode.js';
import { StemEncoder } from '../layers/audio/encode.js';
import { probeAudio } from '../layers/audio/probe.js';
import { ffmpegBinary, findFfmpeg } from '../layers/audio/ffmpeg.js';
import { ToolMissingError } from '../layers/core/errors.js';
import { tmpDir } from '../dev/models.js';
import { ffmpeg, musicLike, sineFile, writeMusicWav } from '../dev/signals.js';
import { readWav } from '../dev/wav.js';

async function decodeAll(file: string, sampleRate = 44100) {
  const parts: Float32Array[] = [];
  for await (const c of decodeAudio(file, { sampleRate, maxSeconds: 60, source: await probeAudio(file), chunkFrames: 4096 })) parts.push(c.slice());
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

const dir = tmpDir('audio');
const src = writeMusicWav(dir, 'src.wav', 2.5);

describe('decoding what users upload', () => {
  const formats: [string, string[]][] = [
    ['mp3', ['-c:a', 'libmp3lame', '-b:a', '192k']],
    ['wav', ['-c:a', 'pcm_s16le']],
    ['w24.wav', ['-c:a', 'pcm_s24le']],
    ['f32.wav', ['-c:a', 'pcm_f32le']],
    ['flac', ['-c:a', 'flac']],
    ['ogg', ['-c:a', 'libvorbis']],
    ['opus', ['-c:a', 'libopus']],
    ['m4a', ['-c:a', 'aac']],
    ['aiff', ['-c:a', 'pcm_s16be']],
  ];
  for (const [ext, args] of formats) {
    it(`decodes ${ext} to float stereo at the model rate`, async () => {
      const file = ffmpeg(src, path.join(dir, `in.${ext}`), args);
      const info = await probeAudio(file);
      expect(info.channels).toBe(2);
      expect(info.durationSeconds).toBeGreaterThan(2.4);
      const pcm = await decodeAll(file);
      const seconds = pcm.length / 2 / 44100;
      expect(seconds).toBeGreaterThan(2.45);
      expect(seconds).toBeLessThan(2.6);
      expect(pcm.some((v) => Math.abs(v) > 0.1)).toBe(true);
    });
  }

  it('duplicates mono into both channels and reports the source as mono', async () => {
    const file = sineFile(path.join(dir, 'mono.wav'), 1, 44100, 1);
    expect((await probeAudio(file)).channels).toBe(1);
    const pcm = await decodeAll(file);
    for (let i = 0; i < pcm.length; i += 2) expect(pcm[i]).toBe(pcm[i + 1]);
    // duplicated at full level (ffmpeg's default upmix would attenuate by 3 dB); the lavfi sine has amplitude 1/8
    expect(pcm.reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBeCloseTo(0.125, 3);
  });

  it('downmixes 5.1 to stereo', async () => {
    const file = sineFile(path.join(dir, 'surround.flac'), 1, 48000, 6);
    expect((await probeAudio(file)).channels).toBe(6);
    const pcm = await decodeAll(file);
    expect(pcm.length / 2).toBeCloseTo(44100, -2);
  });

  it('resamples 48 kHz to the model rate and keeps the duration', async () => {
    const file = sineFile(path.join(dir, 'hi.wav'), 2, 48000, 2);
    const info = await probeAudio(file);
    expect(info.sampleRate).toBe(48000);
    const pcm = await decodeAll(file);
    expect(Math.abs(pcm.length / 2 - 2 * 44100)).toBeLessThan(64);
  });

  it('streams: chunks are bounded by the chunk size, not the file', async () => {
    let largest = 0;
    for await (const c of decodeAudio(src, { sampleRate: 44100, maxSeconds: 60, chunkFrames: 1024 })) largest = Math.max(largest, c.length);
    expect(largest).toBe(2048);
  });
});

describe('encoding stems', () => {
  const x = musicLike(44100);
  const loud = x.map((v, i) => (i % 1000 === 0 ? 1.5 : v));

  for (const format of ['wav16', 'wav24', 'wav32f', 'flac', 'mp3'] as const) {
    it(`writes ${format} that decodes back to the same length`, async () => {
      const file = path.join(dir, `stem-${format}.${format === 'flac' ? 'flac' : format === 'mp3' ? 'mp3' : 'wav'}`);
      const enc = new StemEncoder(file, { format, inputRate: 44100 });
      await enc.write(x.subarray(0, 30000));
      await enc.write(x.subarray(30000));
      const r = await enc.finish();
      expect(r.frames).toBe(44100);
      const back = await decodeAll(file);
      // mp3 adds encoder delay/padding of a frame or two
      expect(Math.abs(back.length / 2 - 44100)).toBeLessThan(format === 'mp3' ? 2400 : 1);
    });
  }

  it('clamps integer formats and counts the clipped samples; float keeps them', async () => {
    const clippedCount = loud.filter((v) => Math.abs(v) > 1).length;
    const intEnc = new StemEncoder(path.join(dir, 'clip16.wav'), { format: 'wav16', inputRate: 44100 });
    await intEnc.write(loud);
    expect((await intEnc.finish()).clippedSamples).toBe(clippedCount);
    const floatEnc = new StemEncoder(path.join(dir, 'clipf.wav'), { format: 'wav32f', inputRate: 44100 });
    await floatEnc.write(loud);
    expect((await floatEnc.finish()).clippedSamples).toBe(0);
    expect(readWav(path.join(dir, 'clipf.wav')).data[0]).toBeCloseTo(1.5, 5);
  });

  it('writes WAV in-process with the samples and header fields ffmpeg writes for the same input', async () => {
    const pcm = path.join(dir, 'raw.f32');
    writeFileSync(pcm, Buffer.from(loud.buffer, loud.byteOffset, loud.byteLength));
    for (const [format, codec] of [['wav16', 'pcm_s16le'], ['wav24', 'pcm_s24le'], ['wav32f', 'pcm_f32le']] as const) {
      const ours = path.join(dir, `ours-${format}.wav`);
      const enc = new StemEncoder(ours, { format, inputRate: 44100 });
      await enc.write(loud.subarray(0, 20000));
      await enc.write(loud.subarray(20000));
      await enc.finish();
      const theirs = path.join(dir, `ffmpeg-${format}.wav`);
      execFileSync(ffmpegBinary(), ['-v', 'error', '-y', '-f', 'f32le', '-ar', '44100', '-ac', '2', '-i', pcm, '-c:a', codec, '-f', 'wav', theirs]);
      const a = readWav(ours), b = readWav(theirs);
      expect([a.sampleRate, a.channels, a.data.length]).toEqual([b.sampleRate, b.channels, b.data.length]);
      let diff = 0;
      // integer formats: ffmpeg clamps what the encoder clamped too; ties may round either way (one LSB)
      for (let i = 0; i < a.data.length; i++) diff = Math.max(diff, Math.abs(a.data[i] - (format === 'wav32f' ? loud[i] : Math.max(-1, Math.min(1, b.data[i])))));
      expect(diff).toBeLessThanOrEqual(format === 'wav16' ? 1 / 32768 : format === 'wav24' ? 1 / 8388608 : 0);
      // same fmt chunk (format tag, channels, rate, block align, bits, extensible layout) and data size
      const fmt = (f: string) => { const x = readFileSync(f); const at = x.indexOf('fmt '); return x.subarray(at, at + 8 + x.readUInt32LE(at + 4)).toString('hex'); };
      expect(fmt(ours)).toBe(fmt(theirs));
      expect((await decodeAll(ours)).length).toBe(loud.length);
    }
  });

  it('writes at the source sample rate when asked', async () => {
    const file = path.join(dir, 'at48.wav');
    const enc = new StemEncoder(file, { format: 'wav16', inputRate: 44100, outputRate: 48000 });
    await enc.write(x);
    await enc.finish();
    const wav = readWav(file);
    expect(wav.sampleRate).toBe(48000);
    expect(Math.abs(wav.data.length / 2 - 48000)).toBeLessThan(64);
  });
});

describe('finding ffmpeg', () => {
  it('prefers FFMPEG_PATH and rejects one that is not executable', () => {
    const fake = path.join(dir, 'not-ffmpeg');
    writeFileSync(fake, 'x');
    expect(() => findFfmpeg({ FFMPEG_PATH: fake, PATH: '' })).toThrow(/FFMPEG_PATH=.*not an executable/);
  });

  it('falls back to a packaged ffmpeg (ffmpeg-static, @ffmpeg-installer), or explains how to get ffmpeg when there is none', () => {
    let found: string;
    try {
      found = findFfmpeg({ PATH: '' });
    } catch (err) {
      // a platform with neither package: the error must say what to do
      expect(err).toBeInstanceOf(ToolMissingError);
      expect((err as Error).message).toMatch(/apt-get install ffmpeg.*FFMPEG_PATH/);
      return;
    }
    expect(found).toMatch(/ffmpeg-static|@ffmpeg-installer/);
    expect(existsSync(found)).toBe(true);
  });
});
