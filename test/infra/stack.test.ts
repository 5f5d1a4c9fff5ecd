// Covers infra/stack.ts with its default props, synthesized once without bundling (test/infra/bundles.test.ts builds the bundles): the template CloudFormation gets (both delivery lanes and their dead-letter queue, the table, the functions with their exact IAM permissions, event source mappings and their maximum concurrency (no reservation), the HTTP API, removal policies, alarms, metric filters and the dashboard) and cdk-nag's AWS Solutions checks.
import { readFileSync } from 'node:fs';
import { App, CfnElement, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE } from '#infra/definitions.ts';
import { ROUTES, routeKey } from '#shared/runtime/routes.ts';
import { WebhookStack } from '#infra/stack.ts';
import {
  DEAD_LETTER_RETENTION_SECONDS,
  DELIVERY_RETENTION_SECONDS,
  LANE_MAPPINGS,
  LANES,
  POISON_RECEIVE_COUNT,
  type Lane,
} from '#shared/domain/delivery/policy.ts';
import { DEFAULT_RETRY_SCHEDULE } from '#shared/domain/delivery/retry-schedule.ts';
import type { DerivedKeySecret } from '#shared/domain/keys/provisioning.ts';

const CDK_CONTEXT = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }
).context;
/** Assets are not built: these tests only read the template. */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  DependsOn?: string[];
}

let app: App;
let stack: WebhookStack;
let template: Template;

beforeAll(() => {
  app = new App({ context: { ...CDK_CONTEXT, ...NO_BUNDLING } });
  stack = new WebhookStack(app, 'LagoWebhooks');
  template = Template.fromStack(stack);
});

/** The logical id of a construct's CloudFormation resource. */
const id = (construct: IConstruct) => stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
const resources = (type: string) => template.findResources(type) as Record<string, Resource>;
const resource = (logicalId: string) => template.toJSON().Resources[logicalId] as Resource;

/** A template value as readable text, references as <LogicalId> or <LogicalId.Attribute>, the way cdk-nag shows them. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
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
  const policies = Object.values(resources('AWS::IAM::Policy')).filter((policy) =>
    (policy.Properties.Roles as Json[]).some((r) => r.Ref === role),
  );
  return policies
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement)
    .flatMap((statement) => {
      expect(statement.Effect).toBe('Allow');
      expect(statement.Condition).toBeUndefined();
      return [statement.Action]
        .flat()
        .flatMap((action) => [statement.Resource].flat().map((r) => `${String(action)} ${text(r)}`));
    })
    .sort();
}

const ORG_TOKENS =
  'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:LagoWebhooks/organizations/*/hmac-??????';
const SECRET = 'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:LagoWebhooks';
const SIGNING_KEY_PATTERN = `${SECRET}/signing-key-??????`;
/** The signing key's and the rings' names, as the custom resources' handler may create them. */
const KEY_SECRET_PATTERNS = [
  SIGNING_KEY_PATTERN,
  `${SECRET}/keys/signing-public-??????`,
  `${SECRET}/keys/hmac-root-??????`,
  `${SECRET}/keys/seal-??????`,
];
const DEFAULT_BUS_PUT = 'events:PutEvents arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/default';
const CONSUME = [
  'sqs:ReceiveMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:GetQueueUrl',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
];

const allFunctions = () => [
  stack.functions.api,
  stack.functions.admin,
  stack.functions.senders.fast,
  stack.functions.senders.slow,
  stack.functions.sweeper,
];
/** Every function the dashboard and alarms watch: the above and the console's. */
const watchedFunctions = () => [...allFunctions(), stack.functions.console];
/** The provider framework's function, the signing key's service token: it calls the signing key's handler. */
const framework = () => stack.signingKey.provider.node.findChild('framework-onEvent') as lambda.Function;
const laneArn = (lane: Lane) => `<${id(stack.queues.lanes[lane])}.Arn>`;
/** A key ring's secret, by the ARN its custom resource answers. */
const ring = (name: DerivedKeySecret) => `<${id(stack.signingKey.keyrings[name])}.SecretArn>`;
const sendToLanes = () => LANES.map((lane) => `sqs:SendMessage ${laneArn(lane)}`);

