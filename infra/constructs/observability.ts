import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as xray from 'aws-cdk-lib/aws-xray';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { Lane } from '#shared/domain/delivery/policy.ts';
import { METRICS_NAMESPACE, STACK_DIMENSION, type MetricName } from '#shared/runtime/metrics.ts';
import { SETTINGS } from '#shared/runtime/settings.ts';
import type { DeliveryQueues } from './queues.ts';

export interface ObservabilityProps {
  /** Required. */
  readonly queues: DeliveryQueues;
  /** The functions to chart and alarm on (errors, error log lines), by the name shown on the dashboard and in the alarm ids. Required. */
  readonly functions: Record<string, lambda.Function>;
  /** The sender of each lane: their throttles page, since a lane's mapping never asks for more than the account should give. Required. */
  readonly senders: Record<Lane, lambda.IFunction>;
  /** Other log groups whose error lines count too (e.g. a custom resource's provider), by a name for the metric filter's id. @default {} */
  readonly extraLogGroups?: Record<string, logs.ILogGroup>;
  /** The table and the names of its global secondary indexes, for the throttle alarms. Required. */
  readonly table: { readonly table: dynamodb.ITable; readonly indexNames: readonly string[] };
  /** The HTTP API and the stage its clients call, for the 5xx and latency alarms. Required. */
  readonly api: { readonly httpApi: IHttpApi; readonly stageName: string };
  /** An address the alarm topic emails (the subscription must be confirmed). @default - no subscription */
  readonly alarmEmail?: string;
  /**
   * Alarm when a lane's oldest message is older than this. Every message waits at most 15 minutes
   * (a delay, or one hop of a longer wait), so a healthy lane stays well under an hour even if a
   * delay counts toward the age. The slow lane has the alarm too: one hanging endpoint holds at most
   * its share of it, and its held-back messages are sent again (new, young), so an old message there
   * means the lane's capacity is short, the operator's to fix (WEBHOOK_SLOW_LANE_CONCURRENCY).
   * @default - the oldestMessageAgeAlarmMinutes setting's default (1 hour)
   */
  readonly oldestMessageAgeThreshold?: Duration;
  /** Alarm when the HTTP API's p99 latency stays above this for three 5-minute periods. @default Duration.seconds(5) */
  readonly apiLatencyThreshold?: Duration;
  /** Alarm when the HTTP API answers at least this many 5xx in 5 minutes. @default 5 */
  readonly apiServerErrorThreshold?: number;
  /** Share of the functions' invocations traced beyond the first each second (the stack's X-Ray sampling rule). @default - the traceSampleRate setting's default (0.01) */
  readonly traceSampleRate?: number;
  /** What happens to the topic's KMS key when it leaves the stack. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly removalPolicy?: RemovalPolicy;
}

const FIVE_MINUTES = Duration.minutes(5);

/** SQS's in-flight limit of a standard queue (received, not yet deleted); receives fail beyond it. */
const SQS_IN_FLIGHT_LIMIT = 120_000;
/** The in-flight alarms fire at 80% of the limit, leaving time to act before receives fail. */
const IN_FLIGHT_ALARM_THRESHOLD = SQS_IN_FLIGHT_LIMIT * 0.8;
/** Namespace-free name of the metric the error-level log lines feed (pino's levels: error 50, fatal 60). */
const ERROR_LOG_METRIC = 'ErrorLogLines';

/** A metric the functions write as EMF (shared/runtime/metrics.ts), with this stack's Stack dimension. */
type EmfMetric = (name: MetricName, statistic?: string) => cloudwatch.Metric;

/** The metrics the alarms and the dashboard share. Alarms take them as they are; the dashboard adds labels. */
interface ServiceMetrics {
  readonly emf: EmfMetric;
  readonly poison: cloudwatch.Metric;
  readonly exhausted: cloudwatch.Metric;
  readonly errorLogLines: cloudwatch.Metric;
  readonly api: (metricName: string, statistic: string) => cloudwatch.Metric;
  readonly api5xx: cloudwatch.Metric;
  readonly apiLatency: cloudwatch.Metric;
  /** The table's and each index's read plus write throttles, by the name their alarm takes. */
  readonly throttleTargets: readonly (readonly [name: string, index: string | undefined])[];
  readonly dynamoThrottles: (label: string, index?: string) => cloudwatch.MathExpression;
}

/** DynamoDB's read plus write throttles of the table, or of one of its indexes. */
function dynamoThrottles(tableName: string, label: string, index?: string): cloudwatch.MathExpression {
  // Math ids are unique per table or index, since the dashboard charts them side by side.
  const prefix = index ?? 'table';
  const dimensionsMap: Record<string, string> =
    index === undefined ? { TableName: tableName } : { TableName: tableName, GlobalSecondaryIndexName: index };
  const metric = (metricName: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/DynamoDB',
      metricName,
      statistic: 'Sum',
      period: FIVE_MINUTES,
      dimensionsMap,
    });
  return new cloudwatch.MathExpression({
    expression: `${prefix}Reads + ${prefix}Writes`,
    usingMetrics: {
      [`${prefix}Reads`]: metric('ReadThrottleEvents'),
      [`${prefix}Writes`]: metric('WriteThrottleEvents'),
    },
    period: FIVE_MINUTES,
    label,
  });
}

