/**
 * Embedded metrics as the functions really print them in the integration flow, validated against
 * the EMF specification; the metrics function's local answers against statistics computed here
 * independently; and the CloudWatch request it builds, with the SDK stubbed at its boundary.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJob, uploadFile, waitForJob } from '../cli/api-client.js';
import { CloudWatchBackend, cloudWatchQueries, parseMetricQuery } from '../layers/observability/metrics-query.js';
import type { LocalStack } from '../local/stack.js';
import { startTestStack } from './helpers/local.js';
import { tmpDir } from '../dev/models.js';
import { writeMusicWav } from '../dev/signals.js';

const UNITS = new Set(['Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Bits',
  'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second',
  'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second',
  'Count/Second', 'None']);

interface Emf { _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit?: string }[] }[] }; [k: string]: unknown }

/** The EMF specification's structural rules for one record. */
function validateEmf(r: Emf): void {
  expect(typeof r._aws).toBe('object');
  expect(Number.isInteger(r._aws.Timestamp)).toBe(true);
  expect(r._aws.Timestamp).toBeGreaterThan(1.6e12);
  expect(Array.isArray(r._aws.CloudWatchMetrics) && r._aws.CloudWatchMetrics.length > 0).toBe(true);
  for (const d of r._aws.CloudWatchMetrics) {
    expect(d.Namespace).toMatch(/^[^:].{0,254}$/);
    expect(Array.isArray(d.Dimensions)).toBe(true);
    for (const set of d.Dimensions) {
      expect(set.length).toBeLessThanOrEqual(30);
      for (const key of set) expect(typeof r[key], `dimension ${key}`).toBe('string');
    }
    expect(d.Metrics.length).toBeGreaterThan(0);
    expect(d.Metrics.length).toBeLessThanOrEqual(100);
    for (const m of d.Metrics) {
      expect(m.Name.length).toBeGreaterThan(0);
      if (m.Unit !== undefined) expect(UNITS.has(m.Unit), `unit ${m.Unit}`).toBe(true);
      const v = r[m.Name];
      const values = Array.isArray(v) ? v : [v];
      expect(values.length).toBeLessThanOrEqual(100);
      for (const x of values) expect(typeof x === 'number' && Number.isFinite(x), `${m.Name}=${JSON.stringify(v)}`).toBe(true);
    }
  }
}

let stack: LocalStack;
let records: Emf[];
const logs: string[] = [];

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO'; // this file reads the functions' job log lines
  stack = await startTestStack();
  // capture the functions' log lines too (the EMF lines never reach stdout: the stack collects them)
  const write = process.stdout.write;
  process.stdout.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    logs.push(String(chunk));
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof process.stdout.write;
  const dir = tmpDir('metrics');
  for (const [name, seconds] of [['one.wav', 1], ['two.wav', 2], ['three.wav', 1.5]] as const) {
    const f = writeMusicWav(dir, name, seconds);
    // one job with quality "best", which adds the Wiener filter's time
    const job = await createJob(stack.apiUrl, f, name === 'three.wav' ? { quality: 'best' } : {});
    await uploadFile(job.upload, f);
    expect((await waitForJob(stack.apiUrl, job.jobId, { intervalMs: 100 })).state).toBe('done');
  }
  const junk = path.join(dir, 'junk.mp3');
  writeFileSync(junk, Buffer.alloc(5000, 7));
  const bad = await createJob(stack.apiUrl, junk);
  await uploadFile(bad.upload, junk);
  expect((await waitForJob(stack.apiUrl, bad.jobId, { intervalMs: 100 })).state).toBe('failed');
  process.stdout.write = write;
  records = readFileSync(stack.emfFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}, 120_000);
afterAll(() => stack?.close());

const find = (metric: string, dims: Record<string, string>) => records.filter((r) =>
  r._aws.CloudWatchMetrics.some((d) => d.Metrics.some((m) => m.Name === metric)
    && d.Dimensions.some((set) => [...set].sort().join() === Object.keys(dims).sort().join()))
  && Object.entries(dims).every(([k, v]) => r[k] === v));

