/** The stems bucket: private, encrypted, TLS only, CORS for the page, everything expiring. */
import { Duration } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { SECURE_BUCKET_DEFAULTS } from './bucket-defaults.js';

/** Server access logs of the project's buckets and CloudFront. */
export class AccessLogs extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...SECURE_BUCKET_DEFAULTS,
      // CloudFront standard logging writes with ACLs
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
    });
  }
}

export interface StemsStorageProps {
  readonly accessLogs: s3.IBucket;
  readonly allowedOrigins: string[];
  readonly uploadsExpireDays: number;
  readonly resultsExpireDays: number;
  readonly jobsExpireDays: number;
}

export class StemsStorage extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StemsStorageProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...SECURE_BUCKET_DEFAULTS,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'stems-bucket/',
      cors: [{
        allowedOrigins: props.allowedOrigins,
        allowedMethods: [s3.HttpMethods.POST, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
        allowedHeaders: ['*'],
        exposedHeaders: ['ETag'],
        maxAge: 3000,
      }],
      lifecycleRules: [
        { id: 'uploads', prefix: 'uploads/', expiration: Duration.days(props.uploadsExpireDays) },
        { id: 'results', prefix: 'results/', expiration: Duration.days(props.resultsExpireDays) },
        { id: 'jobs', prefix: 'jobs/', expiration: Duration.days(props.jobsExpireDays) },
        // fan-out intermediates: removed by the stitch or the failure; this catches what a crash left
        { id: 'work', prefix: 'work/', expiration: Duration.days(2) },
        { id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
  }
}
