// The sender's state machine (shared/domain/delivery/deliver.ts) message by message, against real receivers on loopback: successors as delayed messages, timers and dead letters; stale copies, duplicates and redrives; store errors, a record the store refuses after the POST (retried, then carried by a message, never posted again), poison, and the fast lane's hand-off to the slow lane.
import { postWebhook } from '#shared/adapters/http-client.ts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deliver } from '#shared/domain/delivery/deliver.ts';
import {
  endpointLoad,
  newSenderMemory,
  type ReceivedMessage,
  type SenderDeps,
} from '#shared/domain/delivery/sender-deps.ts';
import { trackAttempt } from '#shared/domain/delivery/attempt.ts';
import {
  decodeMessage,
  encodeMessage,
  type DeadLetterReason,
  type DeliveryMessage,
} from '#shared/domain/delivery/message.ts';
import { FAILING_LANE_AFTER_MS, HOP_SLACK_SECONDS, laneOf, type Lane } from '#shared/domain/delivery/policy.ts';
import { isDrain, type LaneMessage } from '#shared/domain/delivery/message.ts';
import { noMetrics } from '#shared/runtime/metrics.ts';
import type { WebhookEndpoint, Webhook } from '#shared/domain/model.ts';
import { newWebhook } from '#shared/domain/webhooks/new-webhook.ts';
import type { AwsDelivery, DelayedMessage, DeliveryQueue, PostResult } from '#shared/domain/ports.ts';
import { KeyRetiredError } from '#shared/domain/keys/keyring.ts';
import { parseCidrs } from '#shared/domain/delivery/ssrf.ts';
import { Receiver } from '../support/receiver.ts';
import { FakeStore } from './support/fake-store.ts';
import { testKeys } from './support/keys.ts';

const ORG = '01900000-0000-7000-8000-0000000000a1';
const ENDPOINT = '01900000-0000-7000-8000-0000000000e1';
const WEBHOOK = '01900000-0000-7000-8000-0000000000f1';
const silent = { info() {}, warn() {}, error() {}, debug() {} };

/** A message the test knows is a webhook's, not a drain. */
function asDelivery(message: LaneMessage | undefined): DeliveryMessage {
  if (!message || isDrain(message)) throw new Error('expected a delivery message');
  return message;
}

class RecordingQueue implements DeliveryQueue {
  sent: { lane: Lane; message: LaneMessage; delay: number }[] = [];
  deadLetters: { body: DeliveryMessage | string; reason: DeadLetterReason }[] = [];
  async send(lane: Lane, messages: LaneMessage[], delaySeconds = 0): Promise<void> {
    for (const message of messages) this.sent.push({ lane, message, delay: delaySeconds });
  }
  async sendEach(lane: Lane, entries: DelayedMessage[]): Promise<void> {
    for (const { message, delaySeconds } of entries) this.sent.push({ lane, message, delay: delaySeconds });
  }
  async deadLetter(body: DeliveryMessage | string, reason: DeadLetterReason): Promise<void> {
    this.deadLetters.push({ body, reason });
  }
}

let receiver: Receiver;
let hanging: Receiver;
let store: FakeStore;
let queue: RecordingQueue;
const { keys } = await testKeys();
let now: number;

beforeAll(async () => {
  receiver = await new Receiver((_req, res) => res.writeHead(500).end('down')).start();
  hanging = await new Receiver(() => undefined).start();
});
afterAll(async () => {
  await receiver.stop();
  await hanging.stop();
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
    organizationTokens: async (organizationId) =>
      organizationId === ORG ? { current: 'token', previous: [] } : undefined,
    logger: silent,
    metrics: noMetrics,
    now: () => now,
    retrySchedule: [5],
    retryAfterMaxSeconds: 3600,
    timeoutMs: 2000,
    fastLaneMs: 2000,
    slowAfterMs: 1000,
    allow: parseCidrs('127.0.0.0/8'),
    allowHttp: true,
    issuer: 'http://localhost',
    hangingEndpointSlots: 2,
    ...newSenderMemory(),
    events: { emit: async () => undefined },
    autoDisableAfterMs: 0,
    breakerFailures: 0,
    breakerCooldownMs: 60_000,
    breakerProbeStaleMs: 60_000,
    rateCounters: { take: async () => [] },
    ...overrides,
  };
}