describe('embedded metrics from the functions', () => {
  it('are valid EMF records', () => {
    expect(records.length).toBeGreaterThan(10);
    for (const r of records) validateEmf(r);
  });

  it('cover API latency, every separation stage, audio figures, cold starts and failures by code', () => {
    expect(find('RequestLatency', { service: 'presign', route: 'POST /jobs' })).toHaveLength(4);
    expect(find('RequestLatency', { service: 'status', route: 'GET /jobs/{id}' }).length).toBeGreaterThan(3);
    const jobs = find('SeparationTime', { service: 'separate', model: 'tiny', stems: 'vocals+accompaniment', format: 'wav16' });
    expect(jobs).toHaveLength(3);
    for (const name of ['DownloadTime', 'ModelLoadTime', 'DecodeTime', 'StftTime', 'InferenceTime', 'IstftTime', 'EncodeTime', 'ResultsUploadTime', 'AudioSeconds', 'RealTimeFactor', 'PeakRss']) {
      expect(jobs.every((r) => typeof r[name] === 'number'), name).toBe(true);
    }
    expect(jobs.map((r) => r.AudioSeconds).sort()).toEqual([1, 1.5, 2]);
    expect(jobs.filter((r) => typeof r.WienerTime === 'number' && r.WienerTime > 0).map((r) => r.AudioSeconds)).toEqual([1.5]);
    expect(find('JobsFailed', { service: 'separate', errorCode: 'NOT_AUDIO' })).toHaveLength(1);
    // one cold start per function (container), as in Lambda
    for (const fn of ['presign', 'status', 'separate']) expect(find('ColdStart', { service: fn, function_name: fn }), fn).toHaveLength(1);
  });

  it('carry the job id as a property, never as a dimension', () => {
    const jobs = records.filter((r) => 'SeparationTime' in r || 'JobsFailed' in r);
    for (const r of jobs) {
      expect(typeof r.jobId).toBe('string');
      for (const d of r._aws.CloudWatchMetrics) for (const set of d.Dimensions) expect(set).not.toContain('jobId');
    }
  });

  it('are matched by JSON log lines that carry the job id on every job line', () => {
    const lines = logs.join('').split('\n').filter((l) => l.startsWith('{"level"')).map((l) => JSON.parse(l));
    const jobLines = lines.filter((l) => l.service === 'separate');
    expect(jobLines.length).toBeGreaterThanOrEqual(8);
    for (const l of jobLines) expect(l.jobId, l.message).toMatch(/^[A-Za-z0-9_-]{22,}$/);
  });

  it('time every API response in a header', async () => {
    const res = await fetch(`${stack.apiUrl}/jobs/AAAAAAAAAAAAAAAAAAAAAA`);
    const timing = /^app;dur=(\d+\.\d)$/.exec(res.headers.get('server-timing') ?? '');
    expect(timing, 'server-timing header').not.toBeNull();
    expect(res.headers.get('x-processing-time-ms')).toBe(timing![1]);
  });
});

/** Independent statistics: nearest-rank percentiles, straight from the records. */
function expected(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  const rank = (p: number) => s[Math.ceil(p * s.length) - 1];
  return { count: s.length, sum: s.reduce((a, b) => a + b, 0), min: s[0], max: s[s.length - 1], avg: s.reduce((a, b) => a + b, 0) / s.length, p50: rank(0.5), p90: rank(0.9), p99: rank(0.99) };
}

