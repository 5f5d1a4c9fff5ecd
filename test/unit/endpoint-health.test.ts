// Covers shared/domain/endpoints/health.ts through the sender (shared/domain/delivery/deliver.ts), against real receivers on loopback: a disabled endpoint's webhooks park without an attempt, failures are marked once, an endpoint failing long enough is disabled once with an operational event, its first success is a recovery; the circuit breaker opens, parks, probes, opens again and closes, with its events; max_rps sends a message again without an attempt (shared/domain/delivery/max-rps.ts); custom headers arrive, ours win, and no log line carries their values.
import { postWebhook } from '#shared/adapters/http-client.ts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deliver } from '#shared/domain/delivery/deliver.ts';
import { newSenderMemory, type ReceivedMessage, type SenderDeps } from '#shared/domain/delivery/sender-deps.ts';
import {
  encodeMessage,
  type DeadLetterReason,
  type DeliveryMessage,
  type LaneMessage,
} from '#shared/domain/delivery/message.ts';
import type { Lane } from '#shared/domain/delivery/policy.ts';
import { sealCustomHeaders } from '#shared/domain/endpoints/headers.ts';
import { continueDrain, resumeParkedWebhooks } from '#shared/domain/endpoints/health.ts';
import { isDrain, type DrainMessage } from '#shared/domain/delivery/message.ts';
import { sendSlot } from '#shared/domain/delivery/max-rps.ts';
import { noMetrics } from '#shared/runtime/metrics.ts';
import type { WebhookEndpoint, Webhook } from '#shared/domain/model.ts';
import { newWebhook } from '#shared/domain/webhooks/new-webhook.ts';
import type { DelayedMessage, DeliveryQueue, OperationalEvent } from '#shared/domain/ports.ts';
import { parseCidrs } from '#shared/domain/delivery/ssrf.ts';
import { Receiver } from '../support/receiver.ts';
import { FakeStore } from './support/fake-store.ts';
import { testKeys } from './support/keys.ts';

const ORG = '01900000-0000-7000-8000-0000000000a1';
const ENDPOINT = '01900000-0000-7000-8000-0000000000e1';
const WEBHOOK = '01900000-0000-7000-8000-0000000000f1';
const DAY = 86_400_000;
const { keys } = await testKeys();

class RecordingQueue implements DeliveryQueue {
  sent: { lane: Lane; message: LaneMessage; delay: number }[] = [];
  async send(lane: Lane, messages: LaneMessage[], delaySeconds = 0): Promise<void> {
    for (const message of messages) this.sent.push({ lane, message, delay: delaySeconds });
  }
  async sendEach(lane: Lane, entries: DelayedMessage[]): Promise<void> {
    for (const { message, delaySeconds } of entries) this.sent.push({ lane, message, delay: delaySeconds });
  }
  async deadLetter(_body: DeliveryMessage | string, _reason: DeadLetterReason): Promise<void> {}
}

/** Every log call, with its fields, as text. */
const lines: string[] = [];
const logger = Object.fromEntries(
  ['info', 'warn', 'error', 'debug'].map((level) => [
    level,
    (fields: unknown, message?: string) => lines.push(`${level} ${message ?? ''} ${JSON.stringify(fields)}`),
  ]),
) as unknown as SenderDeps['logger'];

let ok: Receiver;
let down: Receiver;
let store: FakeStore;
let queue: RecordingQueue;
let events: OperationalEvent[];
let now: number;
let endpointWrites: number;

beforeAll(async () => {
  ok = await new Receiver().start();
  down = await new Receiver((_req, res) => res.writeHead(500).end('down')).start();
});
afterAll(async () => {
  await ok.stop();
  await down.stop();
});

