// Covers how infra/stack.ts's props reach the template (each one changed from its default), the props it refuses at synth time, their parsing from CDK context, and bin/app.ts itself. Bundling is skipped here (CDK's own bundling-stacks context); test/infra/stack.test.ts runs it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnElement, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebhookStack, type WebhookStackProps } from '#infra/stack.ts';

/** Assets are not built: these tests only read the template. */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

function synth(props: WebhookStackProps = {}): { stack: WebhookStack; template: Template } {
  const stack = new WebhookStack(new App({ context: NO_BUNDLING }), 'Acme', props);
  return { stack, template: Template.fromStack(stack) };
}

describe('every prop changed from its default', () => {
  let stack: WebhookStack;
  let template: Template;
  const id = (construct: IConstruct) => stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
  const properties = (construct: IConstruct) =>
    template.toJSON().Resources[id(construct)].Properties as Record<string, unknown>;
  const variables = (construct: IConstruct) =>
    (properties(construct).Environment as { Variables: Record<string, unknown> }).Variables;

  beforeAll(() => {
    ({ stack, template } = synth({
      retrySchedule: [10, 60],
      webhookTimeoutMs: 5_000,
      webhookRetentionDays: 30,
      allowCidrs: ['10.0.0.0/8'],
      allowHttp: true,
      alarmEmail: 'ops@example.com',
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
      senderMaxConcurrency: 50,
      slowSenderMaxConcurrency: 20,
      senderReservedConcurrency: 60,
      slowSenderReservedConcurrency: 20,
      apiRateLimit: 5,
      apiBurstLimit: 10,
      adminRateLimit: 50,
      adminBurstLimit: 80,
      traceSampleRate: 0.2,
      oldestMessageAgeAlarmMinutes: 10,
      sweepIntervalMinutes: 15,
      secretsPrefix: 'acme/webhooks',
      logGroupRetentionDays: RetentionDays.ONE_WEEK,
      consoleFrameAncestors: "'self' https://app.example.com",
    }));
  });

  it("the timeout sets each lane's sender timeout and visibility timeout; the poison receive count does not follow the schedule", () => {
    // Slow lane: the whole 5 s attempt plus 15 s of bookkeeping; the fast lane cuts attempts at 3 s.
    expect(properties(stack.functions.senders.slow).Timeout).toBe(20);
    expect(properties(stack.functions.senders.fast).Timeout).toBe(18);
    expect(properties(stack.queues.lanes.slow)).toMatchObject({
      VisibilityTimeout: 6 * 20,
      RedrivePolicy: { maxReceiveCount: 5 },
    });
    expect(properties(stack.queues.lanes.fast)).toMatchObject({
      VisibilityTimeout: 6 * 18,
      RedrivePolicy: { maxReceiveCount: 5 },
    });
  });

  it('the delivery settings reach every function under the names shared/runtime/config.ts reads', () => {
    for (const fn of [
      stack.functions.api,
      stack.functions.admin,
      stack.functions.senders.fast,
      stack.functions.senders.slow,
      stack.functions.sweeper,
    ]) {
      expect(variables(fn)).toMatchObject({
        WEBHOOK_RETRY_SCHEDULE: '10,60',
        WEBHOOK_TIMEOUT_MS: '5000',
        WEBHOOK_ALLOW_CIDRS: '10.0.0.0/8',
        WEBHOOK_RETENTION_DAYS: '30',
        WEBHOOK_ALLOW_HTTP: 'true',
        SECRETS_PREFIX: 'acme/webhooks',
      });
    }
  });

  it('consoleFrameAncestors reaches the console function, whose CSP reads it; the console gets no other setting', () => {
    expect(variables(stack.functions.console)).toMatchObject({
      CONSOLE_FRAME_ANCESTORS: "'self' https://app.example.com",
    });
    expect(Object.keys(variables(stack.functions.console)).filter((name) => /^(WEBHOOK|API|RATE)_/.test(name))).toEqual(
      [],
    );
  });

  it('the secrets prefix names the signing key and the key rings, and scopes the token permissions', () => {
    template.hasResourceProperties('Custom::WebhookSigningKey', { SecretName: 'acme/webhooks/signing-key' });
    for (const ring of ['signing-public', 'hmac-root', 'seal'])
      template.hasResourceProperties('Custom::WebhookKeyring', {
        SecretName: `acme/webhooks/keys/${ring}`,
        SigningKeySecretName: 'acme/webhooks/signing-key',
      });
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain(':secret:acme/webhooks/organizations/*/hmac-??????');
    expect(policies).toContain(':secret:acme/webhooks/signing-key-??????');
    expect(policies).toContain(':secret:acme/webhooks/keys/seal-??????');
    expect(policies).not.toContain('LagoWebhooks');
  });

  it('DESTROY removes the stateful resources with the stack, and lets the provider delete the key', () => {
    for (const type of [
      'AWS::DynamoDB::Table',
      'AWS::SQS::Queue',
      'AWS::Logs::LogGroup',
      'AWS::KMS::Key',
      'Custom::WebhookSigningKey',
      'Custom::WebhookKeyring',
    ]) {
      for (const resource of Object.values(template.findResources(type)))
        expect(resource.DeletionPolicy).toBe('Delete');
    }
    expect(properties(stack.table.table).DeletionProtectionEnabled).toBe(false);
    const deletable = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement)
      .filter((statement) => [statement.Action].flat().includes('secretsmanager:DeleteSecret'))
      .flatMap((statement) => [statement.Resource].flat())
      .map((resource) => JSON.stringify(resource));
    for (const name of ['signing-key', 'keys/signing-public', 'keys/hmac-root', 'keys/seal'])
      expect(
        deletable.some((resource) => resource.includes(`:secret:acme/webhooks/${name}-??????`)),
        name,
      ).toBe(true);
  });

  it("the stack name is every function's STACK_NAME and the Stack dimension the alarms read, and names the error-log namespace", () => {
    // Every function of ours: the signing key's provider framework is CDK's, and records no metric.
    const framework = id(stack.signingKey.provider.node.findChild('framework-onEvent'));
    const functions = Object.entries(template.findResources('AWS::Lambda::Function')).filter(
      ([logicalId]) => logicalId !== framework,
    );
    expect(functions).toHaveLength(7);
    for (const [, fn] of functions) expect(fn.Properties.Environment.Variables.STACK_NAME).toBe('Acme');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'LagoWebhooks',
      MetricName: 'PoisonMessages',
      Dimensions: [{ Name: 'Stack', Value: 'Acme' }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'LagoWebhooks/Acme',
      MetricName: 'ErrorLogLines',
    });
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      MetricTransformations: [Match.objectLike({ MetricNamespace: 'LagoWebhooks/Acme' })],
    });
  });

  it('the alarm email subscribes to the topic', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: id(stack.observability.topic) },
    });
  });

  it("each lane's maximum concurrency reaches its mapping, and its reservation its sender", () => {
    for (const [lane, concurrency, reserved] of [
      ['fast', 50, 60],
      ['slow', 20, 20],
    ] as const) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: id(stack.functions.senders[lane]) },
        ScalingConfig: { MaximumConcurrency: concurrency },
      });
      expect(properties(stack.functions.senders[lane]).ReservedConcurrentExecutions).toBe(reserved);
    }
  });

  it('deletion protection, once asked for, is on', () => {
    synth({ deletionProtection: true }).template.hasResourceProperties('AWS::DynamoDB::Table', {
      DeletionProtectionEnabled: true,
    });
  });

  it('RETAIN keeps everything even when the first create rolls back, and then the provider may not delete the key', () => {
    const { template: retained } = synth({ removalPolicy: RemovalPolicy.RETAIN });
    for (const type of [
      'AWS::DynamoDB::Table',
      'AWS::SQS::Queue',
      'AWS::Logs::LogGroup',
      'AWS::KMS::Key',
      'Custom::WebhookSigningKey',
      'Custom::WebhookKeyring',
    ]) {
      for (const resource of Object.values(retained.findResources(type)))
        expect(resource.DeletionPolicy).toBe('Retain');
    }
    const providerPolicies = Object.entries(retained.findResources('AWS::IAM::Policy')).filter(([logicalId]) =>
      logicalId.startsWith('SigningKeyProvider'),
    );
    expect(providerPolicies).not.toHaveLength(0);
    expect(JSON.stringify(providerPolicies)).not.toContain('secretsmanager:DeleteSecret');
  });

  it('concurrency, throttling, the age threshold, the sweep interval and log retention are applied', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      RouteSettings: {
        'POST /admin/v1/webhooks': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 80 },
        'POST /admin/v1/webhooks/batch': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 80 },
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 600,
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
    template.hasResourceProperties('AWS::XRay::SamplingRule', {
      SamplingRule: Match.objectLike({ RuleName: 'Acme', ServiceName: 'Acme-*', FixedRate: 0.2 }),
    });
    for (const logGroup of Object.values(template.findResources('AWS::Logs::LogGroup')))
      expect(logGroup.Properties.RetentionInDays).toBe(7);
  });
});

