// AWS destinations on the local service: an endpoint whose webhook_url is the ARN of a queue of the stack's SQS emulator (no role needed locally) gets each webhook as an SQS message, the body exactly as an HTTP receiver gets it, verified from its attributes (HMAC, JWT, Standard Webhooks, the unique key); a queue that does not exist fails attempts with SQS's error and retries as HTTP does; and the endpoint rules between webhook_url and aws_role_arn answer Lago's 422s.
import { createHmac } from 'node:crypto';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import jwt from 'jsonwebtoken';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createEndpoint,
  createOrg,
  publish,
  request,
  stack,
  webhookSettles,
  verificationKeys,
  type Org,
} from './helpers.ts';
import { eventually } from '../support/eventually.ts';

const sqs = new SQSClient({ endpoint: stack().sqsEndpoint, region: 'us-east-1', credentials: stack().credentials });
afterAll(() => sqs.destroy());

/** A new queue on the stack's emulator: its URL and its ARN as the emulator names it. */
async function queue(name: string, fifo = false): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${name}-${Date.now()}${fifo ? '.fifo' : ''}`,
      ...(fifo ? { Attributes: { FifoQueue: 'true' } } : {}),
    }),
  );
  const url = QueueUrl ?? '';
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return { url, arn: Attributes?.QueueArn ?? '' };
}

/** The next message of a queue, with all its attributes. */
const received = (url: string): Promise<Message> =>
  eventually(
    async () =>
      (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 })))
        .Messages?.[0],
    20_000,
    `a message in ${url}`,
  );

/** A message's String attributes as the headers an HTTP receiver would have read them from. */
const attributes = (message: Message): Record<string, string> =>
  Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue ?? '']),
  );

const endpointCreate = (org: Org, fields: Record<string, unknown>) =>
  request<{ webhook_endpoint: Record<string, unknown> }>('POST', '/api/v1/webhook_endpoints', {
    token: org.apiKey,
    body: { webhook_endpoint: fields },
  });

describe('delivery into a queue of the local SQS emulator', () => {
  it('sends each webhook as a message whose attributes verify it: HMAC, JWT, Standard Webhooks and the unique key', async () => {
    const org = await createOrg();
    const hmacQueue = await queue('hmac-deliveries');
    const jwtQueue = await queue('jwt-deliveries', true);
    const created = await endpointCreate(org, { webhook_url: hmacQueue.arn, signature_algo: 'hmac' });
    expect(created.status, created.text).toBe(200);
    expect(created.body.webhook_endpoint).toMatchObject({ webhook_url: hmacQueue.arn, aws_role_arn: null });
    await createEndpoint(org, { webhook_url: jwtQueue.arn, signature_algo: 'jwt' });
    const { hmacKey, swSecret, publicKeyPem } = await verificationKeys(org);

    const published = await publish(org, 'customer.created', { lago_id: 'cus_1', name: 'Zoë ✓' });
    expect(published.status, published.text).toBe(202);
    const expected = JSON.stringify({
      webhook_type: 'customer.created',
      object_type: 'customer',
      organization_id: org.id,
      customer: { lago_id: 'cus_1', name: 'Zoë ✓' },
    });
    const h = await received(hmacQueue.url);
    const j = await received(jwtQueue.url);
    const [hmac, signedJwt] = [attributes(h), attributes(j)];

    expect(h.Body).toBe(expected);
    expect(hmac['X-Lago-Signature-Algorithm']).toBe('hmac');
    expect(hmac['X-Lago-Signature']).toBe(createHmac('sha256', hmacKey).update(expected).digest('base64'));
    expect(signedJwt['X-Lago-Signature-Algorithm']).toBe('jwt');
    const claims = jwt.verify(signedJwt['X-Lago-Signature'] ?? '', publicKeyPem, { algorithms: ['RS256'] }) as {
      data: string;
    };
    expect(claims.data).toBe(expected);
    for (const [message, attrs] of [
      [h, hmac],
      [j, signedJwt],
    ] as const) {
      expect(new Webhook(swSecret).verify(message.Body ?? '', attrs)).toEqual(JSON.parse(expected));
      expect(() => new Webhook(swSecret).verify(`${message.Body} `, attrs)).toThrow();
      expect(Object.keys(attrs).sort()).toEqual(
        [
          'X-Lago-Signature',
          'X-Lago-Signature-Algorithm',
          'X-Lago-Unique-Key',
          'webhook-id',
          'webhook-signature',
          'webhook-timestamp',
        ].sort(),
      );
    }
    const ids = published.body.webhooks.map((w) => w.lago_id).sort();
    expect([hmac['X-Lago-Unique-Key'], signedJwt['X-Lago-Unique-Key']].sort()).toEqual(ids);
    expect(hmac['webhook-id']).toBe(hmac['X-Lago-Unique-Key']);

    // The log reads as for HTTP: a 200, with the message's id as the response.
    const hmacWebhook = published.body.webhooks.find((w) => w.lago_id === hmac['X-Lago-Unique-Key']);
    const settled = await webhookSettles(org, hmacWebhook?.lago_id ?? '', ['succeeded']);
    expect(settled).toMatchObject({ http_status: 200, response: h.MessageId, webhook_url: hmacQueue.arn });
  });

  it("fails an attempt with SQS's error when the queue does not exist, and retries it as an HTTP attempt", async () => {
    const org = await createOrg();
    const missing = (await queue('present')).arn.replace(/present-\d+$/, 'absent-queue');
    await createEndpoint(org, { webhook_url: missing });
    const published = await publish(org);
    const id = published.body.webhooks[0]?.lago_id ?? '';
    const failed = await webhookSettles(org, id, ['failed'], 30_000);
    expect(failed.attempts).toHaveLength(stack().retrySchedule.length + 1);
    for (const attempt of failed.attempts) {
      expect(attempt.http_status).toBeNull();
      expect(attempt.error).toMatch(/^QueueDoesNotExist|NonExistentQueue/);
    }
  });
});

describe('the rules between webhook_url and aws_role_arn', () => {
  const ROLE = 'arn:aws:iam::210987654321:role/lago-deliveries';

  it("refuses an ARN this deployment does not deliver to, this service's own queues, a role beside a URL or a local queue, and malformed ARNs", async () => {
    const org = await createOrg();
    const local = await queue('rules');
    // The ARN of one of this service's own queues: the emulator's region and account, the queue's name from its URL.
    const own = (url: string) => local.arn.replace(/[^:]+$/, url.split('/').pop() ?? '');
    const cases: [Record<string, unknown>, Record<string, string[]>][] = [
      [
        { webhook_url: 'arn:aws:sqs:eu-west-1:210987654321:orders', aws_role_arn: ROLE },
        { webhook_url: ['aws_destinations_are_not_enabled'] },
      ],
      [
        { webhook_url: 'arn:aws:events:eu-west-1:210987654321:event-bus/billing', aws_role_arn: ROLE },
        { webhook_url: ['aws_destinations_are_not_enabled'] },
      ],
      [{ webhook_url: local.arn, aws_role_arn: ROLE }, { aws_role_arn: ['value_is_invalid'] }],
      // This service's own queues are never a destination, as its own ports are never a URL.
      [{ webhook_url: own(stack().queueUrl) }, { webhook_url: ['address_is_this_service'] }],
      [{ webhook_url: own(stack().deadLetterUrl) }, { webhook_url: ['address_is_this_service'] }],
      [{ webhook_url: 'https://example.com/hooks', aws_role_arn: ROLE }, { aws_role_arn: ['value_is_invalid'] }],
      [{ webhook_url: 'arn:aws:sns:eu-west-1:210987654321:topic' }, { webhook_url: ['value_is_invalid'] }],
      [
        { webhook_url: local.arn, aws_role_arn: 'arn:aws:iam::210987654321:user/someone' },
        { aws_role_arn: ['value_is_invalid'] },
      ],
    ];
    for (const [fields, details] of cases) {
      const res = await endpointCreate(org, fields);
      expect(res.status, JSON.stringify(fields)).toBe(422);
      expect(res.body, JSON.stringify(fields)).toEqual({
        status: 422,
        error: 'Unprocessable Entity',
        code: 'validation_errors',
        error_details: details,
      });
    }
    const list = await request<{ webhook_endpoints: unknown[] }>('GET', '/api/v1/webhook_endpoints', {
      token: org.apiKey,
    });
    expect(list.body.webhook_endpoints).toEqual([]);
  });

  it('moves an endpoint between a URL and a local queue', async () => {
    const org = await createOrg();
    const local = await queue('moves');
    const id = await createEndpoint(org, { webhook_url: 'https://example.com/hooks' });
    const update = (fields: Record<string, unknown>) =>
      request<{ webhook_endpoint: Record<string, unknown> }>('PUT', `/api/v1/webhook_endpoints/${id}`, {
        token: org.apiKey,
        body: { webhook_endpoint: fields },
      });
    const toQueue = await update({ webhook_url: local.arn });
    expect(toQueue.status, toQueue.text).toBe(200);
    expect(toQueue.body.webhook_endpoint).toMatchObject({ webhook_url: local.arn, aws_role_arn: null });
    const back = await update({ webhook_url: 'https://example.com/back' });
    expect(back.body.webhook_endpoint).toMatchObject({ webhook_url: 'https://example.com/back', aws_role_arn: null });
  });
});
