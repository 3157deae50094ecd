/**
 * What separate does with one delivery of an uploaded object (from the upload queue or a direct S3
 * event): find or create its job, claim it with a conditional write and a lease that lasts as long
 * as this invocation can run, stream the object to local disk, separate, write stems and the zip
 * under results/, and record the outcome. A delivery that finds the job leased by a live worker
 * throws LeaseHeldError (back to the queue, never a silent success). On failure the job says why,
 * partial results are removed, and the error is rethrown only when a later delivery will come and
 * could help.
 */
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OUTPUT_FORMATS } from '../audio/encode.js';
import { threadCount, type ServiceConfig } from '../core/env.js';
import { asStemSplitterError, clientMessage, LeaseHeldError, logDetail, StemSplitterError } from '../core/errors.js';
import { prepareSeparation, separateFile, type SeparationResult, type SeparationTimings } from '../engine/separate-file.js';
import type { ProgressStage } from '../engine/types.js';
import { ConflictError, type JobStore, type Versioned } from '../storage/job-store.js';
import { deletePrefix, putStems, putZip } from '../storage/results.js';
import { KEYS } from '../storage/s3.js';
import { JOB_ID_PATTERN, leaseHeld, type Job, type JobOptions, type JobResult } from './job.js';
import { initialFanout, putSegmentTasks, shouldFanOut } from './fanout.js';
import { planSegments } from '../engine/segments.js';
import { countDecodedFrames } from '../audio/decode.js';
import { endExhaustedJob } from './exhausted.js';
import { checkLimits, projectJob, type RuntimeLimits } from './limits.js';
import { fanoutLeaseUntil, isLastAttempt, leaseUntil, type RetryPolicy } from './retry-policy.js';
import { validateOptions } from './validate.js';
import { createWorkDir, removeWorkDir } from './work-dirs.js';
import { modelSizeMb } from '../models/registry.js';

export interface UploadedObject {
  bucket: string;
  /** Decoded key. */
  key: string;
  etag: string;
  bytes: number;
  eventTime?: string;
}

export interface Deps {
  s3: S3Client;
  jobs: JobStore;
  config: ServiceConfig;
  retry: RetryPolicy;
  /** When this invocation will be stopped, epoch ms (Lambda: now + context.getRemainingTimeInMillis()). */
  deadlineMs: () => number;
  logger?: JobLogger;
  /** Time and memory this invocation has (Lambda's context and environment). */
  limits?: () => Omit<RuntimeLimits, 'modelMb'>;
}

/** Where job events are logged (structured; the job id is added to every line). */
/** How the upload arrived: the queue's count of this message's deliveries (absent for a direct S3 event). */
export interface Delivery { receiveCount?: number }

export interface JobLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

/** What a job's run looked like: the figures metrics are made of. */
export interface JobSummary {
  model: string;
  /** Stems produced, joined with '+' (a low-cardinality dimension). */
  stems: string;
  format: string;
  audioSeconds?: number;
  timings: Partial<SeparationTimings> & { downloadMs?: number; uploadResultsMs?: number; totalMs?: number };
}

export type Outcome = { jobId: string; outcome: 'done' | 'failed' | 'skipped' | 'fanned-out'; reason?: string; errorCode?: string; job?: JobSummary };


export async function processUpload(obj: UploadedObject, deps: Deps, delivery: Delivery = {}): Promise<Outcome> {
  if (!obj.key.startsWith(KEYS.uploadsPrefix)) return { jobId: '', outcome: 'skipped', reason: 'not an upload' };
  const found = await findOrCreateJob(obj, deps);
  const claimed = await claim(found, obj, deps);
  if ('exhausted' in claimed) return endExhaustedJob(claimed.exhausted, obj.bucket, deps);
  if ('fannedOut' in claimed) {
    // a redelivery of an upload already cut into segments: make sure every task exists (a crash may
    // have stopped the first delivery halfway through writing them); duplicates are harmless
    await putSegmentTasks(deps.s3, obj.bucket, claimed.fannedOut);
    return { jobId: found.value.id, outcome: 'skipped', reason: 'already fanned out' };
  }
  if ('reason' in claimed) return { jobId: found.value.id, outcome: 'skipped', reason: claimed.reason };
  return run(claimed.job, obj, deps, delivery);
}

