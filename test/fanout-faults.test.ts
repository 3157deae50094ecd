/**
 * Fan-out faults, with production-shaped timing (the stack's policy scaled down together; two
 * attempts instead of three to keep the test short): `separate` runs in real processes, killed by
 * the test as an out-of-memory kill or crash would, and segments travel S3 (work/*.task.json) ->
 * segment queue -> separate; dead letters -> dead-letter.
 * - a segment worker killed mid-segment: that segment alone is delivered again, the job completes;
 * - a segment killed on every attempt: the job ends failed (ATTEMPTS_EXHAUSTED), nothing under
 *   results/, the work prefix removed;
 * - every message delivered twice (in-process stack): the same result as a single run.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, retryPolicyOf } from '../infra/lib/config.js';
import { separateFile } from '../layers/engine/separate-file.js';
import type { Job } from '../layers/jobs/job.js';
import { scaleRetryPolicy, visibilityTimeoutSeconds } from '../layers/jobs/retry-policy.js';
import { decodeEventKey, parseTaskKey } from '../layers/storage/s3.js';
import type { LocalStack } from '../local/stack.js';
import { tmpDir } from '../dev/models.js';
import { writeMusicWav } from '../dev/signals.js';
import { readWav, sdr } from '../dev/wav.js';
import { jobRecordFor, keysUnder, localS3Client, startTestStack } from './helpers/local.js';
import { ProcessFunction, type Invocation } from './helpers/process-function.js';

/** Production's 900 s timeout becomes 3 s; the visibility timeout (retry delay) 18 s. */
const SCALE = 1 / 300;
const policy = scaleRetryPolicy({ ...retryPolicyOf(DEFAULT_CONFIG), maxAttempts: 2 }, SCALE);
const V = visibilityTimeoutSeconds(policy) * 1000;
/** The test model (tiny: 1024-sample splits) cut into 4-s segments: a 12-s clip makes 4 of them. */
const FANOUT_ENV = { STEMS_FANOUT_SEGMENT_S: '4', STEMS_FANOUT_ABOVE_S: '5', STEMS_JOB_OVERHEAD_S: String(10 * SCALE), STEMS_MIN_REALTIME_FACTOR: String(4 / SCALE), STEMS_THREADS: '1' };

const dir = tmpDir('fanout-faults');

async function until<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const keyOf = (inv: { event: { Records: { body: string }[] } }) => decodeEventKey(JSON.parse(inv.event.Records[0].body).Records[0].s3.object.key);

async function putSong(s3: S3Client, bucket: string, name: string, seconds: number) {
  const file = writeMusicWav(dir, `${name}.wav`, seconds);
  const key = `uploads/${name}.wav`;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(file), Metadata: { format: 'wav32f' } }));
  return { file, key };
}

const finished = (s3: S3Client, bucket: string, key: string) => until(`${key} to finish`, async () => {
  const j = await jobRecordFor(s3, bucket, key);
  return j && (j.state === 'done' || j.state === 'failed') ? j : undefined;
});