describe('a custom domain and the issuer', () => {
  const domain = {
    domainName: 'webhooks.example.com',
    certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abcd-1234',
  };
  const issuers = (stack: WebhookStack, template: Template) =>
    [stack.functions.api, stack.functions.senders.fast, stack.functions.senders.slow].map(
      (fn) =>
        (
          template.toJSON().Resources[stack.getLogicalId(fn.node.defaultChild as CfnElement)].Properties
            .Environment as { Variables: Record<string, unknown> }
        ).Variables.API_BASE_URL,
    );

  it("serves the API on the domain, with the operator's certificate, and makes it the URL and the JWT issuer", () => {
    const { stack, template } = synth(domain);
    template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'webhooks.example.com',
      DomainNameConfigurations: [
        Match.objectLike({
          CertificateArn: domain.certificateArn,
          EndpointType: 'REGIONAL',
          SecurityPolicy: 'TLS_1_2',
        }),
      ],
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', { Stage: '$default' });
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.ApiUrl!.Value).toBe('https://webhooks.example.com');
    expect(outputs.DomainTarget!.Value).toEqual({ 'Fn::GetAtt': [expect.any(String), 'RegionalDomainName'] });
    expect(issuers(stack, template)).toEqual(Array(3).fill('https://webhooks.example.com'));
  });

  it('takes the issuer as given, whatever the URL', () => {
    const { stack, template } = synth({ ...domain, issuer: 'https://billing.example.com' });
    expect(issuers(stack, template)).toEqual(Array(3).fill('https://billing.example.com'));
  });

  it('refuses a domain without its certificate, or a certificate without a domain', () => {
    expect(() => synth({ domainName: domain.domainName })).toThrow(
      'domainName and certificateArn go together: a custom domain needs its ACM certificate',
    );
    expect(() => synth({ certificateArn: domain.certificateArn })).toThrow('domainName and certificateArn go together');
  });

  it('refuses an issuer that is not a URL', () => {
    expect(() => synth({ issuer: 'billing' })).toThrow(/API_BASE_URL/);
  });
});

