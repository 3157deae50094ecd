/**
 * GET /metrics: statistics of one or more metrics over a time range, from CloudWatch in AWS
 * (GetMetricData; percentiles computed by CloudWatch) or, locally, from the EMF records the local
 * stack collected from the functions — one interface, two implementations, same answers.
 */
import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
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

interface EmfRecord {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit?: string }[] }[] };
  [key: string]: unknown;
}

/**
 * Local mode: the EMF lines the local stack collected (one JSON record per line). Indexed
 * incrementally: each query reads only the bytes appended since the last one (and, after the
 * collector rotated the file, the rest of the rotated file), so a query costs what is new plus
 * the matching samples, never a parse of the whole file. Samples older than the longest range are
 * dropped, and each series keeps at most MAX_SAMPLES_PER_SERIES.
 */
export class EmfFileBackend implements MetricsBackend {
  static readonly MAX_SAMPLES_PER_SERIES = 200_000;
  /** series key (metric, dimension set, dimension values) -> timestamps and values */
  private readonly series = new Map<string, { t: number[]; v: number[] }>();
  private offset = 0;
  private inode = -1;
  private partial = '';
  private refreshing: Promise<void> = Promise.resolve();
  /** Bytes read from disk so far (tests and the benchmark check that queries read only what is new). */
  bytesRead = 0;

  constructor(private readonly file: string) {}

  async query(q: MetricQuery): Promise<MetricAnswer> {
    this.refreshing = this.refreshing.then(() => this.refresh());
    await this.refreshing;
    const dimsKey = seriesDims(Object.keys(q.dimensions), q.dimensions);
    const from = q.start.getTime();
    const to = q.end.getTime();
    return {
      start: q.start.toISOString(), end: q.end.toISOString(), dimensions: q.dimensions,
      results: q.metrics.map((m) => {
        const s = this.series.get(`${m}|${dimsKey}`);
        const values: number[] = [];
        if (s) for (let i = 0; i < s.t.length; i++) if (s.t[i] >= from && s.t[i] <= to) values.push(s.v[i]);
        return { metric: m, unit: KNOWN.get(m)!, stats: computeStats(values, q.stats) };
      }),
    };
  }

  private async refresh(): Promise<void> {
    const st = await stat(this.file).catch(() => undefined);
    if (!st) return;
    if (st.ino !== this.inode) {
      // rotated (emf.jsonl -> emf.jsonl.1): finish the old file where we stopped, then start the new one
      const old = await stat(`${this.file}.1`).catch(() => undefined);
      if (old && old.ino === this.inode) await this.readFrom(`${this.file}.1`, this.offset, old.size);
      this.inode = st.ino;
      this.offset = 0;
      this.partial = '';
    } else if (st.size < this.offset) {
      this.offset = 0; // truncated in place
      this.partial = '';
    }
    if (st.size > this.offset) this.offset = await this.readFrom(this.file, this.offset, st.size);
    this.prune(Date.now() - MAX_RANGE_DAYS * DAY);
  }

  private async readFrom(file: string, start: number, end: number): Promise<number> {
    if (end <= start) return end;
    for await (const chunk of createReadStream(file, { start, end: end - 1, encoding: 'utf8', highWaterMark: 1 << 20 })) {
      this.bytesRead += Buffer.byteLength(chunk as string);
      const lines = (this.partial + (chunk as string)).split('\n');
      this.partial = lines.pop()!;
      for (const line of lines) this.index(line);
      // yield between chunks so other requests are served while a large backlog is indexed
      await new Promise((r) => setImmediate(r));
    }
    return end;
  }

  private index(line: string): void {
    if (!line.startsWith('{')) return;
    let r: EmfRecord;
    try {
      r = JSON.parse(line) as EmfRecord;
    } catch {
      return; // a torn or foreign line: skip it
    }
    const t = r._aws?.Timestamp;
    if (typeof t !== 'number' || !Number.isFinite(t)) return;
    for (const d of r._aws.CloudWatchMetrics ?? []) {
      if (d.Namespace !== NAMESPACE) continue;
      for (const set of d.Dimensions ?? []) {
        const dimsKey = seriesDims(set, r);
        for (const m of d.Metrics ?? []) {
          if (!KNOWN.has(m.Name)) continue;
          const v = r[m.Name];
          for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'number') this.add(`${m.Name}|${dimsKey}`, t, x);
        }
      }
    }
  }

  private add(key: string, t: number, v: number): void {
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { t: [], v: [] }));
    s.t.push(t);
    s.v.push(v);
    if (s.t.length > EmfFileBackend.MAX_SAMPLES_PER_SERIES * 1.1) {
      const drop = s.t.length - EmfFileBackend.MAX_SAMPLES_PER_SERIES;
      s.t.splice(0, drop);
      s.v.splice(0, drop);
    }
  }

  private prune(before: number): void {
    for (const s of this.series.values()) {
      let n = 0;
      while (n < s.t.length && s.t[n] < before) n++;
      if (n) { s.t.splice(0, n); s.v.splice(0, n); }
    }
  }
}

/** A record counts for a query when it was published under exactly the queried dimension set, with the same values. */
function seriesDims(names: string[], values: Record<string, unknown>): string {
  return [...names].sort().map((k) => `${k}=${String(values[k])}`).join(',');
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
