/**
 * bench:api — wall time of the API flow on the local stack for a >= 3-minute song, split into
 * upload, queue (upload finished → worker started), separation (worker start → job done) and
 * download of the zip. Model: the shared Spleeter architecture (real-model cost).
 *
 *   npm run bench:api
 */
import os from 'node:os';
import path from 'node:path';
import { createJob, download, getStatus, uploadFile, waitForJob } from '../cli/api-client.js';
import { cacheDir } from '../layers/core/env.js';
import { startLocalStack } from '../local/stack.js';
import { tmpDir } from '../dev/models.js';
import { mixtureWav, musdbSongs, sharedOrSkipReason } from '../dev/reference.js';

const { dir: shared, reason } = sharedOrSkipReason();
if (!shared) {
  console.error(`bench:api needs the shared folder: ${reason}`);
  process.exit(1);
}
const song = await mixtureWav(musdbSongs(shared).slice(0, 27), path.join(cacheDir(), 'bench-engine', 'three-minutes.wav'));
const stack = await startLocalStack({ port: 0, dataDir: tmpDir('bench-api'), env: { STEMS_DEFAULT_MODEL: 'spleeter-2stems-arch' } });
try {
  const t0 = performance.now();
  const job = await createJob(stack.apiUrl, song, { format: 'wav16' });
  await uploadFile(job.upload, song);
  const t1 = performance.now();
  const done = await waitForJob(stack.apiUrl, job.jobId, { intervalMs: 100 });
  const t2 = performance.now();
  if (done.state !== 'done') throw new Error(`job failed: ${done.error?.message}`);
  await download(done.downloads!.zip, path.join(tmpDir('bench-api-dl'), 'stems.zip'));
  const t3 = performance.now();
  const final = await getStatus(stack.apiUrl, job.jobId);
  const t = final.timings!;
  const s = (ms: number | undefined) => ((ms ?? 0) / 1000).toFixed(2);
  console.log(`machine: ${os.cpus()[0].model}, ${os.availableParallelism()} cores; song ${final.source?.durationSeconds?.toFixed(1)} s wav (${(final.source!.bytes / 1e6).toFixed(1)} MB), model spleeter-2stems-arch, output wav16 zip`);
  console.log(`create+upload ${s(t1 - t0)} s | queue ${s(t.queueMs)} s | separation ${s(t.totalMs)} s (decode+separate+encode ${s(t.totalMs! - (t.uploadResultsMs ?? 0))}, results to S3 ${s(t.uploadResultsMs)}) | poll until done ${s(t2 - t1)} s | download ${s(t3 - t2)} s | total ${s(t3 - t0)} s`);
  console.log(`bench:api upload_s=${s(t1 - t0)} queue_s=${s(t.queueMs)} separation_s=${s(t.totalMs)} download_s=${s(t3 - t2)} total_s=${s(t3 - t0)}`);
} finally {
  await stack.close();
}
