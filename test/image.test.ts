/**
 * The container image, checked without Docker: build the bundles the image copies, check that
 * every path the Dockerfile copies exists (and is in the build context), then run each bundled
 * handler in a plain Node process laid out like /var/task, against the local S3 server.
 */
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadFile } from '../cli/api-client.js';
import { bundleFunctions, FUNCTIONS } from '../infra/image/bundle.js';
import { startLocalS3, type LocalS3 } from '../local/s3-server.js';
import { tmpDir, writeGainModel } from './helpers/models.js';
import { writeMusicWav } from './helpers/signals.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const dockerfile = readFileSync(path.join(root, 'infra', 'image', 'Dockerfile'), 'utf8');

interface Copy { from?: string; sources: string[]; dest: string }
function copies(): Copy[] {
  return dockerfile.split('\n').filter((l) => /^COPY\s/.test(l)).map((l) => {
    const parts = l.trim().split(/\s+/).slice(1);
    const from = parts[0].startsWith('--from=') ? parts.shift()!.slice('--from='.length) : undefined;
    return { from, sources: parts.slice(0, -1), dest: parts[parts.length - 1] };
  });
}

/** .dockerignore is an allowlist: `*` then `!path` exceptions. */
function inContext(p: string): boolean {
  const allowed = readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1));
  return allowed.some((a) => p === a || p.startsWith(`${a}/`));
}

let taskRoot: string;
beforeAll(async () => {
  await bundleFunctions();
  // /var/task as the image lays it out: the bundles, onnxruntime's native package, the models folder
  taskRoot = tmpDir('var-task');
  for (const f of readdirSync(path.join(root, 'dist', 'functions'))) cpSync(path.join(root, 'dist', 'functions', f), path.join(taskRoot, f));
  mkdirSync(path.join(taskRoot, 'node_modules'));
  for (const m of ['onnxruntime-node', 'onnxruntime-common']) symlinkSync(path.join(root, 'node_modules', m), path.join(taskRoot, 'node_modules', m));
  cpSync(path.join(root, 'models'), path.join(taskRoot, 'models'), { recursive: true });
}, 120_000);

describe('Dockerfile', () => {
  it('copies from the build context only paths that exist and that .dockerignore lets in', () => {
    const local = copies().filter((c) => !c.from);
    expect(local.length).toBeGreaterThan(3);
    for (const c of local) for (const s of c.sources) {
      expect(existsSync(path.join(root, s)), s).toBe(true);
      expect(inContext(s), `${s} excluded by .dockerignore`).toBe(true);
    }
  });

  it('copies from the build stage only what the bundle step and npm ci produce', () => {
    const staged = copies().filter((c) => c.from === 'build');
    for (const c of staged) for (const s of c.sources) {
      if (s.startsWith('/app/')) expect(existsSync(path.join(root, s.slice('/app/'.length))), s).toBe(true);
    }
    // /opt/ffmpeg is copied out of the @ffmpeg-installer package for the image's platform
    expect(dockerfile).toMatch(/cp node_modules\/@ffmpeg-installer\/linux-\*\/ffmpeg \/opt\/ffmpeg/);
    const installers = readdirSync(path.join(root, 'node_modules', '@ffmpeg-installer')).filter((d) => d.startsWith('linux-'));
    expect(installers.some((d) => statSync(path.join(root, 'node_modules', '@ffmpeg-installer', d, 'ffmpeg')).mode & 0o111)).toBe(true);
    // every bundle the stack's CMDs name is built
    for (const f of FUNCTIONS) expect(existsSync(path.join(root, 'dist', 'functions', `${f}.mjs`))).toBe(true);
  });
});

