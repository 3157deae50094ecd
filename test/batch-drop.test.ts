/**
 * A batch drop on the local stack: 500 small files put into uploads/ at once travel S3 -> upload
 * queue -> separate. Every one ends `done` exactly once, and separations never overlap more than
 * the configured maximum concurrency — checked from the job records themselves (claim and finish
 * times), not from the emulator's own counter. Prints throughput and the longest queue wait.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Job } from '../layers/jobs/job.js';
import type { LocalStack } from '../local/stack.js';
import { keysUnder, localS3Client, startTestStack } from './helpers/local.js';
import { tmpDir } from '../dev/models.js';
import { writeMusicWav } from '../dev/signals.js';

/** The figure; STEMS_BATCH_DROP_FILES runs a smaller or larger drop. */
const FILES = Number(process.env.STEMS_BATCH_DROP_FILES ?? 500);
const MAX_CONCURRENCY = 4;
let stack: LocalStack;
let s3: S3Client;

beforeAll(async () => {
  stack = await startTestStack({ concurrency: MAX_CONCURRENCY, env: { STEMS_THREADS: '1' } });
  s3 = localS3Client(stack);
});
afterAll(() => stack?.close());

/** Maps `f` over `items`, 20 at a time (the local S3 server is one process). */
async function inBatches<T, R>(items: T[], f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += 20) out.push(...await Promise.all(items.slice(i, i + 20).map(f)));
  return out;
}

/** The most intervals open at any instant. */
function maxOverlap(intervals: [number, number][]): number {
  const edges = intervals.flatMap(([a, b]) => [[a, 1], [b, -1]] as [number, number][]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (open += d));
  return most;
}

it(`separates ${FILES} files dropped into uploads/ at once, each exactly once, never more than ${MAX_CONCURRENCY} at a time`, async () => {
  const body = readFileSync(writeMusicWav(tmpDir('batch-drop'), 'clip.wav', 0.25));
  const keys = Array.from({ length: FILES }, (_, i) => `uploads/drop/clip-${String(i).padStart(3, '0')}.wav`);
  const t0 = Date.now();
  await inBatches(keys, (Key) => s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key, Body: body })));
  const putMs = Date.now() - t0;
  await stack.idle();
  const totalMs = Date.now() - t0;

  const jobKeys = await keysUnder(s3, stack.bucket, 'jobs/');
  expect(jobKeys).toHaveLength(FILES);
  const records = await inBatches(jobKeys, async (Key) =>
    JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key }))).Body!.transformToString()) as Job);
  expect(new Set(records.map((j) => j.upload.key))).toEqual(new Set(keys));
  for (const j of records) expect({ key: j.upload.key, state: j.state, attempts: j.attempts }).toEqual({ key: j.upload.key, state: 'done', attempts: 1 });
  // one result set per job: two stems and one zip
  const results = await inBatches(records, (j) => keysUnder(s3, stack.bucket, `results/${j.id}/`));
  for (const r of results) expect(r.filter((k) => k.endsWith('.zip'))).toHaveLength(1);
  expect(stack.separate.stats).toMatchObject({ errors: 0, itemFailures: 0, invocations: FILES });
  expect(stack.deadLettered).toEqual([]);

  // each separation ran from its claim (upload time + queue wait) to its final write
  const intervals = records.map((j) => {
    const claimed = Date.parse(j.upload.uploadedAt!) + j.timings!.queueMs!;
    return [claimed, Date.parse(j.updatedAt)] as [number, number];
  });
  const overlap = maxOverlap(intervals);
  expect(overlap).toBeLessThanOrEqual(MAX_CONCURRENCY);
  expect(stack.separate.stats.maxActive).toBeLessThanOrEqual(MAX_CONCURRENCY);
  const waits = records.map((j) => j.timings!.queueMs!);
  console.log(`batch drop: ${FILES} files (0.25 s clips) put in ${(putMs / 1000).toFixed(1)} s, all done in ${(totalMs / 1000).toFixed(1)} s: `
    + `${(FILES / (totalMs / 1000)).toFixed(1)} files/s; longest queue wait ${(Math.max(...waits) / 1000).toFixed(1)} s; `
    + `most separations at once ${overlap} (records) / ${stack.separate.stats.maxActive} (mapping), limit ${MAX_CONCURRENCY}`);
}, 600_000);
