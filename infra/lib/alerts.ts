/** Where alarms go: an SNS topic (TLS-only, encrypted), with an optional email subscription. */
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export class AlarmNotifications extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: { email?: string; alarms: cw.Alarm[] }) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Stem Splitter alarms',
      enforceSSL: true,
      masterKey: kms.Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
    });
    if (props.email) this.topic.addSubscription(new subs.EmailSubscription(props.email));
    for (const alarm of props.alarms) alarm.addAlarmAction(new SnsAction(this.topic));
  }
}
