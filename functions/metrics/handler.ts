/**
 * GET /metrics?metric=SeparationTime,InferenceTime&start=-1h&stats=p50,p99&model=...
 * Statistics of the functions' embedded metrics: CloudWatch in AWS, the collected EMF records in
 * local mode (STEMS_EMF_FILE set by the local stack).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ENV, readOptional } from '../../layers/core/env.js';
import { httpFunction } from '../../layers/http/http-function.js';
import { json } from '../../layers/http/responses.js';
import { CloudWatchBackend, EmfFileBackend, parseMetricQuery, type MetricsBackend } from '../../layers/observability/metrics-query.js';

const emfFile = readOptional(ENV.emfFile);
const backend: MetricsBackend = emfFile ? new EmfFileBackend(emfFile) : new CloudWatchBackend(new CloudWatchClient({}));

export const handler = httpFunction('metrics', async (event) => json(200, await backend.query(parseMetricQuery(event.queryStringParameters ?? {}))));
