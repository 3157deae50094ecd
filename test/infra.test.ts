/** The CDK stack, proven by synthesis: assertions per property, and cdk-nag's AwsSolutions pack. */
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, parseConfig } from '../infra/lib/config.js';
import { StemSplitterStack } from '../infra/lib/stem-splitter-stack.js';
import { tmpDir } from '../dev/models.js';

const config = parseConfig({ allowedOrigins: 'https://stems.example.com', separateMemoryMb: 6144, uploadsExpireDays: 3 });

const siteDir = tmpDir('site');
writeFileSync(path.join(siteDir, 'index.html'), '<!doctype html><title>page</title>');

function synth(withNag = false, stackConfig = config) {
  const app = new App({ outdir: tmpDir('cdk-out') });
  const stack = new StemSplitterStack(app, 'Test', { config: stackConfig, siteDir });
  if (withNag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

let template: Template;
beforeAll(() => {
  template = Template.fromStack(synth().stack);
});

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };

/** The statements of the policy attached to the role of a function (by construct id). */
function statementsOf(fn: string): Statement[] {
  const roles = template.findResources('AWS::IAM::Role');
  const roleId = Object.keys(roles).find((id) => id.startsWith(`Functions${fn}ServiceRole`))!;
  const policies = template.findResources('AWS::IAM::Policy');
  const policy = Object.values(policies).find((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))!;
  return policy.Properties.PolicyDocument.Statement as Statement[];
}

function resourceText(r: unknown): string {
  return JSON.stringify(r);
}

describe('bucket', () => {
  it('is private, encrypted and TLS-only', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'stems-bucket/' }),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('allows the configured browser origins to POST uploads and GET results, exposing ETag', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: { CorsRules: [Match.objectLike({
        AllowedOrigins: Match.arrayWith(['https://stems.example.com']), AllowedMethods: ['POST', 'GET', 'HEAD'], ExposedHeaders: ['ETag'],
      })] },
    });
  });

  it('expires uploads, results and jobs and aborts incomplete multipart uploads', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([
        Match.objectLike({ Prefix: 'uploads/', ExpirationInDays: 3, Status: 'Enabled' }),
        Match.objectLike({ Prefix: 'results/', ExpirationInDays: 7 }),
        Match.objectLike({ Prefix: 'jobs/', ExpirationInDays: 30 }),
        Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
      ]) },
    });
  });

  it('sends ObjectCreated under uploads/ to the upload queue and fan-out tasks (work/*.task.json) to the segment queue, nothing else', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: { QueueConfigurations: [{
        Events: ['s3:ObjectCreated:*'],
        Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'uploads/' }] } },
        QueueArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FunctionsUploads'), 'Arn'] },
      }, {
        Events: ['s3:ObjectCreated:*'],
        Filter: { Key: { FilterRules: [{ Name: 'suffix', Value: '.task.json' }, { Name: 'prefix', Value: 'work/' }] } },
        QueueArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FunctionsSegments'), 'Arn'] },
      }] },
    });
    const notifications = Object.values(template.findResources('Custom::S3BucketNotifications'))[0];
    expect(notifications.Properties.NotificationConfiguration.LambdaFunctionConfigurations).toBeUndefined();
  });
});

describe('functions', () => {
  it('are container images, one per handler', () => {
    for (const handler of ['presign.handler', 'status.handler', 'separate.handler', 'metrics.handler', 'dead-letter.handler']) {
      template.hasResourceProperties('AWS::Lambda::Function', { PackageType: 'Image', ImageConfig: { Command: [handler] } });
    }
  });

  it('sizes separate from the configuration', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      ImageConfig: { Command: ['separate.handler'] },
      MemorySize: 6144, Timeout: 900, EphemeralStorage: { Size: 4096 }, ReservedConcurrentExecutions: 20,
      Architectures: ['x86_64'],
      Environment: { Variables: Match.objectLike({
        STEMS_DEFAULT_MODEL: 'default', STEMS_MAX_DURATION_S: '1200', STEMS_MAX_ATTEMPTS: '3', STEMS_FUNCTION_TIMEOUT_S: '900', STEMS_LEASE_MARGIN_S: '10',
        STEMS_FANOUT_SEGMENT_S: '120', STEMS_FANOUT_TIME_FRACTION: '0.5',
      }) },
    });
    const separate = Object.values(template.findResources('AWS::Lambda::Function')).find((f) => f.Properties.ImageConfig?.Command?.[0] === 'separate.handler')!;
    expect(separate.Properties.Environment.Variables.STEMS_JOB_LEASE_SECONDS).toBeUndefined();
  });
});