function deps(overrides: Partial<SenderDeps> = {}): SenderDeps {
  return {
    store,
    queue,
    post: postWebhook,
    deliverToAws: async () => ({ ok: false, kind: 'blocked', error: 'no AWS destinations here' }),
    awsDestinations: { roles: [] },
    endpoint: (organizationId, endpointId) => store.getEndpoint(organizationId, endpointId),
    keys,
    organizationTokens: async () => ({ current: 'token', previous: [] }),
    logger,
    metrics: noMetrics,
    now: () => now,
    retrySchedule: [5, 5, 5, 5, 5, 5],
    retryAfterMaxSeconds: 3600,
    timeoutMs: 2000,
    fastLaneMs: 2000,
    slowAfterMs: 1000,
    allow: parseCidrs('127.0.0.0/8'),
    allowHttp: true,
    issuer: 'http://localhost',
    hangingEndpointSlots: 2,
    ...newSenderMemory(),
    events: { emit: async (event) => void events.push(event) },
    autoDisableAfterMs: 5 * DAY,
    breakerFailures: 0,
    breakerCooldownMs: 60_000,
    breakerProbeStaleMs: 60_000,
    rateCounters: { take: async () => [] },
    ...overrides,
  };
}

function endpoint(url: string, overrides: Partial<WebhookEndpoint> = {}): WebhookEndpoint {
  const e: WebhookEndpoint = {
    id: ENDPOINT,
    organization_id: ORG,
    webhook_url: url,
    signature_algo: 'hmac',
    name: null,
    event_types: null,
    created_at_ms: 0,
    ...overrides,
  };
  store.endpoints.set(ENDPOINT, e);
  return e;
}

function webhook(overrides: Partial<Webhook> = {}): Webhook {
  const log: Webhook = {
    ...newWebhook({
      id: WEBHOOK,
      organization_id: ORG,
      endpoint_id: ENDPOINT,
      endpoint_url: '',
      webhook_type: 'invoice.created',
      object_type: 'invoice',
      object_id: 'inv_1',
      payload: '{"webhook_type":"invoice.created"}',
      atMs: now,
    }),
    version: 1,
    ...overrides,
  };
  store.webhooks.set(WEBHOOK, log);
  return log;
}

const received = (attempt: number, extra: Partial<DeliveryMessage> = {}, lane: Lane = 'fast'): ReceivedMessage => ({
  messageId: `m${attempt}-${Math.random()}`,
  body: encodeMessage({ webhookId: WEBHOOK, endpointId: ENDPOINT, organizationId: ORG, attempt, ...extra }),
  receiveCount: 1,
  lane,
});

/** The next attempt's message, delivered when it is due, from the slow lane a failed attempt sends it to. */
async function nextAttempt(sender: SenderDeps) {
  const log = store.webhooks.get(WEBHOOK)!;
  now = Math.max(now, log.next_attempt_at_ms ?? 0) + 10;
  return deliver(sender, received(log.attempt_count + 1, {}, 'slow'));
}

beforeEach(() => {
  now = Date.now();
  store = new FakeStore();
  queue = new RecordingQueue();
  events = [];
  lines.length = 0;
  ok.received.length = 0;
  down.received.length = 0;
  endpointWrites = 0;
  for (const name of [
    'markEndpointFailing',
    'markEndpointRecovered',
    'autoDisableEndpoint',
    'markEndpointSlow',
  ] as const) {
    const original = store[name].bind(store) as (...args: unknown[]) => Promise<unknown>;
    (store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      endpointWrites++;
      return original(...args);
    };
  }
});