/** API uploads live at uploads/<jobId>/<file>; anything else is a batch drop with a derived id. */
export async function findOrCreateJob(obj: UploadedObject, deps: Pick<Deps, 's3' | 'jobs'>): Promise<Versioned<Job>> {
  const [, first] = obj.key.split('/');
  if (JOB_ID_PATTERN.test(first ?? '')) {
    const existing = await deps.jobs.get(first);
    if (existing && existing.value.upload.key === obj.key) return existing;
  }
  // one job per object version: duplicate deliveries of the same upload derive the same id
  const id = `b${createHash('sha256').update(`${obj.key}\n${obj.etag}`).digest('base64url').slice(0, 31)}`;
  const existing = await deps.jobs.get(id);
  if (existing) return existing;
  const now = new Date().toISOString();
  const job: Job = {
    id, state: 'queued', origin: 'batch', createdAt: now, updatedAt: now, attempts: 0,
    options: { model: '', stems: [], format: 'wav16', sampleRate: 'model' },
    upload: { key: obj.key, filename: path.basename(obj.key), bytes: obj.bytes, etag: obj.etag, uploadedAt: obj.eventTime },
  };
  try {
    job.options = await batchOptions(obj, deps.s3);
  } catch (err) {
    const e = asStemSplitterError(err);
    if (e.retryable || !(err instanceof StemSplitterError)) throw err;
    Object.assign(job, { state: 'failed', error: { code: e.code, message: `bad options in upload metadata: ${clientMessage(e)}` } });
  }
  try {
    return await deps.jobs.create(job);
  } catch (err) {
    if (err instanceof ConflictError) return (await deps.jobs.get(id))!;
    throw err;
  }
}

/** Batch uploads may carry options as object metadata (x-amz-meta-model, -stems, -format, -sample-rate, -quality, -iterations). */
async function batchOptions(obj: UploadedObject, s3: S3Client): Promise<JobOptions> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: obj.bucket, Key: obj.key }));
  const m = head.Metadata ?? {};
  return validateOptions({ model: m.model, stems: m.stems, format: m.format, sampleRate: m['sample-rate'], quality: m.quality, iterations: m.iterations });
}

type Claim = { job: Versioned<Job> } | { reason: string } | { exhausted: Versioned<Job> } | { fannedOut: Job };

async function claim(found: Versioned<Job>, obj: UploadedObject, deps: Deps): Promise<Claim> {
  const job = found.value;
  const sameObject = job.upload.etag === undefined || job.upload.etag === obj.etag;
  if ((job.state === 'done' || job.state === 'failed') && sameObject) return { reason: `already ${job.state}` };
  // an API job separates the one upload it was created for; a second POST to its key is ignored
  if (job.origin === 'api' && !sameObject && job.state !== 'awaiting-upload') return { reason: 'job already has an upload' };
  if (job.state === 'processing' && job.fanout && sameObject) return { fannedOut: job };
  if (leaseHeld(job)) {
    throw new LeaseHeldError(`job ${job.id} is leased by another worker until ${job.leaseUntil}; deliver again after that`);
  }
  // never more attempts than the policy allows, even when duplicate messages bring the upload again
  if (isLastAttempt(job.attempts, deps.retry)) return { exhausted: found };
  const now = Date.now();
  const next: Job = {
    ...job,
    state: 'processing',
    attempts: job.attempts + 1,
    leaseUntil: new Date(leaseUntil(deps.deadlineMs(), deps.retry)).toISOString(),
    upload: { ...job.upload, etag: obj.etag, bytes: obj.bytes, uploadedAt: obj.eventTime ?? job.upload.uploadedAt },
    progress: { stage: 'probe', fraction: 0 },
    error: undefined,
    timings: { queueMs: obj.eventTime ? Math.max(0, now - Date.parse(obj.eventTime)) : undefined },
  };
  try {
    return { job: await deps.jobs.replace(next, found.etag) };
  } catch (err) {
    if (err instanceof ConflictError) return { reason: 'claimed by another delivery' };
    throw err;
  }
}

