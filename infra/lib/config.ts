/** The stack's settings: typed, defaulted, validated; read from CDK context by the app entry. */
import { DEFAULTS } from '../../layers/contracts/defaults.js';
import { DEFAULT_RETRY_POLICY, validateRetryPolicy, type RetryPolicy } from '../../layers/jobs/retry-policy.js';

export type AuthMode = 'anonymous' | 'jwt' | 'cognito';

export interface StemSplitterConfig {
  /**
   * Browser origins allowed to call the API and upload to the bucket, besides the stack's own page
   * (always allowed). No localhost here: a development origin is added with `-c allowedOrigins=`.
   * @default []
   */
  readonly allowedOrigins: string[];
  /**
   * Who may use POST /jobs and GET /jobs/{id}: `anonymous` (anyone, bounded by the per-client rate
   * limit; for private or demo deployments), `jwt` (a bearer token from any OIDC issuer:
   * jwtIssuer + jwtAudience), `cognito` (a user pool the stack creates). @default 'anonymous'
   */
  readonly authMode: AuthMode;
  /** `jwt` mode: the issuer URL (https://…), whose /.well-known/openid-configuration API Gateway reads. */
  readonly jwtIssuer: string;
  /** `jwt` mode: accepted `aud` (or `client_id`) values. */
  readonly jwtAudience: string[];
  /**
   * Requests per client IP per 5 minutes through the API's CloudFront + WAF front door before WAF
   * blocks that client (the others keep their share). @default 600
   */
  readonly clientRateLimit: number;
  /** `arn:…:webacl/…` of a CLOUDFRONT-scope web ACL to use instead of creating one (needed outside us-east-1). @default '' */
  readonly webAclArn: string;
  /** Email subscribed to the alarm topic (confirm the subscription mail). @default '' (topic only) */
  readonly alarmEmail: string;
  /** Highest output sample rate; `source` keeps the source's rate up to it. @default 48000 */
  readonly maxOutputRate: number;
  /** Sources sampled above this are refused. @default 192000 */
  readonly maxSourceRate: number;
  /** Most bytes of results (stems + zip) one job may produce. @default 2 GiB */
  readonly maxJobOutputBytes: number;
  /** @default 200 MiB */
  readonly maxUploadBytes: number;
  /** @default 1200 (20 minutes) */
  readonly maxDurationSeconds: number;
  /** Model used when a job names none. @default 'default' (committed in models/default) */
  readonly defaultModel: string;
  /** Registry models to download into the image at build time, besides the committed ones. @default [] */
  readonly bakedModels: string[];
  /** @default 'x86_64' */
  readonly architecture: 'x86_64' | 'arm64';
  /** Sized for a 10-minute song: ~600 MB resident, 2+ vCPUs. @default 4096 */
  readonly separateMemoryMb: number;
  /** Also sets the upload queue's visibility timeout (6x) and so the retry delay. @default 900 */
  readonly separateTimeoutSeconds: number;
  /** Attempts per upload: the upload queue's maxReceiveCount and the code's attempt limit. @default 3 */
  readonly separateMaxAttempts: number;
  /** Most separations the upload queue feeds at once (event source mapping maximum concurrency, 2-1000). @default 10 */
  readonly separateMaxConcurrency: number;
  /** Input + stems of a 10-minute song in WAV, twice over. @default 4096 */
  readonly separateEphemeralMb: number;
  /** Caps parallel separations (and cost): room for both queues' maximum concurrency. @default 20 */
  readonly separateReservedConcurrency: number;
  /** Most segment workers the segment queue feeds at once (all fanned-out songs together, 2-1000). @default 10 */
  readonly fanoutMaxConcurrency: number;
  /** Wanted length of one fan-out segment, seconds (rounded to whole model splits). @default 120 */
  readonly fanoutSegmentSeconds: number;
  /** Fan a song out when a single run is projected past this fraction of separate's timeout (0-1). @default 0.5 */
  readonly fanoutTimeFraction: number;
  /** @default 7 */
  readonly uploadsExpireDays: number;
  /** @default 7 */
  readonly resultsExpireDays: number;
  /** @default 30 */
  readonly jobsExpireDays: number;
  /** Steady-state requests per second across the API. @default 20 */
  readonly apiRateLimit: number;
  /** @default 40 */
  readonly apiBurstLimit: number;
}

export const DEFAULT_CONFIG: StemSplitterConfig = {
  allowedOrigins: [],
  authMode: 'anonymous',
  jwtIssuer: '',
  jwtAudience: [],
  clientRateLimit: 600,
  webAclArn: '',
  alarmEmail: '',
  maxOutputRate: 48_000,
  maxSourceRate: 192_000,
  maxJobOutputBytes: 2 * 1024 ** 3,
  maxUploadBytes: DEFAULTS.maxUploadBytes,
  maxDurationSeconds: DEFAULTS.maxDurationSeconds,
  defaultModel: 'default',
  bakedModels: [],
  architecture: 'x86_64',
  separateMemoryMb: 4096,
  separateTimeoutSeconds: DEFAULT_RETRY_POLICY.functionTimeoutSeconds,
  separateMaxAttempts: DEFAULT_RETRY_POLICY.maxAttempts,
  separateMaxConcurrency: 10,
  separateEphemeralMb: 4096,
  separateReservedConcurrency: 20,
  fanoutMaxConcurrency: 10,
  fanoutSegmentSeconds: 120,
  fanoutTimeFraction: 0.5,
  uploadsExpireDays: 7,
  resultsExpireDays: 7,
  jobsExpireDays: 30,
  apiRateLimit: 20,
  apiBurstLimit: 40,
};