function serviceMetrics(stackName: string, errorLogNamespace: string, props: ObservabilityProps): ServiceMetrics {
  const emf: EmfMetric = (name, statistic = 'Sum') =>
    new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      statistic,
      period: FIVE_MINUTES,
      dimensionsMap: { [STACK_DIMENSION]: stackName },
    });
  const api = (metricName: string, statistic: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      statistic,
      period: FIVE_MINUTES,
      dimensionsMap: { ApiId: props.api.httpApi.apiId, Stage: props.api.stageName },
    });
  const tableName = props.table.table.tableName;
  return {
    emf,
    poison: emf('PoisonMessages'),
    exhausted: emf('WebhooksExhausted'),
    errorLogLines: new cloudwatch.Metric({
      namespace: errorLogNamespace,
      metricName: ERROR_LOG_METRIC,
      statistic: 'Sum',
      period: FIVE_MINUTES,
    }),
    api,
    api5xx: api('5xx', 'Sum'),
    apiLatency: api('Latency', 'p99'),
    throttleTargets: [
      ['Table', undefined],
      ...props.table.indexNames.map(
        (index) => [`Index${index.charAt(0).toUpperCase()}${index.slice(1)}`, index] as const,
      ),
    ],
    dynamoThrottles: (label, index) => dynamoThrottles(tableName, label, index),
  };
}

const laneTitle = (lane: Lane) => (lane === 'fast' ? 'Fast' : 'Slow');

/**
 * The dashboard, and the alarms that page the operator through an encrypted SNS topic. Only what
 * the operator can fix pages: a customer's failing or slow endpoint (exhausted webhooks, the slow
 * lane's age) shows on the dashboard and in the logs, never as an alarm by itself.
 */
