// Covers infra/stack.ts with its default props, synthesized once with the real esbuild bundling: the template CloudFormation gets (queues, table, functions and their exact IAM permissions, HTTP API routes and their authorization, alarms, dashboard), cdk-nag's AWS Solutions checks, and the bundles themselves running on this Node.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, CfnElement, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE, QUEUES, TABLE } from '#infra/definitions.ts';
import { ROUTES, routeKey } from '#infra/routes.ts';
import { WebhookStack } from '#infra/stack.ts';

const CDK_CONTEXT = (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }).context;

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
  DeletionPolicy?: string;
}

let app: App;
let stack: WebhookStack;
let template: Template;
let assemblyDir: string;

beforeAll(() => {
  app = new App({ context: CDK_CONTEXT });
  stack = new WebhookStack(app, 'LagoWebhooks');
  assemblyDir = app.synth().directory;
  template = Template.fromStack(stack);
});

/** The logical id of a construct's CloudFormation resource. */
const id = (construct: IConstruct) => stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
const resources = (type: string) => template.findResources(type) as Record<string, Resource>;
const resource = (logicalId: string) => template.toJSON().Resources[logicalId] as Resource;

/** A template value as readable text, references as <LogicalId> or <LogicalId.Attribute>, the way cdk-nag shows them. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Json;
  if ('Ref' in object) return `<${String(object.Ref)}>`;
  if ('Fn::GetAtt' in object) return `<${(object['Fn::GetAtt'] as string[]).join('.')}>`;
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map(text).join(separator);
  }
  throw new Error(`unexpected template value ${JSON.stringify(value)}`);
}

/** Every "action resource" pair a function's role allows, sorted. */
function permissions(fn: lambda.IFunction): string[] {
  const role = id(fn.role!);
  expect(resource(role).Properties.ManagedPolicyArns).toBeUndefined();
  const policies = Object.values(resources('AWS::IAM::Policy')).filter((policy) => (policy.Properties.Roles as Json[]).some((r) => r.Ref === role));
  return policies
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement)
    .flatMap((statement) => {
      expect(statement.Effect).toBe('Allow');
      expect(statement.Condition).toBeUndefined();
      return [statement.Action].flat().flatMap((action) => [statement.Resource].flat().map((r) => `${String(action)} ${text(r)}`));
    })
    .sort();
}

const ORG_TOKENS = 'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:LagoWebhooks/organizations/*/hmac-??????';
const SIGNING_KEY_PATTERN = 'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:LagoWebhooks/signing-key-??????';

function logWrites(fn: lambda.Function): string[] {
  return ['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => `${action} <${id(fn.logGroup)}.Arn>`);
}

function tableReadWrite(): string[] {
  const table = `<${id(stack.table.table)}.Arn>`;
  return [
    ...['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'].map((action) => `${action} ${table}`),
    ...TABLE.indexes.map((index) => `dynamodb:Query ${table}/index/${index.name}`),
  ];
}

describe('delivery queues', () => {
  it('hide a message for six sender timeouts', () => {
    const sender = resource(id(stack.functions.sender)).Properties;
    expect(sender.Timeout).toBe(30);
    template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 6 * 30, RedrivePolicy: Match.anyValue() });
  });

  it('send a message to the dead-letter queue after the last attempt of the schedule', () => {
    const queue = resource(id(stack.queues.queue)).Properties;
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [id(stack.queues.deadLetterQueue), 'Arn'] }, maxReceiveCount: DEFAULT_RETRY_SCHEDULE.length + 1 });
  });

  it('keep dead letters (14 days) longer than deliveries (4 days)', () => {
    const queue = resource(id(stack.queues.queue)).Properties;
    const deadLetters = resource(id(stack.queues.deadLetterQueue)).Properties;
    expect(queue.MessageRetentionPeriod).toBe(QUEUES.deliveryRetentionSeconds);
    expect(deadLetters.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    expect(deadLetters.MessageRetentionPeriod as number).toBeGreaterThan(queue.MessageRetentionPeriod as number);
  });

  it('are encrypted, refuse requests without TLS and are retained', () => {
    for (const queue of [stack.queues.queue, stack.queues.deadLetterQueue]) {
      expect(resource(id(queue)).Properties.SqsManagedSseEnabled).toBe(true);
      expect(resource(id(queue)).DeletionPolicy).toBe('Retain');
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id(queue) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });
});

