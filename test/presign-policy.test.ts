/** The presigned POST's policy is what S3 enforces (s3rver does not): assert on the policy itself. */
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { ServiceConfig } from '../layers/core/env.js';
import { presignUpload } from '../layers/jobs/create-job.js';
import { validateContentType, validateFilename, validateSize } from '../layers/jobs/validate.js';

const config: ServiceConfig = {
  bucket: 'stems-bucket', region: 'eu-west-1', endpoint: undefined, maxUploadBytes: 1000, maxDurationSeconds: 600,
  uploadUrlSeconds: 300, downloadUrlSeconds: 3600, minRealTimeFactor: 4, functionMemoryMb: undefined, inLambda: false, progressIntervalMs: 2000, jobOverheadSeconds: 10,
  fanout: { segmentSeconds: 120, timeFraction: 0.5, aboveSeconds: undefined },
};
const s3 = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });

describe('presigned upload policy', () => {
  it('pins the exact key, the size, the content type and a short expiry', async () => {
    const before = Date.now();
    const post = await presignUpload(s3, config, 'uploads/abc/My Song.mp3', 'audio/mpeg', 777);
    const policy = JSON.parse(Buffer.from(post.fields.Policy, 'base64').toString('utf8'));
    expect(policy.conditions).toEqual(expect.arrayContaining([
      ['eq', '$key', 'uploads/abc/My Song.mp3'],
      ['content-length-range', 777, 777],
      ['eq', '$Content-Type', 'audio/mpeg'],
      { bucket: 'stems-bucket' },
    ]));
    // no condition loosens the key (no starts-with)
    expect(JSON.stringify(policy.conditions)).not.toMatch(/starts-with/);
    const expires = Date.parse(policy.expiration);
    expect(expires).toBeGreaterThanOrEqual(before + 300_000 - 2000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 300_000 + 2000);
    expect(post.fields).toMatchObject({ key: 'uploads/abc/My Song.mp3', 'Content-Type': 'audio/mpeg' });
    expect(post.url).toMatch(/stems-bucket/);
  });
});

describe('upload request validation', () => {
  it.each([
    ['a/b.mp3', /slashes/], ['..', /slashes/], ['x\u0000.mp3', /control/], ['', /required/], ['a'.repeat(201), /200 characters/],
  ])('rejects filename %j', (name, message) => expect(() => validateFilename(name)).toThrow(message));

  it.each(['audio/mpeg', 'audio/wav', 'audio/flac', 'AUDIO/MP4; codecs=mp4a'])('accepts content type %s', (t) => expect(validateContentType(t)).toMatch(/^audio\//));
  it.each(['text/html', 'application/octet-stream', undefined])('rejects content type %s', (t) => expect(() => validateContentType(t)).toThrow(/audio type/));
  it('bounds the size', () => {
    expect(validateSize(1000, 1000)).toBe(1000);
    expect(() => validateSize(1001, 1000)).toThrow(/maximum is 1000 bytes/);
    expect(() => validateSize(0, 1000)).toThrow(/^the file is empty$/);
    expect(() => validateSize(-1, 1000)).toThrow(/positive integer/);
    expect(() => validateSize(1.5, 1000)).toThrow(/positive integer/);
  });
});
