/**
 * The upload and segment queues' dead letters: uploads (or a fanned-out job's segment or stitch
 * tasks) whose every delivery failed. Each job ends `failed`
 * with ATTEMPTS_EXHAUSTED and its last error, partial results are removed, and JobsFailed is
 * counted (service dead-letter, errorCode ATTEMPTS_EXHAUSTED).
 */
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { endExhaustedJob } from '../../layers/jobs/exhausted.js';
import { findOrCreateJob } from '../../layers/jobs/process-upload.js';
import { endExhaustedTask } from '../../layers/jobs/process-task.js';
import { parseTaskKey } from '../../layers/storage/s3.js';
import { runDeliveries } from '../../layers/jobs/upload-events.js';
import { createLogger, jobLogger } from '../../layers/observability/logger.js';
import { createMetrics, recordSeparation } from '../../layers/observability/metrics.js';
import { serviceDeps } from '../../layers/runtime/service.js';

const metrics = createMetrics('dead-letter');
const logger = createLogger('dead-letter');
const deps = { ...serviceDeps(), logger: jobLogger(logger) };

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use({ before: async (request) => metrics.captureColdStartMetric(request.context.functionName) })
  .handler(async (event) => runDeliveries(event, async (obj) => {
    const task = parseTaskKey(obj.key);
    const outcome = task
      ? await endExhaustedTask(task, obj.bucket, { ...deps, maxAttempts: deps.retry.maxAttempts })
      : await endExhaustedJob(await findOrCreateJob(obj, deps), obj.bucket, deps);
    logger.info('dead letter processed', { jobId: outcome.jobId, outcome: outcome.outcome, reason: outcome.reason });
    recordSeparation(metrics, outcome);
    return outcome;
  }, (delivery, err) => logger.warn('dead letter returned to its queue', { messageId: delivery.messageId, reason: (err as Error).message })) as Promise<SQSBatchResponse>);
