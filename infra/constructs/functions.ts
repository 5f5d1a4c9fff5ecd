import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { deliveryConfigToEnv, laneMappings, type DeliveryConfig } from '#shared/runtime/config.ts';
import { SETTINGS } from '#shared/runtime/settings.ts';
import { hmacSecretName } from '#shared/domain/secrets.ts';
import { senderTimeoutSeconds, type Lane } from '#shared/domain/delivery/policy.ts';
import type { WebhookTable } from './data.ts';
import { WebhookFunction } from './function.ts';
import type { DeliveryQueues } from './queues.ts';
import type { SigningKey } from './signing-key.ts';

export interface WebhookFunctionsProps {
  /** Required. */
  readonly table: WebhookTable;
  /** Required. */
  readonly queues: DeliveryQueues;
  /** The deployment's keys: each function reads only the secrets of what it calls. Required. */
  readonly signingKey: SigningKey;
  /** Prefix of the per-organization HMAC token secrets. Required. */
  readonly secretsPrefix: string;
  /** The delivery settings, passed to every function in its environment (the names of shared/runtime/config.ts). Required. */
  readonly config: DeliveryConfig;
  /** Most concurrent sender invocations per lane (2 to 1000): each event source mapping's maximum concurrency. @default - the lane settings (`config`: fast 10, slow 5) */
  readonly senderMaxConcurrency?: Partial<Record<Lane, number>>;
  /**
   * Concurrency reserved for each lane's sender, at least the lane's maximum concurrency. Off by
   * default: Lambda refuses a reservation that leaves the account less than 100 unreserved, which
   * fails the first deploy in accounts with a small concurrency quota, and the mapping's maximum
   * concurrency already caps the sender.
   * @default - none: each sender draws from the account's unreserved pool
   */
  readonly senderReservedConcurrency?: Partial<Record<Lane, number>>;
  /** How often the sweeper enqueues webhooks whose next attempt is nearly due. @default - the sweepIntervalMinutes setting's default (1 minute) */
  readonly sweepInterval?: Duration;
  /** Retention of the functions' logs. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the functions' log groups when they leave the stack. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly removalPolicy?: RemovalPolicy;
}

/** The secrets ARN pattern of the older organizations' HMAC tokens, and why it holds a wildcard (for cdk-nag). */
interface OrganizationTokens {
  readonly arn: string;
  readonly wildcard: { finding: string; reason: string };
}

/**
 * The five handlers and exactly what each calls: table items, the queues, the secrets. The sender
 * consumes the delivery queue through an event source mapping; the sweeper runs on a schedule.
 */
export class WebhookFunctions extends Construct {
  readonly api: WebhookFunction;
  readonly admin: WebhookFunction;
  /** One sender per lane, each consuming its own queue. */
  readonly senders: Record<Lane, WebhookFunction>;
  readonly sweeper: WebhookFunction;
  readonly console: WebhookFunction;

