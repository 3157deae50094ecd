/**
 * The attack suite (issue 14): each case is something an anonymous uploader, a query string or a
 * raw HTTP client tried against the stack, and what it must get instead. docs/security.md maps
 * every threat to the test here that proves its mitigation.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, closeSync, constants, copyFileSync, cpSync, existsSync, renameSync, rmSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJob, uploadFile, waitForJob } from '../cli/api-client.js';
import type { LocalStack } from '../local/stack.js';
import { errorResponse } from '../layers/http/responses.js';
import { ORIGIN_VERIFY_HEADER, requireFrontDoor } from '../layers/http/origin-verify.js';
import { JobStore } from '../layers/storage/job-store.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { createWorkDir, removeStaleWorkDirs, removeWorkDir } from '../layers/jobs/work-dirs.js';
import { localS3Client, startTestStack } from './helpers/local.js';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { findFfprobe } from '../layers/audio/ffmpeg.js';
import { probeAudio } from '../layers/audio/probe.js';
import { ExceedsStorageError, ForbiddenError, INTERNAL_MESSAGE, NotAudioError, OutputTooLargeError, SourceRateTooHighError, TooLongError } from '../layers/core/errors.js';
import { checkOutputPlan, planOutput } from '../layers/engine/output-plan.js';
import { cloudWatchQueries, MAX_QUERIES, parseMetricQuery } from '../layers/observability/metrics-query.js';
import { EmfFileBackend } from '../local/emf-store.js';
import { METRICS } from '../layers/observability/metrics.js';
import { readWav } from '../dev/wav.js';
import { separateFile } from '../layers/engine/separate-file.js';
import { tmpDir, writeGainModel } from '../dev/models.js';
import { ffmpeg, sineFile, writeMusicWav } from '../dev/signals.js';

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

/** A model whose ONNX file is garbage: a job that got as far as loading it would fail MODEL_LOAD_FAILED. */
function unloadableModel(): string {
  const m = writeGainModel({ gains: { vocals: 1, accompaniment: 1 } });
  const manifest = JSON.parse(readFileSync(path.join(m, 'model.json'), 'utf8')) as { files: { path: string }[] };
  for (const f of manifest.files) writeFileSync(path.join(m, f.path), 'not an onnx file');
  return m;
}

/** An MP3 of `seconds` whose Xing/Info header claims `claimed` seconds (8 kHz mono: 576-sample frames). */
function lyingMp3(file: string, seconds: number, claimed: number): string {
  ffmpeg(`sine=f=440:d=${seconds}:sample_rate=8000`, file, ['-ac', '1', '-b:a', '8k'], ['-f', 'lavfi']);
  const bytes = readFileSync(file);
  let at = bytes.indexOf('Xing');
  if (at < 0) at = bytes.indexOf('Info');
  expect(at).toBeGreaterThan(0);
  expect(bytes.readUInt32BE(at + 4) & 1).toBe(1); // the frames field is present
  bytes.writeUInt32BE(Math.round((claimed * 8000) / 576), at + 8);
  writeFileSync(file, bytes);
  return file;
}