function log(overrides: Partial<Webhook> = {}): Webhook {
  const webhook = newWebhook({
    id: WEBHOOK,
    organization_id: ORG,
    endpoint_id: ENDPOINT,
    endpoint_url: receiver.url,
    webhook_type: 'invoice.created',
    object_type: 'invoice',
    object_id: 'inv_1',
    payload: '{"webhook_type":"invoice.created"}',
    atMs: now,
  });
  return { ...webhook, version: 1, ...overrides };
}

const IDS = { webhookId: WEBHOOK, endpointId: ENDPOINT, organizationId: ORG };

/** A received message for `attempt` (undefined: a message written before attempts were numbered). */
const message = (
  messageId: string,
  attempt: number | undefined,
  extra: Partial<DeliveryMessage> & { receiveCount?: number; lane?: Lane } = {},
): ReceivedMessage => {
  const { receiveCount = 1, lane = 'fast', ...fields } = extra;
  return {
    messageId,
    body: encodeMessage({ ...IDS, ...(attempt !== undefined ? { attempt } : {}), ...fields }),
    receiveCount,
    lane,
  };
};

beforeEach(() => {
  now = Date.now();
  store = new FakeStore();
  queue = new RecordingQueue();
  const endpoint: WebhookEndpoint = {
    id: ENDPOINT,
    organization_id: ORG,
    webhook_url: receiver.url,
    signature_algo: 'hmac',
    name: null,
    event_types: null,
    created_at_ms: 0,
  };
  store.endpoints.set(ENDPOINT, endpoint);
  receiver.received.length = 0;
});

