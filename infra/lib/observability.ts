/**
 * The operators' view: a CloudWatch dashboard over the functions' embedded metrics and Lambda's
 * own, and alarms on failed jobs, on jobs that ran out of attempts (dead letters), on dead
 * letters piling up unconsumed, and on fan-out segments stalled in their queue.
 */
import { Duration } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS, NAMESPACE } from '../../layers/observability/metrics.js';

export interface ObservabilityProps {
  readonly separate: lambda.IFunction;
  readonly apiFunctions: lambda.IFunction[];
  readonly failureQueue: sqs.IQueue;
  readonly uploadQueue: sqs.IQueue;
  readonly segmentQueue: sqs.IQueue;
  readonly separateMemoryMb: number;
  readonly separateTimeoutSeconds: number;
}

export class StemsObservability extends Construct {
  readonly dashboard: cw.Dashboard;
  readonly failedJobsAlarm: cw.Alarm;
  readonly failureQueueAlarm: cw.Alarm;
  readonly deadLetteredJobsAlarm: cw.Alarm;
  readonly segmentsWaitingAlarm: cw.Alarm;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const m = (name: string, service: string, statistic: string, label?: string) => new cw.Metric({
      namespace: NAMESPACE, metricName: name, dimensionsMap: { service }, statistic, label, period: Duration.minutes(5),
    });
    const api = ['presign', 'status', 'metrics'];
    this.dashboard = new cw.Dashboard(this, 'Dashboard', { dashboardName: `${NAMESPACE}-${id}` });
    this.dashboard.addWidgets(
      new cw.GraphWidget({
        title: 'API latency (ms)', width: 12,
        left: api.flatMap((s) => ['p50', 'p90', 'p99'].map((p) => m(METRICS.requestLatency.name, s, p, `${s} ${p}`))),
      }),
      new cw.GraphWidget({
        title: 'Separation stages, average (ms)', width: 12, stacked: true,
        left: [METRICS.download, METRICS.modelLoad, METRICS.decode, METRICS.stft, METRICS.inference, METRICS.istft, METRICS.encode, METRICS.upload]
          .map((x) => m(x.name, 'separate', 'Average', x.name)),
      }),
    );
    this.dashboard.addWidgets(
      new cw.GraphWidget({
        title: 'Real-time factor (audio s per processing s)', width: 8,
        left: [m(METRICS.realTimeFactor.name, 'separate', 'Average', 'average'), m(METRICS.realTimeFactor.name, 'separate', 'Minimum', 'slowest')],
      }),
      new cw.GraphWidget({
        title: 'Peak memory of separate (MB)', width: 8,
        left: [m(METRICS.peakRss.name, 'separate', 'Maximum', 'peak RSS')],
        leftAnnotations: [{ value: props.separateMemoryMb, label: 'configured memory', color: '#d62728' }],
      }),
      new cw.GraphWidget({
        title: 'Cold starts', width: 8,
        left: ['separate', ...api].map((s) => m(METRICS.coldStart.name, s, 'Sum', s)),
      }),
    );
    const failed = m(METRICS.failures.name, 'separate', 'Sum', 'failed jobs');
    const queueDepth = props.failureQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), label: 'failure queue' });
    this.dashboard.addWidgets(
      new cw.GraphWidget({
        title: 'Errors', width: 12,
        left: [failed, m(METRICS.jobs.name, 'separate', 'Sum', 'succeeded jobs'), props.separate.metricErrors({ label: 'separate invocation errors' }),
          ...props.apiFunctions.map((f) => f.metricErrors())],
      }),
      new cw.GraphWidget({ title: 'Failure queue depth', width: 12, left: [queueDepth] }),
    );
    const exhausted = new cw.Metric({
      namespace: NAMESPACE, metricName: METRICS.failures.name, dimensionsMap: { service: 'dead-letter', errorCode: 'ATTEMPTS_EXHAUSTED' },
      statistic: 'Sum', label: 'jobs out of attempts', period: Duration.minutes(5),
    });
    this.failedJobsAlarm = new cw.Alarm(this, 'FailedJobs', {
      alarmDescription: 'Separation jobs ended in failed (bad input or a fault): check the job records and logs by jobId.',
      metric: failed, threshold: 1, evaluationPeriods: 1, comparisonOperator: cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    this.failureQueueAlarm = new cw.Alarm(this, 'FailureQueueNotEmpty', {
      alarmDescription: 'Uploads whose separation failed after retries are waiting in the failure queue.',
      metric: queueDepth, threshold: 1, evaluationPeriods: 1, comparisonOperator: cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetteredJobsAlarm = new cw.Alarm(this, 'DeadLetteredJobs', {
      alarmDescription: 'Uploads used every attempt (timeouts, out of memory, crashes or repeated faults) and were dead-lettered; their jobs ended ATTEMPTS_EXHAUSTED.',
      metric: exhausted, threshold: 1, evaluationPeriods: 1, comparisonOperator: cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    const backlog = props.uploadQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), label: 'waiting uploads' });
    const oldest = props.uploadQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), label: 'oldest upload waiting (s)' });
    this.dashboard.addWidgets(
      new cw.GraphWidget({ title: 'Upload queue: backlog and oldest wait', width: 8, left: [backlog], right: [oldest] }),
      new cw.GraphWidget({ title: 'Dead-lettered jobs (ATTEMPTS_EXHAUSTED)', width: 8, left: [exhausted] }),
      new cw.AlarmStatusWidget({ title: 'Dead-letter alarms', width: 8, alarms: [this.deadLetteredJobsAlarm, this.failureQueueAlarm] }),
    );
    // fan-out: segments of long songs waiting for a worker
    const segments = props.segmentQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), label: 'waiting segments' });
    const segmentsOldest = props.segmentQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), label: 'oldest segment waiting (s)' });
    this.segmentsWaitingAlarm = new cw.Alarm(this, 'SegmentsWaiting', {
      alarmDescription: 'Fan-out segments have waited more than two function timeouts for a worker for 5 minutes: fanned-out songs are stalled; raise fanoutMaxConcurrency (and separateReservedConcurrency) or check separate\'s errors.',
      metric: segmentsOldest, threshold: 2 * props.separateTimeoutSeconds, evaluationPeriods: 5, comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    this.dashboard.addWidgets(
      new cw.GraphWidget({ title: 'Segment queue (fan-out): backlog and oldest wait', width: 12, left: [segments], right: [segmentsOldest] }),
      new cw.AlarmStatusWidget({ title: 'Fan-out alarms', width: 12, alarms: [this.segmentsWaitingAlarm] }),
    );
  }
}