describe('limits before work: refused before the model loads', () => {
  const broken = unloadableModel();

  async function refused(input: string, errorClass: new (...a: never[]) => Error, opts: Parameters<typeof separateFile>[2] = {}) {
    const out = path.join(dir, `limits-${path.basename(input)}`);
    const t0 = performance.now();
    await expect(separateFile(input, out, { model: broken, ...opts })).rejects.toBeInstanceOf(errorClass);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    return performance.now() - t0;
  }

  it('a 384 kHz FLAC asked for at the source rate in wav32f: SOURCE_RATE_TOO_HIGH, nothing decoded', async () => {
    const hi = sineFile(path.join(dir, 'hi.flac'), 0.5, 384000, 2, ['-c:a', 'flac']);
    await refused(hi, SourceRateTooHighError, { sampleRate: 'source', format: 'wav32f' });
  });

  it('an MP3 whose Xing header claims 10 s of its 1,500 s: TOO_LONG from the counting pass, in about a second', async () => {
    const liar = lyingMp3(path.join(dir, 'liar.mp3'), 1500, 10);
    const declared = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-of', 'json', '-show_entries', 'format=duration', liar], { encoding: 'utf8' }));
    expect(Number(declared.format.duration)).toBeLessThan(11); // the lie works on a plain probe
    const info = await probeAudio(liar, 'liar.mp3', { maxSeconds: 1200 });
    expect(info.durationSeconds).toBeGreaterThan(1200);
    const ms = await refused(liar, TooLongError, { maxDurationSeconds: 1200 });
    expect(ms).toBeLessThan(10_000); // separating 1,200 s would take minutes
  });

  it('projected results over the per-job cap: OUTPUT_TOO_LARGE, with the figures in the message', async () => {
    const src = sineFile(path.join(dir, 'ten.wav'), 10, 44100, 2);
    const limits = { maxOutputRate: 48000, maxSourceRate: 192000, maxOutputBytes: 4 * 1024 * 1024 };
    const out = path.join(dir, 'cap-out');
    await expect(separateFile(src, out, { model: broken, format: 'wav32f', limits })).rejects.toThrow(OutputTooLargeError);
    await expect(separateFile(src, out, { model: broken, format: 'wav32f', limits })).rejects.toThrow(/about 14 MB of results.*maximum per job is 4 MB/);
  });

  it('projected stems larger than the free working storage: EXCEEDS_STORAGE', async () => {
    const source = { format: 'wav', codec: 'pcm_s16le', sampleRate: 48000, channels: 2, durationSeconds: 1e9, bytes: 1 };
    const plan = planOutput(source, { sampleRate: 48000, stems: 4, format: 'wav32f' });
    await expect(checkOutputPlan(plan, { maxOutputBytes: Infinity, dir, name: 'huge.wav' })).rejects.toThrow(ExceedsStorageError);
  });

  it('sampleRate "source" keeps the source rate only up to the cap (96 kHz in, 48 kHz out)', async () => {
    const src = sineFile(path.join(dir, 'hi96.wav'), 1, 96000, 2);
    const r = await separateFile(src, path.join(dir, 'cap96'), { model, sampleRate: 'source' });
    expect(r.outputSampleRate).toBe(48000);
    expect(readWav(r.stems[0].file).sampleRate).toBe(48000);
  });
});

describe('GET /metrics: bounded work per request', () => {
  const now = new Date('2026-06-01T12:00:00Z');

  it('deduplicates metrics and stats: 62 copies of one metric are one query, not 496', () => {
    const q = parseMetricQuery({ metric: Array(62).fill('SeparationTime').join(','), stats: 'p50,p50,p99' }, now);
    expect(q.metrics).toEqual(['SeparationTime']);
    expect(q.stats).toEqual(['p50', 'p99']);
    expect(cloudWatchQueries(q).queries).toHaveLength(2);
  });

  it(`caps metrics x stats at ${MAX_QUERIES} per request`, () => {
    const all = Object.values(METRICS).map((m) => m.name).join(',');
    expect(() => parseMetricQuery({ metric: all }, now)).toThrow(/at most 40 metric x stat pairs/);
    expect(() => parseMetricQuery({ metric: all, stats: 'p99' }, now)).not.toThrow();
  });

  it('accepts only finite times within CloudWatch retention and ranges of at most 15 days', () => {
    for (const start of ['-99999999999999d', '-9999999d', 'Infinity', '1e400', '+275760-09-13', 'yesterday', '-1y']) {
      expect(() => parseMetricQuery({ metric: 'SeparationTime', start }, now), start).toThrow(/start must/);
    }
    expect(() => parseMetricQuery({ metric: 'SeparationTime', start: '-16d' }, now)).toThrow(/at most 15 days/);
    expect(() => parseMetricQuery({ metric: 'SeparationTime', start: '-3d' }, now)).not.toThrow();
  });

  it('echoes no arbitrary input and refuses unprintable dimension values', () => {
    expect(() => parseMetricQuery({ metric: `X${'A'.repeat(5000)}` }, now)).toThrow(/^unknown metric\(s\) "XA{39}" /);
    expect(() => parseMetricQuery({ metric: 'JobsFailed', errorCode: 'a\u0000b' }, now)).toThrow(/printable ASCII/);
  });

  it('the local EMF store is indexed incrementally: a query reads only what was appended, across rotation', async () => {
    const file = path.join(tmpDir('emf'), 'emf.jsonl');
    const line = (v: number) => `${JSON.stringify({ _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: 'StemSplitter', Dimensions: [['service']], Metrics: [{ Name: 'SeparationTime', Unit: 'Milliseconds' }] }] }, service: 'separate', SeparationTime: v })}\n`;
    const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => line(from + i)).join('');
    writeFileSync(file, batch(0, 1000));
    const backend = new EmfFileBackend(file);
    const q = () => backend.query(parseMetricQuery({ metric: 'SeparationTime', stats: 'count,max', start: '-1h' }));
    expect((await q()).results[0].stats).toEqual({ count: 1000, max: 999 });
    const afterFirst = backend.bytesRead;
    expect(afterFirst).toBe(readFileSync(file).length);
    await q();
    expect(backend.bytesRead).toBe(afterFirst); // nothing new: nothing read
    const more = batch(1000, 10);
    appendFileSync(file, more);
    expect((await q()).results[0].stats).toEqual({ count: 1010, max: 1009 });
    expect(backend.bytesRead).toBe(afterFirst + Buffer.byteLength(more));
    // the collector rotates: lines written before the rename and into the new file are both counted, once
    appendFileSync(file, batch(1010, 5));
    renameSync(file, `${file}.1`);
    writeFileSync(file, batch(1015, 5));
    expect((await q()).results[0].stats).toEqual({ count: 1020, max: 1019 });
  });
});

