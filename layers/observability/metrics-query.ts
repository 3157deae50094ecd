/**
 * GET /metrics: statistics of one or more metrics over a time range, from CloudWatch in AWS
 * (GetMetricData; percentiles computed by CloudWatch) or, locally, from the EMF records the local
 * stack collected from the functions — one interface, two implementations, same answers.
 */
import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
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

/** Metric name -> unit, for every metric the functions emit. */
export const KNOWN_METRIC_UNITS: ReadonlyMap<string, string> = new Map(Object.values(METRICS).map((m) => [m.name, m.unit as string]));
const KNOWN = KNOWN_METRIC_UNITS;
const RELATIVE = /^-(\d{1,9})(s|m|h|d)$/;

/** Most metric x stat pairs one request may ask for (each is one GetMetricData query in AWS). */
export const MAX_QUERIES = 40;
/** Longest range, and how far back a query may reach (CloudWatch keeps 1-hour data 455 days). */
export const MAX_RANGE_DAYS = 15;
export const MAX_LOOKBACK_DAYS = 455;
const DAY = 864e5;

function parseTime(value: string | undefined, fallback: Date, now: Date, name: string): Date {
  if (!value) return fallback;
  const rel = RELATIVE.exec(value);
  const t = rel
    ? now.getTime() - Number(rel[1]) * { s: 1e3, m: 6e4, h: 36e5, d: DAY }[rel[2] as 's']
    : /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(t)) throw new InvalidRequestError(`${name} must be an ISO time or like -15m, -2h, -7d`);
  if (t < now.getTime() - MAX_LOOKBACK_DAYS * DAY || t > now.getTime() + DAY) {
    throw new InvalidRequestError(`${name} must be within the last ${MAX_LOOKBACK_DAYS} days`);
  }
  return new Date(t);
}

/** A comma list, trimmed, empties dropped, duplicates removed (first occurrence kept). */
function list(value: string | undefined): string[] {
  return [...new Set((value ?? '').split(',').map((s) => s.trim()).filter(Boolean))];
}

/** Names in messages: known ones as they are, anything else cut short (no echoing of arbitrary input). */
const shown = (names: string[]) => names.slice(0, 5).map((n) => JSON.stringify(n.slice(0, 40))).join(', ') + (names.length > 5 ? ', …' : '');

export function parseMetricQuery(params: Record<string, string | undefined> = {}, now = new Date()): MetricQuery {
  const metrics = list(params.metric);
  if (metrics.length === 0) throw new InvalidRequestError(`metric is required (one or more of ${[...KNOWN.keys()].join(', ')})`);
  const unknown = metrics.filter((m) => !KNOWN.has(m));
  if (unknown.length) throw new InvalidRequestError(`unknown metric(s) ${shown(unknown)} (known: ${[...KNOWN.keys()].join(', ')})`);
  const stats = (params.stats ? list(params.stats) : [...STATS]) as Stat[];
  const badStats = stats.filter((s) => !(STATS as readonly string[]).includes(s));
  if (badStats.length) throw new InvalidRequestError(`unknown stat(s) ${shown(badStats)} (known: ${STATS.join(', ')})`);
  if (stats.length === 0) throw new InvalidRequestError('stats must name at least one statistic');
  if (metrics.length * stats.length > MAX_QUERIES) {
    throw new InvalidRequestError(`at most ${MAX_QUERIES} metric x stat pairs per request (asked for ${metrics.length} x ${stats.length})`);
  }
  const end = parseTime(params.end, now, now, 'end');
  const start = parseTime(params.start, new Date(end.getTime() - 36e5), now, 'start');
  if (start >= end) throw new InvalidRequestError('start must be before end');
  if (end.getTime() - start.getTime() > MAX_RANGE_DAYS * DAY) throw new InvalidRequestError(`the time range must be at most ${MAX_RANGE_DAYS} days`);
  const dimensions: Record<string, string> = { service: params.service || 'separate' };
  const extra = Object.keys(params).filter((k) => !['metric', 'stats', 'start', 'end', 'service'].includes(k) && params[k]);
  const set = DIMENSION_SETS.find((s) => s.length === extra.length && s.every((d) => extra.includes(d)));
  if (!set) {
    throw new InvalidRequestError(`dimensions must be one of: none, ${DIMENSION_SETS.filter((s) => s.length).map((s) => s.join('+')).join(', ')} (got ${shown(extra)})`);
  }
  for (const d of set) dimensions[d] = params[d]!;
  for (const [k, v] of Object.entries(dimensions)) {
    // CloudWatch's own limit on dimension values; printable text only
    if (v.length > 255 || !/^[\x20-\x7e]+$/.test(v)) throw new InvalidRequestError(`${k} must be printable ASCII of at most 255 characters`);
  }
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
