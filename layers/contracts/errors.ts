/** Every error code a client can see, in job records and in `{"error": {"code"}}` answers. */
export const ERROR_CODES = [
  'INTERNAL', 'INVALID_REQUEST', 'INVALID_AUDIO', 'EMPTY_INPUT', 'NOT_AUDIO', 'NO_SAMPLES', 'TRUNCATED_AUDIO',
  'TOO_LONG', 'EXCEEDS_LIMITS', 'MODEL_NOT_FOUND', 'MODEL_LOAD_FAILED', 'TOOL_MISSING', 'JOB_NOT_FOUND',
  // internal: a conditional write lost a race (the job store retries or gives up the job)
  'CONFLICT',
  // limits and access (security)
  'SOURCE_RATE_TOO_HIGH', 'OUTPUT_TOO_LARGE', 'EXCEEDS_STORAGE', 'FORBIDDEN',
  // a server (a model download, the API from the CLI) could not be reached
  'NETWORK',
  // the job lifecycle (layers/jobs/retry-policy.ts)
  'LEASE_HELD', 'ATTEMPTS_EXHAUSTED', 'WORKER_LOST',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
