// The sender's state machine (shared/delivery.ts) message by message: duplicates, stale copies, redrives, early messages, failures and the DLQ, against a real receiver on loopback.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deliver, type ReceivedMessage, type SenderDeps } from '#shared/delivery.ts';
import { noMetrics } from '#shared/metrics.ts';
import type { WebhookEndpoint, WebhookLog } from '#shared/model.ts';
import type { DeliveryMessage, DeliveryQueue } from '#shared/ports.ts';
import { CachedSecrets, hmacSecretName } from '#shared/secrets.ts';
import { parseCidrs } from '#shared/ssrf.ts';
import { Receiver } from '../integration/helpers.ts';
import { FakeStore } from './support/fake-store.ts';
import { MemorySecrets } from './support/memory-secrets.ts';

const ORG = '01900000-0000-7000-8000-0000000000a1';
const ENDPOINT = '01900000-0000-7000-8000-0000000000e1';
const WEBHOOK = '01900000-0000-7000-8000-0000000000f1';
const silent = { info() {}, warn() {}, error() {}, debug() {} };

class RecordingQueue implements DeliveryQueue {
  delays: [string, number][] = [];
  deadLetters: DeliveryMessage[] = [];
  async enqueue(): Promise<void> {}
  async delay(receiptHandle: string, seconds: number): Promise<void> {
    this.delays.push([receiptHandle, seconds]);
  }
  async deadLetter(message: DeliveryMessage): Promise<void> {
    this.deadLetters.push(message);
  }
}

let receiver: Receiver;
let store: FakeStore;
let queue: RecordingQueue;
let secrets: MemorySecrets;
let now: number;

beforeAll(async () => {
  receiver = await new Receiver((_req, res) => res.writeHead(500).end('down')).start();
});
afterAll(() => receiver.stop());

function deps(overrides: Partial<SenderDeps> = {}): SenderDeps {
  return {
    store,
    queue,
    secrets: new CachedSecrets(secrets),
    secretsPrefix: 'test',
    logger: silent,
    metrics: noMetrics,
    now: () => now,
    retrySchedule: [5],
    timeoutMs: 2000,
    allow: parseCidrs('127.0.0.0/8'),
    allowHttp: true,
    issuer: 'http://localhost',
    stuckAfterMs: 600_000,
    maxReceiveCount: 2,
    ...overrides,
  };
}

function log(overrides: Partial<WebhookLog> = {}): WebhookLog {
  const at = new Date(now).toISOString();
  return {
    id: WEBHOOK, organization_id: ORG, endpoint_id: ENDPOINT, endpoint_url: receiver.url, webhook_type: 'invoice.created', object_type: 'invoice', object_id: 'inv_1',
    payload: '{"webhook_type":"invoice.created"}', status: 'pending', attempt_count: 0, round_attempts: 0, attempts: [], http_status: null, response_body: null, error: null,
    next_attempt_at: at, owner: null, lease_until: null, created_at: at, updated_at: at, version: 1, expires_at: 0, ...overrides,
  };
}

const message = (messageId: string, receiveCount = 1): ReceivedMessage => ({
  messageId,
  receiptHandle: `rh-${messageId}-${receiveCount}`,
  body: JSON.stringify({ webhook_id: WEBHOOK, endpoint_id: ENDPOINT, organization_id: ORG }),
  receiveCount,
});

beforeEach(() => {
  now = Date.now();
  store = new FakeStore();
  queue = new RecordingQueue();
  secrets = new MemorySecrets();
  secrets.values.set(hmacSecretName('test', ORG), 'token');
  const endpoint: WebhookEndpoint = { id: ENDPOINT, organization_id: ORG, webhook_url: receiver.url, signature_algo: 'hmac', name: null, event_types: null, created_at: '' };
  store.endpoints.set(ENDPOINT, endpoint);
  receiver.received.length = 0;
});

