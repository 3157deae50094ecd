/**
 * GET /metrics: statistics of one or more metrics over a time range, from CloudWatch in AWS
 * (GetMetricData; percentiles computed by CloudWatch) or, locally, from the EMF records the local
 * stack collected from the functions — one interface, two implementations, same answers.
 */
import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { readFile } from 'node:fs/promises';
import { InvalidRequestError } from '../core/errors.js';
import { METRICS, NAMESPACE } from './metrics.js';

export const STATS = ['count', 'sum', 'avg', 'min', 'max', 'p50', 'p90', 'p99'] as const;
export type Stat = (typeof STATS)[number];
/** The dimension sets metrics are published under, besides `service` (always present). */
export const DIMENSION_SETS = [[], ['route'], ['errorCode'], ['model', 'stems', 'format']] as const;

export interface MetricQuery {
  metrics: string[];
  start: Date;
  end: Date;
  stats: Stat[];
  /** Always includes `service`; plus one of DIMENSION_SETS. */
  dimensions: Record<string, string>;
}

export interface MetricAnswer {
  start: string;
  end: string;
  dimensions: Record<string, string>;
  results: { metric: string; unit: string; stats: Partial<Record<Stat, number | null>> }[];
}

export interface MetricsBackend {
  query(q: MetricQuery): Promise<MetricAnswer>;
}

const KNOWN = new Map<string, string>(Object.values(METRICS).map((m) => [m.name, m.unit as string]));
const RELATIVE = /^-(\d+)(s|m|h|d)$/;

function parseTime(value: string | undefined, fallback: Date, now: Date, name: string): Date {
  if (!value) return fallback;
  const rel = RELATIVE.exec(value);
  if (rel) return new Date(now.getTime() - Number(rel[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[rel[2] as 's']);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidRequestError(`${name} must be an ISO time or like -15m, -2h, -7d (got "${value}")`);
  return new Date(t);
}

export function parseMetricQuery(params: Record<string, string | undefined> = {}, now = new Date()): MetricQuery {
  const metrics = (params.metric ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (metrics.length === 0) throw new InvalidRequestError(`metric is required (one or more of ${[...KNOWN.keys()].join(', ')})`);
  const unknown = metrics.filter((m) => !KNOWN.has(m));
  if (unknown.length) throw new InvalidRequestError(`unknown metric(s) ${unknown.join(', ')} (known: ${[...KNOWN.keys()].join(', ')})`);
  const stats = (params.stats ? params.stats.split(',').map((s) => s.trim()) : [...STATS]) as Stat[];
  const badStats = stats.filter((s) => !(STATS as readonly string[]).includes(s));
  if (badStats.length) throw new InvalidRequestError(`unknown stat(s) ${badStats.join(', ')} (known: ${STATS.join(', ')})`);
  const end = parseTime(params.end, now, now, 'end');
  const start = parseTime(params.start, new Date(end.getTime() - 36e5), now, 'start');
  if (start >= end) throw new InvalidRequestError('start must be before end');
  if (end.getTime() - start.getTime() > 15 * 864e5) throw new InvalidRequestError('the time range must be at most 15 days');
  const dimensions: Record<string, string> = { service: params.service || 'separate' };
  const extra = Object.keys(params).filter((k) => !['metric', 'stats', 'start', 'end', 'service'].includes(k) && params[k]);
  const set = DIMENSION_SETS.find((s) => s.length === extra.length && s.every((d) => extra.includes(d)));
  if (!set) {
    throw new InvalidRequestError(`dimensions must be one of: none, ${DIMENSION_SETS.filter((s) => s.length).map((s) => s.join('+')).join(', ')} (got ${extra.join('+')})`);
  }
  for (const d of set) dimensions[d] = params[d]!;
  return { metrics, start, end, stats, dimensions };
}

/** count, sum, avg, min, max and nearest-rank percentiles of a sample. */
export function computeStats(values: number[], stats: Stat[]): Partial<Record<Stat, number | null>> {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const sum = sorted.reduce((a, b) => a + b, 0);
  const pct = (p: number) => (n ? sorted[Math.max(0, Math.ceil((p / 100) * n) - 1)] : null);
  const all: Record<Stat, number | null> = {
    count: n, sum, avg: n ? sum / n : null, min: n ? sorted[0] : null, max: n ? sorted[n - 1] : null,
    p50: pct(50), p90: pct(90), p99: pct(99),
  };
  return Object.fromEntries(stats.map((s) => [s, all[s]]));
}

interface EmfRecord {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit?: string }[] }[] };
  [key: string]: unknown;
}