export class Observability extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  /** Namespace of the error-log metric: log metric filters take no constant dimension, so the stack is in the namespace. */
  readonly errorLogNamespace: string;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.topic = this.alarmTopic(props);
    this.errorLogNamespace = `${METRICS_NAMESPACE}/${stack.stackName}`;
    this.countErrorLogLines(props);
    this.sampleTraces(stack.stackName, props.traceSampleRate ?? SETTINGS.traceSampleRate.default);
    const metrics = serviceMetrics(stack.stackName, this.errorLogNamespace, props);
    this.deliveryAlarms(props, metrics);
    this.serviceAlarms(props, metrics);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    this.dashboard.addWidgets(...deliveryWidgets(metrics));
    this.dashboard.addWidgets(...deadLetterWidgets(props.queues, metrics));
    this.dashboard.addWidgets(...laneWidgets(props.queues, metrics));
    this.dashboard.addWidgets(...functionWidgets(props.functions));
    this.dashboard.addWidgets(...apiAndTableWidgets(metrics));
  }

  /** The SNS topic the alarms notify, encrypted with a key of its own, and the operator's email subscription. */
  private alarmTopic(props: ObservabilityProps): sns.Topic {
    const stack = Stack.of(this);
    const key = new kms.Key(this, 'TopicKey', {
      description: 'Encrypts the webhook alarm topic',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    // CloudWatch must use the topic's key to publish, which only a customer managed key can grant;
    // only for this account's alarms, so no other account's CloudWatch can use the key (confused deputy).
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Lago webhooks alarms',
      masterKey: key,
      enforceSSL: true,
    });
    // The topic has a policy of its own (enforceSSL), so CloudWatch needs a statement in it; only this account's alarms may publish.
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    if (props.alarmEmail) topic.addSubscription(new EmailSubscription(props.alarmEmail));
    return topic;
  }

  /**
   * X-Ray's sampling rule for this stack's functions (their names start with the stack's name): at
   * most one trace a second across them all (the reservoir), plus `fixedRate` of the rest, so
   * tracing costs at most $5 per million traces on that share. Without it X-Ray's default rule
   * traces 5% beyond the first each second.
   */
  private sampleTraces(stackName: string, fixedRate: number): void {
    new xray.CfnSamplingRule(this, 'TraceSampling', {
      samplingRule: {
        // X-Ray's rule names take 32 characters; one rule per stack.
        ruleName: stackName.slice(0, 32),
        priority: 9000,
        reservoirSize: 1,
        fixedRate,
        serviceName: `${stackName}-*`,
        serviceType: '*',
        host: '*',
        httpMethod: '*',
        urlPath: '*',
        resourceArn: '*',
        version: 1,
      },
    });
  }

  /** Error-level log lines of every function (and the extra log groups) feed one metric per stack. */
  private countErrorLogLines(props: ObservabilityProps): void {
    const logGroups: [string, logs.ILogGroup][] = [
      ...Object.entries(props.functions).map(([name, fn]): [string, logs.ILogGroup] => [name, fn.logGroup]),
      ...Object.entries(props.extraLogGroups ?? {}),
    ];
    for (const [name, logGroup] of logGroups) {
      new logs.MetricFilter(this, `${name}ErrorLogs`, {
        logGroup,
        filterPattern: logs.FilterPattern.numberValue('$.level', '>=', 50),
        metricNamespace: this.errorLogNamespace,
        metricName: ERROR_LOG_METRIC,
        metricValue: '1',
      });
    }
  }

  /** The delivery pipeline's alarms: poison messages, the lanes' in-flight limit, the fast lane's age. */
  private deliveryAlarms(props: ObservabilityProps, metrics: ServiceMetrics): void {
    const { lanes } = props.queues;
    this.alarm(
      'DeadLetterArrivals',
      "Poison messages reached the dead-letter queue in the last 5 minutes: messages the senders could not process (a bug, a malformed message or a failing dependency), not a customer's endpoint. Read the senders' error logs, fix the cause, then redrive (POST /admin/v1/dead_letters/redrive). Exhausted webhooks also land there but do not page.",
      metrics.poison,
      0,
    );
    for (const lane of ['fast', 'slow'] as const) {
      this.alarm(
        `${laneTitle(lane)}LaneInFlightNearLimit`,
        `The ${lane} delivery lane has more than 80% of SQS's in-flight limit (about 120,000) received and not yet deleted; beyond it receives fail. Check the ${lane} sender's errors and duration, and that it deletes what it finishes.`,
        lanes[lane].metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', period: FIVE_MINUTES }),
        IN_FLIGHT_ALARM_THRESHOLD,
      );
    }
    const ageThreshold = (
      props.oldestMessageAgeThreshold ?? Duration.minutes(SETTINGS.oldestMessageAgeAlarmMinutes.default)
    ).toSeconds();
    this.alarm(
      'OldestMessageAge',
      "The fast delivery lane is falling behind: its oldest message waits longer than the threshold. Check the Sender function's errors, throttles and concurrency (WEBHOOK_FAST_LANE_CONCURRENCY).",
      lanes.fast.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(1) }),
      ageThreshold,
      3,
    );
    this.alarm(
      'SlowLaneOldestMessageAge',
      "The slow delivery lane is falling behind: its oldest message waits longer than the threshold, though no one endpoint holds more than its share. Check the SlowSender function's errors and throttles, and raise its concurrency (WEBHOOK_SLOW_LANE_CONCURRENCY).",
      lanes.slow.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(1) }),
      ageThreshold,
      3,
    );
  }

  /** The alarms on what serves the pipeline: the API, DynamoDB, Lambda throttles and errors, error log lines. */
  private serviceAlarms(props: ObservabilityProps, metrics: ServiceMetrics): void {
    this.alarm(
      'ApiServerErrors',
      "The HTTP API answered 5xx responses: read the Api and Admin functions' logs and the API access logs (integration errors, timeouts).",
      metrics.api5xx,
      props.apiServerErrorThreshold ?? 5,
      1,
      cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    );
    this.alarm(
      'ApiLatency',
      "The HTTP API's p99 latency stayed above the threshold for 15 minutes: check the Api and Admin functions' duration and DynamoDB throttles.",
      metrics.apiLatency,
      (props.apiLatencyThreshold ?? Duration.seconds(5)).toMilliseconds(),
      3,
    );
    for (const [name, index] of metrics.throttleTargets) {
      this.alarm(
        `${name}Throttles`,
        `DynamoDB throttled requests on ${index === undefined ? 'the table' : `the ${index} index`}: check its consumed capacity and hot keys; an on-demand table throttles only on sudden peaks or a hot partition.`,
        metrics.dynamoThrottles(name, index),
        0,
      );
    }
    this.alarm(
      'SenderThrottles',
      "Lambda throttled a sender: the account is out of unreserved concurrency (other functions use it too), or a reservation is below what the lane's event source mapping asks for. Run npm run cli -- preflight for the account's concurrency, and check the senders' reserved concurrency.",
      new cloudwatch.MathExpression({
        expression: 'fast + slow',
        usingMetrics: {
          fast: props.senders.fast.metricThrottles({ statistic: 'Sum', period: FIVE_MINUTES }),
          slow: props.senders.slow.metricThrottles({ statistic: 'Sum', period: FIVE_MINUTES }),
        },
        period: FIVE_MINUTES,
        label: 'Sender throttles',
      }),
      0,
    );
    this.alarm(
      'ErrorLogLines',
      'A function logged at error level or above: search its log group for "level":50 or 60.',
      metrics.errorLogLines,
      0,
    );
    for (const [name, fn] of Object.entries(props.functions)) {
      this.alarm(
        `${name}Errors`,
        `The ${name} function is failing: see its logs.`,
        fn.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES }),
        0,
      );
    }
  }

  private alarm(
    id: string,
    description: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    evaluationPeriods = 1,
    comparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
  ): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods,
      comparisonOperator,
      // No data means nothing happened: no poison message, no error, no throttle; the alarm returns to OK.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }
}

