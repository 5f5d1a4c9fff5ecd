import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  DELIVERY_DEFAULTS,
  deliveryConfigFromEnv,
  deliveryConfigToEnv,
  type DeliveryConfig,
} from '#shared/runtime/config.ts';
import { type ApiThrottling, DEFAULT_API_THROTTLING, WebhookApi } from './constructs/api.ts';
import { WebhookTable } from './constructs/data.ts';
import { WebhookFunctions } from './constructs/functions.ts';
import { Observability } from './constructs/observability.ts';
import { DeliveryQueues } from './constructs/queues.ts';
import { SigningKey } from './constructs/signing-key.ts';
import { TABLE } from './definitions.ts';
import { ROUTES } from '#shared/runtime/routes.ts';

/** The HTTP API's one stage (infra/constructs/api.ts), whose metrics the alarms read. */
const API_STAGE = '$default';

export interface WebhookStackProps extends StackProps {
  /** Seconds to wait before each retry (WEBHOOK_RETRY_SCHEDULE); attempts = length + 1. @default DEFAULT_RETRY_SCHEDULE (8 attempts over about 28 h) */
  readonly retrySchedule?: number[];
  /** Timeout of one delivery attempt, connect plus response (WEBHOOK_TIMEOUT_MS). @default 15_000 */
  readonly webhookTimeoutMs?: number;
  /** Days a webhook (its state, payload and responses) is kept before DynamoDB's TTL removes it (WEBHOOK_RETENTION_DAYS). @default 90 */
  readonly webhookRetentionDays?: number;
  /** CIDRs exempt from the SSRF guard (WEBHOOK_ALLOW_CIDRS). @default [] */
  readonly allowCidrs?: string[];
  /** Deliver to plain http:// URLs (WEBHOOK_ALLOW_HTTP). @default false */
  readonly allowHttp?: boolean;
  /** Disable an endpoint whose every attempt failed for this many seconds, 0 never (WEBHOOK_AUTO_DISABLE_AFTER). @default 432000 (5 days) */
  readonly autoDisableAfterSeconds?: number;
  /** An address that gets the alarms by email (the subscription must be confirmed). @default - no subscription */
  readonly alarmEmail?: string;
  /**
   * What happens to the stateful resources (table, queues, signing key, log groups, KMS key) when
   * they leave the stack. The default keeps them on stack delete and on replacement, and deletes
   * them when the stack's first create rolls back, so a failed first deploy leaves nothing behind
   * (CloudFormation's `RetainExceptOnCreate`). DESTROY always deletes them.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * DynamoDB deletion protection on the table. Off by default because it would block the rollback
   * of a failed first deploy; turn it on once the stack exists (`-c deletionProtection=true`).
   * @default false
   */
  readonly deletionProtection?: boolean;
  /** Most concurrent sender invocations on the fast lane (2 to 1000); the sender reserves as much. @default LANE_MAPPINGS.fast.maxConcurrency (10) */
  readonly senderMaxConcurrency?: number;
  /** Most concurrent sender invocations on the slow lane (2 to 1000); its sender reserves as much. @default LANE_MAPPINGS.slow.maxConcurrency (5) */
  readonly slowSenderMaxConcurrency?: number;
  /** Throttling of the HTTP API's stage. @default { rateLimit: 100, burstLimit: 200 } */
  readonly apiThrottling?: ApiThrottling;
  /** Alarm when the fast lane's oldest message is older than this (the slow lane's age does not page). @default Duration.hours(1) */
  readonly oldestMessageAgeThreshold?: Duration;
  /** How often the sweeper enqueues webhooks whose next attempt is nearly due. @default Duration.minutes(1) */
  readonly sweepInterval?: Duration;
  /** Prefix of the Secrets Manager names (`<prefix>/organizations/<id>/hmac`, `<prefix>/signing-key`). @default - the stack name */
  readonly secretsPrefix?: string;
  /** Retention of the functions' and the API's CloudWatch log groups. @default RetentionDays.THREE_MONTHS */
  readonly logGroupRetention?: logs.RetentionDays;
}

/**
 * The delivery settings, checked by the parser the functions run at cold start, so a bad value
 * fails `cdk synth` instead of every invocation. The issuer is the API's URL, set once it exists.
 */