async function run(claimed: Versioned<Job>, obj: UploadedObject, deps: Deps, delivery: Delivery): Promise<Outcome> {
  let current = claimed;
  const id = current.value.id;
  const t0 = performance.now();
  const work = await createWorkDir(id);
  let lastWrite = 0;
  let lastStage: ProgressStage | undefined;
  let writing: Promise<void> = Promise.resolve();
  /** Writes go one after another, each on the version the previous one produced. */
  const update = (patch: Partial<Job>, bestEffort = false) => {
    writing = writing.then(async () => {
      try {
        current = await deps.jobs.replace({ ...current.value, ...patch }, current.etag);
      } catch (err) {
        // a lost progress write is harmless, unless it means another worker took the job over
        if (!bestEffort || err instanceof ConflictError) throw err;
      }
    });
    return writing;
  };
  const onProgress = (stage: ProgressStage, fraction: number) => {
    const now = Date.now();
    if (stage === lastStage && now - lastWrite < deps.config.progressIntervalMs) return;
    lastStage = stage;
    lastWrite = now;
    void update({ progress: { stage, fraction } }, true).catch(() => {}); // a lost claim surfaces at the next write
  };

  const log = (message: string, extra: Record<string, unknown> = {}) => deps.logger?.info(message, { jobId: id, ...extra });
  log('job claimed', { key: obj.key, attempt: current.value.attempts, model: current.value.options.model });
  try {
    const input = path.join(work, 'input');
    const d0 = performance.now();
    await downloadUpload(deps.s3, obj.bucket, obj.key, obj.etag, input);
    const downloadMs = performance.now() - d0;
    const { options } = current.value;
    const outDir = path.join(work, 'stems');
    await mkdir(outDir);
    const sepOpts = {
      model: options.model, stems: options.stems.length ? options.stems : undefined, format: options.format,
      sampleRate: options.sampleRate, quality: options.quality, iterations: options.iterations, maxDurationSeconds: deps.config.maxDurationSeconds, name: current.value.upload.filename,
    };
    const prepared = await prepareSeparation(input, outDir, sepOpts);
    const runtime = deps.limits && {
      ...deps.limits(), modelMb: modelSizeMb(options.model), realtimePerCore: prepared.manifest.realtimePerCore, cores: threadCount(),
      modelPeakMb: prepared.manifest.peakMemoryMb,
    };
    const projected = runtime ? projectJob(prepared.source, runtime).seconds : 0;
    const decision = shouldFanOut(prepared, projected, deps.retry.functionTimeoutSeconds, deps.config.fanout);
    if (decision.fanOut) {
      // the exact length a single run would separate: the segments' grid depends on it
      const samples = await countDecodedFrames(input, { sampleRate: prepared.manifest.sampleRate, maxSeconds: deps.config.maxDurationSeconds, source: prepared.source, name: current.value.upload.filename });
      const total = planSegments(prepared.manifest, samples, decision.splitsPerSegment).length;
      await writing;
      await update({
        fanout: { ...initialFanout(current.value.attempts, total, samples, decision.splitsPerSegment, prepared.outputRate), planMs: Math.round(performance.now() - t0) },
        source: prepared.source,
        leaseUntil: new Date(fanoutLeaseUntil(Date.now(), deps.retry)).toISOString(),
        progress: { stage: 'separate', fraction: 0, segments: { done: 0, total } },
        timings: { ...current.value.timings, probeMs: prepared.probeMs },
      });
      await putSegmentTasks(deps.s3, obj.bucket, current.value);
      log('job fanned out', { segments: total, splitsPerSegment: decision.splitsPerSegment, reason: decision.reason });
      return { jobId: id, outcome: 'fanned-out', reason: `${total} segments: ${decision.reason}` };
    }
    const result = await separateFile(input, outDir, {
      ...sepOpts, prepared, onProgress,
      guard: runtime && ((source) => checkLimits(source, runtime, current.value.upload.filename)),
    });
    await writing;
    await update({ progress: { stage: 'upload', fraction: 0 }, source: result.source });
    const u0 = performance.now();
    const { zipKey, stems } = await publishResults(deps.s3, obj.bucket, current.value, result.stems, zipManifest(current.value, result));
    const timings = { ...current.value.timings, ...result.timings, downloadMs, uploadResultsMs: performance.now() - u0, totalMs: performance.now() - t0 };
    await update({
      state: 'done',
      leaseUntil: undefined,
      progress: { stage: 'done', fraction: 1 },
      result: { zipKey, stems },
      timings,
    });
    const audioSeconds = result.stems[0] ? result.stems[0].frames / result.outputSampleRate : undefined;
    log('job done', { audioSeconds, totalMs: Math.round(timings.totalMs) });
    return {
      jobId: id, outcome: 'done',
      job: { model: result.model.id, stems: result.stems.map((x) => x.stem).join('+'), format: options.format, audioSeconds, timings },
    };
  } catch (err) {
    await writing.catch(() => {});
    return fail(current, obj, err, deps, delivery);
  } finally {
    await removeWorkDir(work);
  }
}

