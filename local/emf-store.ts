/**
 * Local mode's metrics store: the EMF lines the local stack collects from the functions' stdout
 * (as CloudWatch Logs would), answered through the same MetricsBackend interface as CloudWatch.
 * Only local mode builds it (local/stack.ts); the Lambda bundle answers from CloudWatch.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import {
  computeStats, KNOWN_METRIC_UNITS as KNOWN, MAX_RANGE_DAYS, type MetricAnswer, type MetricQuery, type MetricsBackend,
} from '../layers/observability/metrics-query.js';
import { NAMESPACE } from '../layers/observability/metrics.js';

const DAY = 864e5;

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