describe('deliver', () => {
  it('retries after a failure, then releases the message to the DLQ after the last attempt', async () => {
    store.webhooks.set(WEBHOOK, log());
    expect(await deliver(deps(), message('m1', 1))).toBe('keep');
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({ status: 'retrying', attempt_count: 1, round_attempts: 1, owner: 'm1', http_status: 500 });
    expect(queue.delays).toEqual([['rh-m1-1', expect.any(Number)]]);
    now = Date.parse(store.webhooks.get(WEBHOOK)!.next_attempt_at!) + 10;
    expect(await deliver(deps(), message('m1', 2))).toBe('keep');
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({ status: 'failed', attempt_count: 2, next_attempt_at: null });
    // Released for one second: its next receive exceeds maxReceiveCount and SQS moves it.
    expect(queue.delays[1]).toEqual(['rh-m1-2', 1]);
    expect(receiver.received).toHaveLength(2);
  });

  it('moves the message itself when the round ends before the receive count allows', async () => {
    store.webhooks.set(WEBHOOK, log());
    expect(await deliver(deps({ retrySchedule: [] }), message('m1', 1))).toBe('done');
    expect(queue.deadLetters).toEqual([{ webhookId: WEBHOOK, endpointId: ENDPOINT, organizationId: ORG }]);
  });

  it('drops a stale copy of the round\'s own message once the webhook has failed', async () => {
    store.webhooks.set(WEBHOOK, log({ status: 'failed', owner: 'm1', attempt_count: 2, round_attempts: 2, next_attempt_at: null }));
    expect(await deliver(deps(), message('m1', 3))).toBe('done');
    expect(receiver.received).toHaveLength(0);
    expect(store.webhooks.get(WEBHOOK)!.attempt_count).toBe(2);
  });

  it('starts a fresh round for a redriven message (a new message id)', async () => {
    store.webhooks.set(WEBHOOK, log({ status: 'failed', owner: 'm1', attempt_count: 2, round_attempts: 2, next_attempt_at: null }));
    expect(await deliver(deps(), message('m2', 1))).toBe('keep');
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({ status: 'retrying', attempt_count: 3, round_attempts: 1, owner: 'm2' });
    expect(receiver.received).toHaveLength(1);
  });

  it('drops a duplicate message while another owns the round', async () => {
    store.webhooks.set(WEBHOOK, log({ status: 'retrying', owner: 'm1', attempt_count: 1, round_attempts: 1 }));
    expect(await deliver(deps(), message('m2', 1))).toBe('done');
    expect(receiver.received).toHaveLength(0);
  });

  it('hides an early message until the webhook is due, without an attempt', async () => {
    store.webhooks.set(WEBHOOK, log({ status: 'retrying', owner: 'm1', next_attempt_at: new Date(now + 30_000).toISOString() }));
    expect(await deliver(deps(), message('m1', 2))).toBe('keep');
    expect(queue.delays).toEqual([['rh-m1-2', 30]]);
    expect(receiver.received).toHaveLength(0);
  });

  it('leaves a message alone while an attempt holds the lease', async () => {
    store.webhooks.set(WEBHOOK, log({ owner: 'm1', lease_until: now + 60_000 }));
    expect(await deliver(deps(), message('m1', 2))).toBe('keep');
    expect(receiver.received).toHaveLength(0);
    expect(queue.delays).toEqual([]);
  });

  it('records an error while signing as a failed attempt, so the round advances', async () => {
    store.webhooks.set(WEBHOOK, log());
    const broken = deps();
    broken.secrets = { get: () => Promise.reject(new Error('AccessDenied')) } as unknown as CachedSecrets;
    expect(await deliver(broken, message('m1', 1))).toBe('keep');
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({ status: 'retrying', round_attempts: 1, http_status: null, error: 'internal: AccessDenied' });
    expect(receiver.received).toHaveLength(0);
  });

  it('fails a webhook whose endpoint was deleted, without posting', async () => {
    store.webhooks.set(WEBHOOK, log());
    store.endpoints.clear();
    expect(await deliver(deps(), message('m1', 1))).toBe('done');
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({ status: 'failed', error: 'the webhook endpoint was deleted', attempt_count: 0 });
    expect(receiver.received).toHaveLength(0);
  });

  it('drops unreadable messages and webhooks that already succeeded', async () => {
    expect(await deliver(deps(), { ...message('m1'), body: 'not json' })).toBe('done');
    store.webhooks.set(WEBHOOK, log({ status: 'succeeded' }));
    expect(await deliver(deps(), message('m9'))).toBe('done');
    expect(receiver.received).toHaveLength(0);
  });
});
