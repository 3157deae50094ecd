/** Configuration and clients for the functions, created once per container (module scope). */
import type { S3Client } from '@aws-sdk/client-s3';
import { serviceConfig, type ServiceConfig } from '../core/env.js';
import { retryPolicyFromEnv, type RetryPolicy } from '../jobs/retry-policy.js';
import { JobStore } from '../storage/job-store.js';
import { createS3Client } from '../storage/s3.js';

export interface ServiceDeps { config: ServiceConfig; retry: RetryPolicy; s3: S3Client; jobs: JobStore }

let deps: ServiceDeps | undefined;

export function serviceDeps(): ServiceDeps {
  if (!deps) {
    const config = serviceConfig();
    const s3 = createS3Client(config);
    deps = { config, retry: retryPolicyFromEnv(), s3, jobs: new JobStore(s3, config.bucket) };
  }
  return deps;
}
