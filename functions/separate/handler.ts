/**
 * S3 ObjectCreated on uploads/ — separates each uploaded object. The ONNX session lives at module
 * scope (layers/engine/ort-sessions.ts), so warm invocations reuse it.
 */
import middy from '@middy/core';
import type { S3Event } from 'aws-lambda';
import { processUpload, type Outcome } from '../../layers/jobs/process-upload.js';
import { removeStaleWorkDirs } from '../../layers/jobs/work-dirs.js';
import { createLogger, jobLogger } from '../../layers/observability/logger.js';
import { createMetrics, recordSeparation } from '../../layers/observability/metrics.js';
import { serviceDeps } from '../../layers/runtime/service.js';
import { decodeEventKey } from '../../layers/storage/s3.js';

const metrics = createMetrics('separate');
const logger = createLogger('separate');
const base = { ...serviceDeps(), logger: jobLogger(logger) };

export const handler = middy<S3Event, Outcome[]>()
  // metrics are published per job (recordSeparation); only the cold start is per invocation
  .use({ before: async (request) => metrics.captureColdStartMetric(request.context.functionName) })
  .handler(async (event, context) => {
    // a worker killed mid-job left its /tmp/job-* behind in this (reused) sandbox
    const stale = await removeStaleWorkDirs({ exclusive: Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME) });
    if (stale.length) logger.warn('removed stale job folders', { count: stale.length });
    const deps = {
      ...base,
      limits: () => ({ remainingMs: context.getRemainingTimeInMillis?.(), memoryMb: base.config.functionMemoryMb, minRealTimeFactor: base.config.minRealTimeFactor }),
    };
    const outcomes: Outcome[] = [];
    for (const r of event.Records) {
      const outcome = await processUpload({
        bucket: r.s3.bucket.name,
        key: decodeEventKey(r.s3.object.key),
        etag: r.s3.object.eTag,
        bytes: r.s3.object.size,
        eventTime: r.eventTime,
      }, deps);
      logger.info('upload processed', { jobId: outcome.jobId, outcome: outcome.outcome, reason: outcome.reason });
      recordSeparation(metrics, outcome);
      outcomes.push(outcome);
    }
    return outcomes;
  });
