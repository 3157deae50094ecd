/**
 * A separation whose process is killed mid-way (SIGKILL, as a Lambda timeout or OOM does) and whose
 * event is delivered again completes correctly: the handler runs in real child processes against
 * the local S3 server; the second one takes the job over once the first one's lease has run out.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jobRecordFor, s3EventRecord } from './helpers/local.js';
import { LOCAL_S3_CLIENT_ENV, localS3Client, startLocalS3, type LocalS3 } from '../local/s3-server.js';
import { tmpDir, writeGainModel } from './helpers/models.js';
import { writeMusicWav } from './helpers/signals.js';

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
    ...process.env, ...LOCAL_S3_CLIENT_ENV, STEMS_BUCKET: bucket, STEMS_S3_ENDPOINT: s3srv.endpoint, STEMS_MODELS_DIR: models, STEMS_DEFAULT_MODEL: 'tiny', STEMS_JOB_LEASE_SECONDS: '2',
  };
});
afterAll(() => s3srv?.close());

/** The separate handler in its own process, invoked with one S3 event, as the Lambda runtime would. */
function worker(event: object): ChildProcess {
  const script = `const { handler } = await import(${JSON.stringify(path.resolve('functions/separate/handler.ts'))});
    await handler(${JSON.stringify(event)}, { functionName: 'separate', getRemainingTimeInMillis: () => 900000 });`;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, stdio: 'ignore' });
}

const jobFor = (key: string) => jobRecordFor(s3, bucket, key);

it('a worker killed mid-separation leaves the job to the retry, which completes it', async () => {
  const key = 'uploads/crash/long song.wav';
  const body = readFileSync(writeMusicWav(tmpDir('crash-in'), 'long.wav', 60));
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

  // Lambda retries the event after a minute; the lease (2 s here) has run out by then
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(stuck!.leaseUntil!) - Date.now() + 100)));
  const second = worker(event);
  await new Promise((r) => second.on('exit', r));
  expect(second.exitCode).toBe(0);
  const done = await jobFor(key);
  expect(done).toMatchObject({ state: 'done', attempts: 2 });
  expect(done!.result!.stems.map((s) => s.stem)).toEqual(['vocals', 'accompaniment']);
}, 120_000);
