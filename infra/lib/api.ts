/**
 * The HTTP API (API Gateway v2): routes to the functions, CORS, throttling, access logs, and who
 * may call what: the job routes take the configured authorizer (none in anonymous mode; a JWT
 * authorizer for an OIDC issuer or the stack's Cognito pool), /metrics requires IAM (SigV4).
 */
import { type CfnStage, CorsHttpMethod, HttpApi, type HttpMethod, HttpStage, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { ROUTES, type Route } from '../../layers/contracts/api.js';

export interface StemsApiProps {
  readonly presign: lambda.IFunction;
  readonly status: lambda.IFunction;
  readonly metrics: lambda.IFunction;
  readonly allowedOrigins: string[];
  readonly rateLimit: number;
  readonly burstLimit: number;
  /** Authorizer of POST /jobs and GET /jobs/{id}; none: anonymous. */
  readonly jobsAuthorizer?: IHttpRouteAuthorizer;
}

export class StemsApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;

  constructor(scope: Construct, id: string, props: StemsApiProps) {
    super(scope, id);
    this.api = new HttpApi(this, 'Api', {
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: props.allowedOrigins,
        allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST, CorsHttpMethod.OPTIONS],
        allowHeaders: props.jobsAuthorizer ? ['content-type', 'authorization'] : ['content-type'],
        maxAge: Duration.hours(1),
      },
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_MONTH });
    (this.stage.node.defaultChild as CfnStage).accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId', ip: '$context.identity.sourceIp', time: '$context.requestTime',
        method: '$context.httpMethod', route: '$context.routeKey', status: '$context.status',
        latencyMs: '$context.responseLatency', integrationError: '$context.integrationErrorMessage',
      }),
    };
    const add = (r: Route, id: string, fn: lambda.IFunction, authorizer: IHttpRouteAuthorizer | undefined) =>
      this.api.addRoutes({ path: r.path, methods: [r.method as HttpMethod], integration: new HttpLambdaIntegration(id, fn), authorizer });
    add(ROUTES.createJob, 'CreateJob', props.presign, props.jobsAuthorizer);
    add(ROUTES.jobStatus, 'JobStatus', props.status, props.jobsAuthorizer);
    // GetMetricData costs money per query: operators and the dashboard sign their requests (execute-api:Invoke)
    add(ROUTES.metrics, 'Metrics', props.metrics, new HttpIamAuthorizer());
  }
}
