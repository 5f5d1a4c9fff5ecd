// The delivery pipeline at AWS scale, on an isolated local service: waiting webhooks hold no received message, receives that cannot make their attempt never dead-letter a live webhook, and a hanging receiver does not delay the others.
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ALLOW_CIDRS } from '#infra/local/env.ts';
import type { Lane } from '#shared/domain/delivery/policy.ts';
import { isolatedStack, type IsolatedStack } from './helpers.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver } from '../support/receiver.ts';

let stack: IsolatedStack;
let sqs: SQSClient;
let org: { id: string; apiKey: string };
const receivers: Receiver[] = [];

beforeAll(async () => {
  // Waits of 40 s (at least 32 s with jitter) and 20 min: the test never waits for them, it looks at the queues in between.
  stack = await isolatedStack('pipeline', {
    WEBHOOK_ALLOW_CIDRS: LOCAL_ALLOW_CIDRS.join(','),
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_RETRY_SCHEDULE: '40,1200',
    WEBHOOK_TIMEOUT_MS: '5000',
  });
  sqs = new SQSClient({ endpoint: stack.local.sqsEndpoint, region: 'us-east-1', credentials: stack.local.credentials });
  const created = await stack.call('POST', '/admin/v1/organizations', stack.local.adminToken, { name: 'Pipeline' });
  org = { id: (created.body.organization as { lago_id: string }).lago_id, apiKey: created.body.api_key as string };
}, 120_000);

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.stop()));
  sqs?.destroy();
  await stack?.stop();
});

async function receiver(reply?: ConstructorParameters<typeof Receiver>[0]): Promise<Receiver> {
  const r = await new Receiver(reply).start();
  receivers.push(r);
  return r;
}

async function endpoint(url: string): Promise<string> {
  const res = await stack.call('POST', '/api/v1/webhook_endpoints', org.apiKey, {
    webhook_endpoint: { webhook_url: url, signature_algo: 'hmac' },
  });
  expect(res.status).toBe(200);
  return (res.body.webhook_endpoint as { lago_id: string }).lago_id;
}

async function publish(objectId: string): Promise<{ lago_id: string; lago_webhook_endpoint_id: string }[]> {
  const res = await stack.call('POST', '/admin/v1/webhooks', stack.local.adminToken, {
    organization_id: org.id,
    webhook_type: 'invoice.created',
    object_type: 'invoice',
    object: { lago_id: objectId },
  });
  expect(res.status).toBe(202);
  return res.body.webhooks as { lago_id: string; lago_webhook_endpoint_id: string }[];
}

async function details(id: string) {
  const res = await stack.call('GET', `/api/v1/webhooks/${id}`, org.apiKey);
  return res.body.webhook as {
    status: string;
    attempts: { http_status: number | null }[];
    next_attempt_at: string | null;
    attempts_count: number;
  };
}

async function counts(lane: Lane) {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: stack.local.queues.lanes[lane].url,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed),
  };
}

describe('waiting for a retry', () => {
  it('holds no received message: short waits are delayed messages, long ones chains of 15-minute hops', async () => {
    try {
      const failing = await receiver((_req, res) => res.writeHead(500).end('down'));
      // A Retry-After of an hour is longer than SQS can delay a message.
      const limited = await receiver((_req, res) => res.writeHead(429, { 'retry-after': '3600' }).end('slow down'));
      await endpoint(failing.url);
      await endpoint(limited.url);
      const webhooks = await publish('inv_wait');
      expect(webhooks).toHaveLength(2);
      const waiting = await Promise.all(
        webhooks.map((w) =>
          eventually(
            async () => {
              const d = await details(w.lago_id);
              return d.status === 'retrying' ? d : undefined;
            },
            20_000,
            'the first attempt to fail',
          ),
        ),
      );
      const waits = waiting.map((w) => Date.parse(w.next_attempt_at!) - Date.now()).sort((a, b) => a - b);
      expect(waits[0]).toBeGreaterThan(25_000);
      expect(waits[0]).toBeLessThan(50_000);
      expect(waits[1]).toBeGreaterThan(3_500_000);

      // The 40-second wait is one delayed message, on the slow lane a failed attempt's retry takes; the hour is a chain
      // of 15-minute hops, which take the fast lane, its first one delayed now.
      const lanes = await eventually(
        async () => {
          const c = { fast: await counts('fast'), slow: await counts('slow') };
          return c.fast.inFlight + c.slow.inFlight === 0 && c.fast.delayed + c.slow.delayed === 2 ? c : undefined;
        },
        10_000,
        'no message in flight and two delayed',
      );
      expect(lanes).toEqual({
        fast: { visible: 0, inFlight: 0, delayed: 1 },
        slow: { visible: 0, inFlight: 0, delayed: 1 },
      });
      expect(failing.received).toHaveLength(1);
      expect(limited.received).toHaveLength(1);
    } finally {
      // Its endpoints go, so the next tests' publishes reach only their own.
      for (const id of await listEndpointIds())
        await stack.call('DELETE', `/api/v1/webhook_endpoints/${id}`, org.apiKey);
    }
  });
});

