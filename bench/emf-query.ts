/**
 * GET /metrics locally on a large EMF store: the incremental index (first query indexes the file,
 * later ones read only what was appended) against re-parsing the whole file per request, the old
 * behaviour, in the same run. Prints per-query latency and RSS.
 *
 *   npm run bench:emf [-- --mb 150]
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseMetricQuery } from '../layers/observability/metrics-query.js';
import { EmfFileBackend } from '../local/emf-store.js';

const i = process.argv.indexOf('--mb');
const targetMb = i > 0 ? Number(process.argv[i + 1]) : 150;
const file = path.join(os.tmpdir(), `bench-emf-${process.pid}.jsonl`);
const record = (v: number) => JSON.stringify({
  _aws: { Timestamp: Date.now() - (v % 3600) * 1000, CloudWatchMetrics: [{ Namespace: 'StemSplitter', Dimensions: [['service'], ['service', 'route']],
    Metrics: [{ Name: 'RequestLatency', Unit: 'Milliseconds' }] }] },
  service: 'status', route: 'GET /jobs/{id}', RequestLatency: v % 97, jobId: `job-${v}`,
});
const lines: string[] = [];
let bytes = 0;
for (let n = 0; bytes < targetMb * 1048576; n++) {
  const l = `${record(n)}\n`;
  lines.push(l);
  bytes += l.length;
}
writeFileSync(file, lines.join(''));
lines.length = 0;
const q = parseMetricQuery({ metric: 'RequestLatency', service: 'status', route: 'GET /jobs/{id}', stats: 'count,p50,p99', start: '-2h' });
const mb = () => (process.memoryUsage().rss / 1048576).toFixed(0);
const time = async (f: () => Promise<unknown>) => { const t = performance.now(); await f(); return performance.now() - t; };

/** What the backend did before issue 14: the whole file read and parsed per request. */
async function wholeFileQuery(): Promise<number> {
  let n = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) if (line.startsWith('{') && JSON.parse(line).RequestLatency !== undefined) n++;
  return n;
}

console.log(`EMF store: ${(bytes / 1048576).toFixed(0)} MB, node ${process.version}, ${os.cpus().length} CPUs`);
const whole = await time(wholeFileQuery);
console.log(`whole-file parse per request (old): ${whole.toFixed(0)} ms per query, RSS ${mb()} MB`);
const backend = new EmfFileBackend(file);
const first = await time(() => backend.query(q));
console.log(`incremental index, first query (indexes the file once): ${first.toFixed(0)} ms, RSS ${mb()} MB`);
const later: number[] = [];
for (let k = 0; k < 20; k++) later.push(await time(() => backend.query(q)));
later.sort((a, b) => a - b);
console.log(`incremental index, next 20 queries: p50 ${later[10].toFixed(1)} ms, max ${later[19].toFixed(1)} ms (bytes read: ${backend.bytesRead - bytes})`);
appendFileSync(file, Array.from({ length: 1000 }, (_, k) => `${record(k)}\n`).join(''));
const append = await time(() => backend.query(q));
console.log(`after 1,000 new records: ${append.toFixed(1)} ms; ratio old/new per query: ${(whole / later[10]).toFixed(0)}x`);