/** Sends raw bytes on a fresh connection; resolves with the status line (or '' if the server closed without one). */
function raw(url: string, bytes: string | Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let text = '';
    socket.on('data', (c) => { text += c.toString('latin1'); });
    socket.on('error', () => resolve(text.split('\r\n')[0]));
    socket.on('close', () => resolve(text.split('\r\n')[0]));
    socket.setTimeout(5000, () => socket.destroy());
    socket.write(bytes); // not end(): a half-closed socket is not what a client that waits for its answer sends
  });
}

describe('the local stack under attack', () => {
  let stack: LocalStack;
  const models = tmpDir('sec-models');
  beforeAll(async () => {
    // the test stack's model, plus one whose weights are missing (an internal error with a path in it)
    cpSync(writeGainModel({ id: 'tiny', gains: { vocals: 2, accompaniment: 1 } }), path.join(models, 'tiny'), { recursive: true });
    cpSync(writeGainModel({ id: 'broken', gains: { vocals: 1, accompaniment: 1 } }), path.join(models, 'broken'), { recursive: true });
    for (const f of readdirSync(path.join(models, 'broken'))) if (f.endsWith('.onnx')) rmSync(path.join(models, 'broken', f));
    stack = await startTestStack({ env: { STEMS_MODELS_DIR: models } });
  });
  afterAll(() => stack?.close());

  const alive = async () => {
    const r = await fetch(`${stack.apiUrl}/jobs/AAAAAAAAAAAAAAAAAAAAAA`);
    expect(r.status).toBe(404); // an answer from the status function: the server is still serving
  };

  it('the local HTTP API answers 400 to each malformed request and keeps serving', async () => {
    const cases: [string, string][] = [
      ['GET /jobs/%E0%A4%A', 'GET /jobs/%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'],
      ['GET /%E0%A4%A (page)', 'GET /%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'],
      ['malformed Host', 'GET /jobs/AAAAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: a b@[c\r\nConnection: close\r\n\r\n'],
      ['Host with a path', 'GET /metrics HTTP/1.1\r\nHost: x/../y\r\nConnection: close\r\n\r\n'],
      ['absolute-form target with a bad authority', 'GET http://[/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'],
      ['garbage request line', 'NOT HTTP AT ALL\r\n\r\n'],
      ['body that is not JSON', 'POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{"a":'],
    ];
    for (const [what, bytes] of cases) {
      // 400, or 404 for a page path when no page is served: answered either way
      expect(await raw(stack.apiUrl, bytes), what).toMatch(what.includes('(page)') ? /^HTTP\/1\.1 40[04] / : /^HTTP\/1\.1 400 /);
      await alive();
    }
    const r = await fetch(`${stack.apiUrl}/metrics?metric=SeparationTime&start=-99999999999999d`);
    expect(r.status).toBe(400);
    await alive();
  });

  it('the local S3 endpoint survives the busboy/dicer multipart header crash (CVE-2022-24434) and other malformed requests', async () => {
    const s3 = localS3Client(stack);
    const boundary = '----X';
    const multipart = `------X\r\n Content-Disposition: form-data; name="key"\r\n\r\nv\r\n------X--\r\n`;
    const cases: [string, string][] = [
      ['multipart header line starting with a space', `POST /${stack.bucket} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${multipart.length}\r\nConnection: close\r\n\r\n${multipart}`],
      ['GET with malformed percent-encoding', `GET /${stack.bucket}/%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`],
      ['PUT with malformed percent-encoding', `PUT /${stack.bucket}/jobs/%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`],
      ['malformed Host', `GET /${stack.bucket} HTTP/1.1\r\nHost: a b@[c\r\nConnection: close\r\n\r\n`],
      ['garbage request line', 'NOT HTTP AT ALL\r\n\r\n'],
    ];
    for (const [what, bytes] of cases) {
      expect(await raw(stack.s3Endpoint, bytes), what).toMatch(/^HTTP\/1\.1 4\d\d /);
      await s3.send(new HeadBucketCommand({ Bucket: stack.bucket })); // still serving
    }
  });

  it('internal errors reach clients as a generic message; NOT_AUDIO carries no ffmpeg output', async () => {
    const r = errorResponse(new Error('write EPIPE /var/task/node_modules/x.js 0x7ffd1234'));
    expect(JSON.parse((r as { body: string }).body)).toEqual({ error: { code: 'INTERNAL', message: INTERNAL_MESSAGE } });

    const song = writeMusicWav(dir, 'internal.wav', 1);
    const job = await createJob(stack.apiUrl, song, { model: 'broken' });
    await uploadFile(job.upload, song);
    const failed = await waitForJob(stack.apiUrl, job.jobId, { intervalMs: 100, timeoutMs: 60_000 });
    expect(failed.error).toEqual({ code: 'MODEL_LOAD_FAILED', message: INTERNAL_MESSAGE });

    const junk = path.join(dir, 'junk.mp3');
    writeFileSync(junk, Buffer.alloc(30000, 0x5a));
    const j2 = await createJob(stack.apiUrl, junk);
    await uploadFile(j2.upload, junk);
    const notAudio = await waitForJob(stack.apiUrl, j2.jobId, { intervalMs: 100, timeoutMs: 60_000 });
    expect(notAudio.error?.code).toBe('NOT_AUDIO');
    expect(notAudio.error?.message).toBe('junk.mp3 is not an audio file we can read');
  });

  it('refuses filenames that are not well-formed Unicode or carry control/format/separator characters', async () => {
    const post = (filename: string) => fetch(`${stack.apiUrl}/jobs`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ filename, contentType: 'audio/mpeg', bytes: 1000 }),
    });
    for (const bad of ['\ud800.mp3', 'a\udc00b.mp3', 'next\u0085line.mp3', 'line\u2028sep.mp3', 'para\u2029sep.mp3', 'evil\u202egpj.mp3', 'zero\u200bwidth.mp3', 'tab\there.mp3', 'bom\ufeff.mp3']) {
      const r = await post(bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect((await r.json()).error.code).toBe('INVALID_REQUEST');
    }
    for (const good of ['Björk – Jóga 🎵.mp3', '日本語の歌.flac', 'עברית.wav', 'song (live) [2024].mp3']) {
      expect((await post(good)).status, good).toBe(201);
    }
  });

  it('a 384 kHz FLAC and a lying MP3 header are refused at the probe stage: no model load, no separation metrics', async () => {
    const hi = sineFile(path.join(dir, 'stack-384k.flac'), 0.5, 384000, 2, ['-c:a', 'flac']);
    const liar = lyingMp3(path.join(dir, 'stack-liar.mp3'), 1500, 10);
    const results = [];
    for (const [file, options] of [[hi, { sampleRate: 'source', format: 'wav32f' }], [liar, {}]] as const) {
      const job = await createJob(stack.apiUrl, file, options);
      await uploadFile(job.upload, file);
      results.push({ id: job.jobId, status: await waitForJob(stack.apiUrl, job.jobId, { intervalMs: 100, timeoutMs: 60_000 }) });
    }
    expect(results.map((r) => r.status.error?.code)).toEqual(['SOURCE_RATE_TOO_HIGH', 'TOO_LONG']);
    for (const r of results) {
      expect(r.status.progress?.stage).toBe('probe');
      expect(r.status.timings?.loadModelMs).toBeUndefined();
    }
    const emf = readFileSync(stack.emfFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const r of results) {
      const mine = emf.filter((e) => e.jobId === r.id);
      expect(mine.some((e) => e.JobsFailed === 1)).toBe(true);
      expect(mine.some((e) => 'ModelLoadTime' in e || 'InferenceTime' in e || 'SeparationTime' in e)).toBe(false);
    }
  });
});