  constructor(scope: Construct, id: string, props: WebhookFunctionsProps) {
    super(scope, id);
    const { table, queues, signingKey } = props;
    const lanes = [queues.lanes.fast.queueArn, queues.lanes.slow.queueArn];
    const deadLetters = queues.deadLetterQueue.queueArn;
    const common = this.commonProps(props);
    const tokens = this.organizationTokens(props.secretsPrefix);

    // API Gateway gives up on an integration after 30 s.
    this.api = new WebhookFunction(this, 'Api', {
      ...common,
      handler: 'api',
      description: 'Organization API: webhook endpoints, signing keys, webhook logs',
      timeout: Duration.seconds(29),
    })
      .bindTable(table, 'RW')
      // Internet-facing: public signing keys, HMAC roots and seal keys; never the private signing key.
      .allow(
        ['secretsmanager:GetSecretValue'],
        [signingKey.keyringArns['signing-public'], signingKey.keyringArns['hmac-root'], signingKey.keyringArns.seal],
      )
      .allow(['secretsmanager:GetSecretValue', 'secretsmanager:DeleteSecret'], [tokens.arn], tokens.wildcard)
      // Retry and recover put webhooks back on a delivery lane.
      .allow(['sqs:SendMessage'], lanes);

    this.admin = new WebhookFunction(this, 'Admin', {
      ...common,
      handler: 'admin',
      description: 'Operator API: organizations, publishing, dead-letter redrive',
      timeout: Duration.seconds(29),
    })
      .bindTable(table, 'RW')
      // A new organization's token derives from the current HMAC root.
      .allow(['secretsmanager:GetSecretValue'], [signingKey.keyringArns['hmac-root']])
      .allow(['sqs:SendMessage'], lanes)
      // Status peeks at the dead letters; a message move task needs these on its source queue, and SendMessage on its destination.
      .allow(
        [
          'sqs:GetQueueAttributes',
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:StartMessageMoveTask',
          'sqs:ListMessageMoveTasks',
        ],
        [deadLetters],
      );

    this.senders = {
      fast: this.sender('Sender', 'fast', props, common, tokens),
      slow: this.sender('SlowSender', 'slow', props, common, tokens),
    };

    this.sweeper = this.sweeperFunction(props, common, lanes);
    // Static files only: no table, queue or secret; of the settings, only who may frame it.
    this.console = new WebhookFunction(this, 'Console', {
      logRetention: common.logRetention,
      removalPolicy: common.removalPolicy,
      handler: 'console',
      description: "Serves the web console's static assets",
      memorySize: 256,
      environment: deliveryConfigToEnv({ consoleFrameAncestors: props.config.consoleFrameAncestors }),
    });
  }

  /**
   * The sweeper, on its schedule. A sweep that failed or waited is made up by the next one, so
   * neither EventBridge nor Lambda's asynchronous invocation retries it, and a sweep still queued
   * after one interval is dropped: sweeps never pile up. Two sweeps that overlap anyway (one
   * running past the interval) are harmless, since every write is conditional on the webhook's
   * version; no concurrency is reserved for it, as a reservation fails the deploy in accounts with a
   * small concurrency quota.
   */
  private sweeperFunction(
    props: WebhookFunctionsProps,
    common: ReturnType<WebhookFunctions['commonProps']>,
    lanes: string[],
  ): WebhookFunction {
    const interval = props.sweepInterval ?? Duration.minutes(SETTINGS.sweepIntervalMinutes.default);
    const sweeper = new WebhookFunction(this, 'Sweeper', {
      ...common,
      handler: 'sweeper',
      description: 'Re-enqueues or fails webhooks whose message was lost',
      timeout: Duration.minutes(2),
    })
      .bindTable(props.table, 'RU')
      .allow(['sqs:SendMessage'], lanes);
    // Lambda's maximum event age is 60 s to 6 h.
    const maxEventAge = Duration.seconds(Math.min(Math.max(interval.toSeconds(), 60), 6 * 3600));
    sweeper.configureAsyncInvoke({ retryAttempts: 0, maxEventAge });
    new events.Rule(this, 'SweepSchedule', {
      description: 'Runs the webhook sweeper',
      schedule: events.Schedule.rate(interval),
      targets: [new targets.LambdaFunction(sweeper, { retryAttempts: 0, maxEventAge })],
    });
    return sweeper;
  }

  /** What every function but the console shares: log settings, and the queues, secrets prefix and delivery settings in its environment. */
  private commonProps(props: WebhookFunctionsProps) {
    const { queues } = props;
    return {
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      environment: {
        QUEUE_URL: queues.lanes.fast.queueUrl,
        QUEUE_ARN: queues.lanes.fast.queueArn,
        SLOW_QUEUE_URL: queues.lanes.slow.queueUrl,
        DLQ_URL: queues.deadLetterQueue.queueUrl,
        DLQ_ARN: queues.deadLetterQueue.queueArn,
        SECRETS_PREFIX: props.secretsPrefix,
        ...deliveryConfigToEnv(props.config),
      },
    };
  }