async function listEndpointIds(): Promise<string[]> {
  const res = await stack.call('GET', '/api/v1/webhook_endpoints?per_page=100', org.apiKey);
  return (res.body.webhook_endpoints as { lago_id: string }[]).map((e) => e.lago_id);
}

describe('receives that cannot make their attempt', () => {
  it('never dead-letter a live webhook, however many there are', async () => {
    const r = await receiver();
    const endpointId = await endpoint(r.url);
    const store = stack.local.deps.store;
    const getWebhookState = store.getWebhookState.bind(store);
    // The store refuses the next six reads of a webhook: only the sender reads one until the test asks (its
    // message is sent again 1, 2, 2, 3, 5 and 8 s later each time). Six is more than SQS's maxReceiveCount (5).
    const refusedIds: string[] = [];
    store.getWebhookState = async (ref) => {
      if (refusedIds.length < 6) {
        refusedIds.push(ref.id);
        throw new Error('ProvisionedThroughputExceededException');
      }
      return getWebhookState(ref);
    };
    let target = '';
    try {
      target = (await publish('inv_refused')).find((w) => w.lago_webhook_endpoint_id === endpointId)!.lago_id;
      await eventually(() => (refusedIds.length >= 6 ? true : undefined), 60_000, 'six receives refused by the store');
      expect(refusedIds).toEqual(Array<string>(6).fill(target));
      expect(r.received.filter((x) => x.headers['x-lago-unique-key'] === target)).toHaveLength(0);
      const done = await eventually(
        async () => {
          const d = await details(target);
          return d.status === 'succeeded' ? d : undefined;
        },
        60_000,
        'the webhook to be delivered after the store recovers',
      );
      expect(done.attempts_count).toBe(1);
      expect(r.received.filter((x) => x.headers['x-lago-unique-key'] === target)).toHaveLength(1);
    } finally {
      store.getWebhookState = getWebhookState;
    }
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.local.queues.deadLetter.url,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 0,
      }),
    );
    expect(Messages.map((m) => m.Body ?? '').filter((b) => b.includes(target))).toEqual([]);
    await stack.call('DELETE', `/api/v1/webhook_endpoints/${endpointId}`, org.apiKey);
  }, 90_000);
});

describe('a receiver that hangs', () => {
  it("does not delay the other endpoints' deliveries", async () => {
    // When each event was sent to the publish route, by object id; each webhook's first receipt counts once.
    const sentAt = new Map<string, number>();
    const firstReceipt = new Map<string, number>();
    const healthy = await Promise.all([1, 2, 3].map(() => receiver()));
    for (const r of healthy) {
      r.reply = (req, res, n) => {
        const key = req.headers['x-lago-unique-key'] as string;
        const objectId = (JSON.parse(r.received[n - 1]!.body) as { invoice: { lago_id: string } }).invoice.lago_id;
        const sent = sentAt.get(objectId);
        if (sent !== undefined && !firstReceipt.has(key)) firstReceipt.set(key, Date.now() - sent);
        res.writeHead(200).end('ok');
      };
    }
    const hanging = await receiver(() => undefined);
    await endpoint(hanging.url);
    for (const r of healthy) await endpoint(r.url);

    const EVENTS = 100;
    for (let i = 0; i < EVENTS; i++) {
      const started = Date.now();
      sentAt.set(`inv_hang_${i}`, started);
      await publish(`inv_hang_${i}`);
      // A steady producer: one event every 200 ms (4 webhooks each), well within what DynamoDB Local sustains here.
      const next = started + 200;
      while (Date.now() < next) await new Promise((resolve) => setTimeout(resolve, next - Date.now()));
    }
    await eventually(() => (firstReceipt.size >= EVENTS * 3 ? true : undefined), 60_000, 'every healthy delivery');
    const sorted = [...firstReceipt.values()].sort((a, b) => a - b);
    const p95 = sorted[Math.floor(0.95 * sorted.length) - 1]!;
    console.log(
      `healthy publish-to-receipt with a hanging endpoint: p50 ${sorted[Math.floor(sorted.length / 2)]} ms, p95 ${p95} ms, max ${sorted[sorted.length - 1]} ms`,
    );
    expect(p95).toBeLessThan(1000);
    // The hanging endpoint was attempted all the same, in the slow lane.
    expect(hanging.received.length).toBeGreaterThan(0);
  }, 120_000);
});
