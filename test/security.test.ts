/**
 * The attack suite (issue 14): each case is something an anonymous uploader, a query string or a
 * raw HTTP client tried against the stack, and what it must get instead. docs/security.md maps
 * every threat to the test here that proves its mitigation.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, copyFileSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFfprobe } from '../layers/audio/ffmpeg.js';
import { probeAudio } from '../layers/audio/probe.js';
import { NotAudioError } from '../layers/core/errors.js';
import { separateFile } from '../layers/engine/separate-file.js';
import { tmpDir, writeGainModel } from './helpers/models.js';
import { ffmpeg, writeMusicWav } from './helpers/signals.js';

const dir = tmpDir('security');
const model = writeGainModel({ gains: { vocals: 1, accompaniment: 1 } });
const media = writeMusicWav(dir, 'server-side-media.wav', 2);
const mediaMp3 = ffmpeg(media, path.join(dir, 'server-side-media.mp3'), ['-c:a', 'libmp3lame']);

/** A named pipe that records whether anything opened it for reading (a decoder following a reference). */
function canaryFifo(name: string) {
  const file = path.join(dir, name);
  execFileSync('mkfifo', [file]);
  let opened = false;
  const timer = setInterval(() => {
    try {
      const fd = openSync(file, constants.O_WRONLY | constants.O_NONBLOCK);
      opened = true;
      try { writeSync(fd, Buffer.alloc(4096)); } catch { /* reader gone */ }
      closeSync(fd);
    } catch { /* ENXIO: no reader, as it should be */ }
  }, 2);
  return { file, opened: () => opened, stop: () => clearInterval(timer) };
}

/** An HTTP server that counts connections: any is a decoder fetching a URL from an upload. */
async function canaryServer() {
  let connections = 0;
  const server = http.createServer((_, res) => res.end('x'));
  server.on('connection', () => { connections++; });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections, close: () => server.close() };
}

async function expectNotAudio(input: string) {
  const out = path.join(dir, `out-${path.basename(input)}`);
  mkdirSync(out, { recursive: true });
  await expect(separateFile(input, out, { model })).rejects.toSatisfy((err: unknown) => {
    expect(err).toBeInstanceOf(NotAudioError);
    expect((err as NotAudioError).code).toBe('NOT_AUDIO');
    return true;
  });
  expect(readdirSync(out)).toEqual([]);
}

describe('ffmpeg is a sandboxed decoder: uploads that reference other inputs read nothing', () => {
  let web: Awaited<ReturnType<typeof canaryServer>>;
  beforeAll(async () => { web = await canaryServer(); });
  afterAll(() => web.close());

  const cases: [string, (target: string) => string][] = [
    ['an HLS playlist uploaded as song.mp3', (t) => `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n${t}\n#EXT-X-ENDLIST\n`],
    ['an ffconcat script uploaded as song.mp3', (t) => `ffconcat version 1.0\nfile '${t}'\n`],
  ];
  for (const [what, body] of cases) {
    it(`${what} pointing at a local file (file:) fails NOT_AUDIO without opening it`, async () => {
      const canary = canaryFifo(`canary-${what.length}.wav`);
      try {
        await expectNotAudio(writeFileIn(`file-${what.length}.mp3`, body(`file:${canary.file}`)));
        await expectNotAudio(writeFileIn(`plain-${what.length}.mp3`, body(canary.file)));
        // relative to the script: what ffconcat's default "safe" mode lets through
        await expectNotAudio(writeFileIn(`relative-${what.length}.mp3`, body(path.basename(canary.file))));
        await new Promise((r) => setTimeout(r, 50));
        expect(canary.opened()).toBe(false);
      } finally {
        canary.stop();
      }
    });

    it(`${what} pointing at a URL (http:) fails NOT_AUDIO without connecting`, async () => {
      await expectNotAudio(writeFileIn(`http-${what.length}.mp3`, body(`${web.url}/x.wav`)));
      expect(web.connections()).toBe(0);
    });
  }

  it('the reported attack: an HLS playlist naming a media file on the server ends NOT_AUDIO, not as stems of that file', async () => {
    await expectNotAudio(writeFileIn('hls-media.mp3', cases[0][1](mediaMp3)));
  });

  it('a self-referencing ffconcat script (crashed the 2018 build) fails NOT_AUDIO', async () => {
    const self = path.join(dir, 'self.mp3');
    writeFileSync(self, `ffconcat version 1.0\nfile '${self}'\nfile '${self}'\n`);
    await expectNotAudio(self);
  });

  it('the same media the playlists point at is a fine upload on its own (the sandbox refuses formats, not audio)', async () => {
    const copy = path.join(dir, 'direct.wav');
    copyFileSync(media, copy);
    const info = await probeAudio(copy);
    expect(info.format).toBe('wav');
    expect(info.durationSeconds).toBeCloseTo(2, 1);
  });

  it('ffprobe is found next to the chosen ffmpeg, and FFPROBE_PATH overrides it', () => {
    expect(findFfprobe({ PATH: '' }, '/usr/bin/ffmpeg')).toBe('/usr/bin/ffprobe');
    expect(() => findFfprobe({ FFPROBE_PATH: media, PATH: '' })).toThrow(/FFPROBE_PATH=.*not an executable/);
  });
});

function writeFileIn(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}