describe('deliver', () => {
  it('sends the next attempt as a delayed message, then dead-letters the webhook after its last attempt', async () => {
    store.webhooks.set(WEBHOOK, log());
    await deliver(deps(), message('m1', 1));
    const retrying = store.webhooks.get(WEBHOOK)!;
    expect(retrying).toMatchObject({
      status: 'retrying',
      attempt_count: 1,
      round_attempts: 1,
      http_status: 500,
      timer: false,
    });
    // A failed attempt's retry takes the slow lane (docs/delivery.md, "Lanes").
    expect(queue.sent).toEqual([
      { lane: 'slow', message: { ...IDS, attempt: 2, payload: log().payload }, delay: expect.any(Number) },
    ]);
    const delay = queue.sent[0]!.delay;
    expect(delay).toBeGreaterThanOrEqual(4);
    expect(delay).toBeLessThanOrEqual(6);
    expect(retrying.next_attempt_at_ms).toBeGreaterThanOrEqual(now + delay * 1000);

    now = (retrying.next_attempt_at_ms ?? 0) + 10;
    await deliver(deps(), message('m2', 2, { lane: 'slow' }));
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({ status: 'failed', attempt_count: 2, next_attempt_at_ms: null });
    expect(queue.deadLetters).toEqual([{ body: { ...IDS, attempt: 3, payload: log().payload }, reason: 'exhausted' }]);
    expect(queue.sent).toHaveLength(1);
    expect(receiver.received).toHaveLength(2);
  });

  it('chains a wait longer than SQS can delay a message: hops carrying the due time, with no read and no write, until it is due', async () => {
    store.webhooks.set(WEBHOOK, log());
    await deliver(deps({ retrySchedule: [3600] }), message('m1', 1));
    const waiting = store.webhooks.get(WEBHOOK)!;
    expect(waiting).toMatchObject({ status: 'retrying', timer: false, attempt_count: 1 });
    const due = waiting.next_attempt_at_ms!;
    expect(due - now).toBeGreaterThan(2880 * 1000);
    // The first hop: the fast lane, 15 minutes, the due time carried.
    expect(queue.sent).toEqual([
      { lane: 'fast', message: { ...IDS, attempt: 2, payload: log().payload, dueAtMs: due }, delay: 900 },
    ]);
    // Each hop is sent on without reading the store (its reads fail) until the last lands on the due time.
    store.failingReads = 1000;
    let hops = 0;
    for (let next = queue.sent[0]!; 'dueAtMs' in next.message && next.message.dueAtMs !== undefined; hops++) {
      now += next.delay * 1000;
      queue.sent.length = 0;
      await deliver(deps(), { ...message(`hop${hops}`, 2), body: encodeMessage(next.message) });
      expect(queue.sent).toHaveLength(1);
      next = queue.sent[0]!;
      expect(next.lane).toBe('fast');
      if (now + next.delay * 1000 >= due) {
        expect(now + next.delay * 1000 - due).toBeLessThan(1000);
        break;
      }
      // Every hop but the last leaves at least the slack before the due time.
      expect(due - (now + next.delay * 1000)).toBeGreaterThanOrEqual(HOP_SLACK_SECONDS * 1000);
    }
    expect(hops).toBeGreaterThanOrEqual(2);
    expect(store.webhooks.get(WEBHOOK)!.version).toBe(waiting.version);
    expect(receiver.received).toHaveLength(1);
    // Once due, the message makes its attempt (in the slow lane, the fast lane forwarding it: the endpoint fails).
    store.failingReads = 0;
    now = due + 10;
    await deliver(deps({ retrySchedule: [3600] }), {
      ...message('due', 2, { lane: 'slow' }),
      body: encodeMessage(queue.sent[0]!.message),
    });
    expect(receiver.received).toHaveLength(2);
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({ status: 'failed', attempt_count: 2 });
  });

  it('still drops a message meeting a timer stored before waits were chains: the sweeper sends that one', async () => {
    store.webhooks.set(
      WEBHOOK,
      log({
        status: 'retrying',
        attempt_count: 1,
        round_attempts: 1,
        timer: true,
        next_attempt_at_ms: now + 3_600_000,
      }),
    );
    await deliver(deps(), message('m2', 2));
    expect(receiver.received).toHaveLength(0);
    expect(queue.sent).toEqual([]);
  });

  it('makes one attempt for two copies of a message handled at once', async () => {
    store.webhooks.set(WEBHOOK, log());
    const sender = deps();
    await Promise.all([deliver(sender, message('m1', 1)), deliver(sender, message('m1', 1))]);
    expect(receiver.received).toHaveLength(1);
    expect(store.webhooks.get(WEBHOOK)!.attempt_count).toBe(1);
    expect(queue.sent).toHaveLength(1);
  });

  it('drops messages for attempts already made: duplicates and stale copies', async () => {
    store.webhooks.set(WEBHOOK, log({ status: 'retrying', attempt_count: 2, round_attempts: 2 }));
    for (const attempt of [1, 2]) await deliver(deps(), message(`m${attempt}`, attempt));
    expect(receiver.received).toHaveLength(0);
    expect(queue.sent).toEqual([]);
    expect(store.webhooks.get(WEBHOOK)!.attempt_count).toBe(2);
  });

  it("sends a message that is ahead of its predecessor's record again later, and drops it when the predecessor never lands", async () => {
    store.webhooks.set(WEBHOOK, log({ status: 'retrying', attempt_count: 1, round_attempts: 1 }));
    await deliver(deps(), message('m3', 3));
    expect(queue.sent).toEqual([{ lane: 'fast', message: { ...IDS, attempt: 3, requeues: 1 }, delay: 1 }]);
    await deliver(deps(), message('m3', 3, { requeues: 12 }));
    expect(queue.sent).toHaveLength(1);
    expect(receiver.received).toHaveLength(0);
  });

  it('drops a stale copy once the webhook has failed, and starts a fresh round for a redriven dead letter', async () => {
    store.webhooks.set(
      WEBHOOK,
      log({ status: 'failed', attempt_count: 2, round_attempts: 2, next_attempt_at_ms: null }),
    );
    await deliver(deps(), message('m1', 3));
    expect(receiver.received).toHaveLength(0);
    // Dead-lettered for an attempt the webhook is no longer at: someone retried it meanwhile.
    await deliver(deps(), message('m2', 2, { reason: 'exhausted' }));
    expect(receiver.received).toHaveLength(0);
    await deliver(deps(), message('m3', 3, { reason: 'exhausted' }));
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({ status: 'retrying', attempt_count: 3, round_attempts: 1 });
    expect(receiver.received).toHaveLength(1);
  });

  it('drops a message written before attempts were numbered, without an attempt', async () => {
    store.webhooks.set(
      WEBHOOK,
      log({ status: 'failed', attempt_count: 2, round_attempts: 2, next_attempt_at_ms: null }),
    );
    await deliver(deps(), message('m1', undefined));
    expect(receiver.received).toHaveLength(0);
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({ status: 'failed', attempt_count: 2 });
  });

  it('sends an early message again, delayed until the webhook is due, without an attempt', async () => {
    store.webhooks.set(
      WEBHOOK,
      log({
        status: 'retrying',
        attempt_count: 1,
        round_attempts: 1,
        next_attempt_at_ms: now + 30_000,
      }),
    );
    await deliver(deps(), message('m1', 2));
    expect(queue.sent).toEqual([{ lane: 'fast', message: { ...IDS, attempt: 2 }, delay: 30 }]);
    expect(receiver.received).toHaveLength(0);
  });

  it('sends the message again later when the store is unavailable, so its receive count never grows', async () => {
    store.webhooks.set(WEBHOOK, log());
    store.failingReads = 3;
    let received = message('m1', 1);
    for (let i = 1; i <= 3; i++) {
      await deliver(deps(), received);
      const resent = queue.sent[queue.sent.length - 1]!;
      expect(resent.message).toEqual({ ...IDS, attempt: 1, requeues: i });
      expect(resent.delay).toBe(Math.round(1.5 ** (i - 1)));
      received = { ...received, messageId: `m1-${i}`, body: encodeMessage(resent.message) };
    }
    expect(receiver.received).toHaveLength(0);
    await deliver(deps(), received);
    expect(receiver.received).toHaveLength(1);
    expect(queue.deadLetters).toEqual([]);
  });

  it('writes the record of an attempt again when the store refuses it after the POST, without posting again', async () => {
    store.webhooks.set(WEBHOOK, log());
    store.failingWrites = 2;
    await deliver(deps(), message('m1', 1));
    expect(receiver.received).toHaveLength(1);
    expect(store.writes).toBe(3);
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({ status: 'retrying', attempt_count: 1, http_status: 500 });
    // The successor alone: nothing asks for the attempt again.
    expect(queue.sent.map((s) => asDelivery(s.message).attempt)).toEqual([2]);
  });

  it('carries the record of an attempt the store keeps refusing in a message, which writes it later and posts nothing', async () => {
    store.webhooks.set(WEBHOOK, log());
    store.failingWrites = 4;
    await deliver(deps(), message('m1', 1));
    expect(receiver.received).toHaveLength(1);
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({ status: 'pending', attempt_count: 0 });
    const [successor, carrier] = queue.sent;
    expect(successor!.message).toMatchObject({ attempt: 2 });
    expect(carrier).toMatchObject({ lane: 'fast', delay: 1, message: { ...IDS, attempt: 1, requeues: 1 } });
    expect(asDelivery(carrier!.message).payload).toBeUndefined();
    expect(asDelivery(carrier!.message).record).toMatchObject({
      version: 1,
      // Unqueued until its next attempt is made: should the successor stop waiting for it, the sweeper sends it.
      state: { status: 'retrying', attempt_count: 1, http_status: 500, response_body: 'down', unqueued: true },
      then: { kind: 'message', lane: 'slow' },
      cut: false,
    });

    // Still refused: carried again, a little later.
    store.failingWrites = 4;
    await deliver(deps(), { messageId: 'c1', body: encodeMessage(carrier!.message), receiveCount: 1, lane: 'fast' });
    const again = queue.sent[2]!;
    expect(again).toMatchObject({ delay: 2, message: { attempt: 1, requeues: 2 } });
    expect(store.webhooks.get(WEBHOOK)!.attempt_count).toBe(0);

    // Taken: the record is the attempt's, and the successor finds it.
    await deliver(deps(), { messageId: 'c2', body: encodeMessage(again.message), receiveCount: 1, lane: 'fast' });
    const recorded = store.webhooks.get(WEBHOOK)!;
    expect(recorded).toMatchObject({
      status: 'retrying',
      attempt_count: 1,
      http_status: 500,
      version: 2,
      unqueued: true,
    });
    expect(recorded.attempts).toEqual([asDelivery(carrier!.message).record!.state.attempts[0]]);
    expect(recorded.next_attempt_at_ms).toBe(asDelivery(carrier!.message).record!.state.next_attempt_at_ms);
    expect(queue.sent).toHaveLength(3);
    expect(receiver.received).toHaveLength(1);
    now = recorded.next_attempt_at_ms! + 10;
    await deliver(deps(), { messageId: 's', body: encodeMessage(successor!.message), receiveCount: 1, lane: 'slow' });
    expect(receiver.received).toHaveLength(2);
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({ attempt_count: 2 });
    expect(store.webhooks.get(WEBHOOK)!.unqueued).toBeUndefined();
  });

  it('drops a carried record once its webhook changed since the attempt: the newer state stands', async () => {
    store.webhooks.set(WEBHOOK, log());
    store.failingWrites = 4;
    await deliver(deps(), message('m1', 1));
    const carrier = queue.sent[1]!.message;
    // Retried by hand meanwhile: a new round.
    const reopened = { ...store.webhooks.get(WEBHOOK)!, round_attempts: 0, version: 2 };
    store.webhooks.set(WEBHOOK, reopened);
    await deliver(deps(), { messageId: 'c1', body: encodeMessage(carrier), receiveCount: 1, lane: 'fast' });
    expect(store.webhooks.get(WEBHOOK)).toEqual(reopened);
    expect(queue.sent).toHaveLength(2);
    expect(receiver.received).toHaveLength(1);
  });

  it('dead-letters poison: an unreadable body, or a message back too often without being finished', async () => {
    await deliver(deps(), { messageId: 'x', body: 'not json', receiveCount: 1, lane: 'fast' });
    store.webhooks.set(WEBHOOK, log());
    await deliver(deps(), message('m1', 1, { receiveCount: 4 }));
    expect(queue.deadLetters).toEqual([
      { body: 'not json', reason: 'poison' },
      { body: { ...IDS, attempt: 1 }, reason: 'poison' },
    ]);
    expect(receiver.received).toHaveLength(0);
  });

  it('cuts a fast-lane attempt at its budget, marks the endpoint slow and moves the webhook to the slow lane', async () => {
    store.endpoints.get(ENDPOINT)!.webhook_url = hanging.url;
    store.webhooks.set(WEBHOOK, log({ endpoint_url: hanging.url }));
    const sender = deps({ fastLaneMs: 300, slowAfterMs: 100, now: Date.now });
    await deliver(sender, message('m1', 1));
    const moved = store.webhooks.get(WEBHOOK)!;
    expect(moved).toMatchObject({ status: 'retrying', attempt_count: 1, round_attempts: 0, http_status: null });
    expect(moved.error).toMatch(/^no response within \d+ ms in the fast lane; moved to the slow lane$/);
    expect(queue.sent).toEqual([{ lane: 'slow', message: { ...IDS, attempt: 2, payload: log().payload }, delay: 0 }]);
    expect(store.endpoints.get(ENDPOINT)!.slow_until_ms).toBeGreaterThan(Date.now());

    // The endpoint's next fast-lane message goes straight to the slow lane, with no attempt.
    const other = '01900000-0000-7000-8000-0000000000f2';
    store.webhooks.set(other, log({ id: other }));
    const received = { ...message('m2', 1), body: encodeMessage({ ...IDS, webhookId: other, attempt: 1 }) };
    await deliver(deps(), received);
    expect(queue.sent[1]).toEqual({ lane: 'slow', message: { ...IDS, webhookId: other, attempt: 1 }, delay: 0 });
    expect(store.webhooks.get(other)!.attempt_count).toBe(0);
    expect(hanging.received).toHaveLength(1);
  });

  it("moves a failing endpoint's fast-lane message to the slow lane before reading its webhook, with no attempt", async () => {
    store.endpoints.get(ENDPOINT)!.failing_since_ms = now - 60_000;
    store.webhooks.set(WEBHOOK, log());
    // Any read of the webhook would fail and send the message back to the fast lane: none is made.
    store.failingReads = 1;
    await deliver(deps(), message('m1', 1));
    expect(queue.sent).toEqual([{ lane: 'slow', message: { ...IDS, attempt: 1 }, delay: 0 }]);
    expect(store.failingReads).toBe(1);
    expect(receiver.received).toHaveLength(0);
    // In the slow lane it makes its attempt; a success would bring the endpoint back to the fast lane.
    store.failingReads = 0;
    await deliver(deps(), message('m1', 1, { lane: 'slow' }));
    expect(receiver.received).toHaveLength(1);
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({ attempt_count: 1, status: 'retrying' });
  });

  it('does not mark an endpoint slow for time its POST spent waiting on this process: the loop lag counts out', async () => {
    const late = await new Receiver((_req, res) => void setTimeout(() => res.writeHead(200).end(), 300)).start();
    try {
      store.endpoints.get(ENDPOINT)!.webhook_url = late.url;
      store.webhooks.set(WEBHOOK, log({ endpoint_url: late.url }));
      // 300 ms against a threshold of 100: slow, unless this process ran 500 ms late lately.
      await deliver(deps({ slowAfterMs: 100, fastLaneMs: 2_000, loopLagMs: () => 500 }), message('m1', 1));
      expect(store.webhooks.get(WEBHOOK)).toMatchObject({ status: 'succeeded' });
      expect(store.endpoints.get(ENDPOINT)!.slow_until_ms ?? null).toBeNull();

      const other = '01900000-0000-7000-8000-0000000000f2';
      store.webhooks.set(other, log({ id: other, endpoint_url: late.url }));
      const received = { ...message('m2', 1), body: encodeMessage({ ...IDS, webhookId: other, attempt: 1 }) };
      await deliver(deps({ slowAfterMs: 100, fastLaneMs: 2_000, loopLagMs: () => 0, now: Date.now }), received);
      expect(store.endpoints.get(ENDPOINT)!.slow_until_ms).toBeGreaterThan(Date.now());
    } finally {
      await late.stop();
    }
  });

  it("hands a hanging fast-lane attempt off once the rest of its batch is done, well before the lane's budget", async () => {
    store.endpoints.get(ENDPOINT)!.webhook_url = hanging.url;
    store.webhooks.set(WEBHOOK, log({ endpoint_url: hanging.url }));
    const sender = deps({ fastLaneMs: 10_000, timeoutMs: 15_000, slowAfterMs: 100, now: Date.now });
    const started = Date.now();
    await deliver(sender, { ...message('m1', 1), batchDone: Promise.resolve() });
    expect(Date.now() - started).toBeLessThan(5_000);
    const moved = store.webhooks.get(WEBHOOK)!;
    expect(moved).toMatchObject({ status: 'retrying', attempt_count: 1, round_attempts: 0 });
    expect(moved.error).toMatch(/^no response within \d+ ms in the fast lane; moved to the slow lane$/);
    expect(queue.sent).toEqual([{ lane: 'slow', message: { ...IDS, attempt: 2, payload: log().payload }, delay: 0 }]);
  });

  it('holds a hanging endpoint to its share of the slow lane: the messages beyond it come back later, unattempted', async () => {
    store.endpoints.get(ENDPOINT)!.webhook_url = hanging.url;
    const sender = deps({ timeoutMs: 400, fastLaneMs: 400, slowAfterMs: 100, hangingEndpointSlots: 1, now: Date.now });
    // Its first slow-lane attempt runs out its whole timeout: the endpoint hangs, for this process.
    store.webhooks.set(WEBHOOK, log({ endpoint_url: hanging.url }));
    await deliver(sender, message('m1', 1, { lane: 'slow' }));
    queue.sent.length = 0;
    const ids = ['01900000-0000-7000-8000-0000000000f2', '01900000-0000-7000-8000-0000000000f3'];
    for (const id of ids) store.webhooks.set(id, log({ id, endpoint_url: hanging.url }));
    const received = ids.map((id, n) => ({
      ...message(`m${n + 2}`, 1, { lane: 'slow' }),
      body: encodeMessage({ ...IDS, webhookId: id, attempt: 1 }),
    }));
    const before = hanging.received.length;
    await Promise.all(received.map((r) => deliver(sender, r)));
    // One attempt in flight (its share); the other message is sent back to the slow lane, delayed, with no attempt.
    expect(hanging.received.length - before).toBe(1);
    const back = queue.sent.filter((m) => 'attempt' in m.message && m.message.attempt === 1);
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ lane: 'slow' });
    expect(back[0]!.delay).toBeGreaterThanOrEqual(1);
  });

  it('sends the message again later when it cannot sign (our outage), using up no attempt of the round', async () => {
    store.webhooks.set(WEBHOOK, log());
    const broken = deps({ organizationTokens: () => Promise.reject(new Error('AccessDenied')) });
    await deliver(broken, message('m1', 1));
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({ status: 'pending', attempt_count: 0, round_attempts: 0 });
    expect(queue.sent).toEqual([{ lane: 'fast', message: { ...IDS, attempt: 1, requeues: 1 }, delay: 1 }]);
    expect(receiver.received).toHaveLength(0);
  });

  it('fails a webhook whose key an operator retired, saying which, without posting or sending it again', async () => {
    store.webhooks.set(WEBHOOK, log());
    const retired = new KeyRetiredError('HMAC root', 'v0', "of this organization's token");
    await deliver(deps({ organizationTokens: () => Promise.reject(retired) }), message('m1', 1));
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({
      status: 'failed',
      error: "the HMAC root version v0 of this organization's token was retired",
      attempt_count: 0,
      next_attempt_at_ms: null,
    });
    expect(queue.sent).toEqual([]);
    expect(receiver.received).toHaveLength(0);
  });

  it('fails a webhook whose endpoint was deleted, without posting', async () => {
    store.webhooks.set(WEBHOOK, log());
    store.endpoints.clear();
    await deliver(deps(), message('m1', 1));
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({
      status: 'failed',
      error: 'the webhook endpoint was deleted',
      attempt_count: 0,
    });
    expect(receiver.received).toHaveLength(0);
  });

  it("sends to an AWS destination as the customer's role, records its refusal as a failed attempt with AWS's error, and retries it as an HTTP attempt", async () => {
    const role = 'arn:aws:iam::210987654321:role/lago-deliveries';
    const queueArn = 'arn:aws:sqs:eu-west-1:210987654321:billing-events';
    store.endpoints.set(ENDPOINT, { ...store.endpoints.get(ENDPOINT)!, webhook_url: queueArn, aws_role_arn: role });
    store.webhooks.set(WEBHOOK, log({ endpoint_url: queueArn }));
    const deliveries: AwsDelivery[] = [];
    const answers: PostResult[] = [
      { ok: false, kind: 'network', error: `AccessDenied: sts:AssumeRole on ${role}: not authorized` },
      { ok: true, status: 200, body: 'msg-1', retryAfter: undefined },
    ];
    const aws = deps({
      awsDestinations: { roles: ['arn:aws:iam::210987654321:role/lago-*'] },
      deliverToAws: async (delivery) => {
        deliveries.push(delivery);
        return answers[deliveries.length - 1]!;
      },
    });
    await deliver(aws, message('m1', 1));
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({
      status: 'retrying',
      attempt_count: 1,
      http_status: null,
      error: `AccessDenied: sts:AssumeRole on ${role}: not authorized`,
    });
    expect(queue.sent).toEqual([
      { lane: 'slow', message: { ...IDS, attempt: 2, payload: log().payload }, delay: expect.any(Number) },
    ]);
    expect(deliveries[0]).toMatchObject({
      target: { service: 'sqs', region: 'eu-west-1', queueName: 'billing-events' },
      role: { arn: role, externalId: ORG, sessionName: `lago-webhooks-${ENDPOINT}` },
      body: log().payload,
      webhookType: 'invoice.created',
      fifo: { groupId: ENDPOINT, deduplicationId: `${WEBHOOK}-1` },
    });
    expect(Object.keys(deliveries[0]!.attributes).sort()).toEqual(
      [
        'X-Lago-Signature',
        'X-Lago-Signature-Algorithm',
        'X-Lago-Unique-Key',
        'webhook-id',
        'webhook-signature',
        'webhook-timestamp',
      ].sort(),
    );

    now = store.webhooks.get(WEBHOOK)!.next_attempt_at_ms! + 10;
    await deliver(aws, message('m2', 2, { lane: 'slow' }));
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({
      status: 'succeeded',
      attempt_count: 2,
      http_status: 200,
      response_body: 'msg-1',
    });
    expect(deliveries[1]!.fifo.deduplicationId).toBe(`${WEBHOOK}-2`);
    expect(receiver.received).toHaveLength(0);
  });

  it('blocks an AWS destination whose role the allow-list no longer names, without calling AWS', async () => {
    const queueArn = 'arn:aws:sqs:eu-west-1:210987654321:billing-events';
    store.endpoints.set(ENDPOINT, {
      ...store.endpoints.get(ENDPOINT)!,
      webhook_url: queueArn,
      aws_role_arn: 'arn:aws:iam::210987654321:role/lago-deliveries',
    });
    store.webhooks.set(WEBHOOK, log({ endpoint_url: queueArn }));
    let calls = 0;
    await deliver(
      deps({
        awsDestinations: { roles: [] },
        deliverToAws: async () => {
          calls++;
          return { ok: true, status: 200, body: 'never', retryAfter: undefined };
        },
      }),
      message('m1', 1),
    );
    expect(calls).toBe(0);
    expect(store.webhooks.get(WEBHOOK)).toMatchObject({
      status: 'retrying',
      error:
        'the role arn:aws:iam::210987654321:role/lago-deliveries is not allowed by this deployment (WEBHOOK_AWS_DESTINATION_ROLES)',
    });
  });

  it('drops messages for webhooks that already succeeded', async () => {
    store.webhooks.set(WEBHOOK, log({ status: 'succeeded' }));
    await deliver(deps(), message('m9', 1));
    expect(receiver.received).toHaveLength(0);
  });
});

