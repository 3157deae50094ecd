/**
 * The direct S3 event path (the function stays callable without the queue, same code underneath):
 * a separation whose process is killed mid-way (SIGKILL, as a Lambda timeout or OOM does) holds its
 * job until its invocation's deadline; a redelivery before then fails with LEASE_HELD (Lambda
 * retries it), one after it takes the job over and completes it. Real child processes against
 * the local S3 server.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jobRecordFor, s3EventRecord } from './helpers/local.js';
import { LOCAL_S3_CLIENT_ENV, localS3Client, startLocalS3, type LocalS3 } from '../local/s3-server.js';
import { tmpDir, writeGainModel } from '../dev/models.js';
import { writeMusicWav } from '../dev/signals.js';

const bucket = 'crash';
let s3srv: LocalS3;
let s3: S3Client;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  s3srv = await startLocalS3({ directory: tmpDir('crash-s3'), bucket, corsOrigins: ['http://127.0.0.1:1'] });
  s3 = localS3Client(s3srv.endpoint);
  const models = tmpDir('crash-models');
  cpSync(writeGainModel({ id: 'tiny', gains: { vocals: 1, accompaniment: 1 } }), path.join(models, 'tiny'), { recursive: true });
  env = {
    ...process.env, ...LOCAL_S3_CLIENT_ENV, STEMS_BUCKET: bucket, STEMS_S3_ENDPOINT: s3srv.endpoint, STEMS_MODELS_DIR: models, STEMS_DEFAULT_MODEL: 'tiny',
    // this test's invocations have 6 s; the time guard is scaled to that
    STEMS_JOB_OVERHEAD_S: '0.1', STEMS_MIN_REALTIME_FACTOR: '100', STEMS_LEASE_MARGIN_S: '0.1',
  };
});
afterAll(() => s3srv?.close());

const TIMEOUT_MS = 6000;

/** The separate handler in its own process, invoked with one S3 event, as the Lambda runtime would. */
function worker(event: object): ChildProcess {
  const script = `const { handler } = await import(${JSON.stringify(path.resolve('functions/separate/handler.ts'))});
    const deadline = Date.now() + ${TIMEOUT_MS};
    try { await handler(${JSON.stringify(event)}, { functionName: 'separate', getRemainingTimeInMillis: () => deadline - Date.now() }); }
    catch (err) { console.error(err.code ?? err.message); process.exit(3); }`;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, stdio: ['ignore', 'ignore', 'pipe'] });
}

async function exitOf(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  await new Promise((r) => child.on('exit', r));
  return { code: child.exitCode, stderr };
}

const jobFor = (key: string) => jobRecordFor(s3, bucket, key);

it('direct S3 event: a worker killed mid-separation holds the job until its deadline; an early redelivery fails LEASE_HELD, a later one completes it', async () => {
  const key = 'uploads/crash/long song.wav';
  const body = readFileSync(writeMusicWav(tmpDir('crash-in'), 'long.wav', 20));
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  const event = { Records: [s3EventRecord(bucket, key, body.length, put.ETag!)] };

  const first = worker(event);
  const exited = new Promise((r) => first.on('exit', r));
  // kill it as soon as it has claimed the job and started separating
  for (let i = 0; i < 600; i++) {
    const job = await jobFor(key);
    if (job?.state === 'processing' && job.progress?.stage === 'separate') break;
    await new Promise((r) => setTimeout(r, 25));
  }
  first.kill('SIGKILL');
  await exited;
  expect(first.signalCode).toBe('SIGKILL');
  const stuck = await jobFor(key);
  expect(stuck).toMatchObject({ state: 'processing', attempts: 1 });
  // the lease is the dead invocation's deadline (plus the margin), not a fixed guess
  const held = Date.parse(stuck!.leaseUntil!) - Date.parse(stuck!.updatedAt);
  expect(held).toBeLessThanOrEqual(TIMEOUT_MS + 100);
  expect(held).toBeGreaterThan(TIMEOUT_MS / 2);

  // a delivery during the lease is not a success: it fails, so Lambda delivers it again later
  const early = await exitOf(worker(event));
  if (Date.now() < Date.parse(stuck!.leaseUntil!)) {
    expect(early).toMatchObject({ code: 3, stderr: expect.stringContaining('LEASE_HELD') });
    expect(await jobFor(key)).toMatchObject({ state: 'processing', attempts: 1 });
  }

  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(stuck!.leaseUntil!) - Date.now() + 100)));
  const second = worker(event);
  expect((await exitOf(second)).code).toBe(0);
  const done = await jobFor(key);
  expect(done).toMatchObject({ state: 'done', attempts: 2 });
  expect(done!.result!.stems.map((s) => s.stem)).toEqual(['vocals', 'accompaniment']);
}, 120_000);
