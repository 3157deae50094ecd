/**
 * One bench:fanout run in its own process (handler modules hold their stack's clients): a local
 * stack with `workers` segment workers, one upload into uploads/, and the job record once done.
 * Prints one JSON line.
 *
 *   tsx bench/fanout-once.ts <input> <model> <workers> <single|fanout> <segmentSeconds>
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { JobStore } from '../layers/storage/job-store.js';
import { startLocalStack } from '../local/stack.js';
import { localS3Client } from '../local/s3-server.js';
import { tmpDir } from '../dev/models.js';
import type { Job } from '../layers/jobs/job.js';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';

const [input, model, workers, mode, segmentSeconds] = process.argv.slice(2);
const dataDir = tmpDir('bench-fanout');
const stack = await startLocalStack({
  port: 0, dataDir, concurrency: 1, workers: Number(workers),
  env: mode === 'single'
    // one segment longer than any song: never cut
    ? { STEMS_FANOUT_SEGMENT_S: '100000' }
    : { STEMS_FANOUT_SEGMENT_S: segmentSeconds, STEMS_FANOUT_ABOVE_S: '60' },
});
let result: object;
try {
  const s3 = localS3Client(stack.s3Endpoint);
  const jobs = new JobStore(s3, stack.bucket);
  const key = `uploads/${path.basename(input)}`;
  const t0 = performance.now();
  await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: readFileSync(input), Metadata: { model, format: 'wav16' } }));
  let job: Job | undefined;
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: 'jobs/' }));
    const id = listed.Contents?.[0]?.Key?.replace(/^jobs\/|\.json$/g, '');
    job = id ? (await jobs.get(id))?.value : undefined;
    if (job?.state === 'done' || job?.state === 'failed') break;
  }
  const wallMs = performance.now() - t0;
  if (job.state !== 'done') throw new Error(`job failed: ${job.error?.code} ${job.error?.message}`);
  result = { wallMs, job };
} finally {
  await stack.close();
  // a 10-minute song leaves ~600 MB of uploads, intermediates and results behind
  await rm(dataDir, { recursive: true, force: true });
}
// after close: the stack captures stdout for its EMF store while it runs
console.log(JSON.stringify(result));
