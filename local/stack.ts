/**
 * Local mode: the same handlers as in AWS, on this machine. An S3-compatible server on loopback;
 * its ObjectCreated events for uploads/ go, as the bucket notification does in AWS, to an upload
 * queue (local/sqs-queue.ts: visibility timeout, receive counts, dead-letter redrive, duplicates)
 * that an event source mapping (local/event-source-mapping.ts) feeds to `separate`, with the
 * dead-letter queue feeding `dead-letter`; the queues are derived from the same retry policy as the
 * stack's. Fan-out tasks (work/*.task.json: a long song's segments and their stitch) go the same
 * way through a segment queue to `separate`, consumed by N concurrent workers. An HTTP server turns requests into API Gateway events for `presign`, `status` and
 * `metrics`. Only configuration differs from AWS.
 */
import type { S3EventRecord } from 'aws-lambda';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ENV } from '../layers/core/env.js';
import { DEFAULT_RETRY_POLICY, deadLetterTimeoutSeconds, retryPolicyEnv, validateRetryPolicy, visibilityTimeoutSeconds, type RetryPolicy } from '../layers/jobs/retry-policy.js';
import { decodeEventKey, encodeEventKey, KEYS, TASK_SUFFIX } from '../layers/storage/s3.js';
import { ROUTES } from '../layers/contracts/api.js';
import { createHttpApi, localRoute, type HttpHandler, type StaticSite } from './http-api.js';
import { captureEmf } from './emf-capture.js';
import { EmfFileBackend } from './emf-store.js';
import { EventSourceMapping, type QueueFunction } from './event-source-mapping.js';
import { InProcessFunction, type Handler } from './function-runtime.js';
import { LOCAL_S3_CLIENT_ENV, startLocalS3 } from './s3-server.js';
import { LocalQueue } from './sqs-queue.js';

export interface LocalStackOptions {
  /** HTTP port (0: ephemeral). */
  port?: number;
  s3Port?: number;
  dataDir: string;
  bucket?: string;
  /** Most separations at once: the event source mapping's maximum concurrency. @default 1 */
  concurrency?: number;
  /** Most segment workers at once (the segment queue's event source mapping) for fanned-out songs. @default concurrency */
  workers?: number;
  /** Attempts, function timeout and lease margin; the queues' settings derive from it. @default DEFAULT_RETRY_POLICY */
  policy?: RetryPolicy;
  /** Probability that the upload queue stores a message twice (SQS's at-least-once delivery). @default 0 */
  duplicateRate?: number;
  /** Runs `separate` (uploads and fan-out tasks) elsewhere than in this process (tests: real processes that can be killed). */
  separate?: QueueFunction;
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
  policy: RetryPolicy;
  /** The upload queue and its dead-letter queue. */
  uploads: LocalQueue;
  deadLetters: LocalQueue;
  /** Fan-out tasks (segments, stitch): S3 notifications of work/*.task.json, dead letters to deadLetters. */
  segments: LocalQueue;
  /** What consumes them: separate (twice: uploads and segments) and dead-letter. */
  separate: EventSourceMapping;
  segmentWorkers: EventSourceMapping;
  deadLetter: EventSourceMapping;
  /** `separate` in this process (undefined when options.separate runs it elsewhere). */
  separateFunction?: InProcessFunction<unknown>;
  /** Upload (and task) keys whose message reached the dead-letter queue, in order. */
  deadLettered: string[];
  /** Sends an S3 event record to the upload queue, as the bucket notification does. */
  deliver(record: S3EventRecord): void;
  /** Resolves when both queues are empty and no function is running. */
  idle(): Promise<void>;
  /** Where the functions' EMF records are collected (read by GET /metrics). */
  emfFile: string;
  /** Stops the pollers (waiting for running invocations), the HTTP API and S3; queued messages are dropped. */
  close(): Promise<void>;
}

