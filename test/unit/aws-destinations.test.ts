// Covers shared/adapters/aws-destinations.ts and shared/domain/endpoints/destinations.ts: the exact STS AssumeRole, SQS SendMessage and EventBridge PutEvents calls of a delivery to a customer's queue or bus (aws-sdk-client-mock), the assumed credentials those calls are made with and their reuse, failures read as failed attempts, and the ARN and allow-list rules.
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsDestinations } from '#shared/adapters/aws-destinations.ts';
import {
  destinationRefusal,
  parseAwsTarget,
  roleAllowed,
  type AwsTarget,
} from '#shared/domain/endpoints/destinations.ts';
import type { AwsDelivery } from '#shared/domain/ports.ts';

const sts = mockClient(STSClient);
const sqs = mockClient(SQSClient);
const eventBridge = mockClient(EventBridgeClient);

const ORG = '0196d7a2-0000-7000-8000-00000000000a';
const ROLE = 'arn:aws:iam::210987654321:role/lago-deliveries';
const QUEUE = 'arn:aws:sqs:eu-west-1:210987654321:billing-events';
const BUS = 'arn:aws:events:eu-central-1:210987654321:event-bus/billing';
const BODY = '{"webhook_type":"invoice.created","object_type":"invoice","invoice":{"lago_id":"inv_1"}}';
const EXPIRES = new Date(Date.now() + 15 * 60_000);
const ASSUMED = { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'assumed-secret', SessionToken: 'assumed-token' };

const target = (arn: string): AwsTarget => {
  const parsed = parseAwsTarget(arn);
  if (!parsed) throw new Error(`not a destination: ${arn}`);
  return parsed;
};

const delivery = (arn: string, overrides: Partial<AwsDelivery> = {}): AwsDelivery => ({
  target: target(arn),
  role: { arn: ROLE, externalId: ORG, sessionName: 'lago-webhooks-0196d7a2-0000-7000-8000-0000000000e1' },
  body: BODY,
  attributes: { 'X-Lago-Signature': 'sig', 'X-Lago-Unique-Key': 'wh_1', 'webhook-id': 'wh_1' },
  webhookType: 'invoice.created',
  fifo: { groupId: 'endpoint-1', deduplicationId: 'wh_1-1' },
  timeoutMs: 5000,
  ...overrides,
});

/** The credentials the client of a recorded call signs with. */
async function credentialsOf(thisValue: unknown) {
  const provider = (thisValue as { config: { credentials: () => Promise<Record<string, unknown>> } }).config
    .credentials;
  return provider();
}

/** A mocked call that, as the real client does when it signs, first asks its client for credentials. */
const signed =
  <T>(output: T) =>
  async (_input: unknown, getClient: () => { config: { credentials: () => Promise<unknown> } }) => {
    await getClient().config.credentials();
    return output;
  };

beforeEach(() => {
  sts.reset();
  sqs.reset();
  eventBridge.reset();
  sts.on(AssumeRoleCommand).resolves({ Credentials: { ...ASSUMED, Expiration: EXPIRES } });
});