describe('props left to their defaults', () => {
  it('a rate limit alone keeps the default burst limit', () => {
    synth({ apiRateLimit: 50 }).template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 200 },
    });
  });
});

describe('props refused at synth time', () => {
  it('a wait longer than SQS can hide a message (12 h)', () => {
    expect(() => synth({ retrySchedule: [5, 13 * 3600] })).toThrow(/WEBHOOK_RETRY_SCHEDULE/);
  });

  it('a timeout out of range, or an invalid CIDR', () => {
    expect(() => synth({ webhookTimeoutMs: 50 })).toThrow(/WEBHOOK_TIMEOUT_MS/);
    expect(() => synth({ allowCidrs: ['10.0.0.0/33'] })).toThrow(/WEBHOOK_ALLOW_CIDRS/);
  });

  it('a secrets prefix Secrets Manager would refuse', () => {
    expect(() => synth({ secretsPrefix: 'acme webhooks' })).toThrow(/secretsPrefix/);
  });

  it("a sender reservation below its lane's maximum concurrency, which would throttle the lane's own mapping", () => {
    expect(() => synth({ senderReservedConcurrency: 9 })).toThrow(
      "the fast lane's sender reserves 9, less than its maximum concurrency 10",
    );
    expect(() => synth({ slowSenderMaxConcurrency: 20, slowSenderReservedConcurrency: 19 })).toThrow(
      "the slow lane's sender reserves 19, less than its maximum concurrency 20",
    );
  });

  it('a sender concurrency SQS event sources do not allow, on either lane', () => {
    expect(() => synth({ senderMaxConcurrency: 1 })).toThrow(/maxConcurrency/);
    expect(() => synth({ slowSenderMaxConcurrency: 1001 })).toThrow(/maxConcurrency/);
  });
});

