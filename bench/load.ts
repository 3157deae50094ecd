/**
 * bench:load — a bounded load test on loopback against the local stack: POST /jobs and
 * GET /jobs/{id} at once for 30 s (autocannon, in separate processes so the load generator does
 * not share the server's thread), then 20 small separations submitted at once.
 *
 *   npm run bench:load [-- --seconds 30 --connections 10]
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createJob, uploadFile, waitForJob } from '../cli/api-client.js';
import { startLocalStack } from '../local/stack.js';
import { tmpDir, writeGainModel } from '../dev/models.js';
import { writeMusicWav } from '../dev/signals.js';

const exec = promisify(execFile);
const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) || fallback;
const seconds = arg('seconds', 30);
const connections = arg('connections', 4);

const models = tmpDir('load-models');
mkdirSync(path.join(models, 'tiny'));
cpSync(writeGainModel({ id: 'tiny', gains: { vocals: 2, accompaniment: 1 } }), path.join(models, 'tiny'), { recursive: true });
const stack = await startLocalStack({ port: 0, dataDir: tmpDir('load'), concurrency: 2, env: { STEMS_MODELS_DIR: models, STEMS_DEFAULT_MODEL: 'tiny' } });
const song = writeMusicWav(tmpDir('load-in'), 'small.wav', 2);

interface Result { requests: { average: number }; latency: { p50: number; p99: number; max: number }; errors: number; timeouts: number; non2xx: number; '2xx': number }
async function cannon(args: string[]): Promise<Result> {
  const { stdout } = await exec(process.execPath, [path.resolve('node_modules/autocannon/autocannon.js'), '--json', '-d', String(seconds), '-c', String(connections), ...args],
    { maxBuffer: 1 << 26 });
  return JSON.parse(stdout);
}

try {
  const existing = await createJob(stack.apiUrl, song);
  const body = JSON.stringify({ filename: 'load.wav', contentType: 'audio/wav', bytes: 1000 });
  const [post, get] = await Promise.all([
    cannon(['-m', 'POST', '-H', 'content-type=application/json', '-b', body, `${stack.apiUrl}/jobs`]),
    cannon([`${stack.apiUrl}/jobs/${existing.jobId}`]),
  ]);
  const line = (name: string, r: Result) => console.log(`${name.padEnd(18)} ${r.requests.average.toFixed(0).padStart(6)} req/s   p50 ${r.latency.p50} ms   p99 ${r.latency.p99} ms   max ${r.latency.max} ms   errors ${r.errors + r.timeouts + r.non2xx}   ok ${r['2xx']}`);
  console.log(`machine: ${os.cpus()[0].model}, ${os.availableParallelism()} cores; ${seconds} s, ${connections} connections per route, both routes at once`);
  line('POST /jobs', post);
  line('GET /jobs/{id}', get);

  const t0 = performance.now();
  const ids = await Promise.all(Array.from({ length: 20 }, async () => {
    const j = await createJob(stack.apiUrl, song);
    await uploadFile(j.upload, song);
    return j.jobId;
  }));
  const states = await Promise.all(ids.map((id) => waitForJob(stack.apiUrl, id, { intervalMs: 250 }).then((s) => s.state)));
  const done = states.filter((s) => s === 'done').length;
  console.log(`20 separations submitted at once (2 s clips, concurrency 2): ${done} done, ${20 - done} not done, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`bench:load post_rps=${post.requests.average.toFixed(0)} post_p99_ms=${post.latency.p99} get_rps=${get.requests.average.toFixed(0)} get_p99_ms=${get.latency.p99} errors=${post.errors + post.non2xx + post.timeouts + get.errors + get.non2xx + get.timeouts} separations_done=${done}/20`);
} finally {
  await stack.close();
}
