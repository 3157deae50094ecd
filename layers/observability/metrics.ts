/**
 * Embedded metrics (EMF) for every function, through Powertools Metrics: one namespace, low-
 * cardinality dimensions (service = function; model, stems, format for separations; errorCode
 * for failures), and the job id as a searchable property, never a dimension.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { JobTimings } from '../contracts/api.js';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';

export const NAMESPACE = 'StemSplitter';
type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** Every metric the project emits, with its unit: the one list dashboards and queries use. */
export const METRICS = {
  requestLatency: { name: 'RequestLatency', unit: MetricUnit.Milliseconds },
  download: { name: 'DownloadTime', unit: MetricUnit.Milliseconds },
  modelLoad: { name: 'ModelLoadTime', unit: MetricUnit.Milliseconds },
  decode: { name: 'DecodeTime', unit: MetricUnit.Milliseconds },
  stft: { name: 'StftTime', unit: MetricUnit.Milliseconds },
  inference: { name: 'InferenceTime', unit: MetricUnit.Milliseconds },
  istft: { name: 'IstftTime', unit: MetricUnit.Milliseconds },
  wiener: { name: 'WienerTime', unit: MetricUnit.Milliseconds },
  encode: { name: 'EncodeTime', unit: MetricUnit.Milliseconds },
  upload: { name: 'ResultsUploadTime', unit: MetricUnit.Milliseconds },
  separation: { name: 'SeparationTime', unit: MetricUnit.Milliseconds },
  audio: { name: 'AudioSeconds', unit: MetricUnit.Seconds },
  realTimeFactor: { name: 'RealTimeFactor', unit: MetricUnit.NoUnit },
  peakRss: { name: 'PeakRss', unit: MetricUnit.Megabytes },
  jobs: { name: 'JobsSucceeded', unit: MetricUnit.Count },
  failures: { name: 'JobsFailed', unit: MetricUnit.Count },
  coldStart: { name: 'ColdStart', unit: MetricUnit.Count },
} as const;

export function createMetrics(service: string): Metrics {
  return new Metrics({ namespace: NAMESPACE, serviceName: service });
}

/** What the metrics of one processed upload are made of (layers/jobs' Outcome has this shape). */
export interface SeparationOutcome {
  jobId: string;
  outcome: string;
  errorCode?: string;
  job?: {
    model: string; stems: string; format: string; audioSeconds?: number;
    timings: JobTimings & { downloadMs?: number };
  };
}

/** One record per job: stage durations and figures under [service] and [service, model, stems, format]. */
export function recordSeparation(metrics: Metrics, outcome: SeparationOutcome): void {
  const job = outcome.job;
  if (outcome.outcome === 'skipped' || !job) return;
  metrics.addMetadata('jobId', outcome.jobId);
  if (outcome.outcome === 'failed') {
    metrics.addDimensions({ errorCode: outcome.errorCode ?? 'INTERNAL' });
    metrics.addDimensions({}); // and the function-wide set [service]
    metrics.addMetric(METRICS.failures.name, METRICS.failures.unit, 1);
    metrics.publishStoredMetrics();
    return;
  }
  metrics.addDimensions({ model: job.model, stems: job.stems, format: job.format });
  metrics.addDimensions({}); // and the function-wide set [service]
  const t = job.timings;
  const add = (m: { name: string; unit: Unit }, v: number | undefined) => v !== undefined && Number.isFinite(v) && metrics.addMetric(m.name, m.unit, v);
  add(METRICS.download, t.downloadMs);
  add(METRICS.modelLoad, t.loadModelMs);
  add(METRICS.decode, t.decodeMs);
  add(METRICS.stft, t.stftMs);
  add(METRICS.inference, t.inferenceMs);
  add(METRICS.istft, t.istftMs);
  if (t.wienerMs) add(METRICS.wiener, t.wienerMs); // quality "best" jobs only
  add(METRICS.encode, t.encodeMs);
  add(METRICS.upload, t.uploadResultsMs);
  add(METRICS.separation, t.totalMs);
  add(METRICS.audio, job.audioSeconds);
  if (job.audioSeconds && t.totalMs) add(METRICS.realTimeFactor, job.audioSeconds / (t.totalMs / 1000));
  add(METRICS.peakRss, process.resourceUsage().maxRSS / 1024);
  metrics.addMetric(METRICS.jobs.name, METRICS.jobs.unit, 1);
  metrics.publishStoredMetrics();
}

/**
 * middy middleware for HTTP functions: request latency as a metric (dimension route) and as
 * response headers (`server-timing`, `x-processing-time-ms`).
 */
export function apiTiming(metrics: Metrics): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2> {
  // one middleware instance serves every request of the container, concurrent ones included
  // (local mode, provisioned concurrency): start times are kept per request event
  const started = new WeakMap<APIGatewayProxyEventV2, number>();
  const finish = (request: { event: APIGatewayProxyEventV2; response: APIGatewayProxyResultV2 | null }) => {
    const ms = performance.now() - (started.get(request.event) ?? performance.now());
    metrics.addDimensions({ route: request.event.routeKey ?? 'unknown' });
    metrics.addDimensions({});
    metrics.addMetric(METRICS.requestLatency.name, METRICS.requestLatency.unit, ms);
    const r = request.response;
    if (r && typeof r === 'object') {
      r.headers = { ...r.headers, 'server-timing': `app;dur=${ms.toFixed(1)}`, 'x-processing-time-ms': ms.toFixed(1) };
    }
  };
  return {
    before: async (request) => { started.set(request.event, performance.now()); },
    after: async (request) => finish(request),
    onError: async (request) => { if (request.response) finish(request); },
  };
}