describe('upload queue', () => {
  const queue = (id: string) => Object.entries(template.findResources('AWS::SQS::Queue')).find(([k]) => k.startsWith(`Functions${id}`))!;

  it('feeds separate one message at a time, at most the configured concurrency, with partial batch responses', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: Match.stringLikeRegexp('^FunctionsSeparate') },
      EventSourceArn: { 'Fn::GetAtt': [queue('Uploads')[0], 'Arn'] },
      BatchSize: 1, ScalingConfig: { MaximumConcurrency: 10 }, FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    // no asynchronous invocation path any more
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 0);
  });

  it('hides a message for six function timeouts and dead-letters it after the configured attempts', () => {
    const [, uploads] = queue('Uploads');
    const [dlqId, dlq] = queue('SeparateFailures');
    expect(uploads.Properties).toMatchObject({
      VisibilityTimeout: 5400, SqsManagedSseEnabled: true,
      RedrivePolicy: { maxReceiveCount: 3, deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
    });
    expect(dlq.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    // dead letters keep their original enqueue time: the dead-letter queue must keep them longer
    expect(dlq.Properties.MessageRetentionPeriod).toBeGreaterThan(uploads.Properties.MessageRetentionPeriod);
  });

  it('takes attempts and timings from the one retry policy setting', () => {
    const app = new App({ outdir: tmpDir('cdk-out-policy') });
    const other = Template.fromStack(new StemSplitterStack(app, 'Policy', { config: parseConfig({ ...config, separateMaxAttempts: 5, separateTimeoutSeconds: 600 }), siteDir }));
    other.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 3600, RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }) });
    other.hasResourceProperties('AWS::Lambda::Function', {
      ImageConfig: { Command: ['separate.handler'] }, Timeout: 600,
      Environment: { Variables: Match.objectLike({ STEMS_MAX_ATTEMPTS: '5', STEMS_FUNCTION_TIMEOUT_S: '600' }) },
    });
  });

  it('encrypts both queues and refuses anything but TLS', () => {
    for (const id of ['Uploads', 'SeparateFailures']) {
      expect(queue(id)[1].Properties.SqsManagedSseEnabled).toBe(true);
      const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'))
        .filter((p) => JSON.stringify(p.Properties.Queues).includes(queue(id)[0]));
      const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
      expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    }
  });

  it('lets only the bucket send to the upload queue', () => {
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy')).filter((p) => JSON.stringify(p.Properties.Queues).includes(queue('Uploads')[0]));
    const allows = policies.flatMap((p) => p.Properties.PolicyDocument.Statement).filter((st: Statement) => st.Effect === 'Allow');
    expect(allows).toEqual([expect.objectContaining({
      Principal: { Service: 's3.amazonaws.com' }, Condition: { ArnLike: { 'aws:SourceArn': expect.anything() } },
    })]);
  });

  it('fan-out: a segment queue feeds separate (batch 1, its own concurrency), with the same retry policy and dead-letter queue', () => {
    const [segId, segments] = queue('Segments');
    const [dlqId] = queue('SeparateFailures');
    expect(segments.Properties).toMatchObject({
      VisibilityTimeout: 5400, SqsManagedSseEnabled: true,
      RedrivePolicy: { maxReceiveCount: 3, deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: Match.stringLikeRegexp('^FunctionsSeparate') },
      EventSourceArn: { 'Fn::GetAtt': [segId, 'Arn'] },
      BatchSize: 1, ScalingConfig: { MaximumConcurrency: DEFAULT_CONFIG.fanoutMaxConcurrency }, FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const statements = Object.values(template.findResources('AWS::SQS::QueuePolicy')).filter((p) => JSON.stringify(p.Properties.Queues).includes(segId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    expect(statements.filter((st: Statement) => st.Effect === 'Allow')).toEqual([expect.objectContaining({ Principal: { Service: 's3.amazonaws.com' } })]);
    // stalled segments alarm, notified like the others; intermediates expire if a crash left any
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 2 * DEFAULT_CONFIG.separateTimeoutSeconds, AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlarmsTopic') }],
      Metrics: [Match.objectLike({ MetricStat: Match.objectLike({ Metric: {
        Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [segId, 'QueueName'] } }],
      } }) })],
    });
    template.hasResourceProperties('AWS::S3::Bucket', { LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Prefix: 'work/', ExpirationInDays: 2 })]) } });
  });

  it('feeds dead letters to the dead-letter function', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: Match.stringLikeRegexp('^FunctionsDeadLetter') },
      EventSourceArn: { 'Fn::GetAtt': [queue('SeparateFailures')[0], 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('grants each role only the actions and prefixes its function uses', () => {
    const objects = (st: Statement) => resourceText(st.Resource);
    const presign = statementsOf('Presign').filter((s) => s.Action !== 's3:ListBucket');
    expect(presign).toHaveLength(1);
    expect(presign[0].Action).toBe('s3:PutObject');
    expect(objects(presign[0])).toMatch(/\/uploads\/\*.*\/jobs\/\*/);

    const status = statementsOf('Status').filter((s) => s.Action !== 's3:ListBucket');
    expect(status.map((s) => s.Action)).toEqual(['s3:GetObject']);
    expect(objects(status[0])).toMatch(/\/jobs\/\*.*\/results\/\*/);

    const separate = statementsOf('Separate').filter((s) => s.Action !== 's3:ListBucket' && !String(s.Action).startsWith('sqs:'));
    const byAction = Object.fromEntries(separate.map((s) => [JSON.stringify(s.Action), objects(s)]));
    expect(byAction['"s3:GetObject"']).toMatch(/\/uploads\/\*.*\/jobs\/\*.*\/work\/\*/);
    expect(byAction['"s3:PutObject"']).toMatch(/\/jobs\/\*.*\/results\/\*.*\/work\/\*/);
    expect(byAction['"s3:PutObject"']).not.toMatch(/uploads/);
    expect(byAction['["s3:DeleteObject","s3:AbortMultipartUpload"]']).toMatch(/\/results\/\*.*\/work\/\*/);
    expect(byAction['["s3:DeleteObject","s3:AbortMultipartUpload"]']).not.toMatch(/uploads|jobs/);

    const deadLetter = statementsOf('DeadLetter').filter((s) => s.Action !== 's3:ListBucket' && !String(s.Action).startsWith('sqs:'));
    const dl = Object.fromEntries(deadLetter.map((s) => [JSON.stringify(s.Action), objects(s)]));
    expect(Object.keys(dl).sort()).toEqual(['"s3:DeleteObject"', '"s3:GetObject"', '"s3:PutObject"']);
    expect(dl['"s3:PutObject"']).toMatch(/\/jobs\/\*/);
    expect(dl['"s3:PutObject"']).not.toMatch(/results|uploads/);
    expect(dl['"s3:DeleteObject"']).toMatch(/\/results\/\*.*\/work\/\*/);
    expect(dl['"s3:DeleteObject"']).not.toMatch(/uploads|jobs/);

    expect(statementsOf('Metrics').map((st) => [st.Action, st.Resource])).toEqual([['cloudwatch:GetMetricData', '*']]);
    for (const fn of ['Presign', 'Status', 'Separate', 'DeadLetter']) {
      for (const st of statementsOf(fn)) {
        // no wildcard resource and no wildcard action anywhere
        expect(resourceText(st.Resource)).not.toBe('"*"');
        expect(JSON.stringify(st.Action)).not.toMatch(/\*/);
        // ListBucket is on the bucket itself (lets S3 answer 404 instead of 403 for missing records)
        if (st.Action === 's3:ListBucket') expect(resourceText(st.Resource)).not.toMatch(/\/\*/);
      }
    }
  });
});