describe('table', () => {
  it('has the keys, indexes, TTL and protection of infra/definitions.ts', () => {
    const table = resource(id(stack.table.table));
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: true,
    });
    expect(table.Properties.AttributeDefinitions).toEqual(expect.arrayContaining([{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'log_sk', AttributeType: 'S' }]));
    expect(table.Properties.GlobalSecondaryIndexes).toEqual(
      TABLE.indexes.map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: index.include.length ? { ProjectionType: 'INCLUDE', NonKeyAttributes: index.include } : { ProjectionType: 'KEYS_ONLY' },
      })),
    );
    expect(Object.keys(resources('AWS::DynamoDB::Table'))).toHaveLength(1);
  });
});

describe('functions', () => {
  it('run Node.js 24 on arm64 from ES module bundles, each with its own log group kept 90 days', () => {
    const functions = resources('AWS::Lambda::Function');
    expect(Object.keys(functions)).toHaveLength(6);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
      expect((fn.Properties.Environment as { Variables: Json }).Variables.NODE_OPTIONS).toBe('--enable-source-maps');
      const logGroup = resource(((fn.Properties.LoggingConfig as Json).LogGroup as { Ref: string }).Ref);
      expect(logGroup.Properties.RetentionInDays).toBe(90);
      expect(logGroup.DeletionPolicy).toBe('Retain');
    }
  });

  it('get the table, queues, secrets prefix and delivery settings in their environment', () => {
    const api = `<${id(stack.api.httpApi)}.ApiEndpoint>`;
    for (const fn of [stack.functions.api, stack.functions.admin, stack.functions.sender, stack.functions.sweeper]) {
      const variables = Object.fromEntries(Object.entries((resource(id(fn)).Properties.Environment as { Variables: Json }).Variables).map(([name, value]) => [name, text(value)]));
      expect(variables).toEqual({
        NODE_OPTIONS: '--enable-source-maps',
        TABLE_NAME: `<${id(stack.table.table)}>`,
        QUEUE_URL: `<${id(stack.queues.queue)}>`,
        QUEUE_ARN: `<${id(stack.queues.queue)}.Arn>`,
        DLQ_URL: `<${id(stack.queues.deadLetterQueue)}>`,
        DLQ_ARN: `<${id(stack.queues.deadLetterQueue)}.Arn>`,
        SECRETS_PREFIX: 'LagoWebhooks',
        WEBHOOK_RETRY_SCHEDULE: DEFAULT_RETRY_SCHEDULE.join(','),
        WEBHOOK_TIMEOUT_MS: '15000',
        WEBHOOK_ALLOW_CIDRS: '',
        WEBHOOK_LOG_RETENTION_DAYS: '90',
        WEBHOOK_ALLOW_HTTP: 'false',
        API_BASE_URL: api,
      });
    }
    expect(text(template.toJSON().Outputs.ApiUrl.Value)).toBe(api);
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual(['AlarmTopicArn', 'ApiUrl', 'DashboardName', 'OperatorPolicyArn']);
  });

  it('api: the table, organization tokens and the signing key (read), the delivery queue (send)', () => {
    const fn = stack.functions.api;
    expect(permissions(fn)).toEqual(
      [
        ...logWrites(fn),
        ...tableReadWrite(),
        `secretsmanager:GetSecretValue ${ORG_TOKENS}`,
        `secretsmanager:GetSecretValue <${id(stack.signingKey.node.findChild('Resource'))}.SecretArn>`,
        `sqs:SendMessage <${id(stack.queues.queue)}.Arn>`,
      ].sort(),
    );
  });

  it('admin: the table, organization tokens (create), the delivery queue (send), the dead letters (status and redrive)', () => {
    const fn = stack.functions.admin;
    const deadLetters = `<${id(stack.queues.deadLetterQueue)}.Arn>`;
    expect(permissions(fn)).toEqual(
      [
        ...logWrites(fn),
        ...tableReadWrite(),
        `secretsmanager:CreateSecret ${ORG_TOKENS}`,
        `sqs:SendMessage <${id(stack.queues.queue)}.Arn>`,
        ...['sqs:GetQueueAttributes', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:StartMessageMoveTask', 'sqs:ListMessageMoveTasks'].map((action) => `${action} ${deadLetters}`),
      ].sort(),
    );
  });

  it('sender: the table, both secrets (read), the delivery queue (consume, change visibility), the dead letters (send)', () => {
    const fn = stack.functions.sender;
    const queue = `<${id(stack.queues.queue)}.Arn>`;
    expect(permissions(fn)).toEqual(
      [
        ...logWrites(fn),
        ...tableReadWrite(),
        `secretsmanager:GetSecretValue ${ORG_TOKENS}`,
        `secretsmanager:GetSecretValue <${id(stack.signingKey.node.findChild('Resource'))}.SecretArn>`,
        ...['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'].map((action) => `${action} ${queue}`),
        `sqs:SendMessage <${id(stack.queues.deadLetterQueue)}.Arn>`,
      ].sort(),
    );
  });

  it('console: nothing but its own logs', () => {
    const fn = stack.functions.console;
    expect(permissions(fn)).toEqual(logWrites(fn).sort());
  });

  it('sweeper: the table and the delivery queue (send)', () => {
    const fn = stack.functions.sweeper;
    expect(permissions(fn)).toEqual([...logWrites(fn), ...tableReadWrite(), `sqs:SendMessage <${id(stack.queues.queue)}.Arn>`].sort());
  });

  it('signing key provider: creates and describes its own secret only (no delete while the key is retained)', () => {
    const provider = stack.signingKey.node.findChild('Provider') as lambda.Function;
    expect(permissions(provider)).toEqual([...logWrites(provider), `secretsmanager:CreateSecret ${SIGNING_KEY_PATTERN}`, `secretsmanager:DescribeSecret ${SIGNING_KEY_PATTERN}`].sort());
  });

  it('have no wildcard action, and no wildcard resource but the organization tokens', () => {
    const statements = [...Object.values(resources('AWS::IAM::Policy')), ...Object.values(resources('AWS::IAM::ManagedPolicy'))].flatMap(
      (policy) => (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement,
    );
    for (const statement of statements) {
      for (const action of [statement.Action].flat()) expect(String(action)).not.toContain('*');
      for (const r of [statement.Resource].flat()) {
        if (text(r).includes('*')) expect(text(r)).toBe(ORG_TOKENS);
      }
    }
    for (const role of Object.values(resources('AWS::IAM::Role'))) expect(role.Properties.Policies).toBeUndefined();
  });

  it('sender: consumes the delivery queue in batches of 10, reporting partial batch failures, with bounded concurrency', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: id(stack.functions.sender) },
      EventSourceArn: { 'Fn::GetAtt': [id(stack.queues.queue), 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });

  it('sweeper: runs every 5 minutes', () => {
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [id(stack.functions.sweeper), 'Arn'] } })],
    });
  });
});