type Raw = Record<string, unknown>;

/** Merges context values (strings from `-c key=value` or JSON from cdk.json) over the defaults. */
export function configFromContext(get: (key: string) => unknown): StemSplitterConfig {
  const raw: Raw = {};
  for (const key of Object.keys(DEFAULT_CONFIG)) {
    const v = get(key);
    if (v !== undefined) raw[key] = v;
  }
  return parseConfig(raw);
}

export function parseConfig(raw: Raw): StemSplitterConfig {
  const c: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const [key, value] of Object.entries(raw)) {
    const def = (DEFAULT_CONFIG as unknown as Raw)[key];
    if (def === undefined) throw new Error(`unknown setting "${key}"`);
    if (Array.isArray(def)) {
      c[key] = Array.isArray(value) ? value.map(String) : String(value).split(',').map((s) => s.trim()).filter(Boolean);
    } else if (typeof def === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`setting "${key}" must be a positive number, got "${String(value)}"`);
      c[key] = n;
    } else {
      c[key] = String(value);
    }
  }
  const config = c as unknown as StemSplitterConfig;
  if (config.architecture !== 'x86_64' && config.architecture !== 'arm64') throw new Error('architecture must be x86_64 or arm64');
  if (config.separateMemoryMb < 1769 || config.separateMemoryMb > 10240) throw new Error('separateMemoryMb must be between 1769 (one vCPU) and 10240');
  if (config.separateTimeoutSeconds > 900) throw new Error('separateTimeoutSeconds must be at most 900 (the Lambda limit)');
  if (config.separateEphemeralMb < 512 || config.separateEphemeralMb > 10240) throw new Error('separateEphemeralMb must be between 512 and 10240');
  if (!Number.isInteger(config.separateMaxConcurrency) || config.separateMaxConcurrency < 2 || config.separateMaxConcurrency > 1000) throw new Error('separateMaxConcurrency must be a whole number from 2 to 1000');
  if (!Number.isInteger(config.fanoutMaxConcurrency) || config.fanoutMaxConcurrency < 2 || config.fanoutMaxConcurrency > 1000) throw new Error('fanoutMaxConcurrency must be a whole number from 2 to 1000');
  if (config.separateMaxConcurrency + config.fanoutMaxConcurrency > config.separateReservedConcurrency) throw new Error('separateMaxConcurrency + fanoutMaxConcurrency must not exceed separateReservedConcurrency (the queues would feed invocations Lambda throttles)');
  if (config.fanoutTimeFraction > 1) throw new Error('fanoutTimeFraction must be at most 1 (a fraction of the function timeout)');
  validateRetryPolicy(retryPolicyOf(config));
  for (const o of config.allowedOrigins) if (!/^https?:\/\/[^/]+$/.test(o)) throw new Error(`allowedOrigins: "${o}" is not an origin (scheme://host[:port])`);
  if (!['anonymous', 'jwt', 'cognito'].includes(config.authMode)) throw new Error('authMode must be anonymous, jwt or cognito');
  if (config.authMode === 'jwt' && (!/^https:\/\/[^\s]+$/.test(config.jwtIssuer) || config.jwtAudience.length === 0)) {
    throw new Error('authMode jwt needs jwtIssuer (an https:// OIDC issuer URL) and jwtAudience (one or more audiences)');
  }
  if (config.clientRateLimit < 10 || config.clientRateLimit > 2_000_000_000) throw new Error('clientRateLimit must be between 10 and 2000000000 (WAF rate-based rule limits)');
  if (config.webAclArn && !/^arn:aws[\w-]*:wafv2:us-east-1:\d{12}:global\/webacl\/.+/.test(config.webAclArn)) throw new Error('webAclArn must be a CLOUDFRONT-scope (global, us-east-1) WAFv2 web ACL ARN');
  if (config.alarmEmail && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(config.alarmEmail)) throw new Error('alarmEmail must be an email address');
  return config;
}

/** The one retry policy, as the stack's settings give it (layers/jobs/retry-policy.ts derives the rest). */
export function retryPolicyOf(config: Pick<StemSplitterConfig, 'separateMaxAttempts' | 'separateTimeoutSeconds'>): RetryPolicy {
  return { ...DEFAULT_RETRY_POLICY, maxAttempts: config.separateMaxAttempts, functionTimeoutSeconds: config.separateTimeoutSeconds };
}
