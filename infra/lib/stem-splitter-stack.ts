/** Stem Splitter on AWS: bucket → S3 event → separate; HTTP API → presign and status. */
import { CfnElement, CfnOutput, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { StemsApi } from './api.js';
import type { StemSplitterConfig } from './config.js';
import { StemsFunctions } from './functions.js';
import { StemsStorage } from './storage.js';

export interface StemSplitterStackProps extends StackProps {
  readonly config: StemSplitterConfig;
}

export class StemSplitterStack extends Stack {
  readonly storage: StemsStorage;
  readonly functions: StemsFunctions;
  readonly api: StemsApi;

  constructor(scope: Construct, id: string, props: StemSplitterStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.storage = new StemsStorage(this, 'Storage', config);
    this.functions = new StemsFunctions(this, 'Functions', { bucket: this.storage.bucket, config });
    this.api = new StemsApi(this, 'Http', {
      presign: this.functions.presign, status: this.functions.status, allowedOrigins: config.allowedOrigins,
      rateLimit: config.apiRateLimit, burstLimit: config.apiBurstLimit,
    });
    new CfnOutput(this, 'ApiUrl', { value: this.api.api.apiEndpoint, description: 'Base URL of the HTTP API (POST /jobs, GET /jobs/{id})' });
    new CfnOutput(this, 'BucketName', { value: this.storage.bucket.bucketName, description: 'Uploads, job records and results' });
    new CfnOutput(this, 'FailureQueueUrl', { value: this.functions.failureQueue.queueUrl, description: 'Separations that failed after retries' });
    this.acknowledgeNagFindings();
  }

  /** Every acknowledged cdk-nag rule says why it does not apply. */
  private acknowledgeNagFindings(): void {
    const ack = (scope: Construct, id: string, reason: string) => Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${id}`, reason });
    ack(this.functions, 'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AWSLambdaBasicExecutionRole only lets each function write its own CloudWatch Logs.');
    const bucketId = this.getLogicalId(this.storage.bucket.node.defaultChild as CfnElement);
    for (const prefix of ['uploads', 'jobs', 'results']) {
      ack(this.functions, `IAM5[Resource::<${bucketId}.Arn>/${prefix}/*]`,
        `Object actions are scoped to the ${prefix}/ prefix; object keys are per job and not known in advance.`);
    }
    ack(this.functions.failureQueue, 'SQS3', 'This queue is itself the failure destination (dead-letter queue) of the separate function.');
    // CDK's own singleton custom resource that writes the bucket's notification configuration
    const notifications = this.node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834');
    if (notifications) ack(notifications, 'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'CDK-managed custom resource that configures the bucket notification; the managed policy only grants its logs.');
    ack(this.api, 'APIG4', 'Public by design: anonymous users create and poll jobs. Abuse is bounded by stage throttling, size and duration limits, and short-lived presigned upload policies pinned to one key.');
  }
}