  /**
   * The older organizations' HMAC token secrets. Organizations created before tokens were derived
   * from the signing key had a secret each, named by their id: only a wildcard covers them. They
   * are read once, sealed into the organization and deleted (shared/domain/organizations/tokens.ts).
   */
  private organizationTokens(secretsPrefix: string): OrganizationTokens {
    // "-??????" is the random suffix Secrets Manager adds.
    const tokenNames = `${hmacSecretName(secretsPrefix, '*')}-??????`;
    return {
      arn: Stack.of(this).formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: tokenNames,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
      wildcard: {
        finding: `Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${tokenNames}`,
        reason:
          "Older organizations' HMAC token secrets, one per organization id, read once and deleted when their token moves into the organization; the wildcard spans only the tokens under this deployment's prefix.",
      },
    };
  }

  /** A lane's sender, consuming the lane's queue through an event source mapping. */
  private sender(
    id: string,
    lane: Lane,
    props: WebhookFunctionsProps,
    common: ReturnType<WebhookFunctions['commonProps']>,
    tokens: OrganizationTokens,
  ): WebhookFunction {
    const { queues } = props;
    const maxConcurrency = props.senderMaxConcurrency?.[lane] ?? laneMappings(props.config)[lane].maxConcurrency;
    const reserved = props.senderReservedConcurrency?.[lane];
    if (reserved !== undefined && reserved < maxConcurrency)
      throw new Error(
        `the ${lane} lane's sender reserves ${reserved}, less than its maximum concurrency ${maxConcurrency}: its event source mapping would be throttled by the reservation`,
      );
    const timeouts = { timeoutMs: props.config.timeoutMs, fastLaneMs: props.config.fastLaneMs };
    // Operational events (an endpoint disabled automatically, or recovered) go to the account's default bus.
    const defaultEventBus = Stack.of(this).formatArn({
      service: 'events',
      resource: 'event-bus',
      resourceName: 'default',
    });
    const fn = new WebhookFunction(this, id, {
      ...common,
      environment: { ...common.environment, LANE: lane },
      handler: 'sender',
      description: `Delivers webhooks from the ${lane} delivery lane`,
      timeout: Duration.seconds(senderTimeoutSeconds(lane, timeouts)),
      reservedConcurrentExecutions: reserved,
    })
      .bindTable(props.table, 'RU')
      // Signs (the private signing key, HMAC roots) and opens custom header values (seal keys).
      .allow(
        ['secretsmanager:GetSecretValue'],
        [props.signingKey.secretArn, props.signingKey.keyringArns['hmac-root'], props.signingKey.keyringArns.seal],
      )
      .allow(['secretsmanager:GetSecretValue', 'secretsmanager:DeleteSecret'], [tokens.arn], tokens.wildcard)
      // A retry is a new delayed message on a lane; an exhausted or poison webhook is sent to the dead-letter queue.
      .allow(
        ['sqs:SendMessage'],
        [queues.lanes.fast.queueArn, queues.lanes.slow.queueArn, queues.deadLetterQueue.queueArn],
      )
      .allow(['events:PutEvents'], [defaultEventBus]);
    // AWS destinations: the customers' roles the allow-list names, and nothing when it names none (destinations.md).
    for (const pattern of props.config.awsDestinationRoles)
      fn.allow(
        ['sts:AssumeRole'],
        [pattern],
        pattern.includes('*')
          ? {
              finding: `Resource::${pattern}`,
              reason:
                "AWS destinations: the customers' roles this deployment's awsDestinationRoles allows, as written there; each role's trust policy also requires the organization's external id.",
            }
          : undefined,
      );
    fn.addEventSource(
      new SqsEventSource(queues.lanes[lane], {
        batchSize: laneMappings(props.config)[lane].batchSize,
        reportBatchItemFailures: true,
        maxConcurrency,
      }),
    );
    return fn;
  }
}
