/**
 * Separate's segment mode: one delivery of a segment task. Decodes just that segment's range of the
 * uploaded object (sample-exact), separates it on the single run's grid, stores each wanted stem
 * as raw float32 under work/, then counts the segment in the job record. Idempotent: a segment
 * already counted is skipped, and storing it again writes the same bytes. Retried per segment
 * (the segment queue's redelivery); a failure that retrying cannot help, or the last attempt's,
 * ends the job cleanly (failFanout).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import path from 'node:path';
import { decodeFrom } from '../audio/decode.js';
import { threadCount } from '../core/env.js';
import { asStemSplitterError, logDetail, StemSplitterError } from '../core/errors.js';
import { loadModel } from '../engine/load-model.js';
import { wienerSettingsFor } from '../engine/quality.js';
import { separateSegment } from '../engine/segments.js';
import { selectStems } from '../engine/separate-file.js';
import { asMaskModel } from '../engine/types.js';
import { modelSizeMb } from '../models/registry.js';
import { deletePrefix } from '../storage/results.js';
import { KEYS } from '../storage/s3.js';
import { errorOf, failFanout, putStitchTask, registerSegment, segmentsOf } from './fanout.js';
import { checkLimits } from './limits.js';
import { downloadUpload, type Delivery, type Deps, type Outcome } from './process-upload.js';
import { isLastAttempt } from './retry-policy.js';
import { createWorkDir, removeWorkDir } from './work-dirs.js';

export async function runSegment(task: { jobId: string; generation: number; index: number }, bucket: string, deps: Deps, delivery: Delivery): Promise<Outcome> {
  const { jobId, generation, index } = task;
  const skipped = (reason: string): Outcome => ({ jobId, outcome: 'skipped', reason });
  const found = await deps.jobs.get(jobId);
  const job = found?.value;
  if (job?.state !== 'processing' || job.fanout?.generation !== generation) return skipped('job is not fanned out (any more)');
  if (job.fanout.done.includes(index)) {
    // a duplicate; if it was the last one and its stitch task was lost, write that again
    if (job.fanout.done.length === job.fanout.total) await putStitchTask(deps.s3, bucket, job);
    return skipped(`segment ${index} already stored`);
  }
  const log = (message: string, extra: Record<string, unknown> = {}) => deps.logger?.info(message, { jobId, segment: index, ...extra });
  const t0 = performance.now();
  const work = await createWorkDir(`${jobId}-s${index}`);
  try {
    const input = path.join(work, 'input');
    await downloadUpload(deps.s3, bucket, job.upload.key, job.upload.etag!, input);
    const { model: engineModel, resolved } = await loadModel(job.options.model);
    const model = asMaskModel(engineModel);
    const seg = segmentsOf(job, resolved.manifest)[index];
    if (!seg) throw new StemSplitterError(`job ${jobId} has no segment ${index}`);
    const segSeconds = (seg.readEnd - seg.readStart) / model.sampleRate;
    // one segment must fit one invocation (the plan's segment length against the function's limits)
    if (deps.limits) {
      checkLimits({ durationSeconds: segSeconds, bytes: 0 } as Parameters<typeof checkLimits>[0], {
        ...deps.limits(), modelMb: modelSizeMb(job.options.model), realtimePerCore: resolved.manifest.realtimePerCore, cores: threadCount(),
      }, `${job.upload.filename} (segment ${index})`);
    }
    const wanted = selectStems(model.stems, job.options.stems.length ? job.options.stems : undefined, model.id);
    const stemIdx = wanted.map((s) => model.stems.indexOf(s));
    const wiener = wienerSettingsFor(resolved.manifest, !!model.magnitudeEstimates, { quality: job.options.quality, iterations: job.options.iterations });
    const decoded = decodeFrom(input, Math.max(0, seg.readStart), { sampleRate: model.sampleRate, maxSeconds: deps.config.maxDurationSeconds, source: job.source, name: job.upload.filename });
    const frames = seg.keepEnd - seg.keepStart;
    const out = wanted.map(() => new Float32Array(2 * frames));
    let at = 0;
    const stats = await separateSegment(decoded, model, seg, async (blocks, n) => {
      for (const [i, s] of stemIdx.entries()) out[i].set(blocks[s].subarray(0, 2 * n), 2 * at);
      at += n;
    }, { wiener });
    if (at !== frames) throw new StemSplitterError(`segment ${index} produced ${at} frames, expected ${frames}`);
    await Promise.all(wanted.map((stem, i) => deps.s3.send(new PutObjectCommand({
      Bucket: bucket, Key: KEYS.segmentStem(jobId, generation, index, stem),
      Body: new Uint8Array(out[i].buffer, out[i].byteOffset, out[i].byteLength), ContentType: 'application/octet-stream',
    }))));
    const registered = await registerSegment(jobId, generation, index, performance.now() - t0, deps.jobs);
    if (registered.state === 'gone') {
      // the job ended (failed) while this segment ran: take back what was just stored
      await deletePrefix(deps.s3, bucket, KEYS.work(jobId));
      return skipped('job ended while the segment ran');
    }
    if (registered.state === 'complete') await putStitchTask(deps.s3, bucket, registered.job.value);
    log('segment stored', { frames, totalMs: Math.round(performance.now() - t0), inferenceMs: Math.round(stats.inferenceMs), done: registered.job.value.fanout!.done.length, of: registered.job.value.fanout!.total });
    return { jobId, outcome: 'skipped', reason: `segment ${index} stored` };
  } catch (err) {
    const e = asStemSplitterError(err);
    const retryable = e.retryable || !(err instanceof StemSplitterError);
    if (retryable && !isLastAttempt(delivery.receiveCount ?? deps.retry.maxAttempts, deps.retry)) {
      deps.logger?.warn('segment failed; will be retried', { jobId, segment: index, code: e.code, ...logDetail(err) });
      throw err;
    }
    deps.logger?.warn('segment failed', { jobId, segment: index, code: e.code, ...logDetail(err) });
    await failFanout(jobId, bucket, errorOf(e), deps);
    const o = job.options;
    return { jobId, outcome: 'failed', reason: errorOf(e).message, errorCode: e.code, job: { model: o.model, stems: o.stems.join('+') || 'all', format: o.format, timings: {} } };
  } finally {
    await removeWorkDir(work);
  }
}