describe('GET /metrics (local mode)', () => {
  it('answers the same statistics as the records give', async () => {
    const res = await fetch(`${stack.apiUrl}/metrics?metric=InferenceTime,AudioSeconds&service=separate&model=tiny&stems=vocals%2Baccompaniment&format=wav16&start=-1h`);
    expect(res.status).toBe(200);
    const answer = await res.json();
    const jobs = find('InferenceTime', { service: 'separate', model: 'tiny', stems: 'vocals+accompaniment', format: 'wav16' });
    for (const metric of ['InferenceTime', 'AudioSeconds']) {
      const got = answer.results.find((r: { metric: string }) => r.metric === metric).stats;
      const want = expected(jobs.map((r) => r[metric] as number));
      for (const [k, v] of Object.entries(want)) expect(got[k], `${metric} ${k}`).toBeCloseTo(v, 9);
    }
  });

  it('answers API latency percentiles per route', async () => {
    const q = new URLSearchParams({ metric: 'RequestLatency', service: 'status', route: 'GET /jobs/{id}', stats: 'count,p50,p99' });
    const answer = await (await fetch(`${stack.apiUrl}/metrics?${q}`)).json();
    // everything printed so far (later tests made more status requests than beforeAll saw)
    records = readFileSync(stack.emfFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const values = find('RequestLatency', { service: 'status', route: 'GET /jobs/{id}' }).map((r) => r.RequestLatency as number);
    const want = expected(values);
    expect(answer.results[0].stats).toEqual({ count: want.count, p50: want.p50, p99: want.p99 });
  });

  it('rejects unknown metrics, stats and dimension sets with 400', async () => {
    for (const [q, message] of [
      ['metric=Bogus', /unknown metric\(s\) "Bogus"/],
      ['metric=InferenceTime&stats=p42', /unknown stat\(s\) "p42"/],
      ['metric=InferenceTime&model=tiny', /dimensions must be one of/],
      ['metric=InferenceTime&start=yesterday', /start must be an ISO time/],
    ] as const) {
      const res = await fetch(`${stack.apiUrl}/metrics?${q}`);
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toMatch(message);
    }
  });
});

describe('GET /metrics (AWS): the CloudWatch request', () => {
  it('asks GetMetricData for each metric and stat over the range, with the dimension set, and maps the answer', async () => {
    const now = new Date('2026-11-27T12:00:00Z');
    const q = parseMetricQuery({ metric: 'SeparationTime,RealTimeFactor', stats: 'count,p90', start: '-2h', service: 'separate', model: 'm', stems: 'vocals', format: 'flac' }, now);
    const client = new CloudWatchClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const sent: Record<string, unknown>[] = [];
    client.middlewareStack.add(() => async (args) => {
      sent.push(args.input as Record<string, unknown>);
      return { output: { $metadata: {}, MetricDataResults: [
        { Id: 'm0_count', Values: [12] }, { Id: 'm0_p90', Values: [8123.5] }, { Id: 'm1_count', Values: [] }, { Id: 'm1_p90', Values: [] },
      ] }, response: {} } as never;
    }, { step: 'initialize', name: 'stubAtSdkBoundary' });
    const answer = await new CloudWatchBackend(client).query(q);

    expect(sent).toHaveLength(1);
    const input = sent[0] as { StartTime: Date; EndTime: Date; MetricDataQueries: { Id: string; MetricStat: { Metric: { Namespace: string; MetricName: string; Dimensions: object[] }; Period: number; Stat: string } }[] };
    expect(input.StartTime.toISOString()).toBe('2026-11-27T10:00:00.000Z');
    expect(input.EndTime.toISOString()).toBe('2026-11-27T12:00:00.000Z');
    expect(input.MetricDataQueries.map((x) => [x.Id, x.MetricStat.Metric.MetricName, x.MetricStat.Stat, x.MetricStat.Period])).toEqual([
      ['m0_count', 'SeparationTime', 'SampleCount', 7200], ['m0_p90', 'SeparationTime', 'p90', 7200],
      ['m1_count', 'RealTimeFactor', 'SampleCount', 7200], ['m1_p90', 'RealTimeFactor', 'p90', 7200],
    ]);
    for (const x of input.MetricDataQueries) {
      expect(x.MetricStat.Metric.Namespace).toBe('StemSplitter');
      expect(x.MetricStat.Metric.Dimensions).toEqual([
        { Name: 'service', Value: 'separate' }, { Name: 'model', Value: 'm' }, { Name: 'stems', Value: 'vocals' }, { Name: 'format', Value: 'flac' },
      ]);
    }
    expect(answer.results).toEqual([
      { metric: 'SeparationTime', unit: 'Milliseconds', stats: { count: 12, p90: 8123.5 } },
      { metric: 'RealTimeFactor', unit: 'None', stats: { count: 0, p90: null } },
    ]);
  });

  it('uses one period that spans the whole range, at least a minute', () => {
    const now = new Date('2026-11-27T12:00:00Z');
    expect(cloudWatchQueries(parseMetricQuery({ metric: 'SeparationTime', start: '-90s' }, now)).period).toBe(120);
    expect(cloudWatchQueries(parseMetricQuery({ metric: 'SeparationTime', start: '-10s' }, now)).period).toBe(60);
  });
});
