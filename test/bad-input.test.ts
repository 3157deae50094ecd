import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EmptyInputError, InvalidRequestError, NoAudioSamplesError, NotAudioError, TooLongError, TruncatedAudioError,
} from '../layers/core/errors.js';
import { separateFile } from '../layers/engine/separate-file.js';
import { tmpDir, writeGainModel } from '../dev/models.js';
import { ffmpeg, writeMusicWav } from '../dev/signals.js';

const dir = tmpDir('bad-input');
const model = writeGainModel({ gains: { vocals: 1, accompaniment: 1 } });
const good = writeMusicWav(dir, 'good.wav', 4);

function file(name: string, bytes: Uint8Array | string): string {
  const p = path.join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

async function expectRejected(input: string, errorClass: new (...a: never[]) => Error, message: RegExp, opts = {}) {
  const out = path.join(dir, `out-${path.basename(input)}`);
  mkdirSync(out, { recursive: true });
  await expect(separateFile(input, out, { model, ...opts })).rejects.toSatisfy((err: unknown) => {
    expect(err).toBeInstanceOf(errorClass);
    expect((err as Error).message).toMatch(message);
    return true;
  });
  // nothing left behind: no stems, no staging folder
  expect(readdirSync(out)).toEqual([]);
}

describe('bad input gets a typed error and leaves nothing behind', () => {
  it('rejects bytes that are not audio', async () => {
    const junk = new Uint8Array(20000).map((_, i) => (i * 7919) % 251);
    await expectRejected(file('garbage.mp3', junk), NotAudioError, /garbage\.mp3 is not an audio file/);
  });

  it('rejects an empty file', async () => {
    await expectRejected(file('empty.wav', ''), EmptyInputError, /empty \(0 bytes\)/);
  });

  it('rejects a file with no audio stream', async () => {
    await expectRejected(file('notes.txt', 'just some text\n'.repeat(100)), NotAudioError, /not an audio file|no audio stream/);
  });

  it('rejects a WAV whose data stops halfway through what its header declares', async () => {
    const bytes = readFileSync(good);
    await expectRejected(file('cut.wav', bytes.subarray(0, bytes.length >> 1)), TruncatedAudioError, /truncated.*declares/);
  });

  it('rejects a truncated FLAC', async () => {
    const flac = readFileSync(ffmpeg(good, path.join(dir, 'full.flac'), ['-c:a', 'flac']));
    await expectRejected(file('cut.flac', flac.subarray(0, Math.floor(flac.length * 0.6))), TruncatedAudioError, /truncated/);
  });

  it('rejects a file with zero samples', async () => {
    const header = readFileSync(good).subarray(0, 44);
    header.writeUInt32LE(36, 4);
    header.writeUInt32LE(0, 40);
    await expectRejected(file('silent-header.wav', header), NoAudioSamplesError, /no audio samples/);
  });

  it('rejects audio longer than the maximum before separating', async () => {
    await expectRejected(good, TooLongError, /lasts 4\.0 s, more than the maximum of 2 s/, { maxDurationSeconds: 2 });
  });

  it('rejects stems the model does not have', async () => {
    await expectRejected(good, InvalidRequestError, /has no stem\(s\) drums/, { stems: ['drums'] });
  });
});
