/**
 * The embedded default model (models/default) separates what users bring: a mono file, a 48 kHz
 * file, and a song without vocals — through the same engine as everything else.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeAudio } from '../layers/audio/decode.js';
import { separateFile } from '../layers/engine/separate-file.js';
import { musdbSongs } from '../dev/reference.js';
import { sharedForTests } from './helpers/prerequisites.js';
import { tmpDir } from '../dev/models.js';
import { ffmpeg, writeMusicWav } from '../dev/signals.js';
import { readWav } from '../dev/wav.js';

const dir = tmpDir('default-model');
const energy = (x: Float32Array) => x.reduce((s, v) => s + v * v, 0);

async function frames(file: string): Promise<number> {
  let n = 0;
  for await (const c of decodeAudio(file, { sampleRate: 44100, maxSeconds: 60 })) n += c.length / 2;
  return n;
}

describe('default model', () => {
  it('is committed with its manifest and separates into vocals, drums, bass and other', async () => {
    expect(existsSync(path.resolve('models/default/model.onnx'))).toBe(true);
    const r = await separateFile(writeMusicWav(dir, 'stereo.wav', 3), path.join(dir, 'out-stereo'), { format: 'wav32f' });
    expect(r.model.id).toBe('default');
    expect(r.stems.map((s) => s.stem)).toEqual(['vocals', 'drums', 'bass', 'other']);
  });

  it('has learned something: a 55 Hz tone goes to the bass stem', async () => {
    // an untrained (random-weight) model spreads it over the stems; the trained default puts ~98% in bass
    const tone = ffmpeg('sine=frequency=55:sample_rate=44100:duration=4', path.join(dir, 'bass-tone.wav'), ['-ac', '2'], ['-f', 'lavfi']);
    const r = await separateFile(tone, path.join(dir, 'out-tone'), { format: 'wav32f' });
    const energy = Object.fromEntries(r.stems.map((s) => [s.stem, readWav(s.file).data.reduce((e, v) => e + v * v, 0)]));
    const total = Object.values(energy).reduce((a, b) => a + b, 0);
    expect(energy.bass / total).toBeGreaterThan(0.9);
  });

  it('separates a mono file into stereo stems of the same length', async () => {
    const mono = ffmpeg(writeMusicWav(dir, 'for-mono.wav', 2), path.join(dir, 'mono.wav'), ['-ac', '1']);
    const r = await separateFile(mono, path.join(dir, 'out-mono'));
    expect(r.source.channels).toBe(1);
    for (const s of r.stems) {
      const w = readWav(s.file);
      expect(w.channels).toBe(2);
      expect(w.data.length / 2).toBe(2 * 44100);
    }
  });

  it('separates a 48 kHz file, and can write stems at the source rate', async () => {
    const hi = ffmpeg(writeMusicWav(dir, 'for-48k.wav', 2), path.join(dir, 'hi.flac'), ['-ar', '48000']);
    const r = await separateFile(hi, path.join(dir, 'out-48k'), { sampleRate: 'source', format: 'flac' });
    expect(r.source.sampleRate).toBe(48000);
    expect(r.outputSampleRate).toBe(48000);
    for (const s of r.stems) expect(Math.abs(await frames(s.file) - 2 * 44100)).toBeLessThan(64);
  });

  const shared = sharedForTests();
  it.skipIf(!shared)('puts little in the vocal stem of a song without vocals', async () => {
    // an instrumental: the drums + bass + other streams of a MUSDB test clip, without its vocals
    const song = musdbSongs(shared!)[1];
    const inst = path.join(dir, 'instrumental.wav');
    ffmpeg(song, inst, ['-filter_complex', '[0:1][0:2][0:3]amix=inputs=3:normalize=0[m]', '-map', '[m]', '-c:a', 'pcm_f32le']);
    const r = await separateFile(inst, path.join(dir, 'out-inst'), { format: 'wav32f' });
    const vocals = readWav(r.stems.find((s) => s.stem === 'vocals')!.file).data;
    const input = readWav(inst).data;
    expect(energy(vocals) / energy(input)).toBeLessThan(0.25);
  });
});