describe('signing key', () => {
  it('is created at deploy time by the custom resource, and never written into the template', () => {
    const custom = resources('Custom::WebhookSigningKey');
    expect(Object.values(custom)).toHaveLength(1);
    const [key] = Object.values(custom);
    expect(key!.DeletionPolicy).toBe('Retain');
    expect(key!.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [id(stack.signingKey.node.findChild('Provider')), 'Arn'] },
      ServiceTimeout: '300',
      SecretName: 'LagoWebhooks/signing-key',
    });
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(JSON.stringify(template.toJSON())).not.toMatch(/PRIVATE KEY/);
  });
});

describe('HTTP API', () => {
  it('has one route per entry of ROUTES, to the function it names, and a catch-all to the api function', () => {
    const routes = Object.values(resources('AWS::ApiGatewayV2::Route')).map((route) => route.Properties);
    expect(routes.map((route) => route.RouteKey).sort()).toEqual([...ROUTES.map(routeKey), '$default'].sort());
    const integrations = Object.entries(resources('AWS::ApiGatewayV2::Integration'));
    const functionOf = (target: unknown) => {
      const integrationId = text(target).replace(/^integrations\/<(.*)>$/, '$1');
      const integration = integrations.find(([logicalId]) => logicalId === integrationId)![1];
      return text(integration.Properties.IntegrationUri);
    };
    for (const route of ROUTES) {
      const created = routes.find((r) => r.RouteKey === routeKey(route))!;
      const fn = stack.functions[route.fn];
      expect(functionOf(created.Target)).toBe(`<${id(fn)}.Arn>`);
    }
    expect(functionOf(routes.find((r) => r.RouteKey === '$default')!.Target)).toBe(`<${id(stack.functions.api)}.Arn>`);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
  });

  it('requires SigV4 (IAM) on every /admin route and leaves /api routes to the handler (Bearer key)', () => {
    for (const route of Object.values(resources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties)) {
      if (route.RouteKey === '$default') {
        expect(route.AuthorizationType ?? 'NONE').toBe('NONE');
        continue;
      }
      const path = String(route.RouteKey).split(' ')[1]!;
      if (path.startsWith('/admin/')) expect(route.AuthorizationType).toBe('AWS_IAM');
      else {
        expect(path === '/console' || path.startsWith('/api/v1/') || path.startsWith('/console/')).toBe(true);
        expect(route.AuthorizationType ?? 'NONE').toBe('NONE');
      }
    }
  });

  it('serves the web console from the console function: GET /console and GET /console/{proxy+}, no authorizer', () => {
    const routes = Object.values(resources('AWS::ApiGatewayV2::Route')).map((route) => route.Properties);
    const integrations = resources('AWS::ApiGatewayV2::Integration');
    for (const key of ['GET /console', 'GET /console/{proxy+}']) {
      const route = routes.find((r) => r.RouteKey === key);
      expect(route, key).toBeDefined();
      expect(route!.AuthorizationType ?? 'NONE').toBe('NONE');
      const integration = integrations[text(route!.Target).replace(/^integrations\/<(.*)>$/, '$1')]!;
      expect(text(integration.Properties.IntegrationUri)).toBe(`<${id(stack.functions.console)}.Arn>`);
    }
  });

  it('offers the operator a policy to call exactly the /admin routes', () => {
    const policies = Object.values(resources('AWS::IAM::ManagedPolicy'));
    expect(policies).toHaveLength(1);
    const [statement, ...others] = (policies[0]!.Properties.PolicyDocument as { Statement: Json[] }).Statement;
    expect(others).toEqual([]);
    expect(statement!.Action).toBe('execute-api:Invoke');
    const api = id(stack.api.httpApi);
    expect([statement!.Resource].flat().map(text).sort()).toEqual(
      ROUTES.filter((route) => route.fn === 'admin')
        .map((route) => `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${api}>/$default/${route.method}${route.path}`)
        .sort(),
    );
    expect(policies[0]!.Properties.Roles ?? policies[0]!.Properties.Users ?? []).toEqual([]);
  });

  it('logs every request as JSON to a log group and throttles the $default stage', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    const [stage] = Object.values(resources('AWS::ApiGatewayV2::Stage'));
    expect(stage!.Properties).toMatchObject({ StageName: '$default', AutoDeploy: true, DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 } });
    const accessLogs = stage!.Properties.AccessLogSettings as { DestinationArn: unknown; Format: string };
    expect(resource(text(accessLogs.DestinationArn).replace(/^<(.*)\.Arn>$/, '$1')).Type).toBe('AWS::Logs::LogGroup');
    const format = JSON.parse(accessLogs.Format) as Json;
    expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey', status: '$context.status' });
    expect(accessLogs.Format).not.toMatch(/authorization|header/i);
  });
});

