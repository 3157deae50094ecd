/**
 * S3 ObjectCreated on uploads/ — separates each uploaded object. The ONNX session lives at module
 * scope (layers/engine/ort-sessions.ts), so warm invocations reuse it.
 */
import middy from '@middy/core';
import type { S3Event } from 'aws-lambda';
import { processUpload, type Outcome } from '../../layers/jobs/process-upload.js';
import { serviceDeps } from '../../layers/runtime/service.js';
import { decodeEventKey } from '../../layers/storage/s3.js';

const deps = serviceDeps();

export const handler = middy<S3Event, Outcome[]>().handler(async (event) => {
  const outcomes: Outcome[] = [];
  for (const r of event.Records) {
    const outcome = await processUpload({
      bucket: r.s3.bucket.name,
      key: decodeEventKey(r.s3.object.key),
      etag: r.s3.object.eTag,
      bytes: r.s3.object.size,
      eventTime: r.eventTime,
    }, deps);
    console.log(JSON.stringify({ level: "info", msg: "upload processed", ...outcome }));
    outcomes.push(outcome);
  }
  return outcomes;
});
