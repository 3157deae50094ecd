/**
 * Local mode: the same handlers as in AWS, on this machine. An S3-compatible server on loopback,
 * S3 ObjectCreated events for uploads/ delivered to `separate` (keys encoded as S3 encodes them,
 * Lambda-like concurrency and retries), and an HTTP server that turns requests into API Gateway
 * events for `presign` and `status`. Only configuration differs from AWS.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ENV } from '../layers/core/env.js';
import { encodeEventKey, KEYS } from '../layers/storage/s3.js';
import { ROUTES } from '../layers/contracts/api.js';
import { createHttpApi, lambdaContext, localRoute, type HttpHandler, type StaticSite } from './http-api.js';
import { captureEmf } from './emf-capture.js';
import { EmfFileBackend } from './emf-store.js';
import { EventDispatcher } from './s3-events.js';
import { LOCAL_S3_CLIENT_ENV, startLocalS3 } from './s3-server.js';
import { enableSharedModels } from './shared-models.js';

export interface LocalStackOptions {
  /** HTTP port (0: ephemeral). */
  port?: number;
  s3Port?: number;
  dataDir: string;
  bucket?: string;
  concurrency?: number;
  /** What `separate` is told its timeout is (Lambda's limit by default). */
  separateTimeoutSeconds?: number;
  retries?: number;
  retryDelayMs?: number;
  /** Extra environment for the handlers (e.g. STEMS_MODELS_DIR, STEMS_DEFAULT_MODEL). */
  env?: Record<string, string>;
  /** The built upload page (dist/web) to serve at /, with a generated config.json. */
  site?: StaticSite;
}

export interface LocalStack {
  apiUrl: string;
  s3Endpoint: string;
  bucket: string;
  dataDir: string;
  events: EventDispatcher;
  /** Where the functions' EMF records are collected (read by GET /metrics). */
  emfFile: string;
  close(): Promise<void>;
}

export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const bucket = opts.bucket ?? 'stem-splitter-local';
  enableSharedModels();
  mkdirSync(path.join(opts.dataDir, 's3'), { recursive: true });
  const handlers: Record<string, HttpHandler> = {};
  const routes = Object.values(ROUTES).map((r) => localRoute(r, () => handlers[r.handler]));
  const http = createHttpApi(routes, opts.site);
  await new Promise<void>((r) => http.listen(opts.port ?? 0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;
  const apiUrl = `http://127.0.0.1:${port}`;

  const s3 = await startLocalS3({
    directory: path.join(opts.dataDir, 's3'), bucket, port: opts.s3Port,
    corsOrigins: [apiUrl, `http://localhost:${port}`],
  });
  const emfFile = path.join(opts.dataDir, 'metrics', 'emf.jsonl');
  const releaseStdout = captureEmf(emfFile);
  Object.assign(process.env, {
    [ENV.bucket]: bucket,
    [ENV.s3Endpoint]: s3.endpoint,
    // s3rver's fixed credentials and checksum settings; nothing leaves loopback
    ...LOCAL_S3_CLIENT_ENV,
    // as Lambda sets it, so the functions report their cold starts
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    ...opts.env,
  });
  const [presign, status, metrics, separate] = await Promise.all([
    import('../functions/presign/handler.js'), import('../functions/status/handler.js'),
    import('../functions/metrics/handler.js'), import('../functions/separate/handler.js'),
  ]);
  handlers.presign = presign.handler as unknown as HttpHandler;
  handlers.status = status.handler as unknown as HttpHandler;
  // the same metrics function as in AWS, answering from the EMF records collected here instead of CloudWatch
  handlers.metrics = metrics.metricsFunction(new EmfFileBackend(emfFile)) as unknown as HttpHandler;

  const events = new EventDispatcher(
    (event) => (separate.handler as unknown as (e: typeof event, c: object) => Promise<unknown>)(event, lambdaContext('separate', (opts.separateTimeoutSeconds ?? 900) * 1000)),
    { concurrency: opts.concurrency ?? 1, retries: opts.retries ?? 2, retryDelayMs: opts.retryDelayMs ?? 1000 },
  );
  // the bucket notification of the stack: ObjectCreated:* with prefix uploads/
  s3.onEvent((event) => {
    for (const r of event.Records) {
      if (!r.eventName.startsWith('ObjectCreated') || !r.s3.object.key.startsWith(KEYS.uploadsPrefix)) continue;
      events.push({ ...r, s3: { ...r.s3, object: { ...r.s3.object, key: encodeEventKey(r.s3.object.key) } } });
    }
  });

  return {
    apiUrl, s3Endpoint: s3.endpoint, bucket, dataDir: opts.dataDir, events, emfFile,
    close: async () => {
      await events.idle();
      await new Promise<void>((r) => http.close(() => r()));
      await s3.close();
      releaseStdout();
    },
  };
}