describe('observability', () => {
  it('alarms on dead letters, the oldest message, exhausted webhooks and each function\'s errors, all notifying the topic', () => {
    const alarms = Object.values(resources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties);
    const topic = { Ref: id(stack.observability.topic) };
    expect(alarms).toHaveLength(7);
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([topic]);
      expect(alarm.OKActions).toEqual([topic]);
      expect(alarm.ComparisonOperator).toBe('GreaterThanThreshold');
    }
    const queueName = (queue: IConstruct) => [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(queue), 'QueueName'] } }];
    expect(alarms).toContainEqual(expect.objectContaining({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: queueName(stack.queues.deadLetterQueue), Threshold: 0 }));
    expect(alarms).toContainEqual(expect.objectContaining({ Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Dimensions: queueName(stack.queues.queue), Threshold: 3600 }));
    expect(alarms).toContainEqual(expect.objectContaining({ Namespace: 'LagoWebhooks', MetricName: 'WebhooksExhausted', Statistic: 'Sum', Threshold: 0 }));
    expect(alarms.find((alarm) => alarm.MetricName === 'WebhooksExhausted')!.Dimensions).toBeUndefined();
    for (const fn of [stack.functions.api, stack.functions.admin, stack.functions.sender, stack.functions.sweeper]) {
      expect(alarms).toContainEqual(expect.objectContaining({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(fn) } }], Threshold: 0 }));
    }
  });

  it('notifies an SNS topic encrypted with a rotated KMS key, TLS only, with no subscription unless asked', () => {
    const topic = resource(id(stack.observability.topic)).Properties;
    const keyId = text(topic.KmsMasterKeyId).replace(/^<(.*)\.Arn>$/, '$1');
    expect(resource(keyId)).toMatchObject({ Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true } });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        ]),
      },
    });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('charts the delivery metrics, the queues and the functions on a dashboard', () => {
    const [dashboard] = Object.values(resources('AWS::CloudWatch::Dashboard'));
    const body = text(dashboard!.Properties.DashboardBody);
    for (const metric of ['WebhooksPublished', 'DeliveriesSucceeded', 'DeliveryAttemptsFailed', 'WebhooksExhausted', 'EndpointResponseTime']) {
      expect(body).toContain(`"LagoWebhooks","${metric}"`);
    }
    for (const metric of ['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage', 'Errors', 'Throttles', 'Duration']) expect(body).toContain(`"${metric}"`);
  });
});