/** Local mode: the EMF lines the local stack collected (one JSON record per line). */
export class EmfFileBackend implements MetricsBackend {
  constructor(private readonly file: string) {}

  async query(q: MetricQuery): Promise<MetricAnswer> {
    const text = await readFile(this.file, 'utf8').catch(() => '');
    const wanted = Object.keys(q.dimensions).sort().join(',');
    const samples = new Map<string, number[]>(q.metrics.map((m) => [m, []]));
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      const r = JSON.parse(line) as EmfRecord;
      const t = r._aws?.Timestamp;
      if (t === undefined || t < q.start.getTime() || t > q.end.getTime()) continue;
      for (const d of r._aws.CloudWatchMetrics) {
        // a record counts for a query when it was published under exactly the queried dimension set
        if (d.Namespace !== NAMESPACE || !d.Dimensions.some((set) => [...set].sort().join(',') === wanted)) continue;
        if (!Object.entries(q.dimensions).every(([k, v]) => r[k] === v)) continue;
        for (const m of d.Metrics) {
          const v = r[m.Name];
          const list = samples.get(m.Name);
          if (!list) continue;
          for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'number') list.push(x);
        }
      }
    }
    return {
      start: q.start.toISOString(), end: q.end.toISOString(), dimensions: q.dimensions,
      results: q.metrics.map((m) => ({ metric: m, unit: KNOWN.get(m)!, stats: computeStats(samples.get(m)!, q.stats) })),
    };
  }
}

const CW_STAT: Record<Stat, string> = { count: 'SampleCount', sum: 'Sum', avg: 'Average', min: 'Minimum', max: 'Maximum', p50: 'p50', p90: 'p90', p99: 'p99' };

/** The GetMetricData queries for a query: one datapoint per metric and stat over the whole range. */
export function cloudWatchQueries(q: MetricQuery): { queries: MetricDataQuery[]; period: number } {
  const seconds = Math.ceil((q.end.getTime() - q.start.getTime()) / 1000);
  const period = Math.max(60, Math.ceil(seconds / 60) * 60);
  const Dimensions = Object.entries(q.dimensions).map(([Name, Value]) => ({ Name, Value }));
  const queries = q.metrics.flatMap((metric, i) => q.stats.map((stat) => ({
    Id: `m${i}_${stat}`,
    MetricStat: { Metric: { Namespace: NAMESPACE, MetricName: metric, Dimensions }, Period: period, Stat: CW_STAT[stat] },
    ReturnData: true,
  })));
  return { queries, period };
}

export class CloudWatchBackend implements MetricsBackend {
  constructor(private readonly cw: CloudWatchClient) {}

  async query(q: MetricQuery): Promise<MetricAnswer> {
    const { queries } = cloudWatchQueries(q);
    const values = new Map<string, number | null>();
    let NextToken: string | undefined;
    do {
      const r = await this.cw.send(new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: q.start, EndTime: q.end, ScanBy: 'TimestampDescending', NextToken }));
      for (const res of r.MetricDataResults ?? []) values.set(res.Id!, res.Values?.length ? res.Values[0] : null);
      NextToken = r.NextToken;
    } while (NextToken);
    return {
      start: q.start.toISOString(), end: q.end.toISOString(), dimensions: q.dimensions,
      results: q.metrics.map((metric, i) => ({
        metric, unit: KNOWN.get(metric)!,
        stats: Object.fromEntries(q.stats.map((s) => [s, values.get(`m${i}_${s}`) ?? (s === 'count' ? 0 : null)])),
      })),
    };
  }
}