describe('the message format', () => {
  it('round-trips, and refuses bodies it did not write', () => {
    const full: DeliveryMessage = { ...IDS, attempt: 3, requeues: 2, reason: 'exhausted' };
    expect(decodeMessage(encodeMessage(full))).toEqual(full);
    expect(decodeMessage(JSON.stringify({ webhook_id: WEBHOOK, endpoint_id: ENDPOINT, organization_id: ORG }))).toEqual(
      IDS,
    );
    for (const bad of [
      '',
      'null',
      '[]',
      '{}',
      JSON.stringify({ ...JSON.parse(encodeMessage(full)), attempt: 0 }),
      JSON.stringify({ ...JSON.parse(encodeMessage(full)), reason: 'why' }),
    ]) {
      expect(decodeMessage(bad), bad).toBeUndefined();
    }
  });

  it("round-trips a carried record, keeps state fields it does not know, and refuses one that is not the webhook's", () => {
    const { payload: _payload, ...state } = log({ status: 'retrying', attempt_count: 1, round_attempts: 1 });
    const carried: DeliveryMessage = {
      ...IDS,
      attempt: 1,
      requeues: 1,
      record: { version: 1, state, then: { kind: 'message', lane: 'slow', delaySeconds: 5 }, cut: false },
    };
    expect(decodeMessage(encodeMessage(carried))).toEqual(carried);
    const wire = JSON.parse(encodeMessage(carried)) as { record: { state: Record<string, unknown> } };
    wire.record.state.parked_until_ms = 5;
    expect(asDelivery(decodeMessage(JSON.stringify(wire))).record?.state).toMatchObject({ parked_until_ms: 5 });
    for (const change of [
      (r: Record<string, unknown>) => (r.version = -1),
      (r: Record<string, unknown>) => ((r.state as Record<string, unknown>).id = ENDPOINT),
      (r: Record<string, unknown>) => ((r.state as Record<string, unknown>).status = 'lost'),
      (r: Record<string, unknown>) => (r.then = { kind: 'later' }),
    ]) {
      const broken = JSON.parse(encodeMessage(carried)) as { record: Record<string, unknown> };
      change(broken.record);
      expect(decodeMessage(JSON.stringify(broken))).toBeUndefined();
    }
  });
});

