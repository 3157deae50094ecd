/**
 * `npm start`: the whole product on this machine — S3-compatible storage on loopback, its upload
 * events through an emulated SQS queue to the separate function (dead letters to dead-letter),
 * the HTTP API and the upload page.
 */
import './node-support.js';
import path from 'node:path';
import { readPositiveNumber } from '../layers/core/env.js';
import { retryPolicyFromEnv, visibilityTimeoutSeconds } from '../layers/jobs/retry-policy.js';
import { defaultModelId } from '../layers/models/registry.js';
import { availableModels, pageConfig } from './page-config.js';
import { startLocalStack } from './stack.js';

const dataDir = path.resolve(process.env.STEMS_LOCAL_DATA ?? '.local-data');
const stack = await startLocalStack({
  port: readPositiveNumber('PORT', 3000),
  dataDir,
  concurrency: readPositiveNumber('STEMS_LOCAL_CONCURRENCY', 1),
  // segment workers for long songs that fan out (STEMS_FANOUT_* decide when)
  workers: readPositiveNumber('STEMS_LOCAL_WORKERS', 2),
  // the stack's retry policy (STEMS_MAX_ATTEMPTS, STEMS_FUNCTION_TIMEOUT_S, STEMS_LEASE_MARGIN_S override it)
  policy: retryPolicyFromEnv(),
  // built by `npm run build:web` (part of `npm start`)
  site: { dir: path.resolve(import.meta.dirname, '..', 'dist', 'web'), generated: { '/config.json': pageConfig } },
});

console.log(`Stem Splitter is running locally.
  upload page   ${stack.apiUrl}/
  HTTP API      ${stack.apiUrl}/jobs   (POST to create a job, GET /jobs/<id> to poll)
  metrics       ${stack.apiUrl}/metrics?metric=SeparationTime,RealTimeFactor&start=-1h
  S3 endpoint   ${stack.s3Endpoint}   bucket "${stack.bucket}" (drop files into uploads/ for batch jobs)
  upload queue  ${stack.policy.maxAttempts} attempts per upload, redelivery after ${visibilityTimeoutSeconds(stack.policy)} s, then dead-lettered (job failed)
  data folder   ${dataDir}
From a shell:  npx stem-splitter submit song.mp3 --api ${stack.apiUrl} --out stems/
Ctrl-C stops it.`);

const models = await availableModels();
if (!models.some((m) => m.default)) {
  console.warn(`
Note: the default model "${defaultModelId()}" is not available on this machine, so jobs that name no model will fail.
Install a published one and make it the default:  npm run models:fetch -- spleeter-2stems
then:  STEMS_DEFAULT_MODEL=spleeter-2stems npm start
Available now: ${models.map((m) => m.id).join(', ') || 'none'}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.log('stopping…');
    void stack.close().then(() => process.exit(0));
  });
}
