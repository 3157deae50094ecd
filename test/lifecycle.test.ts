/**
 * The job lifecycle with production-shaped timing: the stack's own settings (infra/lib/config.ts)
 * give the retry policy — attempts, function timeout, and from them the lease, the queue's
 * visibility timeout (the retry delay) and the time guard — and the whole policy is scaled down
 * together. `separate` runs in real processes, killed at the function timeout as Lambda does, or
 * earlier by the test; uploads travel S3 -> upload queue -> separate, dead letters -> dead-letter.
 * The cases run at once on one stack; each waits out real visibility timeouts.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getStatus } from '../cli/api-client.js';
import { DEFAULT_CONFIG, retryPolicyOf } from '../infra/lib/config.js';
import type { Job } from '../layers/jobs/job.js';
import { leaseUntil, scaleRetryPolicy, visibilityTimeoutSeconds } from '../layers/jobs/retry-policy.js';
import { decodeEventKey } from '../layers/storage/s3.js';
import type { LocalStack } from '../local/stack.js';
import { FaultProxy } from './helpers/fault-proxy.js';
import { jobRecordFor, keysUnder, localS3Client, s3EventRecord, startTestStack } from './helpers/local.js';
import { tmpDir } from '../dev/models.js';
import { ProcessFunction, type Invocation } from './helpers/process-function.js';
import { writeMusicWav } from '../dev/signals.js';

/** Production's 900 s function timeout becomes 4 s (room for a small job on a busy 2-core machine); every other duration follows. */
const SCALE = 1 / 225;
const production = retryPolicyOf(DEFAULT_CONFIG);
const policy = scaleRetryPolicy(production, SCALE);
const V = visibilityTimeoutSeconds(policy) * 1000;

const dir = tmpDir('lifecycle');
let stack: LocalStack;
let s3: S3Client;
let proxy: FaultProxy;
let separate: ProcessFunction;
/** Per upload key, what each invocation should do once it has its event. */
const onInvoke = new Map<string, (inv: Invocation, receiveCount: number) => void>();
/** Per upload key, when each delivery was received (the invocation began) and its receive count. */
const invocationsOf = new Map<string, { at: number; receiveCount: number }[]>();

beforeAll(async () => {
  proxy = await new FaultProxy().start();
  // the children reach S3 through the fault proxy
  separate = new ProcessFunction('functions/separate/handler.ts', () => ({ ...process.env, STEMS_S3_ENDPOINT: proxy.url }), policy.functionTimeoutSeconds);
  stack = await startTestStack({
    policy, concurrency: 2,
    separate: (event) => {
      const message = event.Records[0];
      const key = decodeEventKey(JSON.parse(message.body).Records[0].s3.object.key);
      invocationsOf.set(key, [...(invocationsOf.get(key) ?? []), { at: Date.now(), receiveCount: Number(message.attributes.ApproximateReceiveCount) }]);
      return separate.invoke(event);
    },
    // the time guard scaled with the timeout: its fixed overhead and real-time factor
    env: { STEMS_JOB_OVERHEAD_S: String(10 * SCALE), STEMS_MIN_REALTIME_FACTOR: String(4 / SCALE), STEMS_THREADS: '1' },
  });
  proxy.target = stack.s3Endpoint;
  s3 = localS3Client(stack);
  separate.onInvoke = (inv) => {
    const message = inv.event.Records[0];
    onInvoke.get(decodeEventKey(JSON.parse(message.body).Records[0].s3.object.key))?.(inv, Number(message.attributes.ApproximateReceiveCount));
  };
});
afterAll(async () => {
  // every case ends its uploads; anything still queued after two redeliveries is worth a look
  const settled = await Promise.race([stack?.idle().then(() => true), new Promise((r) => setTimeout(() => r(false), 2 * V))]);
  if (!settled) console.error('lifecycle: not idle', JSON.stringify({ uploads: stack.uploads.depth(), deadLetters: stack.deadLetters.depth(), separate: stack.separate.stats, deadLetter: stack.deadLetter.stats, processes: separate.stats }));
  await stack?.close();
  await proxy?.close();
});

async function put(name: string, seconds: number): Promise<{ key: string; etag: string; bytes: number }> {
  const key = `uploads/lifecycle/${name}.wav`;
  const body = readFileSync(writeMusicWav(dir, `${name}.wav`, seconds));
  const r = await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body }));
  return { key, etag: r.ETag!, bytes: body.length };
}