describe('a disabled endpoint', () => {
  it('parks its webhook without an attempt, a message or a next attempt time, using up nothing of its round', async () => {
    endpoint(ok.url, { disabled_at_ms: now, disabled_reason: 'disabled by request' });
    webhook({ status: 'retrying', attempt_count: 2, round_attempts: 2 });
    await deliver(deps(), received(3));
    expect(ok.received).toHaveLength(0);
    expect(queue.sent).toEqual([]);
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({
      status: 'retrying',
      attempt_count: 2,
      round_attempts: 2,
      parked: true,
      timer: false,
      next_attempt_at_ms: null,
    });
    expect(lines.some((l) => l.includes('endpoint disabled: webhook waits for it to be enabled'))).toBe(true);
  });

  it('parks a redriven dead letter in a new round', async () => {
    endpoint(ok.url, { disabled_at_ms: now });
    webhook({ status: 'failed', attempt_count: 7, round_attempts: 7, next_attempt_at_ms: null });
    await deliver(deps(), received(8, { reason: 'exhausted' }));
    expect(ok.received).toHaveLength(0);
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({
      status: 'retrying',
      attempt_count: 7,
      round_attempts: 0,
      parked: true,
    });
  });

  it('queues every parked webhook when enabled: the first pages at once, the rest through drain messages, none twice', async () => {
    const disabled = endpoint(ok.url, { disabled_at_ms: now });
    const ids = Array.from({ length: 2150 }, (_, i) => `01900000-0000-7000-8000-${String(i).padStart(12, '0')}`);
    for (const id of ids) {
      const parked = { ...webhook({ status: 'retrying', attempt_count: 1, round_attempts: 1 }), id, parked: true };
      store.webhooks.set(id, { ...parked, next_attempt_at_ms: null });
    }
    store.webhooks.delete(WEBHOOK);
    const sender = deps();
    const enabled = { ...disabled, disabled_at_ms: null };
    store.endpoints.set(ENDPOINT, enabled);
    expect(await resumeParkedWebhooks(sender, enabled)).toBe(2000);
    const drains = () => queue.sent.filter((s) => 'drain' in s.message);
    expect(drains()).toHaveLength(1);
    // The drain message goes on where the enable stopped.
    const drain = drains()[0]!.message as { drain: Parameters<typeof continueDrain>[1] };
    await continueDrain(sender, drain.drain);
    const queued = queue.sent.flatMap((s) => ('webhookId' in s.message ? [s.message.webhookId] : []));
    expect(queued.sort()).toEqual(ids);
    expect(drains()).toHaveLength(1);
    expect([...store.webhooks.values()].filter((w) => w.parked)).toEqual([]);
    expect(queue.sent.every((s) => !('webhookId' in s.message) || s.message.attempt === 2)).toBe(true);
  });

  it('leaves them parked when a drain message finds the endpoint disabled again', async () => {
    endpoint(ok.url, { disabled_at_ms: now });
    webhook({ status: 'retrying', attempt_count: 1, round_attempts: 1, parked: true, next_attempt_at_ms: null });
    await continueDrain(deps(), { organizationId: ORG, endpointId: ENDPOINT, shard: 0 });
    expect(queue.sent).toEqual([]);
    expect(store.webhooks.get(WEBHOOK)!.parked).toBe(true);
  });
});

