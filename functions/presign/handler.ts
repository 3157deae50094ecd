/** POST /jobs — validates the request, records the job, returns a presigned S3 POST. */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { requireFrontDoor } from '../../layers/http/origin-verify.js';
import { httpErrors, json, parseJsonBody } from '../../layers/http/responses.js';
import { createJob } from '../../layers/jobs/create-job.js';
import { apiTiming, createMetrics } from '../../layers/observability/metrics.js';
import { serviceDeps } from '../../layers/runtime/service.js';

const metrics = createMetrics('presign');
const deps = serviceDeps();

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(apiTiming(metrics))
  .use(httpErrors())
  .use(requireFrontDoor())
  .handler(async (event) => json(201, await createJob(parseJsonBody(event.body, event.isBase64Encoded), deps)));
