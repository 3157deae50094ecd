/**
 * Fan-out: one song across many workers. After probing an upload, separate decides between a
 * single run and a fan-out (shouldFanOut); a fan-out counts the song's samples, records the plan in
 * the job record and writes one task object per segment under work/. The bucket notification for
 * work/*.task.json sends each to the segment queue, whose deliveries reach separate's segment mode
 * (segment-worker.ts); the worker that stores the last segment writes the stitch task (stitch.ts).
 * Every step is idempotent, so duplicate deliveries and redeliveries change nothing.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { FanoutSettings } from '../core/env.js';
import { clientMessage, type StemSplitterError } from '../core/errors.js';
import type { PreparedSeparation } from '../engine/separate-file.js';
import { planSegments, samplesPerSplit, segmentable, splitsPerSegment } from '../engine/segments.js';
import { ConflictError, type JobStore, type Versioned } from '../storage/job-store.js';
import { deletePrefix } from '../storage/results.js';
import { KEYS } from '../storage/s3.js';
import type { Job, JobFanout } from './job.js';
import type { JobLogger } from './process-upload.js';

export interface FanoutDecision {
  fanOut: boolean;
  /** Whole model splits per segment (one of them shared with the next segment). */
  splitsPerSegment: number;
  reason: string;
}

/**
 * Fan out when the model can be cut (mask models), the song is longer than one segment, and either
 * a single run is projected past `timeFraction` of the function's timeout or the song is longer
 * than `aboveSeconds`.
 */
export function shouldFanOut(p: Pick<PreparedSeparation, 'manifest' | 'source'>, projectedSeconds: number, functionTimeoutSeconds: number, s: FanoutSettings): FanoutDecision {
  const m = p.manifest;
  if (!segmentable(m)) return { fanOut: false, splitsPerSegment: 0, reason: `family ${m.family} runs as one piece` };
  const splits = splitsPerSegment(m, s.segmentSeconds);
  const audio = p.source.durationSeconds ?? 0;
  const segmentAudio = (splits * samplesPerSplit(m)) / m.sampleRate;
  if (audio <= segmentAudio) return { fanOut: false, splitsPerSegment: splits, reason: 'shorter than one segment' };
  if (projectedSeconds > s.timeFraction * functionTimeoutSeconds) {
    return { fanOut: true, splitsPerSegment: splits, reason: `a single run would take about ${Math.ceil(projectedSeconds)} s of the function's ${functionTimeoutSeconds} s` };
  }
  if (s.aboveSeconds !== undefined && audio > s.aboveSeconds) return { fanOut: true, splitsPerSegment: splits, reason: `longer than ${s.aboveSeconds} s` };
  return { fanOut: false, splitsPerSegment: splits, reason: 'fits one run' };
}

export function segmentsOf(job: Job, manifest: PreparedSeparation['manifest']) {
  const f = job.fanout!;
  return planSegments(manifest, f.samples, f.splitsPerSegment);
}

/** Writes the task objects of the segments not done yet (again, after a crash: duplicates are harmless). */
export async function putSegmentTasks(s3: S3Client, bucket: string, job: Job): Promise<void> {
  const f = job.fanout!;
  const missing = Array.from({ length: f.total }, (_, i) => i).filter((i) => !f.done.includes(i));
  for (let i = 0; i < missing.length; i += 16) {
    await Promise.all(missing.slice(i, i + 16).map((index) => putTask(s3, bucket, KEYS.segmentTask(job.id, f.generation, index), { job: job.id, index })));
  }
  if (missing.length === 0) await putStitchTask(s3, bucket, job);
}

export function putStitchTask(s3: S3Client, bucket: string, job: Job): Promise<void> {
  return putTask(s3, bucket, KEYS.stitchTask(job.id, job.fanout!.generation), { job: job.id, stitch: true });
}

async function putTask(s3: S3Client, bucket: string, key: string, body: object): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(body), ContentType: 'application/json' }));
}

export function initialFanout(generation: number, total: number, samples: number, splits: number, outputRate: number): JobFanout {
  return { generation, total, done: [], samples, splitsPerSegment: splits, outputRate, startedAt: new Date().toISOString() };
}

interface EndDeps { s3: S3Client; jobs: JobStore; logger?: JobLogger }

/**
 * Ends a fanned-out job as failed: the record says why, and nothing is left under results/ or
 * work/. Done or failed jobs are left as they are. Returns false when there was nothing to end.
 */
export async function failFanout(jobId: string, bucket: string, error: { code: StemSplitterError['code']; message: string }, deps: EndDeps, generation?: number): Promise<boolean> {
  for (;;) {
    const current = await deps.jobs.get(jobId);
    if (current && generation !== undefined && current.value.fanout?.generation !== generation) return false; // a task of an earlier attempt
    if (!current || current.value.state === 'done' || current.value.state === 'failed') {
      await deletePrefix(deps.s3, bucket, KEYS.work(jobId));
      return false;
    }
    try {
      await deps.jobs.replace({ ...current.value, state: 'failed', leaseUntil: undefined, result: undefined, error, progress: undefined }, current.etag);
    } catch (err) {
      if (err instanceof ConflictError) continue;
      throw err;
    }
    await deletePrefix(deps.s3, bucket, KEYS.resultsPrefix(jobId));
    await deletePrefix(deps.s3, bucket, KEYS.work(jobId));
    deps.logger?.warn('fanned-out job failed', { jobId, code: error.code, error: error.message });
    return true;
  }
}

export function errorOf(e: StemSplitterError): { code: StemSplitterError['code']; message: string } {
  return { code: e.code, message: clientMessage(e) };
}

/**
 * Adds segment `index` to the job's counter with a conditional write (If-Match on the record):
 * concurrent workers retry on the new version, so exactly one of them sees the count complete.
 */
export async function registerSegment(jobId: string, generation: number, index: number, ms: number, jobs: JobStore): Promise<{ state: 'gone' } | { state: 'registered' | 'complete'; job: Versioned<Job> }> {
  for (let attempt = 0; ; attempt++) {
    const current = await jobs.get(jobId);
    const f = current?.value.fanout;
    if (current?.value.state !== 'processing' || f?.generation !== generation) return { state: 'gone' };
    if (f.done.includes(index)) return { state: f.done.length === f.total ? 'complete' : 'registered', job: current };
    const done = [...f.done, index].sort((a, b) => a - b);
    try {
      const job = await jobs.replace({
        ...current.value,
        fanout: { ...f, done, segmentMs: { ...f.segmentMs, [index]: Math.round(ms) } },
        progress: { stage: 'separate', fraction: done.length / f.total, segments: { done: done.length, total: f.total } },
      }, current.etag);
      return { state: done.length === f.total ? 'complete' : 'registered', job };
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      // another segment landed at the same moment: read its version and add ours to it
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 10 * 2 ** attempt)));
    }
  }
}
