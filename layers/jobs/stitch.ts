/**
 * Separate's stitch mode: once every segment is stored, one invocation claims the job (a lease to
 * its deadline, written with If-Match), reads each stem's segments in order, crossfades their
 * overlaps, encodes the stems in the job's format, stores them and the zip under results/, marks
 * the job `done` and removes work/. A duplicate stitch delivery finds the job claimed by a live
 * stitch or done, and is dropped.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import path from 'node:path';
import { StemEncoder } from '../audio/encode.js';
import { OUTPUT_FORMATS } from '../contracts/media.js';
import { asStemSplitterError, logDetail, StemSplitterError } from '../core/errors.js';
import { crossfade, type SegmentSpec } from '../engine/segments.js';
import { selectStems } from '../engine/separate-file.js';
import { readModelManifest } from '../models/registry.js';
import { ConflictError, type Versioned } from '../storage/job-store.js';
import { deletePrefix } from '../storage/results.js';
import { KEYS } from '../storage/s3.js';
import { errorOf, failFanout, segmentsOf } from './fanout.js';
import { leaseHeld, type Job } from './job.js';
import { publishResults, type Delivery, type Deps, type Outcome } from './process-upload.js';
import { isLastAttempt, leaseUntil } from './retry-policy.js';
import { createWorkDir, removeWorkDir } from './work-dirs.js';

export async function runStitch(task: { jobId: string; generation: number }, bucket: string, deps: Deps, delivery: Delivery): Promise<Outcome> {
  const { jobId, generation } = task;
  const skipped = (reason: string): Outcome => ({ jobId, outcome: 'skipped', reason });
  const found = await deps.jobs.get(jobId);
  const job = found?.value;
  const f = job?.fanout;
  if (job && (job.state === 'done' || job.state === 'failed')) {
    // a late duplicate (e.g. a segment delivered twice wrote this task again after the cleanup): clean again
    await deletePrefix(deps.s3, bucket, KEYS.work(jobId));
    return skipped(`job already ${job.state}`);
  }
  if (!found || !job || job.state !== 'processing' || !f || f.generation !== generation) return skipped('job is not waiting for a stitch');
  if (f.done.length < f.total) return skipped(`${f.done.length} of ${f.total} segments stored`);
  // a live stitch holds the job: its own delivery comes back if it dies, so this duplicate can go
  if (f.stitching && leaseHeld(job)) return skipped(`being stitched by another worker until ${job.leaseUntil}`);
  let current: Versioned<Job>;
  try {
    current = await deps.jobs.replace({
      ...job, fanout: { ...f, stitching: true }, leaseUntil: new Date(leaseUntil(deps.deadlineMs(), deps.retry)).toISOString(),
      progress: { stage: 'encode', fraction: 0, segments: { done: f.total, total: f.total } },
    }, found.etag);
  } catch (err) {
    if (err instanceof ConflictError) return skipped('claimed by another delivery');
    throw err;
  }
  const t0 = performance.now();
  const work = await createWorkDir(`${jobId}-stitch`);
  try {
    const manifest = await readModelManifest(job.options.model);
    const segments = segmentsOf(job, manifest);
    const wanted = selectStems(manifest.stems, job.options.stems.length ? job.options.stems : undefined, manifest.id);
    const ext = OUTPUT_FORMATS[job.options.format].ext;
    const source = job.source;
    // resampled stems are exactly as long as the source (in time) where its header says how long (as separateFile)
    const outputFrames = source?.frames !== undefined && f.outputRate !== manifest.sampleRate
      ? Math.round((source.frames * f.outputRate) / source.sampleRate) : undefined;
    const e0 = performance.now();
    // stems side by side (one encoder process each), like a single run; two segments per stem in memory
    const encoders = wanted.map((stem) => new StemEncoder(path.join(work, `${stem}.${ext}`), {
      format: job.options.format, inputRate: manifest.sampleRate, outputRate: f.outputRate, outputFrames,
    }));
    const stems = await Promise.all(wanted.map(async (stem, s) => {
      await joinSegments(segments, (i) => readSegment(deps, bucket, KEYS.segmentStem(jobId, generation, i, stem), segments[i]), (x) => encoders[s].write(x));
      return { stem, file: encoders[s].file, ...(await encoders[s].finish()) };
    })).catch((err) => {
      for (const e of encoders) e.abort();
      throw err;
    });
    const encodeMs = performance.now() - e0;
    current = await deps.jobs.replace({ ...current.value, progress: { stage: 'upload', fraction: 0, segments: { done: f.total, total: f.total } } }, current.etag);
    const u0 = performance.now();
    const audioSeconds = f.samples / manifest.sampleRate;
    const result = await publishResults(deps.s3, bucket, job, stems, {
      job: job.id, file: job.upload.filename, model: { id: manifest.id, family: manifest.family, stems: manifest.stems, sampleRate: manifest.sampleRate },
      options: job.options, source, fanout: { segments: f.total, splitsPerSegment: f.splitsPerSegment },
      output: { format: job.options.format, sampleRate: f.outputRate, stems: stems.map((s) => ({ stem: s.stem, file: path.basename(s.file), clippedSamples: s.clippedSamples })) },
    });
    const totalMs = Date.now() - Date.parse(f.startedAt);
    const timings = { ...job.timings, encodeMs, uploadResultsMs: performance.now() - u0, totalMs };
    await deps.jobs.replace({
      ...current.value, state: 'done', leaseUntil: undefined, result, timings, fanout: { ...current.value.fanout!, stitchMs: Math.round(performance.now() - t0) },
      progress: { stage: 'done', fraction: 1, segments: { done: f.total, total: f.total } },
    }, current.etag);
    await deletePrefix(deps.s3, bucket, KEYS.work(jobId));
    deps.logger?.info('job done', { jobId, segments: f.total, audioSeconds, stitchMs: Math.round(performance.now() - t0), totalMs });
    return { jobId, outcome: 'done', job: { model: manifest.id, stems: wanted.join('+'), format: job.options.format, audioSeconds, timings } };
  } catch (err) {
    if (err instanceof ConflictError) throw err; // another worker owns the job now
    const e = asStemSplitterError(err);
    const retryable = e.retryable || !(err instanceof StemSplitterError);
    await deletePrefix(deps.s3, bucket, KEYS.resultsPrefix(jobId)).catch(() => {});
    if (retryable && !isLastAttempt(delivery.receiveCount ?? deps.retry.maxAttempts, deps.retry)) {
      deps.logger?.warn('stitch failed; will be retried', { jobId, code: e.code, ...logDetail(err) });
      throw err;
    }
    deps.logger?.warn('stitch failed', { jobId, code: e.code, ...logDetail(err) });
    await failFanout(jobId, bucket, errorOf(e), deps);
    const o = job.options;
    return { jobId, outcome: 'failed', reason: errorOf(e).message, errorCode: e.code, job: { model: o.model, stems: o.stems.join('+') || 'all', format: o.format, timings: {} } };
  } finally {
    await removeWorkDir(work);
  }
}

/** One segment's stored stem: interleaved stereo float32 for exactly its kept samples. */
async function readSegment(deps: Deps, bucket: string, key: string, seg: SegmentSpec): Promise<Float32Array> {
  const bytes = await (await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray();
  const frames = seg.keepEnd - seg.keepStart;
  if (bytes.byteLength !== frames * 8) throw new StemSplitterError(`${key} holds ${bytes.byteLength} bytes, expected ${frames * 8}`);
  // copied: the SDK's bytes need not be 4-byte aligned
  const out = new Float32Array(frames * 2);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/**
 * Writes the song from its segments in order: each segment's kept samples up to where the next one
 * starts, then the shared range crossfaded from one to the other. Two segments in memory at a time.
 */
export async function joinSegments(segments: SegmentSpec[], read: (index: number) => Promise<Float32Array>, write: (x: Float32Array) => Promise<void>): Promise<void> {
  let prev = await read(0);
  let written = 0; // song samples written so far
  for (let k = 1; k < segments.length; k++) {
    const a = segments[k - 1];
    const b = segments[k];
    const next = await read(k);
    // shared range [b.keepStart, a.keepEnd): prev holds it from its offset, next from its start
    if (b.keepStart < written || a.keepEnd <= b.keepStart) throw new StemSplitterError(`segments ${k - 1} and ${k} do not overlap`);
    await write(prev.subarray(2 * (written - a.keepStart), 2 * (b.keepStart - a.keepStart)));
    const n = a.keepEnd - b.keepStart;
    const joined = new Float32Array(2 * n);
    crossfade(prev.subarray(2 * (b.keepStart - a.keepStart), 2 * (a.keepEnd - a.keepStart)), next.subarray(0, 2 * n), joined);
    await write(joined);
    written = a.keepEnd;
    prev = next;
  }
  const last = segments[segments.length - 1];
  await write(prev.subarray(2 * (written - last.keepStart)));
}