describe('cdk-nag', () => {
  it('finds nothing in the AWS Solutions checks that is not acknowledged', () => {
    const report = new AwsSolutionsChecks(app, { verbose: true }).validateScope(stack);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  it('acknowledges only APIG4 on the /api and /console routes and the catch-all, and IAM5 for the organization tokens, each with a reason', () => {
    const acknowledged: string[] = [];
    const visit = (construct: IConstruct) => {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [rule, reason] of Object.entries(entry.data as Record<string, string>)) {
          expect(reason.length).toBeGreaterThan(40);
          acknowledged.push(`${construct.node.path} ${rule.replace(/^annotation::/i, '')}`);
        }
      }
      construct.node.children.forEach(visit);
    };
    visit(stack);
    const apiRoutes = ROUTES.filter((route) => route.fn !== 'admin').map((route) => `LagoWebhooks/Api/HttpApi/${route.method}${route.path.replaceAll('/', '--')} AwsSolutions-APIG4`);
    const tokenReaders = ['Api', 'Admin', 'Sender'].map((fn) => `LagoWebhooks/Functions/${fn}Role AwsSolutions-IAM5[Resource::${ORG_TOKENS}]`);
    expect(acknowledged.sort()).toEqual([...apiRoutes, 'LagoWebhooks/Api/DefaultRoute AwsSolutions-APIG4', ...tokenReaders].sort());
  });
});

describe('bundles', () => {
  const bundleOf = (fn: lambda.IFunction) => {
    const key = text((resource(id(fn)).Properties.Code as Json).S3Key);
    return join(assemblyDir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs');
  };

  it('are ES modules with source maps, one per handler', () => {
    for (const fn of [stack.functions.api, stack.functions.admin, stack.functions.sender, stack.functions.sweeper, stack.functions.console, stack.signingKey.node.findChild('Provider') as lambda.IFunction]) {
      const bundle = bundleOf(fn);
      expect(existsSync(bundle)).toBe(true);
      expect(existsSync(`${bundle}.map`)).toBe(true);
      // The package.json "imports" aliases are resolved by esbuild, not left for the runtime.
      expect(readFileSync(bundle, 'utf8')).not.toMatch(/["']#(shared|infra|functions)\//);
    }
  });

  it('console: the bundle carries the built console and serves it with its security headers', () => {
    const bundle = bundleOf(stack.functions.console);
    expect(readFileSync(join(bundle, '..', 'console', 'index.html'), 'utf8')).toContain('<div id="app">');
    const script = `
      const console = await import(${JSON.stringify(pathToFileURL(bundle).href)});
      const page = await console.handler({ version: '2.0', routeKey: 'GET /console/{proxy+}', rawPath: '/console/', headers: {}, requestContext: { requestId: 'r1' } });
      const bare = await console.handler({ version: '2.0', routeKey: 'GET /console', rawPath: '/console', headers: {}, requestContext: { requestId: 'r2' } });
      process.stdout.write(JSON.stringify({ page, bare }));`;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    const { page, bare } = JSON.parse(output) as Record<'page' | 'bare', { statusCode: number; headers: Record<string, string>; body: string }>;
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<div id="app">');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(bare).toMatchObject({ statusCode: 301, headers: { location: '/console/' } });
  });

  it('load and answer on Node 24, with only their environment: the api refuses a request without a key in Lago\'s shape, the sender takes an empty batch', () => {
    const script = `
      const api = await import(${JSON.stringify(pathToFileURL(bundleOf(stack.functions.api)).href)});
      const sender = await import(${JSON.stringify(pathToFileURL(bundleOf(stack.functions.sender)).href)});
      const refused = await api.handler({ version: '2.0', routeKey: 'GET /api/v1/webhook_endpoints', rawPath: '/api/v1/webhook_endpoints', headers: {}, requestContext: { requestId: 'r1' } });
      const batch = await sender.handler({ Records: [] });
      process.stdout.write(JSON.stringify({ node: process.versions.node, refused, batch }));`;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'eu-west-1',
        LOG_LEVEL: 'silent',
        TABLE_NAME: 'webhooks',
        QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/deliveries',
        DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dead-letters',
        SECRETS_PREFIX: 'LagoWebhooks',
      },
    });
    const { node, refused, batch } = JSON.parse(output) as { node: string; refused: { statusCode: number; body: string }; batch: unknown };
    expect(node.split('.')[0]).toBe('24');
    expect(refused.statusCode).toBe(401);
    expect(JSON.parse(refused.body)).toEqual({ status: 401, error: 'Unauthorized' });
    expect(batch).toEqual({ batchItemFailures: [] });
  });
});