// The dashboard, a row of three widgets per function below.

function deliveryWidgets({ emf, exhausted }: ServiceMetrics): cloudwatch.IWidget[] {
  return [
    new cloudwatch.GraphWidget({
      title: 'Deliveries',
      left: [
        emf('DeliveriesSucceeded').with({ label: 'Succeeded' }),
        emf('DeliveryAttemptsFailed').with({ label: 'Failed attempts' }),
        exhausted.with({ label: "Exhausted (failed for good: the customer's endpoint)" }),
      ],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Published webhooks',
      left: [emf('WebhooksPublished').with({ label: 'Published' })],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Endpoint response time (ms)',
      left: ['p50', 'p90', 'p99'].map((statistic) => emf('EndpointResponseTime', statistic).with({ label: statistic })),
      width: 8,
    }),
  ];
}

function deadLetterWidgets(queues: DeliveryQueues, { emf, poison, exhausted }: ServiceMetrics): cloudwatch.IWidget[] {
  const { lanes, deadLetterQueue } = queues;
  return [
    new cloudwatch.GraphWidget({
      title: 'Dead-letter arrivals',
      left: [
        deadLetterQueue.metricNumberOfMessagesSent({
          label: 'Arrived (exhausted + poison)',
          statistic: 'Sum',
          period: FIVE_MINUTES,
        }),
        poison.with({ label: 'Poison (pages)' }),
        exhausted.with({ label: 'Exhausted (does not page)' }),
      ],
      right: [deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'Held', statistic: 'Maximum' })],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Slow-lane hand-offs',
      left: [emf('SlowLaneHandoffs').with({ label: 'Fast-lane attempts cut and moved to the slow lane' })],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Oldest message age (s)',
      left: (['fast', 'slow'] as const).map((lane) =>
        lanes[lane].metricApproximateAgeOfOldestMessage({
          label: `${lane} lane${lane === 'slow' ? ' (does not page)' : ''}`,
          statistic: 'Maximum',
        }),
      ),
      width: 8,
    }),
  ];
}

