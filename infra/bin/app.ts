/** CDK app entry: creates the app and the stack with typed settings from context. No logic here. */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configFromContext } from '../lib/config.js';
import { StemSplitterStack } from '../lib/stem-splitter-stack.js';

const app = new App({ outdir: process.env.CDK_OUTDIR ?? 'cdk.out' });
new StemSplitterStack(app, app.node.tryGetContext('stackName') ?? 'StemSplitter', {
  config: configFromContext((key) => app.node.tryGetContext(key)),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