describe('HTTP API', () => {
  it('routes POST /jobs and GET /jobs/{id} with CORS for the configured origins', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /jobs' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /jobs/{id}' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /metrics' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.objectLike({ AllowOrigins: Match.arrayWith(['https://stems.example.com']), AllowMethods: ['GET', 'POST', 'OPTIONS'] }),
    });
  });

  it('throttles and logs the default stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default', AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      AccessLogSettings: Match.objectLike({ Format: Match.stringLikeRegexp('routeKey') }),
    });
  });

  it('outputs the page and API URLs, the bucket and the queues', () => {
    for (const o of ['PageUrl', 'ApiUrl', 'BucketName', 'FailureQueueUrl', 'UploadQueueUrl']) template.hasOutput(o, {});
  });

  it('also accepts requests from the page\'s CloudFront origin', () => {
    const api = Object.values(template.findResources('AWS::ApiGatewayV2::Api'))[0];
    expect(JSON.stringify(api.Properties.CorsConfiguration.AllowOrigins)).toMatch(/WebsiteCdn.*DomainName/);
  });
});

describe('dashboard and alarms', () => {
  it('shows latency percentiles, stage durations, real-time factor, memory against the limit, cold starts, errors and the failure queue', () => {
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(Object.values(dashboards)[0].Properties.DashboardBody);
    for (const title of ['API latency (ms)', 'Separation stages, average (ms)', 'Real-time factor', 'Peak memory of separate (MB)', 'Cold starts', 'Errors', 'Failure queue depth',
      'Upload queue: backlog and oldest wait', 'Dead-lettered jobs (ATTEMPTS_EXHAUSTED)', 'Dead-letter alarms']) {
      expect(body).toContain(title);
    }
    for (const metric of ['RequestLatency', 'InferenceTime', 'DecodeTime', 'EncodeTime', 'RealTimeFactor', 'PeakRss', 'ColdStart', 'JobsFailed', 'ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage']) {
      expect(body).toContain(metric);
    }
    expect(body).toMatch(/p99/);
    // the memory widget's line is the configured memory size (6144 in this test's config)
    const join = Object.values(dashboards)[0].Properties.DashboardBody['Fn::Join'][1] as unknown[];
    const widgets = JSON.parse(join.map((p) => (typeof p === 'string' ? p : 'token')).join('')).widgets;
    const memory = widgets.find((w: { properties: { title: string } }) => w.properties.title === 'Peak memory of separate (MB)');
    expect(memory.properties.annotations.horizontal).toEqual([expect.objectContaining({ value: 6144, label: 'configured memory' })]);
  });

  it('alarms on failed jobs, on dead-lettered jobs and on a non-empty failure queue', () => {
    const stat = (metric: object, s: string) => ({ Metrics: [Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike(metric), Stat: s }) })] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...stat({ MetricName: 'JobsFailed', Namespace: 'StemSplitter', Dimensions: [{ Name: 'service', Value: 'separate' }] }, 'Sum'),
      Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...stat({ MetricName: 'ApproximateNumberOfMessagesVisible', Namespace: 'AWS/SQS' }, 'Maximum'),
      Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...stat({ MetricName: 'JobsFailed', Namespace: 'StemSplitter', Dimensions: [{ Name: 'errorCode', Value: 'ATTEMPTS_EXHAUSTED' }, { Name: 'service', Value: 'dead-letter' }] }, 'Sum'),
      Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    // both dead-letter alarms are on the dashboard
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);
    const alarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    for (const name of ['DeadLetteredJobs', 'FailureQueueNotEmpty']) expect(body).toContain(alarms.find((id) => id.startsWith(`Observability${name}`)));
  });
});

