/**
 * The container image, checked without Docker: build the bundles the image copies, check that
 * every path the Dockerfile copies exists (and is in the build context), then run each bundled
 * handler in a plain Node process laid out like /var/task, against the local S3 server.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import http, { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadFile } from '../cli/api-client.js';
import { bundleFunctions, FUNCTIONS, lambdaNodeMajor } from '../infra/image/bundle.js';
import { fetchFfmpeg, readRelease, releaseArch } from '../infra/image/fetch-ffmpeg.js';
import { LOCAL_S3_CLIENT_ENV, localS3Client, startLocalS3, type LocalS3 } from '../local/s3-server.js';
import { tmpDir, writeGainModel } from '../dev/models.js';
import { writeMusicWav } from '../dev/signals.js';

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
  mkdirSync(path.join(taskRoot, 'node_modules', '@echogarden'));
  for (const m of ['onnxruntime-node', 'onnxruntime-common', '@echogarden/pffft-wasm']) symlinkSync(path.join(root, 'node_modules', m), path.join(taskRoot, 'node_modules', m));
  cpSync(path.join(root, 'models'), path.join(taskRoot, 'models'), { recursive: true });
}, 120_000);

describe('Dockerfile', () => {
  it('builds on a Node that Lambda supports, and the bundles target that Node', () => {
    const major = lambdaNodeMajor();
    expect([22, 24]).toContain(major);
    expect(dockerfile).toMatch(/^FROM public\.ecr\.aws\/docker\/library\/node:\$\{NODE_VERSION\}-\S+ AS build$/m);
    expect(dockerfile).toMatch(/^FROM public\.ecr\.aws\/lambda\/nodejs:\$\{NODE_VERSION\}$/m);
    expect(readFileSync(path.join(root, 'infra', 'image', 'bundle.ts'), 'utf8')).toMatch(/target: `node\$\{lambdaNodeMajor\(\)\}`/);
    // the image installs with the project's .npmrc, which keeps install scripts (CUDA downloads) off
    expect(dockerfile).toMatch(/^COPY package\.json package-lock\.json \.npmrc \.\/$/m);
    expect(readFileSync(path.join(root, '.npmrc'), 'utf8')).toMatch(/^ignore-scripts=true$/m);
  });

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
    // every bundle the stack's CMDs name is built
    for (const f of FUNCTIONS) expect(existsSync(path.join(root, 'dist', 'functions', `${f}.mjs`))).toBe(true);
  });
});

describe('the image ships a current, pinned static ffmpeg and ffprobe', () => {
  it('the build fetches both for the target architecture and the functions are pointed at them', async () => {
    expect(dockerfile).toMatch(/ARG TARGETARCH[\s\S]*npx tsx infra\/image\/fetch-ffmpeg\.ts --arch "\$\{TARGETARCH:-amd64\}" --out \/opt\/bin/);
    expect(copies()).toContainEqual({ from: 'build', sources: ['/opt/bin/ffmpeg', '/opt/bin/ffprobe'], dest: '/opt/bin/' });
    expect(dockerfile).toMatch(/FFMPEG_PATH=\/opt\/bin\/ffmpeg/);
    expect(dockerfile).toMatch(/FFPROBE_PATH=\/opt\/bin\/ffprobe/);
    const release = await readRelease();
    expect(Number(release.ffmpegVersion.split('.')[0])).toBeGreaterThanOrEqual(7);
    for (const arch of ['amd64', 'arm64']) {
      for (const tool of ['ffmpeg', 'ffprobe'] as const) expect(release.sha256[releaseArch(arch)][tool]).toMatch(/^[0-9a-f]{64}$/);
    }
    // the old 2018 build is gone from the dependencies
    expect(Object.keys(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).optionalDependencies ?? {})).not.toContain('@ffmpeg-installer/linux-x64');
  });

  it('installs a download only when its SHA-256 matches the pin', async () => {
    const payload = { ffmpeg: Buffer.from('#!/bin/sh\necho ffmpeg\n'), ffprobe: Buffer.from('#!/bin/sh\necho ffprobe\n') };
    const server = http.createServer((req, res) => res.end(req.url!.includes('ffprobe') ? payload.ffprobe : payload.ffmpeg));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      const release = {
        version: 'test', ffmpegVersion: '8.1.2', urlTemplate: `http://127.0.0.1:${(server.address() as AddressInfo).port}/{version}/{tool}-linux-{arch}`,
        sha256: { x64: { ffmpeg: sha(payload.ffmpeg), ffprobe: sha(payload.ffprobe) }, arm64: { ffmpeg: sha(payload.ffprobe), ffprobe: sha(payload.ffprobe) } },
      };
      const good = tmpDir('ffmpeg-good');
      expect(await fetchFfmpeg(release, 'amd64', good)).toEqual([path.join(good, 'ffmpeg'), path.join(good, 'ffprobe')]);
      expect(statSync(path.join(good, 'ffprobe')).mode & 0o111).toBeTruthy();
      const bad = tmpDir('ffmpeg-bad');
      await expect(fetchFfmpeg(release, 'arm64', bad)).rejects.toThrow(/does not match the pinned/);
      expect(readdirSync(bad)).toEqual([]);
    } finally {
      server.close();
    }
  });
});

describe('bundled handlers in plain Node processes', () => {
  let s3: LocalS3;
  const bucket = 'image-test';
  let env: NodeJS.ProcessEnv;
  let optBin: string;

  beforeAll(async () => {
    s3 = await startLocalS3({ directory: tmpDir('image-s3'), bucket, corsOrigins: ['http://127.0.0.1:1'] });
    const models = tmpDir('image-models');
    cpSync(writeGainModel({ id: 'tiny', gains: { vocals: 1, accompaniment: 1 } }), path.join(models, 'tiny'), { recursive: true });
    // /opt/bin as the image lays it out; each tool logs its calls, so the test sees which binary ran
    optBin = tmpDir('opt-bin');
    for (const tool of ['ffmpeg', 'ffprobe']) {
      const real = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      writeFileSync(path.join(optBin, tool), `#!/bin/sh\necho ${tool} >> "${optBin}/calls.log"\nexec "${real}" "$@"\n`, { mode: 0o755 });
    }
    env = {
      PATH: '/nonexistent', // no ffmpeg from PATH: the image's FFMPEG_PATH / FFPROBE_PATH must be what works
      FFMPEG_PATH: path.join(optBin, 'ffmpeg'),
      FFPROBE_PATH: path.join(optBin, 'ffprobe'),
      STEMS_BUNDLED_MODELS_DIR: path.join(taskRoot, 'models'),
      STEMS_MODELS_DIR: models,
      STEMS_DEFAULT_MODEL: 'tiny',
      STEMS_CACHE_DIR: tmpDir('image-cache'),
      STEMS_BUCKET: bucket,
      STEMS_S3_ENDPOINT: s3.endpoint,
      ...LOCAL_S3_CLIENT_ENV,
    };
  });
  afterAll(() => s3?.close());

  async function invoke(handler: string, event: unknown, extraEnv: Record<string, string> = {}): Promise<Record<string, unknown>> {
    const script = `const m = await import(${JSON.stringify(path.join(taskRoot, `${handler}.mjs`))});
      const r = await m.handler(${JSON.stringify(event)}, { awsRequestId: 'test', getRemainingTimeInMillis: () => 60000 });
      process.stdout.write('\\nRESULT ' + JSON.stringify(r) + '\\n');`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: taskRoot, env: { ...env, ...extraEnv }, maxBuffer: 1 << 24 });
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
    const client = localS3Client(s3.endpoint);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const event = { Records: [{
      eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'us-east-1', eventTime: new Date().toISOString(), eventName: 'ObjectCreated:Post',
      s3: { s3SchemaVersion: '1.0', configurationId: 'uploads', bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
        object: { key: key.replace(/ /g, '+'), size: statSync(file).size, eTag: head.ETag!.replace(/"/g, ''), sequencer: '0' } },
    }] };
    const outcomes = await invoke('separate', event) as unknown as { outcome: string }[];
    expect(outcomes).toEqual([expect.objectContaining({ jobId: job.jobId, outcome: 'done' })]);
    // the image's binaries did the probing, counting and decoding (WAV at the model's rate is written in-process)
    const calls = readFileSync(path.join(optBin, 'calls.log'), 'utf8').split('\n');
    expect(calls).toContain('ffprobe');
    expect(calls.filter((c) => c === 'ffmpeg').length).toBeGreaterThanOrEqual(2);

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

  it('metrics answers from its bundle, asking CloudWatch (never a local file)', async () => {
    const metricsEvent = (q: Record<string, string>) => ({ ...http('GET', '/metrics'), routeKey: 'GET /metrics', queryStringParameters: q });
    // a bad query is refused before any call
    const bad = await invoke('metrics', metricsEvent({ metric: 'Nope' }));
    expect(bad.statusCode).toBe(400);
    // a good one goes to CloudWatch: a loopback endpoint stands in for it and records the call
    const calls: string[] = [];
    const cw = createServer((req, res) => {
      calls.push(`${req.method} ${req.headers['x-amz-target'] ?? req.headers['smithy-protocol'] ?? req.url}`);
      res.writeHead(500).end();
    });
    await new Promise<void>((r) => cw.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(cw.address() as AddressInfo).port}`;
    const r = await invoke('metrics', metricsEvent({ metric: 'SeparationTime', stats: 'count,max' }), { AWS_ENDPOINT_URL_CLOUDWATCH: endpoint, AWS_MAX_ATTEMPTS: '1' });
    cw.close();
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.join(' ')).toMatch(/GetMetricData|rpc-v2-cbor|POST/);
    expect(r.statusCode).toBe(500); // CloudWatch failed; the client gets the generic message
  });
});
