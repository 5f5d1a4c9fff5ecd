import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, type MetricName } from '#shared/metrics.ts';
import type { DeliveryQueues } from './queues.ts';

export interface ObservabilityProps {
  /** Required. */
  readonly queues: DeliveryQueues;
  /** The functions to chart and alarm on, by the name shown on the dashboard. Required. */
  readonly functions: Record<string, lambda.IFunction>;
  /** An address the alarm topic emails (the subscription must be confirmed). @default - no subscription */
  readonly alarmEmail?: string;
  /**
   * Alarm when the delivery queue's oldest message is older than this. SQS leaves out of this
   * metric the messages received three times or more, so webhooks waiting for a late retry do not
   * count: with the default schedule a healthy queue stays under about 6 minutes.
   * @default Duration.hours(1)
   */
  readonly oldestMessageAgeThreshold?: Duration;
  /** What happens to the topic's KMS key when it leaves the stack. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const FIVE_MINUTES = Duration.minutes(5);

/** A delivery metric the functions write as EMF (shared/metrics.ts), with no dimensions. */
function deliveryMetric(name: MetricName, statistic = 'Sum'): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: name, statistic, period: FIVE_MINUTES });
}

/** The dashboard, and alarms that notify an encrypted SNS topic. */
export class Observability extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { queue, deadLetterQueue } = props.queues;
    const stack = Stack.of(this);

    const key = new kms.Key(this, 'TopicKey', {
      description: 'Encrypts the webhook alarm topic',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    // CloudWatch must use the topic's key to publish, which only a customer managed key can grant.
    key.addToResourcePolicy(
      new iam.PolicyStatement({ principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')], actions: ['kms:Decrypt', 'kms:GenerateDataKey*'], resources: ['*'] }),
    );
    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Lago webhooks alarms', masterKey: key, enforceSSL: true });
    // The topic has a policy of its own (enforceSSL), so CloudWatch needs a statement in it; only this account's alarms may publish.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
        },
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    // Alarms take the metrics as they are; the dashboard adds labels.
    const exhausted = deliveryMetric('WebhooksExhausted');
    const oldestAge = queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(1) });
    const deadLetterDepth = deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) });
    const functions = Object.entries(props.functions);

    this.alarm('DeadLetters', 'Webhooks reached the dead-letter queue: inspect and redrive them (POST /admin/v1/dead_letters/redrive).', deadLetterDepth, 0, 1);
    this.alarm(
      'OldestMessageAge',
      'The delivery queue is falling behind: its oldest message waits longer than the threshold.',
      oldestAge,
      (props.oldestMessageAgeThreshold ?? Duration.hours(1)).toSeconds(),
      3,
    );
    this.alarm('WebhooksExhausted', 'Webhooks failed their last attempt: their endpoints are failing.', exhausted, 0, 1);
    for (const [name, fn] of functions) {
      this.alarm(`${name}Errors`, `The ${name} function is failing: see its logs.`, fn.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES }), 0, 1);
    }

    const perFunction = (metric: (fn: lambda.IFunction, label: string) => cloudwatch.IMetric) => functions.map(([name, fn]) => metric(fn, name));
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Deliveries',
        left: [
          deliveryMetric('DeliveriesSucceeded').with({ label: 'Succeeded' }),
          deliveryMetric('DeliveryAttemptsFailed').with({ label: 'Failed attempts' }),
          exhausted.with({ label: 'Exhausted (failed for good)' }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: 'Published webhooks', left: [deliveryMetric('WebhooksPublished').with({ label: 'Published' })], width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Endpoint response time (ms)',
        left: ['p50', 'p90', 'p99'].map((statistic) => deliveryMetric('EndpointResponseTime', statistic).with({ label: statistic })),
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Delivery queue depth',
        left: [
          queue.metricApproximateNumberOfMessagesVisible({ label: 'Ready', statistic: 'Maximum' }),
          queue.metricApproximateNumberOfMessagesNotVisible({ label: 'In flight or waiting for a retry', statistic: 'Maximum' }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: 'Dead-letter queue depth', left: [deadLetterDepth.with({ label: 'Dead letters' })], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Oldest message age (s)', left: [oldestAge.with({ label: 'Oldest message' })], width: 8 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Function errors', left: perFunction((fn, label) => fn.metricErrors({ label, statistic: 'Sum' })), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Function throttles', left: perFunction((fn, label) => fn.metricThrottles({ label, statistic: 'Sum' })), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Function duration p99 (ms)', left: perFunction((fn, label) => fn.metricDuration({ label, statistic: 'p99' })), width: 8 }),
    );
  }

  private alarm(id: string, description: string, metric: cloudwatch.IMetric, threshold: number, evaluationPeriods: number): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      // No data means nothing happened: no dead letters, no exhausted webhooks, no errors.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }
}