function laneWidgets({ lanes }: DeliveryQueues, { errorLogLines }: ServiceMetrics): cloudwatch.IWidget[] {
  const laneDepth = (lane: Lane) =>
    new cloudwatch.GraphWidget({
      title: `${laneTitle(lane)} lane depth`,
      left: [
        lanes[lane].metricApproximateNumberOfMessagesVisible({ label: 'Ready', statistic: 'Maximum' }),
        lanes[lane].metricApproximateNumberOfMessagesNotVisible({ label: 'In flight', statistic: 'Maximum' }),
        lanes[lane].metric('ApproximateNumberOfMessagesDelayed', {
          label: 'Delayed (waiting for a retry)',
          statistic: 'Maximum',
        }),
      ],
      width: 8,
    });
  return [
    laneDepth('fast'),
    laneDepth('slow'),
    new cloudwatch.GraphWidget({
      title: 'Error log lines',
      left: [errorLogLines.with({ label: 'Lines at error or fatal level' })],
      width: 8,
    }),
  ];
}

function functionWidgets(functions: ObservabilityProps['functions']): cloudwatch.IWidget[] {
  const perFunction = (metric: (fn: lambda.IFunction, label: string) => cloudwatch.IMetric) =>
    Object.entries(functions).map(([name, fn]) => metric(fn, name));
  return [
    new cloudwatch.GraphWidget({
      title: 'Function errors',
      left: perFunction((fn, label) => fn.metricErrors({ label, statistic: 'Sum' })),
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Function throttles',
      left: perFunction((fn, label) => fn.metricThrottles({ label, statistic: 'Sum' })),
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Function duration p99 (ms)',
      left: perFunction((fn, label) => fn.metricDuration({ label, statistic: 'p99' })),
      width: 8,
    }),
  ];
}

function apiAndTableWidgets(metrics: ServiceMetrics): cloudwatch.IWidget[] {
  return [
    new cloudwatch.GraphWidget({ title: 'API 5xx', left: [metrics.api5xx.with({ label: '5xx' })], width: 8 }),
    new cloudwatch.GraphWidget({
      title: 'API latency (ms)',
      left: [metrics.api('Latency', 'p50').with({ label: 'p50' }), metrics.apiLatency.with({ label: 'p99' })],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'DynamoDB throttles',
      left: metrics.throttleTargets.map(([, index]) => metrics.dynamoThrottles(index ?? 'table', index)),
      width: 8,
    }),
  ];
}
