import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { deliveryConfigToEnv, type DeliveryConfig } from '#shared/config.ts';
import { hmacSecretName } from '#shared/secrets.ts';
import { senderTimeoutSeconds } from '../definitions.ts';
import type { WebhookTable } from './data.ts';
import { WebhookFunction } from './function.ts';
import type { DeliveryQueues } from './queues.ts';
import type { SigningKey } from './signing-key.ts';

export interface WebhookFunctionsProps {
  /** Required. */
  readonly table: WebhookTable;
  /** Required. */
  readonly queues: DeliveryQueues;
  /** The deployment's JWT key, which the api and sender functions read. Required. */
  readonly signingKey: SigningKey;
  /** Prefix of the per-organization HMAC token secrets. Required. */
  readonly secretsPrefix: string;
  /** The delivery settings, passed to every function in its environment (the names of shared/config.ts). Required. */
  readonly config: DeliveryConfig;
  /** Most sender invocations the delivery queue may run at once (2 to 1000). @default 10 */
  readonly senderMaxConcurrency?: number;
  /** How often the sweeper looks for webhooks whose message was lost. @default Duration.minutes(5) */
  readonly sweepInterval?: Duration;
  /** Retention of the functions' logs. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the functions' log groups when they leave the stack. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The five handlers and exactly what each calls: table items, the queues, the secrets. The sender
 * consumes the delivery queue through an event source mapping; the sweeper runs on a schedule.
 */
export class WebhookFunctions extends Construct {
  readonly api: WebhookFunction;
  readonly admin: WebhookFunction;
  readonly sender: WebhookFunction;
  readonly sweeper: WebhookFunction;
  readonly console: WebhookFunction;

  constructor(scope: Construct, id: string, props: WebhookFunctionsProps) {
    super(scope, id);
    const { table, queues, signingKey } = props;
    const queue = queues.queue.queueArn;
    const deadLetters = queues.deadLetterQueue.queueArn;
    // One secret per organization, named by its id, so only a wildcard covers them; "-??????" is the random suffix Secrets Manager adds.
    const tokenNames = `${hmacSecretName(props.secretsPrefix, '*')}-??????`;
    const organizationTokens = Stack.of(this).formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: tokenNames, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const tokensWildcard = {
      finding: `Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${tokenNames}`,
      reason: 'Organization HMAC tokens are secrets created at run time, one per organization id; the wildcard spans only the tokens under this deployment\'s prefix.',
    };
    const common = {
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      environment: {
        QUEUE_URL: queues.queue.queueUrl,
        QUEUE_ARN: queue,
        DLQ_URL: queues.deadLetterQueue.queueUrl,
        DLQ_ARN: deadLetters,
        SECRETS_PREFIX: props.secretsPrefix,
        ...deliveryConfigToEnv(props.config),
      },
    };

    // API Gateway gives up on an integration after 30 s.
    this.api = new WebhookFunction(this, 'Api', { ...common, handler: 'api', description: 'Organization API: webhook endpoints, signing keys, webhook logs', timeout: Duration.seconds(29) })
      .bindTable(table, 'RW')
      .allow(['secretsmanager:GetSecretValue'], [organizationTokens, signingKey.secretArn], tokensWildcard)
      // Retry and recover put webhooks back on the delivery queue.
      .allow(['sqs:SendMessage'], [queue]);

    this.admin = new WebhookFunction(this, 'Admin', { ...common, handler: 'admin', description: 'Operator API: organizations, publishing, dead-letter redrive', timeout: Duration.seconds(29) })
      .bindTable(table, 'RW')
      .allow(['secretsmanager:CreateSecret'], [organizationTokens], tokensWildcard)
      .allow(['sqs:SendMessage'], [queue])
      // Status peeks at the dead letters; a message move task needs these on its source queue, and SendMessage on its destination.
      .allow(['sqs:GetQueueAttributes', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:StartMessageMoveTask', 'sqs:ListMessageMoveTasks'], [deadLetters]);

    this.sender = new WebhookFunction(this, 'Sender', {
      ...common,
      handler: 'sender',
      description: 'Delivers webhooks from the delivery queue',
      timeout: Duration.seconds(senderTimeoutSeconds(props.config.timeoutMs)),
    })
      .bindTable(table, 'RW')
      .allow(['secretsmanager:GetSecretValue'], [organizationTokens, signingKey.secretArn], tokensWildcard)
      // A message whose receive count cannot take it to the dead-letter queue is sent there.
      .allow(['sqs:SendMessage'], [deadLetters]);
    // The mapping's grant covers ChangeMessageVisibility, which the sender uses for backoff.
    this.sender.addEventSource(new SqsEventSource(queues.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: props.senderMaxConcurrency ?? 10 }));

    this.sweeper = new WebhookFunction(this, 'Sweeper', { ...common, handler: 'sweeper', description: 'Re-enqueues or fails webhooks whose message was lost', timeout: Duration.minutes(2) })
      .bindTable(table, 'RW')
      .allow(['sqs:SendMessage'], [queue]);
    // Static files only: no table, queue or secret.
    this.console = new WebhookFunction(this, 'Console', { logRetention: common.logRetention, removalPolicy: common.removalPolicy, handler: 'console', description: 'Serves the web console\'s static assets', memorySize: 256 });

    new events.Rule(this, 'SweepSchedule', {
      description: 'Runs the webhook sweeper',
      schedule: events.Schedule.rate(props.sweepInterval ?? Duration.minutes(5)),
      // A missed sweep is made up by the next one.
      targets: [new targets.LambdaFunction(this.sweeper, { retryAttempts: 0 })],
    });
  }
}