/** Its log group, and its X-Ray traces (active tracing: actions without resource-level permissions). */
function logAndTraceWrites(fn: lambda.Function): string[] {
  return [
    ...['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => `${action} <${id(fn.logGroup)}.Arn>`),
    ...XRAY_WRITES,
  ];
}

const XRAY_WRITES = ['xray:PutTelemetryRecords *', 'xray:PutTraceSegments *'];

function tableReadWrite(): string[] {
  return tableGrants([
    'dynamodb:BatchGetItem',
    'dynamodb:BatchWriteItem',
    'dynamodb:DeleteItem',
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:Query',
    'dynamodb:UpdateItem',
  ]);
}

/** Reads, puts and updates: what the senders and the sweeper call (no delete, no batch write). */
function tableReadUpdate(): string[] {
  return tableGrants([
    'dynamodb:BatchGetItem',
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:Query',
    'dynamodb:UpdateItem',
  ]);
}

function tableGrants(actions: string[]): string[] {
  const table = `<${id(stack.table.table)}.Arn>`;
  return [
    ...actions.map((action) => `${action} ${table}`),
    ...TABLE.indexes.map((index) => `dynamodb:Query ${table}/index/${index.name}`),
  ];
}

describe('delivery lanes', () => {
  it('hide a message for six timeouts of the sender that consumes the lane', () => {
    const timeouts = LANES.map((lane) => resource(id(stack.functions.senders[lane])).Properties.Timeout as number);
    for (const [index, lane] of LANES.entries())
      expect(resource(id(stack.queues.lanes[lane])).Properties.VisibilityTimeout).toBe(6 * timeouts[index]!);
    // The fast lane's attempts are cut short (then handed to the slow lane); the slow lane runs the full 15 s attempt plus bookkeeping.
    expect(resource(id(stack.functions.senders.slow)).Properties.Timeout).toBe(30);
    expect(timeouts[0]!).toBeLessThan(timeouts[1]!);
  });

  it('move a message to the shared dead-letter queue after POISON_RECEIVE_COUNT (5) receives, whatever the retry schedule', () => {
    expect(POISON_RECEIVE_COUNT).toBe(5);
    for (const lane of LANES) {
      expect(resource(id(stack.queues.lanes[lane])).Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [id(stack.queues.deadLetterQueue), 'Arn'] },
        maxReceiveCount: 5,
      });
    }
    template.resourceCountIs('AWS::SQS::Queue', 3);
  });

  it("keep deliveries and dead letters 14 days, SQS's longest: a billing run's backlog may wait long in a lane", () => {
    const deadLetters = resource(id(stack.queues.deadLetterQueue)).Properties;
    for (const lane of LANES)
      expect(resource(id(stack.queues.lanes[lane])).Properties.MessageRetentionPeriod).toBe(DELIVERY_RETENTION_SECONDS);
    expect(deadLetters.MessageRetentionPeriod).toBe(DEAD_LETTER_RETENTION_SECONDS);
    expect(DELIVERY_RETENTION_SECONDS).toBe(14 * 24 * 3600);
    expect(DEAD_LETTER_RETENTION_SECONDS).toBe(14 * 24 * 3600);
  });

  it('are encrypted and refuse requests without TLS', () => {
    for (const queue of [stack.queues.lanes.fast, stack.queues.lanes.slow, stack.queues.deadLetterQueue]) {
      expect(resource(id(queue)).Properties.SqsManagedSseEnabled).toBe(true);
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id(queue) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });
});

describe('removal policies', () => {
  it('keep every stateful resource on stack delete and replacement, and delete it when the first create rolls back (RetainExceptOnCreate)', () => {
    const stateful = [
      'AWS::DynamoDB::Table',
      'AWS::SQS::Queue',
      'AWS::Logs::LogGroup',
      'AWS::KMS::Key',
      'Custom::WebhookSigningKey',
    ];
    for (const type of stateful) {
      const found = Object.values(resources(type));
      expect(found.length).toBeGreaterThan(0);
      for (const r of found)
        expect({ type, deletion: r.DeletionPolicy, replace: r.UpdateReplacePolicy }).toEqual({
          type,
          deletion: 'RetainExceptOnCreate',
          replace: 'Retain',
        });
    }
    // 7 function log groups (console included), the signing key's provider framework's and the API's access logs.
    expect(Object.keys(resources('AWS::Logs::LogGroup'))).toHaveLength(9);
  });

  it('leave the table without deletion protection, which would block the rollback of a failed first create', () => {
    expect(resource(id(stack.table.table)).Properties.DeletionProtectionEnabled).toBe(false);
  });
});

describe('table', () => {
  it('has the keys, indexes and TTL of infra/definitions.ts', () => {
    const table = resource(id(stack.table.table));
    expect(table.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(table.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'fo', AttributeType: 'S' },
        { AttributeName: 'due_pk', AttributeType: 'S' },
      ]),
    );
    expect(table.Properties.GlobalSecondaryIndexes).toEqual(
      TABLE.indexes.map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: index.include.length
          ? { ProjectionType: 'INCLUDE', NonKeyAttributes: index.include }
          : { ProjectionType: 'KEYS_ONLY' },
      })),
    );
    expect(Object.keys(resources('AWS::DynamoDB::Table'))).toHaveLength(1);
  });
});