describe('stale job folders', () => {
  it('are removed at handler start: a dead worker\'s, and in Lambda every one no running job owns', async () => {
    const root = tmpDir('tmp-root');
    const running = await createWorkDir('running', root);
    const dead = path.join(root, 'job-2147483646-killed-abc123'); // no such process
    const otherLive = path.join(root, `job-${process.ppid}-elsewhere-abc123`); // a live worker's (local mode)
    const unrelated = path.join(root, 'not-a-job');
    for (const d of [dead, otherLive, unrelated]) mkdirSync(d);
    writeFileSync(path.join(dead, 'input'), Buffer.alloc(1024));
    expect(await removeStaleWorkDirs({ exclusive: false, root })).toEqual([dead]);
    expect(readdirSync(root).sort()).toEqual([path.basename(running), path.basename(otherLive), 'not-a-job'].sort());
    expect(await removeStaleWorkDirs({ exclusive: true, root })).toEqual([otherLive]);
    expect(existsSync(running)).toBe(true);
    await removeWorkDir(running);
    expect(readdirSync(root)).toEqual(['not-a-job']);
  });
});

describe('the API front door cannot be bypassed', () => {
  const event = (headers: Record<string, string>) => ({ event: { headers } }) as unknown as Parameters<NonNullable<ReturnType<typeof requireFrontDoor>['before']>>[0];

  it('job handlers refuse requests without CloudFront\'s secret header (straight to execute-api, around the WAF rate limit)', async () => {
    const guard = requireFrontDoor('s3cret-value-from-secrets-manager');
    await expect(guard.before!(event({}))).rejects.toBeInstanceOf(ForbiddenError);
    await expect(guard.before!(event({ [ORIGIN_VERIFY_HEADER]: 's3cret-value-from-secrets-manageR' }))).rejects.toBeInstanceOf(ForbiddenError);
    await expect(guard.before!(event({ [ORIGIN_VERIFY_HEADER]: 's3cret-value-from-secrets-manager' }))).resolves.toBeUndefined();
    // local mode and stacks without the front door: no secret configured, no check
    await expect(requireFrontDoor(undefined).before!(event({}))).resolves.toBeUndefined();
  });
});

describe('ListBucket limited by s3:prefix', () => {
  // what S3 answers a role whose ListBucket carries an s3:prefix condition: 403 for a missing key
  const s3 = (listed: string[]) => ({
    send: async (cmd: { constructor: { name: string } }) => {
      if (cmd.constructor.name === 'GetObjectCommand') throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      return { Contents: listed.map((Key) => ({ Key })) };
    },
  }) as unknown as S3Client;

  it('a missing job record is still "not found" (a listing under jobs/ tells it from a forbidden one)', async () => {
    expect(await new JobStore(s3([]), 'b').get('AAAAAAAAAAAAAAAAAAAAAA')).toBeUndefined();
    await expect(new JobStore(s3(['jobs/AAAAAAAAAAAAAAAAAAAAAA.json']), 'b').get('AAAAAAAAAAAAAAAAAAAAAA')).rejects.toThrow(/Access Denied/);
  });
});
