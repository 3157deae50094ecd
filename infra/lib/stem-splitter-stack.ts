/** Stem Splitter on AWS: bucket → S3 event → upload queue → separate (dead letters → dead-letter); HTTP API → presign, status, metrics. */
import { type CfnElement, CfnOutput, Lazy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { CfnDistribution } from 'aws-cdk-lib/aws-cloudfront';
import { registryPageModel } from '../../layers/models/catalog.js';
import { JobsAccess } from './access.js';
import { AlarmNotifications } from './alerts.js';
import { StemsApi } from './api.js';
import { ApiFrontDoor } from './front-door.js';
import type { StemSplitterConfig } from './config.js';
import { StemsFunctions } from './functions.js';
import { StemsObservability } from './observability.js';
import { AccessLogs, StemsStorage } from './storage.js';
import { SITE_DIR, Website } from './website.js';

/** The page's entry for a model the image carries. */
function bakedPageModel(id: string, defaultId: string) {
  try {
    return registryPageModel(id, defaultId);
  } catch (err) {
    throw new Error(`bakedModels: model "${id}": ${(err as Error).message}`);
  }
}

export interface StemSplitterStackProps extends StackProps {
  readonly config: StemSplitterConfig;
  /** The built upload page. @default dist/web */
  readonly siteDir?: string;
}

export class StemSplitterStack extends Stack {
  readonly storage: StemsStorage;
  readonly functions: StemsFunctions;
  readonly api: StemsApi;
  readonly website: Website;
  readonly observability: StemsObservability;
  readonly access: JobsAccess;
  readonly frontDoor: ApiFrontDoor;
  readonly alarms: AlarmNotifications;

  constructor(scope: Construct, id: string, props: StemSplitterStackProps) {
    super(scope, id, props);
    const { config } = props;
    // the page's CloudFront domain joins the configured origins for the API and the bucket
    const logs = new AccessLogs(this, 'AccessLogs');
    const pageOrigin = Lazy.string({ produce: () => `https://${this.website.distribution.distributionDomainName}` });
    const origins = [...config.allowedOrigins, pageOrigin];
    this.storage = new StemsStorage(this, 'Storage', { ...config, allowedOrigins: origins, accessLogs: logs.bucket });
    this.functions = new StemsFunctions(this, 'Functions', { bucket: this.storage.bucket, config });
    this.access = new JobsAccess(this, 'Access', config);
    this.api = new StemsApi(this, 'Http', {
      presign: this.functions.presign, status: this.functions.status, metrics: this.functions.metrics, allowedOrigins: origins,
      rateLimit: config.apiRateLimit, burstLimit: config.apiBurstLimit, jobsAuthorizer: this.access.authorizer,
    });
    // clients (the page, the CLI) use the API through CloudFront + WAF: a rate limit per client IP
    this.frontDoor = new ApiFrontDoor(this, 'ApiFrontDoor', {
      api: this.api.api, guarded: [this.functions.presign, this.functions.status], clientRateLimit: config.clientRateLimit,
      webAclArn: config.webAclArn || undefined, accessLogs: logs.bucket,
    });
    const apiUrl = `https://${this.frontDoor.distribution.distributionDomainName}`;
    this.website = new Website(this, 'Website', {
      siteDir: props.siteDir ?? SITE_DIR,
      accessLogs: logs.bucket,
      config: {
        apiUrl,
        maxUploadBytes: config.maxUploadBytes,
        maxDurationSeconds: config.maxDurationSeconds,
        models: [...new Set([config.defaultModel, ...config.bakedModels])]
          .map((id) => bakedPageModel(id, config.defaultModel)),
      },
    });
    this.observability = new StemsObservability(this, 'Observability', {
      separate: this.functions.separate, apiFunctions: [this.functions.presign, this.functions.status, this.functions.metrics],
      failureQueue: this.functions.failureQueue, uploadQueue: this.functions.uploadQueue, segmentQueue: this.functions.segmentQueue,
      separateMemoryMb: config.separateMemoryMb, separateTimeoutSeconds: config.separateTimeoutSeconds,
    });
    // the page's distribution gets the same web ACL
    (this.website.distribution.node.defaultChild as CfnDistribution).addPropertyOverride('DistributionConfig.WebACLId', this.frontDoor.webAclArn);
    this.alarms = new AlarmNotifications(this, 'Alarms', {
      email: config.alarmEmail || undefined, alarms: [this.observability.failedJobsAlarm, this.observability.failureQueueAlarm, this.observability.deadLetteredJobsAlarm, this.observability.segmentsWaitingAlarm],
    });
    new CfnOutput(this, 'PageUrl', { value: `https://${this.website.distribution.distributionDomainName}/`, description: 'The upload page' });
    new CfnOutput(this, 'ApiUrl', { value: apiUrl, description: 'Base URL of the API for clients (POST /jobs, GET /jobs/{id}), behind CloudFront + WAF' });
    new CfnOutput(this, 'MetricsUrl', { value: `${this.api.api.apiEndpoint}/metrics`, description: 'GET /metrics: IAM (SigV4) signed requests only, straight to API Gateway' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn, description: 'SNS topic the alarms notify' });
    new CfnOutput(this, 'BucketName', { value: this.storage.bucket.bucketName, description: 'Uploads, job records and results' });
    new CfnOutput(this, 'FailureQueueUrl', { value: this.functions.failureQueue.queueUrl, description: 'Dead letters: uploads whose every delivery failed (their jobs are ended by the dead-letter function)' });
    new CfnOutput(this, 'UploadQueueUrl', { value: this.functions.uploadQueue.queueUrl, description: 'S3 notifications of uploads waiting for separate' });
    new CfnOutput(this, 'SegmentQueueUrl', { value: this.functions.segmentQueue.queueUrl, description: 'Fan-out: segments and stitches of long songs waiting for separate' });
    this.acknowledgeNagFindings();
  }

  /** Every acknowledged cdk-nag rule says why it does not apply. */
  private acknowledgeNagFindings(): void {
    const ack = (scope: Construct, id: string, reason: string) => Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${id}`, reason });
    ack(this.functions, 'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AWSLambdaBasicExecutionRole only lets each function write its own CloudWatch Logs.');
    const bucketId = this.getLogicalId(this.storage.bucket.node.defaultChild as CfnElement);
    for (const prefix of ['uploads', 'jobs', 'results', 'work']) {
      ack(this.functions, `IAM5[Resource::<${bucketId}.Arn>/${prefix}/*]`,
        `Object actions are scoped to the ${prefix}/ prefix; object keys are per job and not known in advance.`);
    }
    ack(this.functions.metrics, 'IAM5[Resource::*]', 'cloudwatch:GetMetricData does not support resource-level permissions; it is the only action granted.');
    ack(this.functions.failureQueue, 'SQS3', 'This queue is itself the dead-letter queue of the upload and segment queues; its consumer (dead-letter) ends the jobs.');
    // CDK's own singleton custom resource that writes the bucket's notification configuration
    const notifications = this.node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834');
    if (notifications) ack(notifications, 'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'CDK-managed custom resource that configures the bucket notification; the managed policy only grants its logs.');
    ack(this.website.distribution, 'CFR1', 'A public page for anyone with the URL; no country is excluded by design.');
    ack(this.frontDoor.distribution, 'CFR1', 'The API is for any client the authorizer admits; no country is excluded by design.');
    ack(this.frontDoor.distribution, 'CFR4', 'Uses the default *.cloudfront.net certificate (no custom domain); TLS 1.2 minimum applies once a custom certificate is configured.');
    ack(this.frontDoor, 'SMG4', 'The origin-verify header value is only a guard against bypassing the front door; rotating it would need CloudFront and the functions updated together, which a redeploy does.');
    if (this.website.distribution.node.defaultChild) ack(this.website.distribution, 'CFR2', 'The page distribution uses the stack\'s web ACL through a property override, which cdk-nag does not see.');
    ack(this.website.distribution, 'CFR4', 'Uses the default *.cloudfront.net certificate (no custom domain); TLS 1.2 minimum applies once a custom certificate is configured.');
    // CDK's BucketDeployment custom resource that copies the built page into its bucket
    const deployment = this.node.tryFindChild('Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C');
    if (deployment) {
      for (const finding of ['IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'L1',
        'IAM5[Action::s3:Abort*]', 'IAM5[Action::s3:DeleteObject*]', 'IAM5[Action::s3:GetBucket*]', 'IAM5[Action::s3:GetObject*]',
        'IAM5[Action::s3:List*]', 'IAM5[Resource::*]', `IAM5[Resource::<${this.getLogicalId(this.website.bucket.node.defaultChild as CfnElement)}.Arn>/*]`,
        'IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]']) {
        ack(deployment, finding, 'CDK-managed BucketDeployment custom resource: copies the built page from the CDK asset bucket into the website bucket and invalidates CloudFront; its runtime and grants are managed by CDK.');
      }
    }
    if (!this.access.authorizer) {
      ack(this.api, 'APIG4', 'authMode=anonymous (documented for private or demo deployments): anyone may create and poll jobs. Bounded by the per-client WAF rate limit, stage throttling, size/duration/output limits and short-lived presigned policies pinned to one key; /metrics always requires IAM.');
    }
    if (this.access.userPool) {
      ack(this.access.userPool, 'COG2', 'MFA is optional (TOTP) so that scripts can sign in; users are created by an administrator only.');
      ack(this.access.userPool, 'COG3', 'Cognito threat protection (Plus feature plan) is a paid option left to the operator.');
      ack(this.access.userPool, 'COG8', 'The Plus feature plan (threat protection) is a paid option left to the operator; sign-up is admin-only.');
    }
  }
}