describe('endpoint health', () => {
  it('writes nothing to a healthy endpoint on success', async () => {
    endpoint(ok.url);
    webhook();
    await deliver(deps(), received(1));
    expect(ok.received).toHaveLength(1);
    expect(endpointWrites).toBe(0);
    expect(events).toEqual([]);
  });

  it('marks the first failure once, disables the endpoint once its failures last the period, with one event, and parks what follows', async () => {
    endpoint(down.url);
    webhook();
    const sender = deps({ autoDisableAfterMs: 60_000 });
    const start = now;
    await deliver(sender, received(1));
    expect(store.endpoints.get(ENDPOINT)!.failing_since_ms).toBe(start);
    expect(endpointWrites).toBe(1);
    // Further failures within the period write nothing.
    await nextAttempt(sender);
    expect(endpointWrites).toBe(1);
    now = start + 60_000;
    await nextAttempt(sender);
    const disabled = store.endpoints.get(ENDPOINT)!;
    expect(disabled.disabled_at_ms).toBe(now);
    expect(disabled.disabled_reason).toBe(
      `every attempt failed since ${new Date(start).toISOString()} (automatically disabled after 60 s of failures)`,
    );
    expect(events).toEqual([
      {
        type: 'endpoint.disabled',
        organization_id: ORG,
        endpoint_id: ENDPOINT,
        webhook_url: down.url,
        reason: disabled.disabled_reason,
        failing_since_ms: start,
        at_ms: now,
      },
    ]);
    expect(lines.filter((l) => l.startsWith('warn webhook endpoint disabled automatically'))).toHaveLength(1);
    // The next message parks instead of attempting.
    const attempts = down.received.length;
    await nextAttempt(sender);
    expect(down.received).toHaveLength(attempts);
    expect(store.webhooks.get(WEBHOOK)!.parked).toBe(true);
    expect(events).toHaveLength(1);
  });

  it('never disables when the period is 0', async () => {
    endpoint(down.url, { failing_since_ms: now - 90 * DAY });
    webhook();
    await deliver(deps({ autoDisableAfterMs: 0 }), received(1));
    expect(store.endpoints.get(ENDPOINT)!.disabled_at_ms).toBeUndefined();
    expect(endpointWrites).toBe(0);
  });

  it('announces the first success after failures as a recovery, once', async () => {
    const since = now - DAY;
    endpoint(ok.url, { failing_since_ms: since });
    webhook();
    await deliver(deps(), received(1, {}, 'slow'));
    expect(store.endpoints.get(ENDPOINT)!.failing_since_ms).toBeNull();
    expect(events).toEqual([
      {
        type: 'endpoint.recovered',
        organization_id: ORG,
        endpoint_id: ENDPOINT,
        webhook_url: ok.url,
        reason: null,
        failing_since_ms: since,
        at_ms: now,
      },
    ]);
    expect(lines.filter((l) => l.startsWith('info webhook endpoint recovered'))).toHaveLength(1);
  });

  it('delivers all the same when the event cannot be published, and says so', async () => {
    endpoint(ok.url, { failing_since_ms: now - DAY });
    webhook();
    await deliver(
      deps({ events: { emit: () => Promise.reject(new Error('EventBridge down')) } }),
      received(1, {}, 'slow'),
    );
    expect(store.webhooks.get(WEBHOOK)!.status).toBe('succeeded');
    expect(lines.some((l) => l.startsWith('error operational event not published'))).toBe(true);
  });
});

