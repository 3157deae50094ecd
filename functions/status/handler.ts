/** GET /jobs/{id} — job state and progress; download links once done. */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { requireFrontDoor } from '../../layers/http/origin-verify.js';
import { httpErrors, json } from '../../layers/http/responses.js';
import { jobStatus } from '../../layers/jobs/job-status.js';
import { apiTiming, createMetrics } from '../../layers/observability/metrics.js';
import { serviceDeps } from '../../layers/runtime/service.js';

const metrics = createMetrics('status');
const deps = serviceDeps();

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(apiTiming(metrics))
  .use(httpErrors())
  .use(requireFrontDoor())
  .handler(async (event) => json(200, await jobStatus(event.pathParameters?.id, deps)));