describe('upload page hosting', () => {
  it('serves the page from a private bucket through CloudFront with origin access control, HTTPS only', () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }),
        Origins: [Match.objectLike({ OriginAccessControlId: Match.anyValue() })],
      }),
    });
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
  });

  it('deploys the built files with a config.json pointing at the API', () => {
    const deployments = template.findResources('Custom::CDKBucketDeployment');
    const props = Object.values(deployments)[0].Properties;
    // the second source is config.json, whose one deploy-time value is the API's front door (CloudFront + WAF)
    expect(props.SourceObjectKeys).toHaveLength(2);
    expect(props.SourceMarkers[1]).toEqual({ '<<marker:0xbaba:0>>': { 'Fn::GetAtt': [expect.stringMatching(/^ApiFrontDoorCdn/), 'DomainName'] } });
    expect(props.DistributionPaths).toEqual(['/index.html', '/config.json']);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('passes, and every acknowledged finding carries a reason', () => {
    const { app } = synth(true);
    const assembly = app.synth(); // throws if any rule is violated
    const report = JSON.parse(readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8'));
    const nag = report.pluginReports.find((r: { pluginName: string }) => r.pluginName === 'AwsSolutions');
    expect(nag.conclusion).toBe('success');
    expect(nag.violations).toEqual([]);
    expect(nag.suppressedViolations.length).toBeGreaterThan(0);
    for (const v of nag.suppressedViolations) expect(v.reason, v.ruleName).toMatch(/^\S.{30,}/);
  });
});

describe('stack configuration', () => {
  it('has defaults that fit a 10-minute song in the largest output format', () => {
    const seconds = 600;
    const stemMb = (seconds * 44100 * 2 * 4) / 2 ** 20; // wav32f stereo at 44.1 kHz
    // /tmp holds the upload (at most a WAV of the same size), four stems and their zip
    expect(DEFAULT_CONFIG.separateEphemeralMb).toBeGreaterThan((1 + 4 + 4) * stemMb);
    // the time guard plans 10 s plus the audio at the slowest real-time factor (4 by default)
    expect(DEFAULT_CONFIG.separateTimeoutSeconds).toBeGreaterThan(10 + seconds / 4);
  });
  it.each([
    [{ separateTimeoutSeconds: 1000 }, /at most 900/],
    [{ separateMemoryMb: 1024 }, /between 1769/],
    [{ architecture: 'mips' }, /x86_64 or arm64/],
    [{ allowedOrigins: 'https://ok.example, not-an-origin' }, /"not-an-origin" is not an origin/],
    [{ maxUploadBytes: -1 }, /positive number/],
    [{ bogus: 1 }, /unknown setting "bogus"/],
    [{ separateMaxAttempts: 1.5 }, /maxAttempts must be a whole number/],
    [{ separateMaxConcurrency: 1 }, /separateMaxConcurrency must be a whole number from 2/],
    [{ separateMaxConcurrency: 20 }, /must not exceed separateReservedConcurrency/],
    [{ fanoutMaxConcurrency: 15 }, /separateMaxConcurrency \+ fanoutMaxConcurrency must not exceed separateReservedConcurrency/],
    [{ fanoutTimeFraction: 2 }, /fanoutTimeFraction must be at most 1/],
  ])('rejects %j', (raw, message) => expect(() => parseConfig(raw as Record<string, unknown>)).toThrow(message));
});

describe('security (issue 14)', () => {
  const routes = (t: Template) => Object.values(t.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties as Record<string, unknown>);
  const route = (t: Template, key: string) => routes(t).find((r) => r.RouteKey === key)!;

  it('anonymous mode (the default): job routes open, /metrics requires IAM (SigV4)', () => {
    expect(DEFAULT_CONFIG.authMode).toBe('anonymous');
    expect(route(template, 'POST /jobs').AuthorizationType).toBe('NONE');
    expect(route(template, 'GET /jobs/{id}').AuthorizationType).toBe('NONE');
    expect(route(template, 'GET /metrics').AuthorizationType).toBe('AWS_IAM');
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
  });

  it('jwt mode: a JWT authorizer for the configured OIDC issuer and audience on both job routes; /metrics stays IAM', () => {
    const t = Template.fromStack(synth(false, parseConfig({ authMode: 'jwt', jwtIssuer: 'https://login.example.com/realms/stems', jwtAudience: 'stems-api' })).stack);
    t.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT', IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: 'https://login.example.com/realms/stems', Audience: ['stems-api'] },
    });
    for (const key of ['POST /jobs', 'GET /jobs/{id}']) {
      expect(route(t, key).AuthorizationType).toBe('JWT');
      expect(route(t, key).AuthorizerId).toBeDefined();
    }
    expect(route(t, 'GET /metrics').AuthorizationType).toBe('AWS_IAM');
    t.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.objectLike({ AllowHeaders: ['content-type', 'authorization'] }) });
  });

  it('cognito mode: the stack creates a user pool (no self sign-up) and authorizes its tokens; passes cdk-nag', () => {
    const { app, stack } = synth(true, parseConfig({ authMode: 'cognito' }));
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Cognito::UserPool', { AdminCreateUserConfig: { AllowAdminCreateUserOnly: true } });
    t.hasResourceProperties('AWS::Cognito::UserPoolClient', { GenerateSecret: false });
    t.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerType: 'JWT', JwtConfiguration: Match.objectLike({ Issuer: Match.anyValue() }) });
    expect(route(t, 'POST /jobs').AuthorizationType).toBe('JWT');
    const report = JSON.parse(readFileSync(path.join(app.synth().directory, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports.find((r: { pluginName: string }) => r.pluginName === 'AwsSolutions').violations).toEqual([]);
  });

  it('refuses a jwt mode without issuer or audience, and a localhost-free default for allowed origins', () => {
    expect(() => parseConfig({ authMode: 'jwt' })).toThrow(/jwtIssuer/);
    expect(() => parseConfig({ authMode: 'jwt', jwtIssuer: 'http://insecure.example.com', jwtAudience: 'x' })).toThrow(/https/);
    expect(DEFAULT_CONFIG.allowedOrigins).toEqual([]);
    expect(JSON.stringify(JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'cdk.json'), 'utf8')).context)).not.toMatch(/localhost/);
    // the production template allows only the configured origin and the page's own
    const origins = JSON.stringify(template.findResources('AWS::ApiGatewayV2::Api')) + JSON.stringify(template.findResources('AWS::S3::Bucket'));
    expect(origins).not.toMatch(/localhost|127\.0\.0\.1/);
  });

  it('every ListBucket grant is limited to the prefixes its function uses (s3:prefix condition)', () => {
    const expected: Record<string, string[]> = { Presign: ['jobs/*'], Status: ['jobs/*'], Separate: ['uploads/*', 'jobs/*', 'results/*', 'work/*'], DeadLetter: ['uploads/*', 'jobs/*', 'results/*', 'work/*'] };
    for (const [fn, prefixes] of Object.entries(expected)) {
      const lists = statementsOf(fn).filter((st) => st.Action === 's3:ListBucket');
      expect(lists, fn).toHaveLength(1);
      expect(lists[0].Condition, fn).toEqual({ StringLike: { 's3:prefix': prefixes } });
    }
  });

  it('the alarms notify an SNS topic (TLS-only, encrypted), with the configured email subscribed', () => {
    const t = Template.fromStack(synth(false, parseConfig({ alarmEmail: 'ops@example.com' })).stack);
    const topics = t.findResources('AWS::SNS::Topic');
    const topicId = Object.keys(topics)[0];
    expect(topics[topicId].Properties.KmsMasterKeyId).toBeDefined();
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: { Ref: topicId } });
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThanOrEqual(2);
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    t.hasResourceProperties('AWS::SNS::TopicPolicy', { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) } });
  });

  it('a WAF web ACL with a per-client-IP rate-based rule fronts the API (CloudFront) and the page', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'CLOUDFRONT', DefaultAction: { Allow: {} },
      Rules: [Match.objectLike({
        Name: 'PerClientRateLimit', Action: { Block: Match.anyValue() },
        Statement: { RateBasedStatement: { Limit: DEFAULT_CONFIG.clientRateLimit, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } },
      })],
    });
    const acl = Object.keys(template.findResources('AWS::WAFv2::WebACL'))[0];
    const dists = Object.values(template.findResources('AWS::CloudFront::Distribution'));
    expect(dists).toHaveLength(2);
    for (const d of dists) expect(d.Properties.DistributionConfig.WebACLId).toEqual({ 'Fn::GetAtt': [acl, 'Arn'] });
    // the API distribution adds the origin-verify secret; the job functions get the same value and check it
    const api = dists.find((d) => JSON.stringify(d).includes('execute-api'))!;
    const header = api.Properties.DistributionConfig.Origins[0].OriginCustomHeaders[0];
    expect(header.HeaderName).toBe('x-origin-verify');
    expect(JSON.stringify(header.HeaderValue)).toMatch(/resolve:secretsmanager/);
    for (const fn of ['Presign', 'Status']) {
      const f = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith(`Functions${fn}`))![1];
      expect(JSON.stringify(f.Properties.Environment.Variables.STEMS_ORIGIN_VERIFY)).toEqual(JSON.stringify(header.HeaderValue));
    }
  });

  it('outside us-east-1 a CLOUDFRONT web ACL must be given (WAF for CloudFront lives there)', () => {
    const app = new App({ outdir: tmpDir('cdk-out') });
    expect(() => new StemSplitterStack(app, 'Eu', { config, siteDir, env: { region: 'eu-west-1', account: '123456789012' } })).toThrow(/us-east-1.*webAclArn/);
    const arn = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/stems/0123';
    const stack = new StemSplitterStack(new App({ outdir: tmpDir('cdk-out') }), 'Eu2', { config: parseConfig({ webAclArn: arn }), siteDir, env: { region: 'eu-west-1', account: '123456789012' } });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::WAFv2::WebACL', 0);
    for (const d of Object.values(t.findResources('AWS::CloudFront::Distribution'))) expect(d.Properties.DistributionConfig.WebACLId).toBe(arn);
  });
});