const job = (key: string) => jobRecordFor(s3, stack.bucket, key);

async function until<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

const finished = (key: string) => until(`${key} to finish`, async () => {
  const j = await job(key);
  return j && (j.state === 'done' || j.state === 'failed') ? j : undefined;
});

/** Kills the invocation as soon as it has claimed the job for this attempt (a crash mid-job). */
function killAfterClaim(key: string): (inv: Invocation, receiveCount: number) => void {
  return (inv, receiveCount) => void until('the claim', async () => {
    const j = await job(key);
    return j?.state === 'processing' && j.attempts === receiveCount ? j : undefined;
  }, 10_000).then(() => inv.kill(), () => {});
}

describe('lifecycle (production timing scaled by 1/225)', () => {
  it('derives the lease, the retry delay and the time guard from the stack settings, scaled together', () => {
    expect(production).toMatchObject({ maxAttempts: DEFAULT_CONFIG.separateMaxAttempts, functionTimeoutSeconds: DEFAULT_CONFIG.separateTimeoutSeconds });
    expect(policy.functionTimeoutSeconds / production.functionTimeoutSeconds).toBeCloseTo(SCALE);
    expect(policy.leaseMarginSeconds / production.leaseMarginSeconds).toBeCloseTo(SCALE);
    expect(V).toBe(6 * policy.functionTimeoutSeconds * 1000);
    expect(stack.uploads.opts).toMatchObject({ visibilityTimeoutSeconds: V / 1000, redrive: { maxReceiveCount: policy.maxAttempts } });
  });

  it.concurrent('a worker killed mid-job: the redelivery after the lease completes the job', async () => {
    const { key } = await put('killed-once', 1);
    const kill = killAfterClaim(key);
    onInvoke.set(key, (inv, n) => { if (n === 1) kill(inv, n); });
    const claimed = await until('the first claim', async () => { const j = await job(key); return j?.state === 'processing' ? j : undefined; });
    const done = await finished(key);
    expect(done).toMatchObject({ state: 'done', attempts: 2 });
    expect(separate.stats.killed).toBeGreaterThan(0);
    const [first, second] = invocationsOf.get(key)!;
    expect(second.receiveCount).toBe(2);
    // the message came back after the visibility timeout, which outlasts the dead worker's lease
    expect(second.at).toBeGreaterThan(Date.parse(claimed.leaseUntil!));
    expect(second.at - first.at).toBeGreaterThan(V - 200);
    expect(await keysUnder(s3, stack.bucket, `results/${done.id}/`)).toHaveLength(3);
  });

  it.concurrent('a worker killed on every attempt: failed ATTEMPTS_EXHAUSTED after exactly maxAttempts, nothing under results/', async () => {
    const { key } = await put('killed-always', 20);
    onInvoke.set(key, killAfterClaim(key));
    // between attempts the status is honest: the lease ran out, so not `processing`
    const between = await until('a lapsed lease', async () => {
      const j = await job(key);
      return j?.state === 'processing' && Date.parse(j.leaseUntil!) < Date.now() - 50 ? j : undefined;
    });
    const status = await getStatus(stack.apiUrl, between.id);
    expect(status.state).toBe('retrying');
    expect(status.error).toMatchObject({ code: 'WORKER_LOST', message: expect.stringMatching(/stopped without finishing.*waiting for the upload to be delivered again/) });

    const failed = await finished(key);
    expect(failed).toMatchObject({ state: 'failed', attempts: policy.maxAttempts, error: { code: 'ATTEMPTS_EXHAUSTED' } });
    expect(failed.error!.message).toMatch(new RegExp(`gave up after ${policy.maxAttempts} attempts; last error WORKER_LOST`));
    expect(invocationsOf.get(key)!.map((i) => i.receiveCount)).toEqual(Array.from({ length: policy.maxAttempts }, (_, i) => i + 1));
    expect(stack.deadLettered).toContain(key);
    expect(await keysUnder(s3, stack.bucket, `results/${failed.id}/`)).toEqual([]);
    expect((await getStatus(stack.apiUrl, failed.id)).state).toBe('failed');
  });

  it.concurrent('a retryable error on the last attempt ends the job failed, not retrying', async () => {
    proxy.add({ method: 'PUT', path: /cut-every-time-stems\.zip/, fault: { kind: 'cut' }, times: Infinity });
    const { key } = await put('cut-every-time', 1);
    const states = new Set<string>();
    const seen = until('failure', async () => { const j = await job(key); if (j) states.add(j.state); return j?.state === 'failed' ? j : undefined; });
    const failed = await seen;
    expect(failed.attempts).toBe(policy.maxAttempts);
    expect(failed.error!.code).not.toBe('ATTEMPTS_EXHAUSTED'); // the real error, recorded by the last attempt
    expect(states).toContain('retrying');
    expect(invocationsOf.get(key)).toHaveLength(policy.maxAttempts);
    expect(stack.deadLettered).not.toContain(key); // ended by the last attempt itself
    expect(await keysUnder(s3, stack.bucket, `results/${failed.id}/`)).toEqual([]);
  });

  it.concurrent('duplicate deliveries make one result; one that finds a live lease goes back to the queue and takes over after it', async () => {
    const dup = await put('duplicated', 1);
    const record = s3EventRecord(stack.bucket, dup.key, dup.bytes, dup.etag);
    stack.deliver(record);
    stack.deliver(record);
    const done = await finished(dup.key);
    await until('the duplicates to be consumed', async () => (invocationsOf.get(dup.key)?.length ?? 0) >= 3);
    expect(done).toMatchObject({ state: 'done', attempts: 1 });
    expect((await keysUnder(s3, stack.bucket, `results/${done.id}/`)).filter((k) => k.endsWith('.zip'))).toHaveLength(1);

    // a job held by a (presumed live) worker: the delivery is returned, not dropped as a success
    const held = await put('held', 1);
    const first = await finished(held.key);
    const lease = Date.now() + 2 * policy.functionTimeoutSeconds * 1000;
    const stuck: Job = { ...first, state: 'processing', result: undefined, leaseUntil: new Date(leaseUntil(lease, policy)).toISOString() };
    await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: `jobs/${first.id}.json`, Body: JSON.stringify(stuck) }));
    stack.deliver(s3EventRecord(stack.bucket, held.key, held.bytes, held.etag));
    const retaken = await until('the take-over', async () => { const j = await job(held.key); return j?.state === 'done' ? j : undefined; });
    expect(retaken.attempts).toBe(first.attempts + 1);
    const tries = invocationsOf.get(held.key)!;
    expect(tries.at(-1)!.receiveCount).toBe(2); // the returned delivery came back once, after the lease
    expect(tries.at(-1)!.at).toBeGreaterThan(Date.parse(stuck.leaseUntil!));
  });
});