describe('webhookStackPropsFromContext', () => {
  const parse = async (context: Record<string, unknown>) =>
    (await import('#infra/stack.ts')).webhookStackPropsFromContext((key) => context[key]);

  it('leaves every prop to its default when the context is empty', async () => {
    expect(Object.values(await parse({})).filter((value) => value !== undefined)).toEqual([]);
  });

  it('parses command-line strings', async () => {
    const props = await parse({
      retrySchedule: '5, 300,1800',
      webhookTimeoutMs: '10000',
      webhookRetentionDays: '30',
      allowCidrs: '10.0.0.0/8,192.168.0.0/16',
      allowHttp: 'true',
      alarmEmail: 'ops@example.com',
      removalPolicy: 'DESTROY',
      deletionProtection: 'false',
      senderMaxConcurrency: '20',
      slowSenderMaxConcurrency: '8',
      senderReservedConcurrency: '30',
      slowSenderReservedConcurrency: '8',
      apiRateLimit: '50',
      adminRateLimit: '20.5',
      adminBurstLimit: '40',
      oldestMessageAgeAlarmMinutes: '30',
      sweepIntervalMinutes: '10',
      secretsPrefix: 'acme',
      logGroupRetentionDays: '30',
      consoleFrameAncestors: "'self'",
    });
    expect(props).toEqual({
      retrySchedule: [5, 300, 1800],
      webhookTimeoutMs: 10_000,
      webhookRetentionDays: 30,
      allowCidrs: ['10.0.0.0/8', '192.168.0.0/16'],
      allowHttp: true,
      alarmEmail: 'ops@example.com',
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
      senderMaxConcurrency: 20,
      slowSenderMaxConcurrency: 8,
      senderReservedConcurrency: 30,
      slowSenderReservedConcurrency: 8,
      apiRateLimit: 50,
      adminRateLimit: 20.5,
      adminBurstLimit: 40,
      oldestMessageAgeAlarmMinutes: 30,
      sweepIntervalMinutes: 10,
      secretsPrefix: 'acme',
      logGroupRetentionDays: RetentionDays.ONE_MONTH,
      consoleFrameAncestors: "'self'",
    });
  });

  it('still reads the earlier key of the webhook retention, logRetentionDays', async () => {
    expect(await parse({ logRetentionDays: '12' })).toEqual({ webhookRetentionDays: 12 });
    expect(await parse({ logRetentionDays: '12', webhookRetentionDays: 30 })).toEqual({ webhookRetentionDays: 30 });
  });

  it('takes the JSON types cdk.json may hold', async () => {
    expect(
      await parse({ retrySchedule: [5, 60], allowCidrs: ['10.0.0.0/8'], allowHttp: true, webhookTimeoutMs: 8000 }),
    ).toMatchObject({
      retrySchedule: [5, 60],
      allowCidrs: ['10.0.0.0/8'],
      allowHttp: true,
      webhookTimeoutMs: 8000,
    });
  });

  it('reads removalPolicy retain as RETAIN_ON_UPDATE_OR_DELETE: kept, except when the first create rolls back', async () => {
    expect(await parse({ removalPolicy: 'retain' })).toMatchObject({
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
  });

  it('names the key of a value it cannot parse', async () => {
    await expect(parse({ slowSenderMaxConcurrency: 'many' })).rejects.toThrow(
      'context slowSenderMaxConcurrency: expected a number, got "many"',
    );
    await expect(parse({ senderMaxConcurrency: '1001' })).rejects.toThrow(
      'context senderMaxConcurrency: expected at most 1000, got "1001"',
    );
    await expect(parse({ senderReservedConcurrency: '1.5' })).rejects.toThrow(
      'context senderReservedConcurrency: expected a whole number, got "1.5"',
    );
    await expect(parse({ webhookTimeoutMs: 'soon' })).rejects.toThrow(
      'context webhookTimeoutMs: expected a number, got "soon"',
    );
    await expect(parse({ allowHttp: 'yes' })).rejects.toThrow('context allowHttp: expected true or false');
    await expect(parse({ removalPolicy: 'snapshot' })).rejects.toThrow(
      'context removalPolicy: expected retain or destroy',
    );
    await expect(parse({ logGroupRetentionDays: '42' })).rejects.toThrow('context logGroupRetentionDays');
    await expect(parse({ alarmEmail: '' })).rejects.toThrow('context alarmEmail');
    await expect(parse({ logRetentionDays: 'forever' })).rejects.toThrow('context logRetentionDays');
    await expect(parse({ allowCidrs: { cidr: '10.0.0.0/8' } })).rejects.toThrow('context allowCidrs');
  });

  it("accepts exactly CloudWatch Logs' retention periods for logGroupRetentionDays", async () => {
    for (const days of Object.values(RetentionDays).filter((value) => typeof value === 'number'))
      expect(await parse({ logGroupRetentionDays: String(days) })).toEqual({ logGroupRetentionDays: days });
    for (const days of ['0', '2', '10000'])
      await expect(parse({ logGroupRetentionDays: days })).rejects.toThrow('context logGroupRetentionDays');
  });
});

describe('bin/app.ts', () => {
  it('synthesizes the stack named by context, with the context props, and passes cdk-nag', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdk-app-'));
    try {
      execFileSync(process.execPath, [new URL('../../bin/app.ts', import.meta.url).pathname], {
        env: {
          PATH: process.env.PATH,
          CDK_OUTDIR: outdir,
          CDK_CONTEXT_JSON: JSON.stringify({
            ...NO_BUNDLING,
            stackName: 'AcmeWebhooks',
            alarmEmail: 'ops@example.com',
            sweepIntervalMinutes: '10',
          }),
        },
        stdio: 'pipe',
      });
      const template = Template.fromJSON(
        JSON.parse(readFileSync(join(outdir, 'AcmeWebhooks.template.json'), 'utf8')) as Record<string, unknown>,
      );
      template.hasResourceProperties('AWS::SNS::Subscription', { Endpoint: 'ops@example.com' });
      template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(10 minutes)' });
      template.hasResourceProperties('Custom::WebhookSigningKey', { SecretName: 'AcmeWebhooks/signing-key' });
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
