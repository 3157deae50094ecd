/**
 * The local stack driven only through HTTP and S3, as users drive it: the API flow a browser
 * follows, the batch flow of dropping files into uploads/, duplicate deliveries, awkward keys and
 * garbage uploads.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJob, download, getStatus, unzip, uploadFile, waitForJob } from '../cli/api-client.js';
import type { LocalStack } from '../local/stack.js';
import { jobRecordFor, keysUnder, localS3Client, startTestStack } from './helpers/local.js';
import { tmpDir } from '../dev/models.js';
import { writeMusicWav } from '../dev/signals.js';
import { readWav } from '../dev/wav.js';

const run = promisify(execFile);
let stack: LocalStack;
let s3: S3Client;
const dir = tmpDir('stack');

beforeAll(async () => {
  stack = await startTestStack({ concurrency: 2 });
  s3 = localS3Client(stack);
});
afterAll(() => stack?.close());

const keys = (prefix: string) => keysUnder(s3, stack.bucket, prefix);

/** The job of an upload key, with its status as the API reports it. */
async function jobFor(uploadKey: string) {
  const job = await jobRecordFor(s3, stack.bucket, uploadKey);
  return job && { id: job.id, status: await getStatus(stack.apiUrl, job.id) };
}

describe('API flow', () => {
  it('creates a job, uploads through the presigned POST, polls, and downloads stems that sum to the input', async () => {
    const input = writeMusicWav(dir, 'api song.wav', 3);
    const job = await createJob(stack.apiUrl, input);
    expect(job.jobId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    await uploadFile(job.upload, input);
    const seen = new Set<string>();
    const done = await waitForJob(stack.apiUrl, job.jobId, { intervalMs: 100, onStatus: (s) => seen.add(s.state) });
    expect(done.state).toBe('done');
    expect(done.source).toMatchObject({ sampleRate: 44100, channels: 2 });
    expect(done.downloads!.stems.map((s) => s.stem)).toEqual(['vocals', 'accompaniment']);

    const zip = path.join(dir, 'api.zip');
    await download(done.downloads!.zip, zip);
    const out = tmpDir('api-unzip');
    expect((await unzip(zip, out)).sort()).toEqual(['accompaniment.wav', 'manifest.json', 'vocals.wav']);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ job: job.jobId, file: 'api song.wav', model: { id: 'tiny' }, options: { format: 'wav16' } });
    expect(manifest.timings.totalMs).toBeGreaterThan(0);

    const x = readWav(input).data;
    const v = readWav(path.join(out, 'vocals.wav')).data;
    const a = readWav(path.join(out, 'accompaniment.wav')).data;
    expect(v.length).toBe(x.length);
    expect(a.length).toBe(x.length);
    let maxErr = 0;
    for (let i = 0; i < x.length; i++) maxErr = Math.max(maxErr, Math.abs(v[i] + a[i] - x[i]));
    expect(maxErr).toBeLessThan(3 / 32768 + 1e-4); // 16-bit quantisation of three files

    // each stem is downloadable on its own too
    const single = path.join(dir, 'vocals-direct.wav');
    await download(done.downloads!.stems[0].url, single);
    expect(readWav(single).data.length).toBe(x.length);
  });

  it('runs a job with quality "best" (Wiener filtering) and records it', async () => {
    const input = writeMusicWav(dir, 'best song.wav', 2);
    const job = await createJob(stack.apiUrl, input, { quality: 'best' });
    await uploadFile(job.upload, input);
    const done = await waitForJob(stack.apiUrl, job.jobId, { intervalMs: 100 });
    expect(done.state).toBe('done');
    const zip = path.join(dir, 'best.zip');
    await download(done.downloads!.zip, zip);
    const out = tmpDir('best-unzip');
    await unzip(zip, out);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.options).toMatchObject({ quality: 'best' });
    expect(manifest.timings.wienerMs).toBeGreaterThan(0);
  });

  it('answers 404 for an unknown job and 4xx with a code for bad requests', async () => {
    const r404 = await fetch(`${stack.apiUrl}/jobs/AAAAAAAAAAAAAAAAAAAAAA`);
    expect(r404.status).toBe(404);
    expect((await r404.json()).error.code).toBe('JOB_NOT_FOUND');
    const bad = await fetch(`${stack.apiUrl}/jobs`, { method: 'POST', body: JSON.stringify({ filename: 'a.exe', contentType: 'application/x-msdownload', bytes: 10 }) });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/contentType must be an audio type/) });
  });
});

