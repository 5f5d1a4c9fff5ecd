// When SQS refuses messages, a publish answers 503 and loses nothing: the webhooks are stored, and a retry with the same idempotency key queues them once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deliveryConfigFromEnv } from '#shared/config.ts';
import type { DeliveryQueue } from '#shared/ports.ts';
import { generateAdminToken, LOCAL_ALLOW_CIDRS } from '#infra/local/env.ts';
import { startLocalStack, type LocalStack } from '#infra/local/stack.ts';
import { eventually, Receiver } from './helpers.ts';

let local: LocalStack;
let dataDir: string;
const receiver = new Receiver();

async function call(method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${local.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-outage-'));
  local = await startLocalStack({
    port: 0,
    dataDir,
    adminToken: generateAdminToken(),
    config: deliveryConfigFromEnv({ WEBHOOK_ALLOW_CIDRS: LOCAL_ALLOW_CIDRS.join(','), WEBHOOK_ALLOW_HTTP: 'true' }),
    logLevel: 'silent',
  });
  await receiver.start();
});

afterAll(async () => {
  await receiver.stop();
  await local?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

it('answers 503 while the queue is down, and a retry with the same key delivers exactly once', async () => {
  const org = await call('POST', '/admin/v1/organizations', local.adminToken, { name: 'Outage' });
  const orgId = (org.body.organization as { lago_id: string }).lago_id;
  const key = org.body.api_key as string;
  await call('POST', '/api/v1/webhook_endpoints', key, { webhook_endpoint: { webhook_url: receiver.url } });
  const event = { organization_id: orgId, webhook_type: 'invoice.created', object_type: 'invoice', object: { lago_id: 'inv_outage' }, idempotency_key: 'inv_outage-created' };

  // The SQS adapter fails as SendMessageBatch does during an outage.
  const queue: DeliveryQueue = local.deps.queue;
  const enqueue = queue.enqueue.bind(queue);
  queue.enqueue = async () => {
    throw new Error('SQS is unavailable');
  };
  const refused = await call('POST', '/admin/v1/webhooks', local.adminToken, event);
  queue.enqueue = enqueue;
  expect(refused.status).toBe(503);
  expect(refused.body).toEqual({ status: 503, error: 'Service Unavailable', message: 'the webhooks are stored but could not be queued; retry with the same idempotency_key' });

  const stored = await call('GET', '/api/v1/webhooks?search_term=inv_outage', key);
  const [pending] = stored.body.webhooks as { lago_id: string; status: string }[];
  expect(pending).toMatchObject({ status: 'pending' });

  const retried = await call('POST', '/admin/v1/webhooks', local.adminToken, event);
  expect(retried.status).toBe(202);
  expect((retried.body.webhooks as { lago_id: string }[]).map((w) => w.lago_id)).toEqual([pending!.lago_id]);
  await receiver.waitFor(1);
  await eventually(async () => {
    const res = await call('GET', `/api/v1/webhooks/${pending!.lago_id}`, key);
    return (res.body.webhook as { status: string }).status === 'succeeded' ? true : undefined;
  });

  // A second replay finds nothing unsent: no second delivery.
  const again = await call('POST', '/admin/v1/webhooks', local.adminToken, event);
  expect(again.status).toBe(202);
  const list = await call('GET', '/api/v1/webhooks?search_term=inv_outage', key);
  expect(list.body.webhooks as unknown[]).toHaveLength(1);
  expect(receiver.received).toHaveLength(1);
  expect(receiver.received[0]!.headers['x-lago-unique-key']).toBe(pending!.lago_id);
});
