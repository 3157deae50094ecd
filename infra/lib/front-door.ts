/**
 * The API's front door: CloudFront with an AWS WAF web ACL whose rate-based rule limits each
 * client IP (WAF does not attach to HTTP APIs directly), so one client cannot use up the stage's
 * throttle for everyone. CloudFront adds a secret `x-origin-verify` header that the job handlers
 * require, so the rate limit cannot be skipped by calling the execute-api URL directly.
 */
import { Duration, SecretValue, Stack, Token } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { ORIGIN_VERIFY_ENV, ORIGIN_VERIFY_HEADER } from '../../layers/http/origin-verify.js';

export interface ApiFrontDoorProps {
  readonly api: HttpApi;
  /** Functions behind the door: they get the secret and refuse requests without it. */
  readonly guarded: lambda.Function[];
  /** Requests per client IP per 5 minutes. */
  readonly clientRateLimit: number;
  /** An existing CLOUDFRONT-scope web ACL (required outside us-east-1). */
  readonly webAclArn?: string;
  readonly accessLogs: s3.IBucket;
}

export class ApiFrontDoor extends Construct {
  readonly distribution: cloudfront.Distribution;
  readonly webAclArn: string;
  readonly webAcl?: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: ApiFrontDoorProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    if (props.webAclArn) {
      this.webAclArn = props.webAclArn;
    } else if (Token.isUnresolved(region) || region === 'us-east-1') {
      this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
        scope: 'CLOUDFRONT',
        defaultAction: { allow: {} },
        visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'StemSplitterApi', sampledRequestsEnabled: true },
        rules: [{
          name: 'PerClientRateLimit',
          priority: 0,
          action: { block: { customResponse: { responseCode: 429 } } },
          statement: { rateBasedStatement: { limit: props.clientRateLimit, aggregateKeyType: 'IP', evaluationWindowSec: 300 } },
          visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'PerClientRateLimit', sampledRequestsEnabled: true },
        }],
      });
      this.webAclArn = this.webAcl.attrArn;
    } else {
      throw new Error(`WAF web ACLs for CloudFront live in us-east-1; this stack is in ${region}: create one there and pass -c webAclArn=arn:…`);
    }

    const secret = new secretsmanager.Secret(this, 'OriginVerify', {
      description: 'Header CloudFront adds to API requests; the job functions refuse requests without it',
      generateSecretString: { excludePunctuation: true, passwordLength: 40 },
    });
    const value = SecretValue.secretsManager(secret.secretArn).unsafeUnwrap();
    const region_ = Stack.of(this).region;
    // Authorization is part of the cache key only so CloudFront forwards it; nothing is cached (TTL 0, no-store answers)
    const cachePolicy = new cloudfront.CachePolicy(this, 'NoCache', {
      defaultTtl: Duration.seconds(0), minTtl: Duration.seconds(0), maxTtl: Duration.seconds(1),
      headerBehavior: cloudfront.CacheHeaderBehavior.allowList('Authorization'),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.all(),
    });
    this.distribution = new cloudfront.Distribution(this, 'Cdn', {
      comment: 'Stem Splitter API front door (per-client rate limit)',
      defaultBehavior: {
        origin: new HttpOrigin(`${props.api.apiId}.execute-api.${region_}.amazonaws.com`, {
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          customHeaders: { [ORIGIN_VERIFY_HEADER]: value },
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachePolicy,
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      },
      webAclId: this.webAclArn,
      minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
      enableLogging: true,
      logBucket: props.accessLogs,
      logFilePrefix: 'api-cdn/',
    });
    for (const fn of props.guarded) fn.addEnvironment(ORIGIN_VERIFY_ENV, value);
  }
}