describe('AwsDestinations', () => {
  it("assumes the customer's role with the organization's external id, then sends the body and signatures to the queue as that role", async () => {
    sqs.on(SendMessageCommand).callsFake(signed({ MessageId: 'msg-1' }));
    const destinations = new AwsDestinations({ sts: new STSClient({}), eventBridgeSource: 'lago.webhooks' });
    expect(await destinations.deliver(delivery(QUEUE))).toEqual({
      ok: true,
      status: 200,
      body: 'msg-1',
      retryAfter: undefined,
    });
    expect(sts.commandCalls(AssumeRoleCommand).map((call) => call.args[0].input)).toEqual([
      {
        RoleArn: ROLE,
        ExternalId: ORG,
        RoleSessionName: 'lago-webhooks-0196d7a2-0000-7000-8000-0000000000e1',
        DurationSeconds: 900,
      },
    ]);
    const [send] = sqs.commandCalls(SendMessageCommand);
    expect(send!.args[0].input).toEqual({
      QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/210987654321/billing-events',
      MessageBody: BODY,
      MessageAttributes: {
        'X-Lago-Signature': { DataType: 'String', StringValue: 'sig' },
        'X-Lago-Unique-Key': { DataType: 'String', StringValue: 'wh_1' },
        'webhook-id': { DataType: 'String', StringValue: 'wh_1' },
      },
    });
    expect(await credentialsOf(send!.thisValue)).toEqual({
      accessKeyId: 'ASIAEXAMPLE',
      secretAccessKey: 'assumed-secret',
      sessionToken: 'assumed-token',
      expiration: EXPIRES,
    });
    expect(await (send!.thisValue as SQSClient).config.region()).toBe('eu-west-1');
  });

  it('keeps the credentials of a role for later deliveries, and gives a FIFO queue its group and deduplication ids', async () => {
    sqs.on(SendMessageCommand).callsFake(signed({ MessageId: 'msg-2' }));
    const destinations = new AwsDestinations({ sts: new STSClient({}), eventBridgeSource: 'lago.webhooks' });
    const fifo = 'arn:aws:sqs:eu-west-1:210987654321:billing.fifo';
    await destinations.deliver(delivery(fifo));
    await destinations.deliver(delivery(fifo, { fifo: { groupId: 'endpoint-1', deduplicationId: 'wh_2-1' } }));
    const sends = sqs.commandCalls(SendMessageCommand);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(sends.map((send) => send.args[0].input)).toEqual([
      expect.objectContaining({ MessageGroupId: 'endpoint-1', MessageDeduplicationId: 'wh_1-1' }),
      expect.objectContaining({ MessageGroupId: 'endpoint-1', MessageDeduplicationId: 'wh_2-1' }),
    ]);
  });

  it('puts one event on the bus: the configured source, the webhook type as detail-type, the body as detail', async () => {
    eventBridge.on(PutEventsCommand).callsFake(signed({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] }));
    const destinations = new AwsDestinations({ sts: new STSClient({}), eventBridgeSource: 'billing.lago' });
    expect(await destinations.deliver(delivery(BUS))).toEqual({
      ok: true,
      status: 200,
      body: 'evt-1',
      retryAfter: undefined,
    });
    const [put] = eventBridge.commandCalls(PutEventsCommand);
    expect(put!.args[0].input).toEqual({
      Entries: [{ Source: 'billing.lago', DetailType: 'invoice.created', Detail: BODY, EventBusName: BUS }],
    });
    expect(await credentialsOf(put!.thisValue)).toMatchObject({ accessKeyId: 'ASIAEXAMPLE' });
    expect(await (put!.thisValue as EventBridgeClient).config.region()).toBe('eu-central-1');
  });

  it("reads an entry PutEvents could not put as a failed attempt with the entry's error", async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
    });
    const destinations = new AwsDestinations({ sts: new STSClient({}), eventBridgeSource: 'lago.webhooks' });
    expect(await destinations.deliver(delivery(BUS))).toEqual({
      ok: false,
      kind: 'network',
      error: 'InternalFailure: try again',
    });
  });

  it("reads STS's AccessDenied as a failed attempt naming the call, sends nothing, and asks STS again next time", async () => {
    const denied = Object.assign(new Error(`User is not authorized to perform: sts:AssumeRole on resource: ${ROLE}`), {
      name: 'AccessDenied',
    });
    sts.on(AssumeRoleCommand).rejects(denied);
    const destinations = new AwsDestinations({ sts: new STSClient({}), eventBridgeSource: 'lago.webhooks' });
    sqs.on(SendMessageCommand).callsFake(signed({ MessageId: 'never' }));
    const result = await destinations.deliver(delivery(QUEUE));
    expect(result).toEqual({
      ok: false,
      kind: 'network',
      error: `AccessDenied: sts:AssumeRole on ${ROLE}: User is not authorized to perform: sts:AssumeRole on resource: ${ROLE}`,
    });
    await destinations.deliver(delivery(QUEUE));
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it('sends to a queue of the local emulator without a role, at its address', async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: 'local-1' });
    const destinations = new AwsDestinations({
      sts: new STSClient({}),
      eventBridgeSource: 'lago.webhooks',
      local: {
        endpoint: 'http://127.0.0.1:4566',
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      },
    });
    const result = await destinations.deliver(
      delivery('arn:aws:sqs:us-east-1:000000000000:orders', { role: null, attributes: {} }),
    );
    expect(result).toMatchObject({ ok: true, body: 'local-1' });
    expect(sqs.commandCalls(SendMessageCommand)[0]!.args[0].input.QueueUrl).toBe(
      'http://127.0.0.1:4566/000000000000/orders',
    );
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });
});