describe('the circuit breaker', () => {
  const COOLDOWN_MS = 10_000;
  const probeMessages = () =>
    queue.sent.filter((s): s is typeof s & { message: DrainMessage } => isDrain(s.message) && !!s.message.drain.probe);
  /** Runs the last probe message once its delay is over, then the webhook message it queued. */
  async function probe(sender: SenderDeps) {
    const last = probeMessages().at(-1)!;
    now += last.delay * 1000;
    const before = queue.sent.length;
    await continueDrain(sender, last.message.drain);
    const unparked = queue.sent.slice(before).find((s) => !isDrain(s.message))!;
    await deliver(sender, {
      messageId: 'probe',
      body: encodeMessage(unparked.message),
      receiveCount: 1,
      lane: unparked.lane,
    });
  }

  it('opens after 3 failed attempts in a row with one event and a probe message, then parks what falls due without an attempt', async () => {
    endpoint(down.url);
    webhook();
    const sender = deps({ breakerFailures: 3, breakerCooldownMs: COOLDOWN_MS });
    await deliver(sender, received(1));
    await nextAttempt(sender);
    expect(store.endpoints.get(ENDPOINT)!.breaker_opened_at_ms ?? null).toBeNull();
    await nextAttempt(sender);
    const openedAt = store.endpoints.get(ENDPOINT)!.breaker_opened_at_ms;
    expect(openedAt).toBe(now);
    expect(events.map((e) => e.type)).toEqual(['endpoint.circuit_opened']);
    expect(events[0]!.reason).toBe('3 consecutive failed attempts (circuit breaker open for 10 s, then a probe)');
    expect(probeMessages()).toEqual([
      {
        lane: 'fast',
        delay: 11,
        message: { drain: { organizationId: ORG, endpointId: ENDPOINT, shard: 0, probe: openedAt } },
      },
    ]);
    await nextAttempt(sender);
    expect(down.received).toHaveLength(3);
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({ parked: true, attempt_count: 3, status: 'retrying' });
    expect(lines.filter((l) => l.startsWith('info circuit breaker open: webhook waits'))).toHaveLength(1);
  });

  it('probes after the cool-down: a failed probe opens it again, a good one closes it with one event', async () => {
    const target = endpoint(down.url);
    webhook();
    const sender = deps({ breakerFailures: 3, breakerCooldownMs: COOLDOWN_MS });
    await deliver(sender, received(1));
    await nextAttempt(sender);
    await nextAttempt(sender);
    await nextAttempt(sender);
    const firstOpened = store.endpoints.get(ENDPOINT)!.breaker_opened_at_ms!;

    await probe(sender);
    expect(down.received).toHaveLength(4);
    const reopened = store.endpoints.get(ENDPOINT)!;
    expect(reopened.breaker_opened_at_ms).toBeGreaterThanOrEqual(firstOpened + COOLDOWN_MS);
    expect(reopened.breaker_probe ?? null).toBeNull();
    expect(probeMessages()).toHaveLength(2);
    expect(events.map((e) => e.type)).toEqual(['endpoint.circuit_opened']);
    // Its retry falls due while the breaker is open again: parked.
    await nextAttempt(sender);
    expect(down.received).toHaveLength(4);

    target.webhook_url = ok.url;
    await probe(sender);
    expect(ok.received).toHaveLength(1);
    expect(store.webhooks.get(WEBHOOK)!.status).toBe('succeeded');
    expect(store.endpoints.get(ENDPOINT)).toMatchObject({ breaker_opened_at_ms: null, breaker_probe: null });
    expect(events.map((e) => e.type)).toEqual([
      'endpoint.circuit_opened',
      'endpoint.recovered',
      'endpoint.circuit_closed',
    ]);
  });

  it('lets no message through before the cool-down, and ignores a probe message of a breaker opened again since', async () => {
    endpoint(ok.url, { breaker_opened_at_ms: now - 1000 });
    webhook();
    const sender = deps({ breakerFailures: 3, breakerCooldownMs: COOLDOWN_MS });
    await deliver(sender, received(1));
    expect(ok.received).toHaveLength(0);
    expect(store.webhooks.get(WEBHOOK)!.parked).toBe(true);
    const before = queue.sent.length;
    await continueDrain(sender, { organizationId: ORG, endpointId: ENDPOINT, shard: 0, probe: now - 99_000 });
    expect(queue.sent.length).toBe(before);
    expect(store.webhooks.get(WEBHOOK)!.parked).toBe(true);
  });

  it('sends its probe message again, a cool-down later, when it finds nothing parked to probe with', async () => {
    const openedAt = now - COOLDOWN_MS - 1000;
    endpoint(ok.url, { breaker_opened_at_ms: openedAt });
    const sender = deps({ breakerFailures: 3, breakerCooldownMs: COOLDOWN_MS });
    await continueDrain(sender, { organizationId: ORG, endpointId: ENDPOINT, shard: 0, probe: openedAt });
    expect(probeMessages()).toEqual([
      {
        lane: 'fast',
        delay: COOLDOWN_MS / 1000 + 1,
        message: { drain: { organizationId: ORG, endpointId: ENDPOINT, shard: 0, probe: openedAt } },
      },
    ]);
  });

  it('closes again when its probe cannot be queued, so no webhook stays parked without one', async () => {
    endpoint(down.url);
    webhook();
    const sender = deps({ breakerFailures: 1, breakerCooldownMs: COOLDOWN_MS });
    const send = queue.send.bind(queue);
    queue.send = async (lane, messages, delay) => {
      if (messages.some((m) => isDrain(m) && m.drain.probe !== undefined)) throw new Error('SQS down');
      return send(lane, messages, delay);
    };
    await deliver(sender, received(1));
    expect(down.received).toHaveLength(1);
    expect(store.endpoints.get(ENDPOINT)!.breaker_opened_at_ms ?? null).toBeNull();
    expect(lines.filter((l) => l.startsWith('error circuit breaker probe could not be queued'))).toHaveLength(1);
  });

  it('never opens when it is off', async () => {
    endpoint(down.url);
    webhook();
    const sender = deps({ breakerFailures: 0 });
    await deliver(sender, received(1));
    for (let n = 0; n < 4; n++) await nextAttempt(sender);
    expect(down.received).toHaveLength(5);
    expect(store.endpoints.get(ENDPOINT)!.breaker_opened_at_ms ?? null).toBeNull();
  });
});