function deliveryConfig(props: WebhookStackProps): DeliveryConfig {
  const env = deliveryConfigToEnv({
    retrySchedule: props.retrySchedule ?? [...DELIVERY_DEFAULTS.retrySchedule],
    timeoutMs: props.webhookTimeoutMs ?? DELIVERY_DEFAULTS.timeoutMs,
    allowCidrs: props.allowCidrs ?? [...DELIVERY_DEFAULTS.allowCidrs],
    webhookRetentionDays: props.webhookRetentionDays ?? DELIVERY_DEFAULTS.webhookRetentionDays,
    allowHttp: props.allowHttp ?? DELIVERY_DEFAULTS.allowHttp,
    issuer: '',
    fastLaneMs: DELIVERY_DEFAULTS.fastLaneMs,
    slowAfterMs: DELIVERY_DEFAULTS.slowAfterMs,
    autoDisableAfterSeconds: props.autoDisableAfterSeconds ?? DELIVERY_DEFAULTS.autoDisableAfterSeconds,
  });
  return deliveryConfigFromEnv({ ...env, API_BASE_URL: undefined });
}

/** The whole service: one table, two delivery lanes and their dead-letter queue, the HTTP API, six functions (one serves the web console), the signing key, a dashboard and alarms. */
export class WebhookStack extends Stack {
  readonly table: WebhookTable;
  readonly queues: DeliveryQueues;
  readonly signingKey: SigningKey;
  readonly api: WebhookApi;
  readonly functions: WebhookFunctions;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: WebhookStackProps = {}) {
    super(scope, id, props);
    const config = deliveryConfig(props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    const logRetention = props.logGroupRetention ?? logs.RetentionDays.THREE_MONTHS;
    const secretsPrefix = props.secretsPrefix ?? this.stackName;
    if (!/^[A-Za-z0-9/_+=.@-]+$/.test(secretsPrefix))
      throw new Error(
        `secretsPrefix ${JSON.stringify(secretsPrefix)}: Secrets Manager names allow only letters, digits and /_+=.@-`,
      );

    this.table = new WebhookTable(this, 'Data', {
      removalPolicy,
      deletionProtection: props.deletionProtection ?? false,
    });
    this.queues = new DeliveryQueues(this, 'Queues', {
      timeouts: { timeoutMs: config.timeoutMs, fastLaneMs: config.fastLaneMs },
      removalPolicy,
    });
    this.signingKey = new SigningKey(this, 'SigningKey', { secretsPrefix, removalPolicy, logRetention });
    this.api = new WebhookApi(this, 'Api', { throttling: props.apiThrottling, logRetention, removalPolicy });
    this.functions = new WebhookFunctions(this, 'Functions', {
      table: this.table,
      queues: this.queues,
      signingKey: this.signingKey,
      secretsPrefix,
      config: { ...config, issuer: this.api.url },
      senderMaxConcurrency: { fast: props.senderMaxConcurrency, slow: props.slowSenderMaxConcurrency },
      sweepInterval: props.sweepInterval,
      logRetention,
      removalPolicy,
    });
    this.api.addRoutes(ROUTES, {
      api: this.functions.api,
      admin: this.functions.admin,
      console: this.functions.console,
    });
    const operatorPolicy = new iam.ManagedPolicy(this, 'OperatorPolicy', {
      description: "Attach to the operator's IAM users or roles: calls the /admin/v1 routes of the webhook API",
      statements: [this.api.invokeStatement(ROUTES.filter((route) => route.fn === 'admin'))],
    });
    this.observability = new Observability(this, 'Observability', {
      queues: this.queues,
      functions: {
        Api: this.functions.api,
        Admin: this.functions.admin,
        Sender: this.functions.senders.fast,
        SlowSender: this.functions.senders.slow,
        Sweeper: this.functions.sweeper,
        Console: this.functions.console,
      },
      senders: this.functions.senders,
      extraLogGroups: { SigningKeyProvider: this.signingKey.handler.logGroup },
      table: { table: this.table.table, indexNames: TABLE.indexes.map((index) => index.name) },
      api: { httpApi: this.api.httpApi, stageName: API_STAGE },
      alarmEmail: props.alarmEmail,
      oldestMessageAgeThreshold: props.oldestMessageAgeThreshold,
      removalPolicy,
    });

    new CfnOutput(this, 'ApiUrl', {
      value: this.api.url,
      description: 'Base URL of the API: Lago clients use it as their API URL',
    });
    new CfnOutput(this, 'OperatorPolicyArn', {
      value: operatorPolicy.managedPolicyArn,
      description: 'IAM policy that lets an operator call the /admin/v1 routes',
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.observability.topic.topicArn,
      description: 'SNS topic the alarms notify',
    });
    new CfnOutput(this, 'DashboardName', {
      value: this.observability.dashboard.dashboardName,
      description: 'CloudWatch dashboard of the deliveries, the queues and the functions',
    });
  }
}

