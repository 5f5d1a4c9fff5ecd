// Covers shared/domain/webhooks/lifecycle.ts: when a webhook counts as stuck, and the sweeper, against an in-memory WebhookStore (the only aggregate it uses): timers nearly due are sent delayed to the second, lost messages are sent again, and a webhook whose round is over is failed and dead-lettered once.
import { beforeEach, describe, expect, it } from 'vitest';
import type { DeadLetterReason, DeliveryMessage } from '#shared/domain/delivery/message.ts';
import type { Lane } from '#shared/domain/delivery/policy.ts';
import type { WebhookState } from '#shared/domain/model.ts';
import { newWebhook } from '#shared/domain/webhooks/new-webhook.ts';
import type { DeliveryQueue, Logger, MetricName, WebhookStore } from '#shared/domain/ports.ts';
import { isStuck, sweep } from '#shared/domain/webhooks/lifecycle.ts';

const NOW = Date.UTC(2026, 10, 1, 12);
const MINUTE = 60_000;
const STUCK_AFTER_MS = 30 * MINUTE;
const MAX_ATTEMPTS = 3;

/** A webhook published an hour ago whose first attempt failed, changed by `change`. */
function webhook(id: string, change: Partial<WebhookState>): WebhookState {
  const { payload: _payload, ...published } = newWebhook({
    id,
    organization_id: '01900000-0000-7000-8000-0000000000a1',
    endpoint_id: '01900000-0000-7000-8000-0000000000e1',
    endpoint_url: 'https://receiver.example/hooks',
    webhook_type: 'invoice.created',
    object_type: 'invoice',
    object_id: 'inv_1',
    payload: '{}',
    atMs: NOW - 60 * MINUTE,
  });
  return {
    ...published,
    status: 'retrying',
    attempt_count: 1,
    round_attempts: 1,
    http_status: 500,
    next_attempt_at_ms: NOW,
    version: 1,
    ...change,
  };
}

const isLive = (w: WebhookState) => w.status === 'pending' || w.status === 'retrying';
const unsupported = (name: string) => () => Promise.reject(new Error(`${name} is not used by the sweeper`));

/** Webhook states in memory, written only when their version is the one read (as DynamoDB's conditional writes). */
class MemoryWebhooks implements WebhookStore {
  readonly items = new Map<string, WebhookState>();
  createWebhookSets = unsupported('createWebhookSets');
  getWebhook = unsupported('getWebhook');
  getWebhookState = unsupported('getWebhookState');
  getWebhooks = unsupported('getWebhooks');
  queryWebhooks = unsupported('queryWebhooks');

  async findOverdue(dueBeforeMs: number): Promise<WebhookState[]> {
    return [...this.items.values()].filter(
      (w) => isLive(w) && w.unqueued && w.next_attempt_at_ms !== null && w.next_attempt_at_ms < dueBeforeMs,
    );
  }

  async findDueTimers(dueBeforeMs: number): Promise<WebhookState[]> {
    return [...this.items.values()].filter(
      (w) => w.timer && w.next_attempt_at_ms !== null && w.next_attempt_at_ms < dueBeforeMs,
    );
  }

  async updateWebhook(previous: WebhookState, next: WebhookState): Promise<WebhookState | undefined> {
    if (this.items.get(previous.id)?.version !== previous.version) return undefined;
    const written = { ...next, version: previous.version + 1 };
    this.items.set(written.id, written);
    return written;
  }
}

class RecordingQueue implements DeliveryQueue {
  sent: { lane: Lane; message: DeliveryMessage; delay: number }[] = [];
  deadLettered: { message: DeliveryMessage | string; reason: DeadLetterReason }[] = [];
  async send(lane: Lane, messages: DeliveryMessage[], delaySeconds = 0): Promise<void> {
    for (const message of messages) this.sent.push({ lane, message, delay: delaySeconds });
  }
  async deadLetter(message: DeliveryMessage | string, reason: DeadLetterReason): Promise<void> {
    this.deadLettered.push({ message, reason });
  }
}

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

