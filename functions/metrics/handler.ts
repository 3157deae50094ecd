/**
 * GET /metrics?metric=SeparationTime,InferenceTime&start=-1h&stats=p50,p99&model=...
 * Statistics of the functions' embedded metrics: CloudWatch in AWS, the collected EMF records in
 * local mode (STEMS_EMF_FILE set by the local stack).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { ENV, readOptional } from '../../layers/core/env.js';
import { httpErrors, json } from '../../layers/http/responses.js';
import { apiTiming, createMetrics } from '../../layers/observability/metrics.js';
import { CloudWatchBackend, EmfFileBackend, parseMetricQuery, type MetricsBackend } from '../../layers/observability/metrics-query.js';

const metrics = createMetrics('metrics');
const emfFile = readOptional(ENV.emfFile);
const backend: MetricsBackend = emfFile ? new EmfFileBackend(emfFile) : new CloudWatchBackend(new CloudWatchClient({}));

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(apiTiming(metrics))
  .use(httpErrors())
  .handler(async (event) => json(200, await backend.query(parseMetricQuery(event.queryStringParameters ?? {}))));