describe('functions', () => {
  it('run Node.js 24 on arm64 with active X-Ray tracing, each with its own log group kept 90 days and the stack name for its metrics', () => {
    const functions = Object.entries(resources('AWS::Lambda::Function')).filter(
      ([logicalId]) => logicalId !== id(framework()),
    );
    // api, admin, a sender per lane, sweeper, console, and the signing key's handler.
    expect(functions).toHaveLength(7);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
      });
      expect((fn.Properties.Environment as { Variables: Json }).Variables).toMatchObject({
        NODE_OPTIONS: '--enable-source-maps',
        STACK_NAME: 'LagoWebhooks',
      });
      const logGroup = resource(((fn.Properties.LoggingConfig as Json).LogGroup as { Ref: string }).Ref);
      expect(logGroup.Properties.RetentionInDays).toBe(90);
    }
  });

  it('get the table, both lanes, the dead-letter queue, the secrets prefix and the delivery settings in their environment; each sender its lane', () => {
    const api = `<${id(stack.api.httpApi)}.ApiEndpoint>`;
    for (const fn of allFunctions()) {
      const variables = Object.fromEntries(
        Object.entries((resource(id(fn)).Properties.Environment as { Variables: Json }).Variables).map(
          ([name, value]) => [name, text(value)],
        ),
      );
      expect(variables).toMatchObject({
        STACK_NAME: 'LagoWebhooks',
        TABLE_NAME: `<${id(stack.table.table)}>`,
        QUEUE_URL: `<${id(stack.queues.lanes.fast)}>`,
        QUEUE_ARN: `<${id(stack.queues.lanes.fast)}.Arn>`,
        SLOW_QUEUE_URL: `<${id(stack.queues.lanes.slow)}>`,
        DLQ_URL: `<${id(stack.queues.deadLetterQueue)}>`,
        DLQ_ARN: `<${id(stack.queues.deadLetterQueue)}.Arn>`,
        SECRETS_PREFIX: 'LagoWebhooks',
        WEBHOOK_RETRY_SCHEDULE: DEFAULT_RETRY_SCHEDULE.join(','),
        WEBHOOK_TIMEOUT_MS: '15000',
        WEBHOOK_ALLOW_CIDRS: '',
        WEBHOOK_RETENTION_DAYS: '90',
        WEBHOOK_ALLOW_HTTP: 'false',
        API_BASE_URL: api,
      });
      const lane = LANES.find((l) => stack.functions.senders[l] === fn);
      expect(variables.LANE).toBe(lane);
    }
    expect(text(template.toJSON().Outputs.ApiUrl.Value)).toBe(api);
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual([
      'AlarmTopicArn',
      'ApiUrl',
      'DashboardName',
      'OperatorPolicyArn',
    ]);
  });

  it("api: the table, the public signing keys, HMAC roots and seal keys (read), older organizations' token secrets (read, delete once moved), both lanes (send)", () => {
    const fn = stack.functions.api;
    expect(permissions(fn)).toEqual(
      [
        ...logAndTraceWrites(fn),
        ...tableReadWrite(),
        `secretsmanager:GetSecretValue ${ORG_TOKENS}`,
        `secretsmanager:DeleteSecret ${ORG_TOKENS}`,
        `secretsmanager:GetSecretValue ${ring('signing-public')}`,
        `secretsmanager:GetSecretValue ${ring('hmac-root')}`,
        `secretsmanager:GetSecretValue ${ring('seal')}`,
        ...sendToLanes(),
      ].sort(),
    );
  });

  it('api, internet-facing, cannot read the private signing key: only the senders (and the handler that makes the rings from it) can', () => {
    const privateKey = `<${id(stack.signingKey.resource)}.SecretArn>`;
    const readers = [...allFunctions(), stack.functions.console, stack.signingKey.handler, framework()].filter((fn) =>
      permissions(fn).some(
        (p) =>
          p.startsWith('secretsmanager:GetSecretValue ') && (p.endsWith(privateKey) || p.endsWith(SIGNING_KEY_PATTERN)),
      ),
    );
    expect(readers).toEqual([stack.functions.senders.fast, stack.functions.senders.slow, stack.signingKey.handler]);
    expect(permissions(stack.functions.api).filter((p) => p.includes('signing-key'))).toEqual([]);
  });

  it('admin: the table, the HMAC roots (a new organization takes the current one), both lanes (send), the dead letters (status and redrive)', () => {
    const fn = stack.functions.admin;
    const deadLetters = `<${id(stack.queues.deadLetterQueue)}.Arn>`;
    expect(permissions(fn)).toEqual(
      [
        ...logAndTraceWrites(fn),
        ...tableReadWrite(),
        `secretsmanager:GetSecretValue ${ring('hmac-root')}`,
        ...sendToLanes(),
        ...[
          'sqs:GetQueueAttributes',
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:StartMessageMoveTask',
          'sqs:ListMessageMoveTasks',
        ].map((action) => `${action} ${deadLetters}`),
      ].sort(),
    );
  });

  it("senders: the table (read, put, update), the private signing key, HMAC roots and seal keys (read), older organizations' token secrets (read, delete once moved), their own lane (consume, as the event source grants), both lanes and the dead letters (send), operational events on the default bus, nothing more", () => {
    for (const lane of LANES) {
      const fn = stack.functions.senders[lane];
      expect(permissions(fn)).toEqual(
        [
          ...logAndTraceWrites(fn),
          ...tableReadUpdate(),
          `secretsmanager:GetSecretValue ${ORG_TOKENS}`,
          `secretsmanager:DeleteSecret ${ORG_TOKENS}`,
          `secretsmanager:GetSecretValue <${id(stack.signingKey.resource)}.SecretArn>`,
          `secretsmanager:GetSecretValue ${ring('hmac-root')}`,
          `secretsmanager:GetSecretValue ${ring('seal')}`,
          ...CONSUME.map((action) => `${action} ${laneArn(lane)}`),
          ...sendToLanes(),
          `sqs:SendMessage <${id(stack.queues.deadLetterQueue)}.Arn>`,
          DEFAULT_BUS_PUT,
        ].sort(),
      );
      // A retry is a new message, never a held one: visibility changes stay within the event source's own grant.
      expect(permissions(fn).filter((p) => p.startsWith('sqs:ChangeMessageVisibility'))).toEqual([
        `sqs:ChangeMessageVisibility ${laneArn(lane)}`,
      ]);
    }
  });

  it('only the senders may put events, and only on the default bus', () => {
    const putters = [...allFunctions(), stack.functions.console, stack.signingKey.handler, framework()].filter((fn) =>
      permissions(fn).some((p) => p.startsWith('events:')),
    );
    expect(putters).toEqual([stack.functions.senders.fast, stack.functions.senders.slow]);
    for (const fn of putters) expect(permissions(fn).filter((p) => p.startsWith('events:'))).toEqual([DEFAULT_BUS_PUT]);
  });

  it('console: nothing but its own logs', () => {
    const fn = stack.functions.console;
    expect(permissions(fn)).toEqual(logAndTraceWrites(fn).sort());
  });

  it('sweeper: the table (read, put, update) and both lanes (send)', () => {
    const fn = stack.functions.sweeper;
    expect(permissions(fn)).toEqual([...logAndTraceWrites(fn), ...tableReadUpdate(), ...sendToLanes()].sort());
  });

  it('signing key handler: creates, describes, restores (when scheduled for deletion) and deletes its own secrets only (the delete for the rollback of a failed first create), and reads the signing key the rings are made from', () => {
    const handler = stack.signingKey.handler;
    expect(permissions(handler)).toEqual(
      [
        ...logAndTraceWrites(handler),
        ...['CreateSecret', 'DescribeSecret', 'RestoreSecret', 'DeleteSecret'].flatMap((action) =>
          KEY_SECRET_PATTERNS.map((pattern) => `secretsmanager:${action} ${pattern}`),
        ),
        `secretsmanager:GetSecretValue ${SIGNING_KEY_PATTERN}`,
      ].sort(),
    );
  });

  it('signing key provider framework: writes its own logs and invokes the signing key handler (its versions and aliases too, as the framework grants), nothing more', () => {
    const fn = framework();
    const handler = `<${id(stack.signingKey.handler)}.Arn>`;
    expect(permissions(fn)).toEqual(
      [
        ...['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => `${action} <${id(fn.logGroup)}.Arn>`),
        `lambda:InvokeFunction ${handler}`,
        `lambda:InvokeFunction ${handler}:*`,
        `lambda:GetFunction ${handler}`,
      ].sort(),
    );
  });

  it("have no wildcard action, and no wildcard resource but the organization tokens, X-Ray's and the signing key handler's versions (the provider framework's invoke)", () => {
    const statements = [
      ...Object.values(resources('AWS::IAM::Policy')),
      ...Object.values(resources('AWS::IAM::ManagedPolicy')),
    ].flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement);
    for (const statement of statements) {
      for (const action of [statement.Action].flat()) expect(String(action)).not.toContain('*');
      for (const r of [statement.Resource].flat()) {
        if (text(r) === '*')
          expect([statement.Action].flat().map(String).sort()).toEqual([
            'xray:PutTelemetryRecords',
            'xray:PutTraceSegments',
          ]);
        else if (text(r) === `<${id(stack.signingKey.handler)}.Arn>:*`)
          expect(statement.Action).toBe('lambda:InvokeFunction');
        else if (text(r).includes('*')) expect(text(r)).toBe(ORG_TOKENS);
      }
    }
    for (const role of Object.values(resources('AWS::IAM::Role'))) expect(role.Properties.Policies).toBeUndefined();
  });

  it('senders: each consumes its lane with the batch size and maximum concurrency of LANE_MAPPINGS, reporting partial batch failures', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    for (const lane of LANES) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: id(stack.functions.senders[lane]) },
        EventSourceArn: { 'Fn::GetAtt': [id(stack.queues.lanes[lane]), 'Arn'] },
        BatchSize: LANE_MAPPINGS[lane].batchSize,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: LANE_MAPPINGS[lane].maxConcurrency },
      });
    }
  });

  it("reserve no concurrency by default: a reservation that leaves the account under 100 unreserved fails the first deploy, and the mapping's maximum concurrency caps each sender", () => {
    for (const fn of Object.values(resources('AWS::Lambda::Function')))
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('sweeper: runs every minute, never retried, and a sweep queued longer than the interval is dropped, so sweeps never pile up', () => {
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [id(stack.functions.sweeper), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        }),
      ],
    });
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: id(stack.functions.sweeper) },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });
});