describe('stem-splitter submit', () => {
  it('uses the HTTP API like the page does and unpacks the stems', async () => {
    const input = writeMusicWav(dir, 'submitted.wav', 1);
    const out = tmpDir('submit-out');
    const { stdout } = await run('node', [path.resolve('bin/stem-splitter.js'), 'submit', input, '--api', stack.apiUrl, '--out', out, '--format', 'flac']);
    expect(stdout).toMatch(/submitted\.wav -> .*submitted \(.*vocals\.flac.*\); upload [\d.]+ s, processing [\d.]+ s, download [\d.]+ s/);
    expect(readdirSync(path.join(out, 'submitted')).sort()).toEqual(['accompaniment.flac', 'manifest.json', 'vocals.flac']);
  });
});

describe('batch flow', () => {
  it('separates a file put into uploads/ with the SDK', async () => {
    const key = 'uploads/batch/one.wav';
    await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: readFileSync(writeMusicWav(dir, 'one.wav', 2)), Metadata: { format: 'flac' } }));
    await stack.idle();
    const job = await jobFor(key);
    expect(job?.status.state).toBe('done');
    expect(job?.status.options.format).toBe('flac');
    const results = await keys(`results/${job!.id}/`);
    expect(results).toEqual([`results/${job!.id}/accompaniment.flac`, `results/${job!.id}/one-stems.zip`, `results/${job!.id}/vocals.flac`]);
  });

  it('handles keys with spaces, plus signs, unicode and percent signs', async () => {
    const key = 'uploads/batch/my song + ünïcødé 100%.wav';
    await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: readFileSync(writeMusicWav(dir, 'odd.wav', 1)) }));
    await stack.idle();
    const job = await jobFor(key);
    expect(job?.status.state).toBe('done');
    expect(job?.status.file).toBe('my song + ünïcødé 100%.wav');
    expect(await keys(`results/${job!.id}/`)).toContain(`results/${job!.id}/my song + ünïcødé 100%-stems.zip`);

    // and the same through the API
    const apiFile = path.join(dir, 'a + b ü 50%.wav');
    writeFileSync(apiFile, readFileSync(writeMusicWav(dir, 'tmp.wav', 1)));
    const created = await createJob(stack.apiUrl, apiFile);
    await uploadFile(created.upload, apiFile);
    expect((await waitForJob(stack.apiUrl, created.jobId, { intervalMs: 100 })).state).toBe('done');
  });
});

describe('garbage uploads', () => {
  it('ends as failed with a clear message and leaves no results', async () => {
    const junk = path.join(dir, 'not really.mp3');
    writeFileSync(junk, Buffer.from(Array.from({ length: 30000 }, (_, i) => (i * 7919) % 256)));
    const created = await createJob(stack.apiUrl, junk);
    await uploadFile(created.upload, junk);
    const s = await waitForJob(stack.apiUrl, created.jobId, { intervalMs: 100 });
    expect(s.state).toBe('failed');
    expect(s.error).toEqual({ code: 'NOT_AUDIO', message: expect.stringMatching(/not really\.mp3 is not an audio file/) });
    expect(s.downloads).toBeUndefined();
    expect(await keys(`results/${created.jobId}/`)).toEqual([]);
    // the upload itself is kept: nothing a user sent is lost silently
    expect(await keys(`uploads/${created.jobId}/`)).toEqual([`uploads/${created.jobId}/not really.mp3`]);
  });
});