describe('status of a job whose lease ran out', () => {
  async function statusOf(patch: Partial<Job>) {
    const id = `lease${Math.random().toString(36).slice(2)}AAAAAAAAAAAAAAAAA`.slice(0, 22);
    const now = new Date().toISOString();
    const record: Job = {
      id, state: 'processing', origin: 'api', createdAt: now, updatedAt: now, attempts: 1,
      options: { model: 'tiny', stems: [], format: 'wav16', sampleRate: 'model' }, upload: { key: `uploads/${id}/a.wav`, filename: 'a.wav' },
      progress: { stage: 'separate', fraction: 0.5 }, ...patch,
    };
    await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: `jobs/${id}.json`, Body: JSON.stringify(record) }));
    return getStatus(stack.apiUrl, id);
  }

  it('is processing while the lease holds', async () => {
    expect((await statusOf({ leaseUntil: new Date(Date.now() + 60_000).toISOString() })).state).toBe('processing');
  });

  it('is retrying, not processing, once it ran out with attempts left (nobody may ever retry: it says so)', async () => {
    const s = await statusOf({ leaseUntil: new Date(Date.now() - 1).toISOString() });
    expect(s.state).toBe('retrying');
    expect(s.error).toEqual({ code: 'WORKER_LOST', message: 'attempt 1 stopped without finishing (timeout, out of memory or crash); waiting for the upload to be delivered again' });
    expect(s.progress).toBeUndefined();
  });

  it('is failed with ATTEMPTS_EXHAUSTED once it ran out on the last attempt', async () => {
    const s = await statusOf({ attempts: policy.maxAttempts, leaseUntil: new Date(Date.now() - 1).toISOString() });
    expect(s.state).toBe('failed');
    expect(s.error?.code).toBe('ATTEMPTS_EXHAUSTED');
  });
});
