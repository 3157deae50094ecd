/**
 * GET /metrics?metric=SeparationTime,InferenceTime&start=-1h&stats=p50,p99&model=...
 * Statistics of the functions' embedded metrics, from a MetricsBackend chosen at the edge:
 * CloudWatch here (the Lambda), the collected EMF records in local mode (local/stack.ts).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { httpFunction } from '../../layers/http/http-function.js';
import { json } from '../../layers/http/responses.js';
import { CloudWatchBackend, parseMetricQuery, type MetricsBackend } from '../../layers/observability/metrics-query.js';

export function metricsFunction(backend: MetricsBackend) {
  return httpFunction('metrics', async (event) => json(200, await backend.query(parseMetricQuery(event.queryStringParameters ?? {}))));
}

export const handler = metricsFunction(new CloudWatchBackend(new CloudWatchClient({})));