describe('bundled handlers in plain Node processes', () => {
  let s3: LocalS3;
  const bucket = 'image-test';
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    s3 = await startLocalS3({ directory: tmpDir('image-s3'), bucket, corsOrigins: ['http://127.0.0.1:1'] });
    const models = tmpDir('image-models');
    cpSync(writeGainModel({ id: 'tiny', gains: { vocals: 1, accompaniment: 1 } }), path.join(models, 'tiny'), { recursive: true });
    const installer = readdirSync(path.join(root, 'node_modules', '@ffmpeg-installer')).find((d) => d.startsWith('linux-'))!;
    env = {
      PATH: '/usr/bin:/bin', // no ffmpeg from PATH: the image's FFMPEG_PATH must be what works
      FFMPEG_PATH: path.join(root, 'node_modules', '@ffmpeg-installer', installer, 'ffmpeg'),
      STEMS_BUNDLED_MODELS_DIR: path.join(taskRoot, 'models'),
      STEMS_MODELS_DIR: models,
      STEMS_DEFAULT_MODEL: 'tiny',
      STEMS_CACHE_DIR: tmpDir('image-cache'),
      STEMS_BUCKET: bucket,
      STEMS_S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
    };
  });
  afterAll(() => s3?.close());

  async function invoke(handler: string, event: unknown): Promise<Record<string, unknown>> {
    const script = `const m = await import(${JSON.stringify(path.join(taskRoot, `${handler}.mjs`))});
      const r = await m.handler(${JSON.stringify(event)}, { awsRequestId: 'test', getRemainingTimeInMillis: () => 60000 });
      process.stdout.write('\\nRESULT ' + JSON.stringify(r) + '\\n');`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: taskRoot, env, maxBuffer: 1 << 24 });
    return JSON.parse(stdout.split('\nRESULT ').pop()!);
  }

  const http = (method: string, rawPath: string, body?: unknown, id?: string) => ({
    version: '2.0', routeKey: `${method} ${id ? '/jobs/{id}' : '/jobs'}`, rawPath, rawQueryString: '', headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body), isBase64Encoded: false, pathParameters: id ? { id } : undefined,
    requestContext: { http: { method, path: rawPath }, requestId: 'r', routeKey: `${method} /jobs`, stage: '$default' },
  });

  it('presign, separate and status work from their bundles with a sample event each', async () => {
    const file = writeMusicWav(tmpDir('image-in'), 'bundle test.wav', 1);
    const created = await invoke('presign', http('POST', '/jobs', { filename: 'bundle test.wav', contentType: 'audio/wav', bytes: statSync(file).size }));
    expect(created.statusCode).toBe(201);
    const job = JSON.parse(created.body as string);
    await uploadFile(job.upload, file);

    const key = `uploads/${job.jobId}/bundle test.wav`;
    const client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const event = { Records: [{
      eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'us-east-1', eventTime: new Date().toISOString(), eventName: 'ObjectCreated:Post',
      s3: { s3SchemaVersion: '1.0', configurationId: 'uploads', bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
        object: { key: key.replace(/ /g, '+'), size: statSync(file).size, eTag: head.ETag!.replace(/"/g, ''), sequencer: '0' } },
    }] };
    const outcomes = await invoke('separate', event) as unknown as { outcome: string }[];
    expect(outcomes).toEqual([expect.objectContaining({ jobId: job.jobId, outcome: 'done' })]);

    const status = await invoke('status', http('GET', `/jobs/${job.jobId}`, undefined, job.jobId));
    expect(status.statusCode).toBe(200);
    const s = JSON.parse(status.body as string);
    expect(s.state).toBe('done');
    expect(s.downloads.stems.map((x: { stem: string }) => x.stem)).toEqual(['vocals', 'accompaniment']);

    // the same upload as the upload queue and its dead-letter queue deliver it: both bundles take SQS events
    const message = (n: number) => ({ Records: [{
      messageId: `m${n}`, receiptHandle: 'r', body: JSON.stringify(event), attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {},
      md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:q', awsRegion: 'us-east-1',
    }] });
    expect(await invoke('separate', message(1))).toEqual({ batchItemFailures: [] });
    expect(await invoke('dead-letter', message(2))).toEqual({ batchItemFailures: [] });
    const after = JSON.parse((await invoke('status', http('GET', `/jobs/${job.jobId}`, undefined, job.jobId))).body as string);
    expect(after).toMatchObject({ state: 'done' }); // a done job is never ended by a late dead letter
  });

  it('metrics answers from its bundle (local EMF file in place of CloudWatch)', async () => {
    const emf = path.join(tmpDir('image-emf'), 'emf.jsonl');
    const record = { _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: 'StemSplitter', Dimensions: [['service']], Metrics: [{ Name: 'SeparationTime', Unit: 'Milliseconds' }] }] }, service: 'separate', SeparationTime: 1234 };
    writeFileSync(emf, `${JSON.stringify(record)}\n`);
    env.STEMS_EMF_FILE = emf;
    const r = await invoke('metrics', { ...http('GET', '/metrics'), routeKey: 'GET /metrics', queryStringParameters: { metric: 'SeparationTime', stats: 'count,max' } });
    delete env.STEMS_EMF_FILE;
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body as string).results).toEqual([{ metric: 'SeparationTime', unit: 'Milliseconds', stats: { count: 1, max: 1234 } }]);
  });
});