describe('destination rules', () => {
  const policy = {
    roles: ['arn:aws:iam::210987654321:role/lago-*'],
    local: { region: 'us-east-1', accountId: '0'.repeat(12), ownQueues: ['lago-webhooks-fast'] },
  };

  it('reads SQS queue and EventBridge bus ARNs, and nothing else', () => {
    expect(parseAwsTarget(QUEUE)).toEqual({
      service: 'sqs',
      arn: QUEUE,
      region: 'eu-west-1',
      accountId: '210987654321',
      queueName: 'billing-events',
      fifo: false,
    });
    expect(parseAwsTarget(BUS)).toMatchObject({ service: 'events', busName: 'billing', region: 'eu-central-1' });
    for (const arn of [
      'arn:aws:sns:eu-west-1:210987654321:topic',
      'arn:aws:sqs:eu-west-1:21098765432:short-account',
      'arn:aws:sqs:eu-west-1:210987654321:',
      `arn:aws:sqs:eu-west-1:210987654321:${'q'.repeat(81)}`,
      'arn:aws:events:eu-west-1:210987654321:rule/billing',
      'arn:aws:sqs:eu-west-1:210987654321:bad name',
    ])
      expect(parseAwsTarget(arn), arn).toBeUndefined();
  });

  it('matches role patterns, * for any run of characters', () => {
    expect(roleAllowed(policy, 'arn:aws:iam::210987654321:role/lago-deliveries')).toBe(true);
    expect(roleAllowed(policy, 'arn:aws:iam::210987654321:role/admin')).toBe(false);
    expect(roleAllowed(policy, 'arn:aws:iam::999987654321:role/lago-deliveries')).toBe(false);
  });

  it('refuses a role beside a URL or a local queue, an ARN when none is allowed, and a role the list does not name', () => {
    expect(destinationRefusal(policy, 'https://example.com/hooks', null)).toBeUndefined();
    expect(destinationRefusal(policy, 'https://example.com/hooks', ROLE)).toEqual({
      field: 'aws_role_arn',
      code: 'value_is_invalid',
    });
    expect(destinationRefusal(policy, 'arn:aws:sqs:us-east-1:000000000000:orders', null)).toBeUndefined();
    expect(destinationRefusal(policy, 'arn:aws:sqs:us-east-1:000000000000:lago-webhooks-fast', null)).toEqual({
      field: 'webhook_url',
      code: 'address_is_this_service',
    });
    expect(destinationRefusal(policy, QUEUE, ROLE)).toBeUndefined();
    expect(destinationRefusal(policy, QUEUE, null)).toEqual({ field: 'aws_role_arn', code: 'value_is_mandatory' });
    expect(destinationRefusal(policy, QUEUE, 'arn:aws:iam::210987654321:role/admin')).toEqual({
      field: 'aws_role_arn',
      code: 'role_is_not_allowed',
    });
    expect(destinationRefusal({ roles: [] }, QUEUE, ROLE)).toEqual({
      field: 'webhook_url',
      code: 'aws_destinations_are_not_enabled',
    });
  });
});