describe('signing key', () => {
  it("is created at deploy time by the custom resource, served by CDK's provider framework, and never written into the template", () => {
    const custom = resources('Custom::WebhookSigningKey');
    expect(Object.values(custom)).toHaveLength(1);
    const [key] = Object.values(custom);
    expect(key!.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [id(framework()), 'Arn'] },
      ServiceTimeout: '300',
      SecretName: 'LagoWebhooks/signing-key',
    });
    expect(resource(id(framework().logGroup)).Properties.RetentionInDays).toBe(90);
    expect((resource(id(framework())).Properties.Environment as { Variables: Json }).Variables).toEqual({
      USER_ON_EVENT_FUNCTION_ARN: { 'Fn::GetAtt': [id(stack.signingKey.handler), 'Arn'] },
    });
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(JSON.stringify(template.toJSON())).not.toMatch(/PRIVATE KEY/);
  });

  it('has the public keys, the HMAC roots and the seal keys made from it by new resources on the same provider, after it', () => {
    const rings = resources('Custom::WebhookKeyring');
    expect(Object.keys(rings).sort()).toEqual(
      (['signing-public', 'hmac-root', 'seal'] as const).map((name) => id(stack.signingKey.keyrings[name])).sort(),
    );
    for (const [name, resource] of Object.entries(stack.signingKey.keyrings)) {
      const ringResource = rings[id(resource)]!;
      expect(ringResource.Properties).toEqual({
        ServiceToken: { 'Fn::GetAtt': [id(framework()), 'Arn'] },
        ServiceTimeout: '300',
        Keyring: name,
        SecretName: `LagoWebhooks/keys/${name}`,
        SigningKeySecretName: 'LagoWebhooks/signing-key',
      });
      expect(ringResource.DependsOn).toContain(id(stack.signingKey.resource));
    }
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
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
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

  it('serves the OpenAPI document and test events from the api function: GET /api/v1/openapi.json (public) and POST .../test, no authorizer', () => {
    const routes = Object.values(resources('AWS::ApiGatewayV2::Route')).map((route) => route.Properties);
    const integrations = resources('AWS::ApiGatewayV2::Integration');
    for (const key of ['GET /api/v1/openapi.json', 'POST /api/v1/webhook_endpoints/{lago_id}/test']) {
      const route = routes.find((r) => r.RouteKey === key);
      expect(route, key).toBeDefined();
      expect(route!.AuthorizationType ?? 'NONE').toBe('NONE');
      const integration = integrations[text(route!.Target).replace(/^integrations\/<(.*)>$/, '$1')]!;
      expect(text(integration.Properties.IntegrationUri)).toBe(`<${id(stack.functions.api)}.Arn>`);
    }
    // Only the document is public; the handler checks the API key on every other /api route.
    expect(ROUTES.filter((route) => route.public).map(routeKey)).toEqual(['GET /api/v1/openapi.json']);
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
        .map(
          (route) =>
            `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${api}>/$default/${route.method}${route.path}`,
        )
        .sort(),
    );
    expect(policies[0]!.Properties.Roles ?? policies[0]!.Properties.Users ?? []).toEqual([]);
  });

  it('throttles each operator route on its own (route settings), apart from the stage throttle the public routes share, once the routes exist', () => {
    const [logicalId, stage] = Object.entries(template.findResources('AWS::ApiGatewayV2::Stage'))[0]!;
    const operatorKeys = ROUTES.filter((route) => route.fn === 'admin').map(routeKey);
    expect(Object.keys(stage.Properties.RouteSettings as Json).sort()).toEqual([...operatorKeys].sort());
    for (const key of operatorKeys)
      expect((stage.Properties.RouteSettings as Json)[key]).toEqual({
        ThrottlingRateLimit: 100,
        ThrottlingBurstLimit: 200,
      });
    const routeIds = Object.entries(resources('AWS::ApiGatewayV2::Route'))
      .filter(([, route]) => operatorKeys.includes(String(route.Properties.RouteKey)))
      .map(([routeId]) => routeId);
    expect(routeIds).toHaveLength(operatorKeys.length);
    expect(resource(logicalId) as unknown as { DependsOn: string[] }).toMatchObject({
      DependsOn: expect.arrayContaining(routeIds) as unknown,
    });
  });

  it('logs every request as JSON to a log group and throttles the $default stage', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    const [stage] = Object.values(resources('AWS::ApiGatewayV2::Stage'));
    expect(stage!.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
    });
    const accessLogs = stage!.Properties.AccessLogSettings as { DestinationArn: unknown; Format: string };
    expect(resource(text(accessLogs.DestinationArn).replace(/^<(.*)\.Arn>$/, '$1')).Type).toBe('AWS::Logs::LogGroup');
    const format = JSON.parse(accessLogs.Format) as Json;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
    });
    expect(accessLogs.Format).not.toMatch(/authorization|header/i);
  });
});