/**
 * Stack props from CDK context (`cdk deploy -c alarmEmail=ops@example.com -c retrySchedule=5,300,1800`).
 * Keys: retrySchedule, webhookTimeoutMs, webhookRetentionDays (earlier logRetentionDays, still read), allowCidrs, allowHttp, alarmEmail,
 * removalPolicy (retain|destroy), deletionProtection, senderMaxConcurrency, slowSenderMaxConcurrency, apiRateLimit,
 * apiBurstLimit, oldestMessageAgeAlarmMinutes, sweepIntervalMinutes, secretsPrefix, logGroupRetentionDays,
 * autoDisableAfterSeconds.
 * Values from the command line are strings; cdk.json may hold numbers, booleans and arrays.
 * An unparsable value throws, naming the key.
 */
export function webhookStackPropsFromContext(get: (key: string) => unknown): WebhookStackProps {
  const fail = (key: string, expected: string, value: unknown): never => {
    throw new Error(`context ${key}: expected ${expected}, got ${JSON.stringify(value)}`);
  };
  const string = (key: string): string | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : fail(key, 'a non-empty string', value);
  };
  const list = (key: string): string[] | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    if (Array.isArray(value)) return value.map(String);
    if (typeof value === 'string')
      return value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== '');
    return fail(key, 'a comma-separated list', value);
  };
  const number = (key: string): number | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    const parsed =
      typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
    return Number.isFinite(parsed) ? parsed : fail(key, 'a number', value);
  };
  const boolean = (key: string): boolean | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    return fail(key, 'true or false', value);
  };
  const minutes = (key: string) => {
    const value = number(key);
    return value === undefined ? undefined : Duration.minutes(value);
  };

  const removal = string('removalPolicy')?.toLowerCase();
  const logGroupDays = number('logGroupRetentionDays');
  const rateLimit = number('apiRateLimit');
  const burstLimit = number('apiBurstLimit');
  return {
    retrySchedule: list('retrySchedule')?.map(Number),
    webhookTimeoutMs: number('webhookTimeoutMs'),
    webhookRetentionDays: number('webhookRetentionDays') ?? number('logRetentionDays'),
    allowCidrs: list('allowCidrs'),
    allowHttp: boolean('allowHttp'),
    autoDisableAfterSeconds: number('autoDisableAfterSeconds'),
    alarmEmail: string('alarmEmail'),
    removalPolicy:
      removal === undefined
        ? undefined
        : removal === 'retain'
          ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
          : removal === 'destroy'
            ? RemovalPolicy.DESTROY
            : fail('removalPolicy', 'retain or destroy', removal),
    deletionProtection: boolean('deletionProtection'),
    senderMaxConcurrency: number('senderMaxConcurrency'),
    slowSenderMaxConcurrency: number('slowSenderMaxConcurrency'),
    apiThrottling:
      rateLimit === undefined && burstLimit === undefined
        ? undefined
        : {
            rateLimit: rateLimit ?? DEFAULT_API_THROTTLING.rateLimit,
            burstLimit: burstLimit ?? DEFAULT_API_THROTTLING.burstLimit,
          },
    oldestMessageAgeThreshold: minutes('oldestMessageAgeAlarmMinutes'),
    sweepInterval: minutes('sweepIntervalMinutes'),
    secretsPrefix: string('secretsPrefix'),
    logGroupRetention:
      logGroupDays === undefined
        ? undefined
        : Object.values(logs.RetentionDays).includes(logGroupDays)
          ? (logGroupDays as logs.RetentionDays)
          : fail(
              'logGroupRetentionDays',
              'a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)',
              logGroupDays,
            ),
  };
}
