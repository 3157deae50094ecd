/**
 * Uploads to separate: messages from the upload queue (S3 notifications through SQS, partial
 * batch responses) or a direct S3 event — one code path underneath. Fan-out tasks (a long song's
 * segments and their stitch) arrive the same way from the segment queue. The ONNX session lives at
 * module scope (layers/engine/ort-sessions.ts), so warm invocations reuse it.
 */
import middy from '@middy/core';
import type { S3Event, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processUpload, type Outcome } from '../../layers/jobs/process-upload.js';
import { processTask } from '../../layers/jobs/process-task.js';
import { runDeliveries } from '../../layers/jobs/upload-events.js';
import { parseTaskKey } from '../../layers/storage/s3.js';
import { removeStaleWorkDirs } from '../../layers/jobs/work-dirs.js';
import { createLogger, jobLogger } from '../../layers/observability/logger.js';
import { createMetrics, recordSeparation } from '../../layers/observability/metrics.js';
import { serviceDeps } from '../../layers/runtime/service.js';

const metrics = createMetrics('separate');
const logger = createLogger('separate');
const base = { ...serviceDeps(), logger: jobLogger(logger) };

export const handler = middy<S3Event | SQSEvent, SQSBatchResponse | Outcome[]>()
  // metrics are published per job (recordSeparation); only the cold start is per invocation
  .use({ before: async (request) => metrics.captureColdStartMetric(request.context.functionName) })
  .handler(async (event, context) => {
    // a worker killed mid-job left its /tmp/job-* behind in this (reused) sandbox
    const stale = await removeStaleWorkDirs({ exclusive: base.config.inLambda });
    if (stale.length) logger.warn('removed stale job folders', { count: stale.length });
    const remainingMs = () => context.getRemainingTimeInMillis?.() ?? base.retry.functionTimeoutSeconds * 1000;
    const deps = {
      ...base,
      deadlineMs: () => Date.now() + remainingMs(),
      limits: () => ({
        remainingMs: remainingMs(), memoryMb: base.config.functionMemoryMb,
        minRealTimeFactor: base.config.minRealTimeFactor, jobOverheadSeconds: base.config.jobOverheadSeconds,
      }),
    };
    return runDeliveries(event, async (obj, delivery) => {
      // an upload, or a fan-out task (segment or stitch) from the segment queue
      const task = parseTaskKey(obj.key);
      const outcome = task ? await processTask(task, obj.bucket, deps, delivery) : await processUpload(obj, deps, delivery);
      logger.info('upload processed', { jobId: outcome.jobId, outcome: outcome.outcome, reason: outcome.reason, receiveCount: delivery.receiveCount });
      recordSeparation(metrics, outcome);
      return outcome;
    }, (delivery, err) => logger.info('delivery returned to the queue', { messageId: delivery.messageId, receiveCount: delivery.receiveCount, reason: (err as Error).message }));
  });
