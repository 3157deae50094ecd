/** The local S3 server keeps the S3 guarantees the job store relies on. */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localS3Client, startLocalS3, type LocalS3 } from '../local/s3-server.js';
import { tmpDir } from '../dev/models.js';

let s3srv: LocalS3;
let s3: S3Client;
const Bucket = 'guarantees';

beforeAll(async () => {
  s3srv = await startLocalS3({ directory: tmpDir('s3'), bucket: Bucket, corsOrigins: ['http://127.0.0.1:1'] });
  s3 = localS3Client(s3srv.endpoint);
});
afterAll(() => s3srv.close());

const put = (Key: string, Body: string, cond: { IfNoneMatch?: string; IfMatch?: string } = {}) =>
  s3.send(new PutObjectCommand({ Bucket, Key, Body, ...cond }));

describe('local S3 server', () => {
  it('creates with If-None-Match: * only once, even when racing', async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => put('race.json', `writer ${i}`, { IfNoneMatch: '*' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as Error).name).toBe('PreconditionFailed');
  });

  it('replaces with If-Match only when the ETag is current', async () => {
    const first = await put('cas.json', 'v1');
    const second = await put('cas.json', 'v2', { IfMatch: first.ETag });
    await expect(put('cas.json', 'v3', { IfMatch: first.ETag })).rejects.toMatchObject({ name: 'PreconditionFailed' });
    await put('cas.json', 'v3', { IfMatch: second.ETag });
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'cas.json' }));
    expect(await got.Body!.transformToString()).toBe('v3');
  });

  it('refuses If-Match on a key with no object as S3 does (404 NoSuchKey), and writes nothing', async () => {
    await expect(put('missing.json', 'v1', { IfMatch: '"0123456789abcdef0123456789abcdef"' })).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    await expect(s3.send(new GetObjectCommand({ Bucket, Key: 'missing.json' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it('counts concurrent read-modify-write updates with If-Match exactly once each (the fan-out segment counter)', async () => {
    await put('counter.json', JSON.stringify({ done: [] }));
    const writers = Array.from({ length: 12 }, (_, i) => (async () => {
      for (let tries = 1; ; tries++) {
        const r = await s3.send(new GetObjectCommand({ Bucket, Key: 'counter.json' }));
        const value = JSON.parse(await r.Body!.transformToString()) as { done: number[] };
        try {
          await put('counter.json', JSON.stringify({ done: [...value.done, i] }), { IfMatch: r.ETag });
          return tries;
        } catch (err) {
          expect((err as Error).name).toBe('PreconditionFailed');
        }
      }
    })());
    const tries = await Promise.all(writers);
    const final = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket, Key: 'counter.json' }))).Body!.transformToString());
    expect([...final.done].sort((a: number, b: number) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    // they really raced: some writers lost at least once and read again
    expect(Math.max(...tries)).toBeGreaterThan(1);
  });

  it('never lets a reader see a half-written object', async () => {
    const big = (c: string) => c.repeat(2 * 1024 * 1024);
    await put('swap.bin', big('a'));
    const reads: Promise<string>[] = [];
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 6; i++) {
      writes.push(put('swap.bin', big(i % 2 ? 'a' : 'b')));
      reads.push(s3.send(new GetObjectCommand({ Bucket, Key: 'swap.bin' })).then((r) => r.Body!.transformToString()));
    }
    await Promise.all(writes);
    for (const body of await Promise.all(reads)) {
      expect(body.length).toBe(2 * 1024 * 1024);
      expect(new Set(body).size).toBe(1);
    }
  });
});