export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const bucket = opts.bucket ?? 'stem-splitter-local';
  const policy = validateRetryPolicy(opts.policy ?? DEFAULT_RETRY_POLICY);
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
    ...retryPolicyEnv(policy),
    ...opts.env,
  });
  const [presign, status, metrics, separate, deadLetter, sharedModels] = await Promise.all([
    import('../functions/presign/handler.js'), import('../functions/status/handler.js'),
    import('../functions/metrics/handler.js'), import('../functions/separate/handler.js'), import('../functions/dead-letter/handler.js'),
    // imported with the handlers, so it registers with the same module instances they use (tests reset modules per stack)
    import('./shared-models.js'),
  ]);
  sharedModels.enableSharedModels();
  handlers.presign = presign.handler as unknown as HttpHandler;
  handlers.status = status.handler as unknown as HttpHandler;
  // the same metrics function as in AWS, answering from the EMF records collected here instead of CloudWatch
  handlers.metrics = metrics.metricsFunction(new EmfFileBackend(emfFile)) as unknown as HttpHandler;

  // the stack's queues (infra/lib/functions.ts), from the same policy
  const deadLetters = new LocalQueue({ name: 'upload-dead-letters', visibilityTimeoutSeconds: 6 * deadLetterTimeoutSeconds(policy), retentionSeconds: 14 * 86_400 });
  const uploads = new LocalQueue({
    name: 'uploads', visibilityTimeoutSeconds: visibilityTimeoutSeconds(policy), duplicateRate: opts.duplicateRate,
    redrive: { deadLetterQueue: deadLetters, maxReceiveCount: policy.maxAttempts },
  });
  const separateFunction = opts.separate ? undefined
    : new InProcessFunction('separate', () => separate.handler as unknown as Handler<unknown>, policy.functionTimeoutSeconds);
  const separateMapping = new EventSourceMapping({ queue: uploads, maxConcurrency: opts.concurrency ?? 1, invoke: opts.separate ?? separateFunction!.invoke });
  // the segment queue: same function, same policy, its own concurrency (the workers a song fans out to)
  const segments = new LocalQueue({
    name: 'segments', visibilityTimeoutSeconds: visibilityTimeoutSeconds(policy), duplicateRate: opts.duplicateRate,
    redrive: { deadLetterQueue: deadLetters, maxReceiveCount: policy.maxAttempts },
  });
  const segmentMapping = new EventSourceMapping({ queue: segments, maxConcurrency: opts.workers ?? opts.concurrency ?? 1, invoke: opts.separate ?? separateFunction!.invoke });
  const deadLettered: string[] = [];
  const deadLetterFunction = new InProcessFunction('dead-letter', () => deadLetter.handler as unknown as Handler<unknown>, deadLetterTimeoutSeconds(policy));
  const deadLetterMapping = new EventSourceMapping({
    queue: deadLetters, maxConcurrency: 1,
    invoke: (event) => {
      for (const m of event.Records) for (const r of JSON.parse(m.body).Records ?? []) deadLettered.push(decodeEventKey(r.s3.object.key));
      return deadLetterFunction.invoke(event);
    },
  });

  const deliver = (record: S3EventRecord) => { uploads.send(JSON.stringify({ Records: [record] })); };
  // the bucket notification of the stack: ObjectCreated:* with prefix uploads/, keys encoded as S3 encodes them
  // and ObjectCreated:* with prefix work/, suffix .task.json to the segment queue
  s3.onEvent((event) => {
    for (const r of event.Records) {
      if (!r.eventName.startsWith('ObjectCreated')) continue;
      const key = r.s3.object.key;
      const record = { ...r, s3: { ...r.s3, object: { ...r.s3.object, key: encodeEventKey(key) } } };
      if (key.startsWith(KEYS.uploadsPrefix)) deliver(record);
      else if (key.startsWith(KEYS.workPrefix) && key.endsWith(TASK_SUFFIX)) segments.send(JSON.stringify({ Records: [record] }));
    }
  });

  const idle = async () => {
    const busy = () => [uploads, segments, deadLetters].some((q) => { const d = q.depth(); return d.visible + d.inFlight > 0; })
      || separateMapping.stats.active + segmentMapping.stats.active + deadLetterMapping.stats.active > 0;
    while (busy()) await new Promise((r) => setTimeout(r, 20));
  };

  return {
    apiUrl, s3Endpoint: s3.endpoint, bucket, dataDir: opts.dataDir, policy, emfFile,
    uploads, deadLetters, segments, separate: separateMapping, segmentWorkers: segmentMapping, deadLetter: deadLetterMapping, separateFunction, deadLettered, deliver, idle,
    close: async () => {
      const stopped = Promise.all([separateMapping.stop(), segmentMapping.stop(), deadLetterMapping.stop()]);
      uploads.close();
      segments.close();
      deadLetters.close();
      await stopped;
      await new Promise<void>((r) => http.close(() => r()));
      await s3.close();
      releaseStdout();
    },
  };
}