let store: MemoryWebhooks;
let queue: RecordingQueue;
let metrics: [MetricName, number][];
const run = () =>
  sweep({
    store,
    queue,
    logger: quiet,
    metrics: { record: (name, value) => metrics.push([name, value]) },
    now: () => NOW,
    maxAttempts: MAX_ATTEMPTS,
    stuckAfterMs: STUCK_AFTER_MS,
  });
const add = (w: WebhookState) => store.items.set(w.id, w);

beforeEach(() => {
  store = new MemoryWebhooks();
  queue = new RecordingQueue();
  metrics = [];
});

describe('isStuck', () => {
  it('is a live webhook without a timer, due longer ago than the margin', () => {
    expect(isStuck(webhook('a', { next_attempt_at_ms: NOW - STUCK_AFTER_MS - 1 }), NOW, STUCK_AFTER_MS)).toBe(true);
    expect(isStuck(webhook('a', { next_attempt_at_ms: NOW - STUCK_AFTER_MS }), NOW, STUCK_AFTER_MS)).toBe(false);
    expect(
      isStuck(webhook('a', { next_attempt_at_ms: NOW - 2 * STUCK_AFTER_MS, timer: true }), NOW, STUCK_AFTER_MS),
    ).toBe(false);
    for (const status of ['succeeded', 'failed'] as const)
      expect(isStuck(webhook('a', { status, next_attempt_at_ms: NOW - 2 * STUCK_AFTER_MS }), NOW, STUCK_AFTER_MS)).toBe(
        false,
      );
  });
});

describe('sweep', () => {
  it('sends a timer nearly due, delayed to the second, and clears the timer', async () => {
    add(webhook('soon', { timer: true, next_attempt_at_ms: NOW + 5 * MINUTE + 500 }));
    add(webhook('later', { timer: true, next_attempt_at_ms: NOW + 60 * MINUTE }));
    expect(await run()).toEqual({ scheduled: 1, requeued: 0, failed: 0 });
    expect(queue.sent).toEqual([
      { lane: 'fast', delay: 301, message: expect.objectContaining({ webhookId: 'soon', attempt: 2 }) },
    ]);
    expect(store.items.get('soon')).toMatchObject({ timer: false, unqueued: true });
    expect(store.items.get('later')).toMatchObject({ timer: true, version: 1 });
  });

  it('sends again a webhook whose message was lost, and leaves alone one not overdue yet', async () => {
    add(webhook('lost', { unqueued: true, next_attempt_at_ms: NOW - 2 * STUCK_AFTER_MS }));
    add(webhook('recent', { unqueued: true, next_attempt_at_ms: NOW - MINUTE }));
    expect(await run()).toEqual({ scheduled: 0, requeued: 1, failed: 0 });
    expect(queue.sent).toEqual([
      { lane: 'fast', delay: 0, message: expect.objectContaining({ webhookId: 'lost', attempt: 2 }) },
    ]);
    expect(store.items.get('lost')).toMatchObject({ status: 'retrying', next_attempt_at_ms: NOW });
  });

  it('fails a stuck webhook whose round is over, dead-letters it once and counts it exhausted', async () => {
    add(
      webhook('done', {
        unqueued: true,
        round_attempts: MAX_ATTEMPTS,
        attempt_count: MAX_ATTEMPTS,
        next_attempt_at_ms: NOW - 2 * STUCK_AFTER_MS,
      }),
    );
    expect(await run()).toEqual({ scheduled: 0, requeued: 0, failed: 1 });
    expect(store.items.get('done')).toMatchObject({
      status: 'failed',
      error: 'retry schedule exhausted',
      unqueued: false,
      next_attempt_at_ms: null,
    });
    expect(queue.sent).toEqual([]);
    expect(queue.deadLettered).toEqual([
      { reason: 'exhausted', message: expect.objectContaining({ webhookId: 'done' }) },
    ]);
    expect(metrics).toEqual([['WebhooksExhausted', 1]]);
    expect(await run()).toEqual({ scheduled: 0, requeued: 0, failed: 0 });
    expect(queue.deadLettered).toHaveLength(1);
  });
});