async function fail(current: Versioned<Job>, obj: UploadedObject, err: unknown, deps: Deps, delivery: Delivery): Promise<Outcome> {
  const id = current.value.id;
  if (err instanceof ConflictError) throw err; // someone else owns the job now: leave it to them
  const e = asStemSplitterError(err);
  await deletePrefix(deps.s3, obj.bucket, KEYS.resultsPrefix(id)).catch(() => {});
  // our own errors say whether retrying helps; unknown ones (network, throttling) get retries, as
  // long as another delivery will come: the queue's count and the job's own both have to allow it
  const attempt = Math.max(current.value.attempts, delivery.receiveCount ?? 0);
  const retry = (e.retryable || !(err instanceof StemSplitterError)) && !isLastAttempt(attempt, deps.retry);
  await deps.jobs.replace({
    ...current.value,
    state: retry ? 'retrying' : 'failed',
    leaseUntil: undefined,
    // the record is what clients read: internal details (paths, stderr, EPIPE) stay in the log line below
    error: { code: e.code, message: clientMessage(e) },
    result: undefined,
  }, current.etag);
  deps.logger?.warn(retry ? 'job failed; will be retried' : 'job failed', { jobId: id, code: e.code, ...logDetail(err) });
  if (retry) throw err;
  const o = current.value.options;
  return {
    jobId: id, outcome: 'failed', reason: clientMessage(e), errorCode: e.code,
    job: { model: o.model, stems: o.stems.join('+') || 'all', format: o.format, timings: {} },
  };
}

/** Streams the uploaded object (that exact version) to a local file. */
export async function downloadUpload(s3: S3Client, bucket: string, key: string, etag: string, file: string): Promise<void> {
  const body = (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: quoted(etag) }))).Body as Readable;
  await pipeline(body, createWriteStream(file));
}

/** Each stem and the zip (with its manifest.json) under results/<jobId>/: what the job record's result points at. */
export async function publishResults(s3: S3Client, bucket: string, job: Job, stems: { stem: string; file: string; clippedSamples: number }[], manifest: object): Promise<JobResult> {
  const ext = OUTPUT_FORMATS[job.options.format].ext;
  const stored = await putStems(s3, bucket, stems.map((s) => ({ stem: s.stem, file: s.file })), (stem) => KEYS.stem(job.id, stem, ext), job.options.format);
  const zipKey = KEYS.zip(job.id, zipBase(job.upload.filename));
  await putZip(s3, bucket, zipKey, stems, manifest);
  return { zipKey, stems: stored.map((s, i) => ({ ...s, clippedSamples: stems[i].clippedSamples })) };
}

function zipBase(filename: string): string {
  return filename.replace(/\.[^.]+$/, '').replace(/[^\p{L}\p{N} ._+%(),-]+/gu, '_').slice(0, 100) || 'song';
}

function zipManifest(job: Job, r: SeparationResult) {
  return {
    job: job.id,
    file: job.upload.filename,
    model: r.model,
    options: job.options,
    source: r.source,
    output: { format: r.format, sampleRate: r.outputSampleRate, stems: r.stems.map((s) => ({ stem: s.stem, file: path.basename(s.file), clippedSamples: s.clippedSamples })) },
    timings: r.timings,
  };
}


/** S3 event records carry ETags without the quotes that HTTP conditional headers use. */
function quoted(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}