describe('observability', () => {
  /** One metric an alarm reads, simple or inside its metric math, with its dimensions as text. */
  interface AlarmMetric {
    namespace: string;
    name: string;
    dimensions: Record<string, string>;
    statistic: string;
    period: number;
  }
  interface Alarm {
    id: string;
    properties: Json;
    /** The metrics it reads (one, or those its expression sums). */
    metrics: AlarmMetric[];
    expression?: string;
  }
  const dimensions = (list: unknown) =>
    Object.fromEntries(((list ?? []) as { Name: string; Value: unknown }[]).map((d) => [d.Name, text(d.Value)]));
  const alarms = (): Alarm[] =>
    Object.entries(resources('AWS::CloudWatch::Alarm')).map(([logicalId, alarm]) => {
      const p = alarm.Properties;
      if (p.MetricName !== undefined) {
        return {
          id: logicalId,
          properties: p,
          metrics: [
            {
              namespace: String(p.Namespace),
              name: String(p.MetricName),
              dimensions: dimensions(p.Dimensions),
              statistic: String(p.Statistic ?? p.ExtendedStatistic),
              period: p.Period as number,
            },
          ],
        };
      }
      const queries = p.Metrics as {
        Id: string;
        Expression?: string;
        MetricStat?: {
          Metric: { Namespace: string; MetricName: string; Dimensions: unknown };
          Period: number;
          Stat: string;
        };
      }[];
      return {
        id: logicalId,
        properties: p,
        expression: queries.find((q) => q.Expression !== undefined)!.Expression,
        metrics: queries
          .filter((q) => q.MetricStat !== undefined)
          .map((q) => ({
            namespace: q.MetricStat!.Metric.Namespace,
            name: q.MetricStat!.Metric.MetricName,
            dimensions: dimensions(q.MetricStat!.Metric.Dimensions),
            statistic: q.MetricStat!.Stat,
            period: q.MetricStat!.Period,
          })),
      };
    });
  /** The alarm whose construct id is `name` (logical ids add the construct path and a hash). */
  const alarm = (name: string): Alarm => {
    const found = alarms().filter((a) => new RegExp(`^Observability${name}[0-9A-F]{8}$`).test(a.id));
    expect(found, name).toHaveLength(1);
    return found[0]!;
  };
  const queueName = (queue: IConstruct) => ({ QueueName: `<${id(queue)}.QueueName>` });
  const STACK = { Stack: 'LagoWebhooks' };

  it('every alarm notifies the topic when it fires and when it recovers, says what to do, and reads no data as nothing happened', () => {
    const topic = { Ref: id(stack.observability.topic) };
    const all = alarms();
    // DeadLetterArrivals, 2 in-flight, 2 OldestMessageAge, ApiServerErrors, ApiLatency, table + 7 index throttles, SenderThrottles, ErrorLogLines, 6 function errors.
    expect(all).toHaveLength(1 + 2 + 2 + 2 + 1 + TABLE.indexes.length + 1 + 1 + 6);
    for (const a of all) {
      expect(a.properties.AlarmActions).toEqual([topic]);
      expect(a.properties.OKActions).toEqual([topic]);
      expect(a.properties.TreatMissingData).toBe('notBreaching');
      expect(String(a.properties.AlarmDescription).length).toBeGreaterThan(40);
    }
  });

  it('DeadLetterArrivals: poison messages of this stack (EMF PoisonMessages with its Stack dimension), any in 5 minutes, back to OK after a period without', () => {
    const a = alarm('DeadLetterArrivals');
    expect(a.metrics).toEqual([
      { namespace: 'LagoWebhooks', name: 'PoisonMessages', dimensions: STACK, statistic: 'Sum', period: 300 },
    ]);
    expect(a.properties).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
    });
  });

  it("a customer's failing endpoint never pages: no alarm on exhausted webhooks or the dead-letter queue's depth; the lanes' age alarms are the lanes'", () => {
    const read = alarms().flatMap((a) => a.metrics);
    expect(read.filter((m) => m.name === 'WebhooksExhausted')).toEqual([]);
    expect(
      read.filter(
        (m) =>
          m.namespace === 'AWS/SQS' && m.dimensions.QueueName === queueName(stack.queues.deadLetterQueue).QueueName,
      ),
    ).toEqual([]);
    expect(read.filter((m) => m.name === 'ApproximateAgeOfOldestMessage').map((m) => m.dimensions)).toEqual([
      queueName(stack.queues.lanes.fast),
      queueName(stack.queues.lanes.slow),
    ]);
  });

  it("InFlightNearLimit: each lane above 80% of SQS's in-flight limit (96,000 messages)", () => {
    for (const lane of LANES) {
      const a = alarm(`${lane === 'fast' ? 'Fast' : 'Slow'}LaneInFlightNearLimit`);
      expect(a.metrics).toEqual([
        {
          namespace: 'AWS/SQS',
          name: 'ApproximateNumberOfMessagesNotVisible',
          dimensions: queueName(stack.queues.lanes[lane]),
          statistic: 'Maximum',
          period: 300,
        },
      ]);
      expect(a.properties).toMatchObject({ Threshold: 96_000, ComparisonOperator: 'GreaterThanThreshold' });
    }
  });

  it("OldestMessageAge and SlowLaneOldestMessageAge: each lane's oldest message over an hour, for 3 minutes", () => {
    for (const [name, lane] of [
      ['OldestMessageAge', 'fast'],
      ['SlowLaneOldestMessageAge', 'slow'],
    ] as const) {
      const a = alarm(name);
      expect(a.metrics).toEqual([
        {
          namespace: 'AWS/SQS',
          name: 'ApproximateAgeOfOldestMessage',
          dimensions: queueName(stack.queues.lanes[lane]),
          statistic: 'Maximum',
          period: 60,
        },
      ]);
      expect(a.properties).toMatchObject({
        Threshold: 3600,
        EvaluationPeriods: 3,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });

  it("ApiServerErrors and ApiLatency: the $default stage's 5xx (5 or more in 5 minutes) and p99 latency (over 5 s for 3 periods)", () => {
    const stage = { ApiId: `<${id(stack.api.httpApi)}>`, Stage: '$default' };
    const errors = alarm('ApiServerErrors');
    expect(errors.metrics).toEqual([
      { namespace: 'AWS/ApiGateway', name: '5xx', dimensions: stage, statistic: 'Sum', period: 300 },
    ]);
    expect(errors.properties).toMatchObject({
      Threshold: 5,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const latency = alarm('ApiLatency');
    expect(latency.metrics).toEqual([
      { namespace: 'AWS/ApiGateway', name: 'Latency', dimensions: stage, statistic: 'p99', period: 300 },
    ]);
    expect(latency.properties).toMatchObject({
      Threshold: 5000,
      EvaluationPeriods: 3,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('Throttles: read and write throttle events of the table and of each global secondary index', () => {
    const table = `<${id(stack.table.table)}>`;
    const targets: [string, Record<string, string>][] = [
      ['Table', { TableName: table }],
      ...TABLE.indexes.map((index): [string, Record<string, string>] => [
        `Index${index.name[0]!.toUpperCase()}${index.name.slice(1)}`,
        { TableName: table, GlobalSecondaryIndexName: index.name },
      ]),
    ];
    for (const [name, dims] of targets) {
      const a = alarm(`${name}Throttles`);
      expect(a.expression).toMatch(/^\w+ \+ \w+$/);
      expect(a.metrics.map((m) => m.name).sort()).toEqual(['ReadThrottleEvents', 'WriteThrottleEvents']);
      for (const m of a.metrics)
        expect(m).toMatchObject({ namespace: 'AWS/DynamoDB', dimensions: dims, statistic: 'Sum', period: 300 });
      expect(a.properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    }
  });

  it('SenderThrottles: Lambda throttles of both senders', () => {
    const a = alarm('SenderThrottles');
    expect(a.expression).toBe('fast + slow');
    expect(a.metrics).toEqual(
      LANES.map((lane) => ({
        namespace: 'AWS/Lambda',
        name: 'Throttles',
        dimensions: { FunctionName: `<${id(stack.functions.senders[lane])}>` },
        statistic: 'Sum',
        period: 300,
      })),
    );
    expect(a.properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });

  it("ErrorLogLines: a metric filter on every function's log group counts pino lines at error level or above, in a namespace of this stack", () => {
    const filters = Object.values(resources('AWS::Logs::MetricFilter')).map((f) => f.Properties);
    const logGroups = [...watchedFunctions(), stack.signingKey.handler].map((fn) => `<${id(fn.logGroup)}>`);
    expect(filters.map((f) => text(f.LogGroupName)).sort()).toEqual(logGroups.sort());
    for (const filter of filters) {
      expect(filter.FilterPattern).toBe('{ $.level >= 50 }');
      expect(filter.MetricTransformations).toEqual([
        { MetricNamespace: 'LagoWebhooks/LagoWebhooks', MetricName: 'ErrorLogLines', MetricValue: '1' },
      ]);
    }
    const a = alarm('ErrorLogLines');
    expect(a.metrics).toEqual([
      { namespace: 'LagoWebhooks/LagoWebhooks', name: 'ErrorLogLines', dimensions: {}, statistic: 'Sum', period: 300 },
    ]);
    expect(a.properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });

  it('<Function>Errors: Lambda errors of each of the six functions', () => {
    const functions = {
      Api: stack.functions.api,
      Admin: stack.functions.admin,
      Sender: stack.functions.senders.fast,
      SlowSender: stack.functions.senders.slow,
      Sweeper: stack.functions.sweeper,
      Console: stack.functions.console,
    };
    for (const [name, fn] of Object.entries(functions)) {
      const a = alarm(`${name}Errors`);
      expect(a.metrics).toEqual([
        {
          namespace: 'AWS/Lambda',
          name: 'Errors',
          dimensions: { FunctionName: `<${id(fn)}>` },
          statistic: 'Sum',
          period: 300,
        },
      ]);
      expect(a.properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    }
  });

  it("every custom metric an alarm reads carries this stack's Stack dimension", () => {
    for (const m of alarms().flatMap((a) => a.metrics))
      if (m.namespace === 'LagoWebhooks') expect(m.dimensions).toEqual(STACK);
  });

  it('notifies an SNS topic encrypted with a rotated KMS key, TLS only, with no subscription unless asked', () => {
    const topic = resource(id(stack.observability.topic)).Properties;
    const keyId = text(topic.KmsMasterKeyId).replace(/^<(.*)\.Arn>$/, '$1');
    expect(resource(keyId)).toMatchObject({ Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true } });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sns:Publish',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
          }),
        ]),
      },
    });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it("samples the stack's functions' traces with a rule of its own: one a second, then 1%", () => {
    template.resourceCountIs('AWS::XRay::SamplingRule', 1);
    template.hasResourceProperties('AWS::XRay::SamplingRule', {
      SamplingRule: Match.objectLike({
        RuleName: 'LagoWebhooks',
        ServiceName: 'LagoWebhooks-*',
        ReservoirSize: 1,
        FixedRate: 0.01,
        Priority: 9000,
      }),
    });
  });

  it("lets CloudWatch use the topic's key only for this account's alarms (aws:SourceAccount)", () => {
    const topic = resource(id(stack.observability.topic)).Properties;
    const key = resource(text(topic.KmsMasterKeyId).replace(/^<(.*)\.Arn>$/, '$1'));
    const statements = (key.Properties.KeyPolicy as { Statement: Json[] }).Statement.filter(
      (statement) => JSON.stringify(statement.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }),
    );
    expect(statements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      }),
    ]);
  });

  it('charts deliveries, dead-letter arrivals, hand-offs, both lanes, the functions, the API and DynamoDB throttles, custom metrics with the Stack dimension', () => {
    const [dashboard] = Object.values(resources('AWS::CloudWatch::Dashboard'));
    const body = text(dashboard!.Properties.DashboardBody);
    for (const metric of [
      'WebhooksPublished',
      'DeliveriesSucceeded',
      'DeliveryAttemptsFailed',
      'WebhooksExhausted',
      'PoisonMessages',
      'SlowLaneHandoffs',
      'EndpointResponseTime',
    ]) {
      expect(body).toContain(`"LagoWebhooks","${metric}","Stack","LagoWebhooks"`);
    }
    // Every custom metric on the dashboard is this stack's.
    expect(body.match(/"LagoWebhooks","\w+"/g)!.length).toBe(
      body.match(/"LagoWebhooks","\w+","Stack","LagoWebhooks"/g)!.length,
    );
    const deadLetters = `<${id(stack.queues.deadLetterQueue)}.QueueName>`;
    expect(body).toContain(`"AWS/SQS","NumberOfMessagesSent","QueueName","${deadLetters}"`);
    for (const lane of LANES) {
      for (const metric of [
        'ApproximateNumberOfMessagesVisible',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
        'ApproximateAgeOfOldestMessage',
      ]) {
        expect(body).toContain(`"AWS/SQS","${metric}","QueueName","<${id(stack.queues.lanes[lane])}.QueueName>"`);
      }
    }
    for (const fn of watchedFunctions())
      for (const metric of ['Errors', 'Throttles', 'Duration'])
        expect(body).toContain(`"AWS/Lambda","${metric}","FunctionName","<${id(fn)}>"`);
    for (const metric of ['5xx', 'Latency'])
      expect(body).toContain(`"AWS/ApiGateway","${metric}","ApiId","<${id(stack.api.httpApi)}>","Stage","$default"`);
    for (const metric of ['ReadThrottleEvents', 'WriteThrottleEvents']) {
      for (const index of TABLE.indexes)
        expect(body).toContain(
          `"AWS/DynamoDB","${metric}","GlobalSecondaryIndexName","${index.name}","TableName","<${id(stack.table.table)}>"`,
        );
      expect(body).toContain(`"AWS/DynamoDB","${metric}","TableName","<${id(stack.table.table)}>",`);
    }
    expect(body).toContain('"LagoWebhooks/LagoWebhooks","ErrorLogLines"');
  });
});

describe('cdk-nag', () => {
  it('finds nothing in the AWS Solutions checks that is not acknowledged', () => {
    const report = new AwsSolutionsChecks(app, { verbose: true }).validateScope(stack);
    expect(
      report.violations.map(
        (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
  });

  it("acknowledges only APIG4 on the /api and /console routes and the catch-all, and IAM5 for the organization tokens, for X-Ray on every function's role and for the provider framework's invoke, each with a reason", () => {
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
    const apiRoutes = ROUTES.filter((route) => route.fn !== 'admin').map(
      (route) => `LagoWebhooks/Api/HttpApi/${route.method}${route.path.replaceAll('/', '--')} AwsSolutions-APIG4`,
    );
    const tokenReaders = ['Api', 'Sender', 'SlowSender'].map(
      (fn) => `LagoWebhooks/Functions/${fn}Role AwsSolutions-IAM5[Resource::${ORG_TOKENS}]`,
    );
    const tracers = [
      'Functions/Api',
      'Functions/Admin',
      'Functions/Sender',
      'Functions/SlowSender',
      'Functions/Sweeper',
      'Functions/Console',
      'SigningKey/Provider',
    ].map((fn) => `LagoWebhooks/${fn}Role AwsSolutions-IAM5[Resource::*]`);
    const frameworkInvoke = `LagoWebhooks/SigningKey/FrameworkRole AwsSolutions-IAM5[Resource::<${id(stack.signingKey.handler)}.Arn>:*]`;
    expect(acknowledged.sort()).toEqual(
      [
        ...apiRoutes,
        'LagoWebhooks/Api/DefaultRoute AwsSolutions-APIG4',
        ...tokenReaders,
        ...tracers,
        frameworkInvoke,
      ].sort(),
    );
  });
});
