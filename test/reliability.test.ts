/**
 * Reliability and security against the local stack: every kind of bad input ends in a clear final
 * state, duplicates and concurrency never double a result, S3 faults are survived or end cleanly,
 * limits hold, and jobs that would not fit the function are refused up front. docs/reliability.md
 * maps each case to its test.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJob, getStatus, uploadFile, waitForJob } from '../cli/api-client.js';
import type { Job } from '../layers/jobs/job.js';
import { DEFAULT_RETRY_POLICY } from '../layers/jobs/retry-policy.js';
import type { LocalStack } from '../local/stack.js';
import { FaultProxy } from './helpers/fault-proxy.js';
import { jobRecordFor, keysUnder, localS3Client, s3EventRecord, startTestStack } from './helpers/local.js';
import { tmpDir } from '../dev/models.js';
import { ffmpeg, sineFile, writeMusicWav } from '../dev/signals.js';
import { writeWav } from '../dev/wav.js';

const dir = tmpDir('reliability');
const random = (n: number, seed = 3) => Buffer.from(Array.from({ length: n }, (_, i) => ((i + seed) * 2654435761) % 256));

function wavHeader(dataBytes: number, rate = 44100, channels = 2): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4); h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(channels, 22); h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * channels * 2, 28); h.writeUInt16LE(channels * 2, 32); h.writeUInt16LE(16, 34);
  h.write('data', 36); h.writeUInt32LE(dataBytes, 40);
  return h;
}

describe('bad input matrix', () => {
  let stack: LocalStack;
  let s3: S3Client;
  beforeAll(async () => {
    stack = await startTestStack({ concurrency: 4, env: { STEMS_MAX_DURATION_S: '6' } });
    s3 = localS3Client(stack);
  });
  afterAll(() => stack?.close());

  const full = () => readFileSync(writeMusicWav(dir, 'full.wav', 4));
  const cases: [string, () => Buffer, { state: Job['state']; code?: string }][] = [
    ['random bytes.mp3', () => random(20000), { state: 'failed', code: 'NOT_AUDIO' }],
    ['random bytes.wav', () => random(30000, 7), { state: 'failed', code: 'NOT_AUDIO' }],
    ['random bytes.flac', () => random(25000, 11), { state: 'failed', code: 'NOT_AUDIO' }],
    ['truncated.wav', () => full().subarray(0, 200_000), { state: 'failed', code: 'TRUNCATED_AUDIO' }],
    ['truncated.flac', () => { const f = readFileSync(ffmpeg(writeMusicWav(dir, 'f.wav', 4), path.join(dir, 'f.flac'))); return f.subarray(0, f.length >> 1); }, { state: 'failed', code: 'TRUNCATED_AUDIO' }],
    ['truncated.mp3', () => { const f = readFileSync(ffmpeg(writeMusicWav(dir, 'm.wav', 4), path.join(dir, 'm.mp3'), ['-c:a', 'libmp3lame'])); return f.subarray(0, f.length >> 1); }, { state: 'failed', code: 'TRUNCATED_AUDIO' }],
    ['zero bytes.wav', () => Buffer.alloc(0), { state: 'failed', code: 'EMPTY_INPUT' }],
    ['claims gigabytes.wav', () => Buffer.concat([wavHeader(2_000_000_000), Buffer.alloc(4000)]), { state: 'failed', code: 'TRUNCATED_AUDIO' }],
    ['one sample.wav', () => Buffer.concat([wavHeader(4), Buffer.from([0, 16, 0, 240])]), { state: 'done' }],
    ['silence.wav', () => { writeWav(path.join(dir, 's.wav'), new Float32Array(2 * 44100), 44100, 2, 's16'); return readFileSync(path.join(dir, 's.wav')); }, { state: 'done' }],
    ['mono 8k.wav', () => readFileSync(sineFile(path.join(dir, 'mono8k.wav'), 2, 8000, 1)), { state: 'done' }],
    ['96k 24-bit.flac', () => readFileSync(sineFile(path.join(dir, 'hi.flac'), 2, 96000, 2, ['-sample_fmt', 's32', '-bits_per_raw_sample', '24'])), { state: 'done' }],
    ['six channels.wav', () => readFileSync(sineFile(path.join(dir, 'six.wav'), 2, 48000, 6)), { state: 'done' }],
    ['too long.wav', () => readFileSync(writeMusicWav(dir, 'long.wav', 8)), { state: 'failed', code: 'TOO_LONG' }],
    ['odd name + 100% ünïcødé.wav', () => readFileSync(writeMusicWav(dir, 'odd.wav', 1)), { state: 'done' }],
  ];

  it('ends every upload in done (valid audio) or failed with a specific code, leaving no partial results', async () => {
    for (const [name, bytes] of cases) await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: `uploads/matrix/${name}`, Body: bytes() }));
    await stack.idle();
    const seen: Record<string, unknown> = {};
    for (const [name, , want] of cases) {
      const job = await jobRecordFor(s3, stack.bucket, `uploads/matrix/${name}`);
      seen[name] = { state: job?.state, code: job?.error?.code };
      expect({ name, state: job?.state, code: job?.error?.code }).toEqual({ name, ...want });
      const results = await keysUnder(s3, stack.bucket, `results/${job!.id}/`);
      if (want.state === 'failed') {
        expect(results, name).toEqual([]);
        expect(job!.error!.message.length, name).toBeGreaterThan(10);
      } else {
        expect(results.length, name).toBe(3);
      }
    }
    // no handler crashed: no delivery went back to the queue, nothing was dead-lettered
    expect(stack.separate.stats).toMatchObject({ errors: 0, itemFailures: 0 });
    expect(stack.deadLettered).toEqual([]);
  });

  it('refuses too-long audio before any separation work', async () => {
    const job = await jobRecordFor(s3, stack.bucket, 'uploads/matrix/too long.wav');
    expect(job!.error!.message).toMatch(/lasts 8\.0 s, more than the maximum of 6 s/);
    expect(job!.timings?.inferenceMs).toBeUndefined();
  });

  it.each([
    [{ filename: '../escape.wav', contentType: 'audio/wav', bytes: 10 }, /slashes/],
    [{ filename: 'bell\u0007.wav', contentType: 'audio/wav', bytes: 10 }, /control characters/],
    [{ filename: 'a.wav', contentType: 'text/plain', bytes: 10 }, /audio type/],
    [{ filename: 'a.wav', contentType: 'audio/wav', bytes: 0 }, /^the file is empty$/],
    [{ filename: 'a.wav', contentType: 'audio/wav', bytes: 10, options: { modle: 'default', Format: 'flac' } }, /unknown option\(s\) "modle", "Format" \(known: model, stems, format, sampleRate, quality, iterations\)/],
    [{ filename: 'a.wav', contentType: 'audio/wav', bytes: 10, options: { stems: [] } }, /stems is empty/],
    [{ filename: 'a.wav', contentType: 'audio/wav', bytes: 10 ** 12 }, /maximum is/],
    [{ filename: 'a.wav', contentType: 'audio/wav', bytes: 10, options: { stems: ['drums'] } }, /no stem\(s\) drums/],
    [{ filename: 'a.wav', contentType: 'audio/wav', bytes: 10, options: { model: '../../etc' } }, /model must be a model id/],
    [{ filename: 'a.wav', contentType: 'audio/wav', bytes: 10, options: { quality: 'max' } }, /quality must be one of fast, best/],
    [{ filename: 'a.wav', contentType: 'audio/wav', bytes: 10, options: { iterations: 2.5 } }, /iterations must be an integer from 0 to 10/],
  ])('rejects the job request %j with 400', async (body, message) => {
    const res = await fetch(`${stack.apiUrl}/jobs`, { method: 'POST', body: JSON.stringify(body) });
    expect(res.status).toBe(400);
    const err = (await res.json()).error;
    expect(err.code).toBe('INVALID_REQUEST');
    expect(err.message).toMatch(message);
  });
});

describe('duplicates and concurrency', () => {
  for (const concurrency of [1, 4]) {
    it(`with concurrency ${concurrency}, 12 jobs at once each reach a final state exactly once`, async () => {
      const stack = await startTestStack({ concurrency });
      const s3 = localS3Client(stack);
      try {
        const keys = Array.from({ length: 12 }, (_, i) => `uploads/many/${concurrency}-${i}.wav`);
        await Promise.all(keys.map((Key, i) => s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key, Body: readFileSync(writeMusicWav(dir, `many${i}.wav`, 0.5 + i / 10)) }))));
        await stack.idle();
        for (const key of keys) {
          const job = await jobRecordFor(s3, stack.bucket, key);
          expect({ key, state: job?.state, attempts: job?.attempts }).toEqual({ key, state: 'done', attempts: 1 });
          expect((await keysUnder(s3, stack.bucket, `results/${job!.id}/`)).filter((k) => k.endsWith('.zip'))).toHaveLength(1);
        }
      } finally {
        await stack.close();
      }
    });
  }

  it('ignores the same event delivered again later, and a second upload to an API job', async () => {
    const stack = await startTestStack();
    const s3 = localS3Client(stack);
    try {
      const file = writeMusicWav(dir, 'twice.wav', 1);
      const job = await createJob(stack.apiUrl, file);
      await uploadFile(job.upload, file);
      const done = await waitForJob(stack.apiUrl, job.jobId, { intervalMs: 100 });
      expect(done.state).toBe('done');
      const key = `uploads/${job.jobId}/twice.wav`;
      const before = await jobRecordFor(s3, stack.bucket, key);
      // the same delivery, much later
      stack.deliver(s3EventRecord(stack.bucket, key, before!.upload.bytes!, before!.upload.etag!));
      // the presigned form used again with other bytes of the same size
      const other = path.join(dir, 'twice-other.wav');
      const bytes = readFileSync(file);
      bytes[100] ^= 0xff;
      writeFileSync(other, bytes);
      await uploadFile(job.upload, other);
      await stack.idle();
      const after = await jobRecordFor(s3, stack.bucket, key);
      expect(after).toMatchObject({ state: 'done', attempts: 1, upload: { etag: before!.upload.etag } });
      expect(after!.result).toEqual(before!.result);
    } finally {
      await stack.close();
    }
  });

  it('runs 20 small separations at once with none lost', async () => {
    const stack = await startTestStack({ concurrency: 4 });
    try {
      const jobs = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
        const f = writeMusicWav(dir, `twenty-${i}.wav`, 0.5);
        const j = await createJob(stack.apiUrl, f);
        await uploadFile(j.upload, f);
        return j.jobId;
      }));
      const states = await Promise.all(jobs.map((id) => waitForJob(stack.apiUrl, id, { intervalMs: 200 }).then((s) => s.state)));
      expect(states).toEqual(Array(20).fill('done'));
    } finally {
      await stack.close();
    }
  });
});

describe('S3 faults between the functions and storage', () => {
  let stack: LocalStack;
  let proxy: FaultProxy;
  let s3: S3Client;
  beforeAll(async () => {
    proxy = await new FaultProxy().start();
    // the functions reach S3 through the proxy; users and tests go direct
    stack = await startTestStack({ env: { STEMS_S3_ENDPOINT: proxy.url } });
    proxy.target = stack.s3Endpoint;
    s3 = localS3Client(stack);
  });
  afterAll(async () => {
    await stack?.close();
    await proxy?.close();
  });

  async function batch(name: string, seconds = 1): Promise<Job> {
    const key = `uploads/faults/${name}.wav`;
    await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: readFileSync(writeMusicWav(dir, `${name}.wav`, seconds)) }));
    await stack.idle();
    return (await jobRecordFor(s3, stack.bucket, key))!;
  }

  it.each([
    ['503 on reading the upload', { method: 'GET', path: /\/uploads\/faults\/slowdown/, fault: { kind: 'status', status: 503 } as const, times: 2 }],
    ['500 on writing a stem', { method: 'PUT', path: /\/results\/.*\/vocals\.wav/, fault: { kind: 'status', status: 500 } as const, times: 1 }],
    ['a reset connection on the job record', { method: 'PUT', path: /\/jobs\/b/, fault: { kind: 'reset' } as const, times: 1 }],
  ])('recovers through the SDK retries from %s', async (name, rule) => {
    proxy.clear();
    const r = proxy.add({ ...rule });
    const job = await batch(name.replace(/\W+/g, '-').replace('503-on-reading-the-upload', 'slowdown'));
    expect(r.hits).toBeGreaterThan(0);
    expect(job.state).toBe('done');
    expect(job.attempts).toBe(1);
  });

  it('finishes on slow S3 answers without a retry', async () => {
    proxy.clear();
    const r = proxy.add({ path: /\/jobs\//, fault: { kind: 'delay', ms: 400 }, times: 3 });
    const job = await batch('slow-answers');
    expect(r.hits).toBe(3);
    expect(job.state).toBe('done');
    expect(job.attempts).toBe(1);
  });
});

describe('limits', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.close());

  it('job ids are 128-bit random and unguessable', async () => {
    const f = writeMusicWav(dir, 'id.wav', 0.2);
    const ids = await Promise.all(Array.from({ length: 50 }, () => createJob(stack.apiUrl, f).then((j) => j.jobId)));
    expect(new Set(ids).size).toBe(50);
    for (const id of ids) expect(Buffer.from(id, 'base64url').length).toBe(16);
  });

  it('unknown and malformed ids are 404 without leaking anything', async () => {
    for (const id of ['AAAAAAAAAAAAAAAAAAAAAA', '..%2F..%2Fjobs', 'x'.repeat(500), 'jobs%2Fsecret']) {
      const res = await fetch(`${stack.apiUrl}/jobs/${id}`);
      expect(res.status).toBe(404);
      const body = await res.json();
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error.code).toBe('JOB_NOT_FOUND');
      expect(JSON.stringify(body)).not.toMatch(/bucket|s3|stack|at \//i);
    }
  });

  it('upload forms expire in minutes and download links in an hour', async () => {
    const f = writeMusicWav(dir, 'expiry.wav', 0.5);
    const job = await createJob(stack.apiUrl, f);
    const policy = JSON.parse(Buffer.from(job.upload.fields.Policy, 'base64').toString());
    expect(Date.parse(policy.expiration) - Date.now()).toBeLessThanOrEqual(900_000);
    expect(policy.conditions).toEqual(expect.arrayContaining([['eq', '$key', `uploads/${job.jobId}/expiry.wav`], ['content-length-range', job.upload.fields ? readFileSync(f).length : 0, readFileSync(f).length]]));
    await uploadFile(job.upload, f);
    const done = await waitForJob(stack.apiUrl, job.jobId, { intervalMs: 100 });
    for (const url of [done.downloads!.zip, ...done.downloads!.stems.map((s) => s.url)]) {
      expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('3600');
    }
    void getStatus;
  });
});

describe('time and memory guard', () => {
  it('refuses a job that would outlast the function, before separating', async () => {
    const stack = await startTestStack({ policy: { ...DEFAULT_RETRY_POLICY, functionTimeoutSeconds: 12 } });
    try {
      const f = writeMusicWav(dir, 'too slow.wav', 20);
      const job = await createJob(stack.apiUrl, f);
      await uploadFile(job.upload, f);
      const s = await waitForJob(stack.apiUrl, job.jobId, { intervalMs: 100 });
      expect(s.state).toBe('failed');
      // the time left is the 12-s timeout less what ran before the guard (probe, plan): seconds on a loaded machine
      expect(s.error).toEqual({ code: 'EXCEEDS_LIMITS', message: expect.stringMatching(/would need about 15 s to separate but the function has ([1-9]|1[0-2]) s left/) });
    } finally {
      await stack.close();
    }
  });

  it('refuses a job when the function has too little memory for the model', async () => {
    const stack = await startTestStack({ env: { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128' } });
    try {
      const f = writeMusicWav(dir, 'small memory.wav', 1);
      const job = await createJob(stack.apiUrl, f);
      await uploadFile(job.upload, f);
      const s = await waitForJob(stack.apiUrl, job.jobId, { intervalMs: 100 });
      expect(s.error).toEqual({ code: 'EXCEEDS_LIMITS', message: expect.stringMatching(/needs about \d+ MB but the function has 128 MB/) });
    } finally {
      delete process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE;
      await stack.close();
    }
  });
});

