/**
 * The Lambda functions, all from one container image (infra/image/Dockerfile) with a handler
 * each, and the queues: S3 notifications for uploads/ go to an SQS queue that feeds separate, and
 * those for fan-out tasks (work/*.task.json) to a segment queue that feeds separate too; a message
 * every delivery of which failed moves to the dead-letter queue, which feeds dead-letter. Queue timings and attempts come from the one retry policy. Every role gets only
 * the S3 actions and prefixes its function uses.
 */
import { Duration, IgnoreMode, Size } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import path from 'node:path';
import { deadLetterTimeoutSeconds, retryPolicyEnv, VISIBILITY_TIMEOUT_FACTOR, visibilityTimeoutSeconds } from '../../layers/jobs/retry-policy.js';
import { KEYS, TASK_SUFFIX } from '../../layers/storage/s3.js';
import { retryPolicyOf, type StemSplitterConfig } from './config.js';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface StemsFunctionsProps {
  readonly bucket: s3.IBucket;
  readonly config: StemSplitterConfig;
}

export class StemsFunctions extends Construct {
  readonly presign: lambda.DockerImageFunction;
  readonly status: lambda.DockerImageFunction;
  readonly separate: lambda.DockerImageFunction;
  readonly metrics: lambda.DockerImageFunction;
  readonly deadLetter: lambda.DockerImageFunction;
  /** S3 notifications of uploads, consumed by separate. */
  readonly uploadQueue: sqs.Queue;
  /** The upload and segment queues' dead-letter queue, consumed by dead-letter. */
  readonly failureQueue: sqs.Queue;
  /** Fan-out tasks (S3 notifications of work/*.task.json), consumed by separate's segment and stitch modes. */
  readonly segmentQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: StemsFunctionsProps) {
    super(scope, id);
    const { bucket, config } = props;
    const policy = retryPolicyOf(config);
    const arm = config.architecture === 'arm64';
    const image = (handler: string) => lambda.DockerImageCode.fromImageAsset(REPO_ROOT, {
      file: 'infra/image/Dockerfile',
      ignoreMode: IgnoreMode.DOCKER,
      platform: arm ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
      buildArgs: { MODELS: config.bakedModels.join(' ') },
      cmd: [handler],
    });
    const environment = {
      STEMS_BUCKET: bucket.bucketName,
      STEMS_MAX_UPLOAD_BYTES: String(config.maxUploadBytes),
      STEMS_MAX_DURATION_S: String(config.maxDurationSeconds),
      STEMS_DEFAULT_MODEL: config.defaultModel,
      ...retryPolicyEnv(policy),
      STEMS_MAX_OUTPUT_RATE: String(config.maxOutputRate),
      STEMS_MAX_SOURCE_RATE: String(config.maxSourceRate),
      STEMS_MAX_OUTPUT_BYTES: String(config.maxJobOutputBytes),
      STEMS_FANOUT_SEGMENT_S: String(config.fanoutSegmentSeconds),
      STEMS_FANOUT_TIME_FRACTION: String(config.fanoutTimeFraction),
    };
    const fn = (name: string, handler: string, extra: Partial<lambda.DockerImageFunctionProps>) => new lambda.DockerImageFunction(this, name, {
      code: image(handler),
      architecture: arm ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
      environment,
      logGroup: new logs.LogGroup(this, `${name}Logs`, { retention: logs.RetentionDays.ONE_MONTH }),
      ...extra,
    });

    this.presign = fn('Presign', 'presign.handler', { memorySize: 512, timeout: Duration.seconds(10) });
    this.status = fn('Status', 'status.handler', { memorySize: 512, timeout: Duration.seconds(10) });
    this.metrics = fn('Metrics', 'metrics.handler', { memorySize: 512, timeout: Duration.seconds(15) });
    // GetMetricData has no resource-level permissions; the namespace is fixed in the code
    this.metrics.addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
    this.deadLetter = fn('DeadLetter', 'dead-letter.handler', { memorySize: 512, timeout: Duration.seconds(deadLetterTimeoutSeconds(policy)) });
    // standard queues keep a dead letter's original enqueue time: the dead-letter queue keeps them longer
    this.failureQueue = new sqs.Queue(this, 'SeparateFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(VISIBILITY_TIMEOUT_FACTOR * deadLetterTimeoutSeconds(policy)),
    });
    this.uploadQueue = new sqs.Queue(this, 'Uploads', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      visibilityTimeout: Duration.seconds(visibilityTimeoutSeconds(policy)),
      deadLetterQueue: { queue: this.failureQueue, maxReceiveCount: policy.maxAttempts },
    });
    this.separate = fn('Separate', 'separate.handler', {
      memorySize: config.separateMemoryMb,
      timeout: Duration.seconds(config.separateTimeoutSeconds),
      ephemeralStorageSize: Size.mebibytes(config.separateEphemeralMb),
      reservedConcurrentExecutions: config.separateReservedConcurrency,
    });
    this.separate.addEventSource(new SqsEventSource(this.uploadQueue, {
      batchSize: 1, maxConcurrency: config.separateMaxConcurrency, reportBatchItemFailures: true,
    }));
    this.deadLetter.addEventSource(new SqsEventSource(this.failureQueue, { batchSize: 10, maxConcurrency: 2, reportBatchItemFailures: true }));
    bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.uploadQueue), { prefix: 'uploads/' });
    // fan-out: a task object's creation is its message (same path as uploads; no SQS client in the
    // functions), the same retry policy, its own concurrency and the same dead-letter queue
    this.segmentQueue = new sqs.Queue(this, 'Segments', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      visibilityTimeout: Duration.seconds(visibilityTimeoutSeconds(policy)),
      deadLetterQueue: { queue: this.failureQueue, maxReceiveCount: policy.maxAttempts },
    });
    this.separate.addEventSource(new SqsEventSource(this.segmentQueue, {
      batchSize: 1, maxConcurrency: config.fanoutMaxConcurrency, reportBatchItemFailures: true,
    }));
    bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.segmentQueue), { prefix: KEYS.workPrefix, suffix: TASK_SUFFIX });

    const objects = (prefix: string) => bucket.arnForObjects(`${prefix}*`);
    // ListBucket, only under the prefixes each function works in: it tells a missing job record
    // from a forbidden one (JobStore.get) and lists a failed job's partial results
    const list = (...prefixes: string[]) => new iam.PolicyStatement({
      actions: ['s3:ListBucket'], resources: [bucket.bucketArn], conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
    });
    this.presign.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [objects('uploads/'), objects('jobs/')] }));
    this.presign.addToRolePolicy(list('jobs/'));
    this.status.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [objects('jobs/'), objects('results/')] }));
    this.status.addToRolePolicy(list('jobs/'));
    this.separate.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [objects('uploads/'), objects('jobs/'), objects('work/')] }));
    this.separate.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [objects('jobs/'), objects('results/'), objects('work/')] }));
    this.separate.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:DeleteObject', 's3:AbortMultipartUpload'], resources: [objects('results/'), objects('work/')] }));
    this.separate.addToRolePolicy(list('uploads/', 'jobs/', 'results/', 'work/'));
    // the job record (and, for a batch upload that never got one, the upload's metadata), and partial results
    this.deadLetter.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [objects('uploads/'), objects('jobs/')] }));
    this.deadLetter.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [objects('jobs/')] }));
    this.deadLetter.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: [objects('results/'), objects('work/')] }));
    this.deadLetter.addToRolePolicy(list('uploads/', 'jobs/', 'results/', 'work/'));
  }
}