/** Each stem of a done job against a single run of the same file: SDR and length. */
async function againstSingle(s3: S3Client, bucket: string, job: Job, file: string): Promise<void> {
  const single = await separateFile(file, path.join(dir, `${job.id}-single`), { model: 'tiny', format: 'wav32f' });
  for (const { stem, file: ref } of single.stems) {
    const key = job.result!.stems.find((s) => s.stem === stem)!.key;
    const out = path.join(dir, `${job.id}-${stem}.wav`);
    writeFileSync(out, await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
    const a = readWav(ref).data;
    const b = readWav(out).data;
    expect(b.length).toBe(a.length);
    expect(sdr(a, b)).toBeGreaterThanOrEqual(60);
  }
}

describe('fan-out faults (real worker processes, production timing scaled by 1/300)', () => {
  let stack: LocalStack;
  let s3: S3Client;
  const separate = new ProcessFunction('functions/separate/handler.ts', () => process.env, policy.functionTimeoutSeconds);
  /** Per task or upload key: invocations (receive count, when). */
  const invocations = new Map<string, { receiveCount: number; at: number }[]>();
  /** Per upload key: the task (path below the job's attempt folder) to kill, and how. */
  const kills = new Map<string, { task: string; kill: (inv: Invocation, receiveCount: number) => void }>();

  beforeAll(async () => {
    stack = await startTestStack({
      policy, concurrency: 1, workers: 2, env: FANOUT_ENV,
      // when the queue hands a message out (before the invocation's process starts)
      separate: (event) => {
        const key = keyOf({ event });
        const receiveCount = Number(event.Records[0].attributes.ApproximateReceiveCount);
        invocations.set(key, [...(invocations.get(key) ?? []), { receiveCount, at: Date.now() }]);
        return separate.invoke(event);
      },
    });
    s3 = localS3Client(stack);
    separate.onInvoke = (inv) => {
      const key = keyOf(inv);
      const receiveCount = Number(inv.event.Records[0].attributes.ApproximateReceiveCount);
      // registered before the upload, matched once the job is known: the cut can dispatch a segment before a test could read the job id
      for (const [uploadKey, { task, kill }] of kills) {
        if (!key.endsWith(`/${task}`)) continue;
        void jobRecordFor(s3, stack.bucket, uploadKey).then((j) => { if (j && key.startsWith(`work/${j.id}/`)) kill(inv, receiveCount); });
      }
    };
  });
  afterAll(() => stack?.close());

  /** The work/ prefix of the job an upload key gets, once it exists. */
  const workPrefixOf = async (key: string) => `work/${(await until('the job', () => jobRecordFor(s3, stack.bucket, key))).id}/`;

  it.concurrent('a segment worker killed mid-segment is retried alone; the job completes with the same stems as a single run', async () => {
    let killedBeforeStored: boolean | undefined;
    kills.set('uploads/killed-once.wav', { task: 'g1/seg-1.task.json', kill: (inv, n) => {
      if (n !== 1) return;
      // a moment into the segment: downloading, decoding or separating, never finished
      setTimeout(async () => {
        inv.kill();
        const j = await jobRecordFor(s3, stack.bucket, key);
        killedBeforeStored = !j?.fanout?.done.includes(1);
      }, 150);
    } });
    const { file, key } = await putSong(s3, stack.bucket, 'killed-once', 12);
    const work = await workPrefixOf(key);
    const job = await finished(s3, stack.bucket, key);
    expect(job, JSON.stringify(job.error)).toMatchObject({ state: 'done', fanout: { total: 4, done: [0, 1, 2, 3] } });
    expect(killedBeforeStored).toBe(true);
    const mine = [...invocations].filter(([k]) => k.startsWith(work));
    const counts = Object.fromEntries(mine.map(([k, v]) => [path.basename(k), v.map((x) => x.receiveCount)]));
    // segment 1 came back once, after the visibility timeout; every other task ran once
    expect(counts).toEqual({ 'seg-0.task.json': [1], 'seg-1.task.json': [1, 2], 'seg-2.task.json': [1], 'seg-3.task.json': [1], 'stitch.task.json': [1] });
    const seg1 = invocations.get(`${work}g1/seg-1.task.json`)!;
    expect(seg1[1].at - seg1[0].at).toBeGreaterThan(V - 500);
    // the stitch removes work/ right after marking the job done (its invocation ends then)
    await until('work/ to be removed', async () => (await keysUnder(s3, stack.bucket, work)).length === 0, 10_000);
    await againstSingle(s3, stack.bucket, job, file);
  }, 150_000);

  it.concurrent('a segment failing on every attempt fails the job cleanly: ATTEMPTS_EXHAUSTED, nothing under results/, work prefix removed', async () => {
    kills.set('uploads/killed-always.wav', { task: 'g1/seg-2.task.json', kill: (inv) => setTimeout(() => inv.kill(), 150) });
    const { key } = await putSong(s3, stack.bucket, 'killed-always', 12);
    const work = await workPrefixOf(key);
    const task = `${work}g1/seg-2.task.json`;
    const job = await finished(s3, stack.bucket, key);
    expect(job).toMatchObject({ state: 'failed', error: { code: 'ATTEMPTS_EXHAUSTED', message: expect.stringContaining('segment 2 gave up after 2 deliveries') } });
    expect(invocations.get(task)!.map((x) => x.receiveCount)).toEqual([1, 2]);
    expect(stack.deadLettered).toContain(task);
    expect(parseTaskKey(task)).toMatchObject({ kind: 'segment', index: 2 });
    // segments still running when the job ended take back what they stored
    await until('the other segments to settle', async () => stack.segments.depth().inFlight === 0 && stack.segmentWorkers.stats.active === 0);
    // dead-letter removes work/ right after marking the job failed
    await until('work/ to be removed', async () => stack.deadLetter.stats.active === 0 && (await keysUnder(s3, stack.bucket, work)).length === 0, 10_000);
    expect(await keysUnder(s3, stack.bucket, `results/${job.id}/`)).toEqual([]);
  }, 150_000);
});

describe('fan-out with every message delivered twice (in-process workers)', () => {
  let stack: LocalStack;
  let s3: S3Client;
  beforeAll(async () => {
    // the same scaled policy: a duplicate upload that finds the job claimed comes back after 18 s, not 90 min
    stack = await startTestStack({ policy, concurrency: 2, workers: 3, duplicateRate: 1, env: FANOUT_ENV });
    s3 = localS3Client(stack);
  });
  afterAll(() => stack?.close());

  it('duplicate segment deliveries change nothing: each segment counted once, one result equal to a single run', async () => {
    const { file, key } = await putSong(s3, stack.bucket, 'twice', 12);
    const job = await finished(s3, stack.bucket, key);
    expect(job, JSON.stringify(job.error)).toMatchObject({ state: 'done', fanout: { total: 4, done: [0, 1, 2, 3] } });
    await stack.idle();
    expect(stack.segments.counters.duplicated).toBeGreaterThanOrEqual(5); // every segment task and the stitch task
    expect(await jobRecordFor(s3, stack.bucket, key)).toMatchObject({ state: 'done', updatedAt: job.updatedAt });
    expect(await keysUnder(s3, stack.bucket, `work/${job.id}/`)).toEqual([]);
    expect((await keysUnder(s3, stack.bucket, `results/${job.id}/`)).length).toBe(3);
    await againstSingle(s3, stack.bucket, job, file);
  }, 120_000);
});
