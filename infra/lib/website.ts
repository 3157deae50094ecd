/**
 * The upload page on AWS: built files (dist/web) in a private bucket behind CloudFront (origin
 * access control), with a config.json generated at deploy time that points the page at the API.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import type { PageConfig } from '../../layers/contracts/api.js';
import path from 'node:path';
import { SECURE_BUCKET_DEFAULTS } from './bucket-defaults.js';

export interface WebsiteProps {
  /** Folder of the built page (npm run build:web). */
  readonly siteDir: string;
  readonly config: PageConfig;
  readonly accessLogs: s3.IBucket;
}

export class Website extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, props: WebsiteProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Files', {
      ...SECURE_BUCKET_DEFAULTS,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'website-bucket/',
    });
    this.distribution = new cloudfront.Distribution(this, 'Cdn', {
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      },
      defaultRootObject: 'index.html',
      minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
      enableLogging: true,
      logBucket: props.accessLogs,
      logFilePrefix: 'cdn/',
    });
    new s3deploy.BucketDeployment(this, 'Deploy', {
      destinationBucket: this.bucket,
      sources: [s3deploy.Source.asset(props.siteDir), s3deploy.Source.jsonData('config.json', props.config)],
      distribution: this.distribution,
      distributionPaths: ['/index.html', '/config.json'],
      cacheControl: [s3deploy.CacheControl.maxAge(Duration.minutes(5))],
    });
  }
}

export const SITE_DIR = path.resolve(import.meta.dirname, '..', '..', 'dist', 'web');