describe('the lane a webhook is published to', () => {
  it('is the slow one while its endpoint is marked slow or fails, and the fast one once it answers 2xx again', () => {
    const at = 1_800_000_000_000;
    expect(laneOf({}, at)).toBe('fast');
    expect(laneOf({ slow_until_ms: at + 1 }, at)).toBe('slow');
    expect(laneOf({ slow_until_ms: at - 1 }, at)).toBe('fast');
    expect(laneOf({ failing_since_ms: at - 60_000 }, at)).toBe('slow');
    // A failure a moment ago is a blip yet: a success would clear it before it moves anything.
    expect(laneOf({ failing_since_ms: at - FAILING_LANE_AFTER_MS + 1 }, at)).toBe('fast');
    expect(laneOf({ failing_since_ms: null }, at)).toBe('fast');
  });
});

describe("an endpoint's load in a sender process", () => {
  it('is suspect by its POSTs alone: an attempt slow on the store, before or after its POST, is not', () => {
    const memory = newSenderMemory();
    const { attempt, untrack } = trackAttempt(memory, ENDPOINT);
    const at = 1_800_000_000_000;
    const load = (nowMs: number) => endpointLoad(memory, ENDPOINT, { nowMs, suspectAfterMs: 1_000, slots: 1 });
    // Decided long ago, still reading or writing the store: counted, not suspect.
    expect(load(at)).toEqual({ suspect: false, atCap: false });
    attempt.postStartedMs = at - 1_500;
    expect(load(at).suspect).toBe(true);
    attempt.postStartedMs = at - 500;
    expect(load(at).suspect).toBe(false);
    untrack();
    expect(memory.endpointAttempts.has(ENDPOINT)).toBe(false);
  });
});
