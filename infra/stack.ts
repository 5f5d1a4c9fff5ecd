import { CfnOutput, Duration, Fn, Stack, type RemovalPolicy, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { deliveryConfigFromEnv, deliveryConfigToEnv } from '#shared/runtime/config.ts';
import { settingsFromContext, settingsFromProps, type ContextSettings } from '#shared/runtime/settings.ts';
import { WebhookApi } from './constructs/api.ts';
import { WebhookTable } from './constructs/data.ts';
import { WebhookFunctions } from './constructs/functions.ts';
import { Observability } from './constructs/observability.ts';
import { DeliveryQueues } from './constructs/queues.ts';
import { SigningKey } from './constructs/signing-key.ts';
import { TABLE } from './definitions.ts';
import { ROUTES } from '#shared/runtime/routes.ts';

/** The HTTP API's one stage (infra/constructs/api.ts), whose metrics the alarms read. */
const API_STAGE = '$default';

/**
 * The stack's settings, named by their CDK context keys, each optional: the delivery settings the
 * functions read (`retrySchedule`, `webhookTimeoutMs`, ...) and the AWS-only ones (`alarmEmail`,
 * `removalPolicy`, ...). Their types, defaults and docs are in shared/runtime/settings.ts
 * (docs/configuration.md lists them). `removalPolicy` takes any RemovalPolicy.
 */
export interface WebhookStackProps extends StackProps, ContextSettings {}

/** The stack's settings from its props, checked; each unset one at its default. */
function stackSettings(props: WebhookStackProps, stackName: string) {
  // Checked by the parser the functions run at cold start, so a bad value fails `cdk synth` instead of every invocation.
  const config = deliveryConfigFromEnv(deliveryConfigToEnv(settingsFromProps('delivery', props)));
  const settings = settingsFromProps('aws', props);
  const secretsPrefix = settings.secretsPrefix ?? stackName;
  if (!/^[A-Za-z0-9/_+=.@-]+$/.test(secretsPrefix))
    throw new Error(
      `secretsPrefix ${JSON.stringify(secretsPrefix)}: Secrets Manager names allow only letters, digits and /_+=.@-`,
    );
  if ((settings.domainName === undefined) !== (settings.certificateArn === undefined))
    throw new Error('domainName and certificateArn go together: a custom domain needs its ACM certificate');
  const customDomain =
    settings.domainName !== undefined && settings.certificateArn !== undefined
      ? { domainName: settings.domainName, certificateArn: settings.certificateArn }
      : undefined;
  return {
    ...settings,
    config,
    customDomain,
    // Unset, the issuer follows the API's URL, known once the API exists.
    issuer: props.issuer,
    secretsPrefix,
    // RemovalPolicy's and RetentionDays' values are the settings' values.
    removalPolicy: settings.removalPolicy as RemovalPolicy,
    logRetention: settings.logGroupRetentionDays as logs.RetentionDays,
  };
}

/** The whole service: one table, two delivery lanes and their dead-letter queue, the HTTP API, seven functions (api, admin, console, a sender per lane, sweeper, signing key), the signing key, a dashboard and alarms. */
export class WebhookStack extends Stack {
  readonly table: WebhookTable;
  readonly queues: DeliveryQueues;
  readonly signingKey: SigningKey;
  readonly api: WebhookApi;
  readonly functions: WebhookFunctions;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: WebhookStackProps = {}) {
    super(scope, id, props);
    const settings = stackSettings(props, this.stackName);
    const { config, removalPolicy, logRetention, secretsPrefix } = settings;

    this.table = new WebhookTable(this, 'Data', {
      removalPolicy,
      deletionProtection: settings.deletionProtection,
    });
    this.queues = new DeliveryQueues(this, 'Queues', {
      timeouts: { timeoutMs: config.timeoutMs, fastLaneMs: config.fastLaneMs },
      removalPolicy,
    });
    this.signingKey = new SigningKey(this, 'SigningKey', { secretsPrefix, removalPolicy, logRetention });
    this.api = new WebhookApi(this, 'Api', {
      throttling: { rateLimit: settings.apiRateLimit, burstLimit: settings.apiBurstLimit },
      operatorThrottling: { rateLimit: settings.adminRateLimit, burstLimit: settings.adminBurstLimit },
      customDomain: settings.customDomain,
      logRetention,
      removalPolicy,
    });
    this.functions = new WebhookFunctions(this, 'Functions', {
      table: this.table,
      queues: this.queues,
      signingKey: this.signingKey,
      secretsPrefix,
      // The sender's share of the slow lane follows the lanes' concurrency, which the stack's context sets.
      config: {
        ...config,
        issuer: settings.issuer ?? this.api.url,
        fastLaneConcurrency: settings.senderMaxConcurrency,
        slowLaneConcurrency: settings.slowSenderMaxConcurrency,
      },
      senderMaxConcurrency: { fast: settings.senderMaxConcurrency, slow: settings.slowSenderMaxConcurrency },
      senderReservedConcurrency: {
        fast: settings.senderReservedConcurrency,
        slow: settings.slowSenderReservedConcurrency,
      },
      sweepInterval: Duration.minutes(settings.sweepIntervalMinutes),
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
    this.observability = this.observe(settings);
    this.addOutputs(operatorPolicy, config.awsDestinationRoles.length > 0);
  }

  /** The dashboard and the alarms, over everything above. */
  private observe(settings: ReturnType<typeof stackSettings>): Observability {
    return new Observability(this, 'Observability', {
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
      alarmEmail: settings.alarmEmail,
      oldestMessageAgeThreshold: Duration.minutes(settings.oldestMessageAgeAlarmMinutes),
      traceSampleRate: settings.traceSampleRate,
      removalPolicy: settings.removalPolicy,
    });
  }

  private addOutputs(operatorPolicy: iam.ManagedPolicy, awsDestinations: boolean): void {
    // The principals of the customers' trust policies (docs/destinations.md), once AWS destinations are on.
    if (awsDestinations)
      new CfnOutput(this, 'SenderRoleArns', {
        value: Fn.join(',', [
          this.functions.senders.fast.executionRole.roleArn,
          this.functions.senders.slow.executionRole.roleArn,
        ]),
        description:
          "The senders' roles, which assume the customers' roles for AWS destinations: their trust policies' principals",
      });
    new CfnOutput(this, 'ApiUrl', {
      value: this.api.url,
      description: 'Base URL of the API: Lago clients use it as their API URL',
    });
    if (this.api.domainTarget)
      new CfnOutput(this, 'DomainTarget', {
        value: this.api.domainTarget,
        description: "Point the custom domain's DNS record (CNAME or alias) at this name",
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
 * Stack props from CDK context (`cdk deploy -c alarmEmail=ops@example.com -c retrySchedule=5,300,1800`),
 * one key per setting with a context key in shared/runtime/settings.ts. Values from the command
 * line are strings; cdk.json may hold numbers, booleans and arrays. An unparsable value throws,
 * naming the key.
 */
export const webhookStackPropsFromContext = (get: (key: string) => unknown): WebhookStackProps =>
  settingsFromContext(get);