describe('max_rps', () => {
  it('cuts a second into slots of 1/n s, n the largest divisor of max_rps up to 10', () => {
    expect(sendSlot(5, 1_000_450)).toEqual({ startMs: 1_000_400, endMs: 1_000_600, limit: 1 });
    expect(sendSlot(20, 1_000_450)).toEqual({ startMs: 1_000_400, endMs: 1_000_500, limit: 2 });
    expect(sendSlot(13, 1_000_450)).toEqual({ startMs: 1_000_000, endMs: 1_001_000, limit: 13 });
    expect(sendSlot(1, 1_000_450)).toEqual({ startMs: 1_000_000, endMs: 1_001_000, limit: 1 });
  });

  it('sends the message again 1 to 4 s later, with no attempt, when the endpoint is at its max_rps', async () => {
    endpoint(ok.url, { max_rps: 5 });
    webhook();
    const taken: unknown[] = [];
    const sender = deps({
      rateCounters: {
        take: async (window, counters) => {
          taken.push({ window, counters });
          return ['attempts'];
        },
      },
    });
    await deliver(sender, received(1));
    expect(ok.received).toHaveLength(0);
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({ attempt_count: 0, status: 'pending' });
    const { startMs, endMs } = sendSlot(5, now);
    expect(taken).toEqual([
      {
        window: { organizationId: ORG, action: `max_rps#${ENDPOINT}`, startMs, endMs },
        counters: [{ name: 'attempts', limit: 1 }],
      },
    ]);
    const [again] = queue.sent;
    expect(again!.message).toMatchObject({ webhookId: WEBHOOK, attempt: 1 });
    expect(again!.delay).toBeGreaterThanOrEqual(1);
    expect(again!.delay).toBeLessThanOrEqual(4);
    expect(lines.some((l) => l.startsWith('debug rate limited by max_rps: message sent again later'))).toBe(true);
  });

  it('takes no place for an endpoint without max_rps', async () => {
    endpoint(ok.url);
    webhook();
    let takes = 0;
    await deliver(deps({ rateCounters: { take: async () => (takes++, []) } }), received(1));
    expect(ok.received).toHaveLength(1);
    expect(takes).toBe(0);
  });
});

describe('custom headers', () => {
  it("are sent on the attempt, before the service's own headers, and never logged", async () => {
    const sealed = await sealCustomHeaders(
      keys,
      { id: ENDPOINT, organization_id: ORG },
      [
        { name: 'Authorization', value: 'Bearer unit-s3cret' },
        { name: 'X-Tenant', value: 'acme' },
      ],
      null,
    );
    endpoint(down.url, { headers: sealed });
    webhook();
    await deliver(deps(), received(1));
    const [request] = down.received;
    expect(request!.headers.authorization).toBe('Bearer unit-s3cret');
    expect(request!.headers['x-tenant']).toBe('acme');
    expect(request!.headers['x-lago-unique-key']).toBe(WEBHOOK);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain('unit-s3cret');
  });
});
