// When SQS refuses messages, a publish answers 503 and loses nothing: the webhooks are stored, and a retry with the same idempotency key queues them once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DeliveryQueue } from '#shared/domain/ports.ts';
import { LOCAL_ALLOW_CIDRS } from '#infra/local/env.ts';
import { isolatedStack, type IsolatedStack } from './helpers.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver } from '../support/receiver.ts';

let stack: IsolatedStack;
const receiver = new Receiver();
const call: IsolatedStack['call'] = (...args) => stack.call(...args);

beforeAll(async () => {
  stack = await isolatedStack('outage', {
    WEBHOOK_ALLOW_CIDRS: LOCAL_ALLOW_CIDRS.join(','),
    WEBHOOK_ALLOW_HTTP: 'true',
  });
  await receiver.start();
});

afterAll(async () => {
  await receiver.stop();
  await stack?.stop();
});

it('answers 503 while the queue is down, and a retry with the same key delivers exactly once', async () => {
  const org = await call('POST', '/admin/v1/organizations', stack.local.adminToken, { name: 'Outage' });
  const orgId = (org.body.organization as { lago_id: string }).lago_id;
  const key = org.body.api_key as string;
  await call('POST', '/api/v1/webhook_endpoints', key, { webhook_endpoint: { webhook_url: receiver.url } });
  const event = {
    organization_id: orgId,
    webhook_type: 'invoice.created',
    object_type: 'invoice',
    object: { lago_id: 'inv_outage' },
    idempotency_key: 'inv_outage-created',
  };

  // The SQS adapter fails as SendMessageBatch does during an outage.
  const queue: DeliveryQueue = stack.local.deps.queue;
  const send = queue.send.bind(queue);
  queue.send = async () => {
    throw new Error('SQS is unavailable');
  };
  const refused = await call('POST', '/admin/v1/webhooks', stack.local.adminToken, event);
  queue.send = send;
  expect(refused.status).toBe(503);
  expect(refused.body).toEqual({
    status: 503,
    error: 'Service Unavailable',
    message: 'the webhooks are stored but could not be queued; retry with the same idempotency_key',
  });

  const stored = await call('GET', '/api/v1/webhooks?search_term=inv_outage', key);
  const [pending] = stored.body.webhooks as { lago_id: string; status: string }[];
  expect(pending).toMatchObject({ status: 'pending' });

  const retried = await call('POST', '/admin/v1/webhooks', stack.local.adminToken, event);
  expect(retried.status).toBe(202);
  expect((retried.body.webhooks as { lago_id: string }[]).map((w) => w.lago_id)).toEqual([pending!.lago_id]);
  await receiver.waitFor(1);
  await eventually(async () => {
    const res = await call('GET', `/api/v1/webhooks/${pending!.lago_id}`, key);
    return (res.body.webhook as { status: string }).status === 'succeeded' ? true : undefined;
  });

  // A second replay finds nothing unsent: no second delivery.
  const again = await call('POST', '/admin/v1/webhooks', stack.local.adminToken, event);
  expect(again.status).toBe(202);
  const list = await call('GET', '/api/v1/webhooks?search_term=inv_outage', key);
  expect(list.body.webhooks as unknown[]).toHaveLength(1);
  expect(receiver.received).toHaveLength(1);
  expect(receiver.received[0]!.headers['x-lago-unique-key']).toBe(pending!.lago_id);
});
