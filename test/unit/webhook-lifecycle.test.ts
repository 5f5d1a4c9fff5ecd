// Covers shared/domain/webhooks/lifecycle.ts and intents.ts: when a webhook counts as stuck, and the sweeper, against an in-memory WebhookStore (the only aggregate it uses): timers stored before waits were chains are sent delayed to the second, lost messages are sent again, a webhook whose round is over is failed and dead-lettered once, and the webhooks of a publish that stored them and never queued them are queued once, found through its unconfirmed intent.
import { beforeEach, describe, expect, it } from 'vitest';
import type { DeadLetterReason, DeliveryMessage, LaneMessage } from '#shared/domain/delivery/message.ts';
import type { Lane } from '#shared/domain/delivery/policy.ts';
import type { WebhookState } from '#shared/domain/model.ts';
import { newWebhook } from '#shared/domain/webhooks/new-webhook.ts';
import type {
  DelayedMessage,
  DeliveryQueue,
  Logger,
  MetricName,
  PublishIntent,
  WebhookRef,
  WebhookStore,
} from '#shared/domain/ports.ts';
import { PublishJournal } from '#shared/domain/webhooks/intents.ts';
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
  readonly intents: PublishIntent[] = [];
  readonly marks = new Map<string, number>();
  /** Webhooks read by key (the sweeper reads only those of unconfirmed intents). */
  reads = 0;
  createWebhookSets = unsupported('createWebhookSets');
  getWebhook = unsupported('getWebhook');
  getWebhookState = unsupported('getWebhookState');
  queryWebhooks = unsupported('queryWebhooks');
  findParked = unsupported('findParked');

  async getWebhooks(refs: WebhookRef[]): Promise<WebhookState[]> {
    this.reads += refs.length;
    return refs.flatMap((ref) => this.items.get(ref.id) ?? []);
  }

  async listIntents(minuteMs: number): Promise<PublishIntent[]> {
    return this.intents.filter((i) => Math.floor(i.atMs / MINUTE) * MINUTE === minuteMs);
  }

  async readSweepMark(name: string): Promise<number | undefined> {
    return this.marks.get(name);
  }

  async moveSweepMark(name: string, from: number | undefined, to: number): Promise<boolean> {
    if (this.marks.get(name) !== from) return false;
    this.marks.set(name, to);
    return true;
  }

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
  sent: { lane: Lane; message: LaneMessage; delay: number }[] = [];
  deadLettered: { message: DeliveryMessage | string; reason: DeadLetterReason }[] = [];
  async send(lane: Lane, messages: LaneMessage[], delaySeconds = 0): Promise<void> {
    for (const message of messages) this.sent.push({ lane, message, delay: delaySeconds });
  }
  async sendEach(lane: Lane, entries: DelayedMessage[]): Promise<void> {
    for (const { message, delaySeconds } of entries) this.sent.push({ lane, message, delay: delaySeconds });
  }
  async deadLetter(message: DeliveryMessage | string, reason: DeadLetterReason): Promise<void> {
    this.deadLettered.push({ message, reason });
  }
}

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

let store: MemoryWebhooks;
let queue: RecordingQueue;
let metrics: [MetricName, number][];
let now = NOW;
const run = () =>
  sweep({
    store,
    queue,
    logger: quiet,
    metrics: { record: (name, value) => metrics.push([name, value]) },
    now: () => now,
    maxAttempts: MAX_ATTEMPTS,
    stuckAfterMs: STUCK_AFTER_MS,
  });
const add = (w: WebhookState) => store.items.set(w.id, w);

beforeEach(() => {
  now = NOW;
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
    expect(await run()).toEqual({ scheduled: 1, requeued: 0, failed: 0, rescued: 0 });
    expect(queue.sent).toEqual([
      { lane: 'fast', delay: 301, message: expect.objectContaining({ webhookId: 'soon', attempt: 2 }) },
    ]);
    expect(store.items.get('soon')).toMatchObject({ timer: false, unqueued: true });
    expect(store.items.get('later')).toMatchObject({ timer: true, version: 1 });
  });

  it('sends again a webhook whose message was lost, and leaves alone one not overdue yet', async () => {
    add(webhook('lost', { unqueued: true, next_attempt_at_ms: NOW - 2 * STUCK_AFTER_MS }));
    add(webhook('recent', { unqueued: true, next_attempt_at_ms: NOW - MINUTE }));
    expect(await run()).toEqual({ scheduled: 0, requeued: 1, failed: 0, rescued: 0 });
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
    expect(await run()).toEqual({ scheduled: 0, requeued: 0, failed: 1, rescued: 0 });
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
    expect(await run()).toEqual({ scheduled: 0, requeued: 0, failed: 0, rescued: 0 });
    expect(queue.deadLettered).toHaveLength(1);
  });
});

describe('publishes that never queued their webhooks', () => {
  /** A webhook just published: pending, never attempted. */
  const published = (id: string, atMs: number) =>
    webhook(id, {
      status: 'pending',
      attempt_count: 0,
      round_attempts: 0,
      http_status: null,
      next_attempt_at_ms: atMs,
    });
  const ref = (w: WebhookState) => ({ endpointId: w.endpoint_id, id: w.id });

  it('queues, once, the webhooks of an intent no later intent of its process confirms, and only those never attempted', async () => {
    const killed = new PublishJournal();
    const alive = new PublishJournal();
    const at = NOW - 10 * MINUTE;
    const [lost, attempted, queued] = ['lost', 'attempted', 'queued'].map((id) => published(id, at));
    add(lost!);
    add({ ...attempted!, status: 'retrying', attempt_count: 1 });
    add(queued!);
    // The killed process wrote its intent and stored its webhooks, then died: nothing confirms it.
    store.intents.push(killed.begin([ref(lost!), ref(attempted!)], at));
    // The live one queued its webhook; its next intent, a minute later, says so.
    const first = alive.begin([ref(queued!)], at);
    store.intents.push(first);
    alive.end(first.seq);
    store.intents.push(alive.begin([], at + MINUTE));
    // The first sweep starts at the last minute it may check: the intents' minute, as the clock is two and a half minutes on.
    now = at + 2 * MINUTE + 30_000;
    expect(await run()).toMatchObject({ rescued: 1 });
    expect(queue.sent).toEqual([
      { lane: 'fast', delay: 0, message: expect.objectContaining({ webhookId: 'lost', attempt: 1 }) },
    ]);
    // Only the unconfirmed intent's webhooks were read.
    expect(store.reads).toBe(2);
    // The minute is checked once.
    now += MINUTE;
    expect(await run()).toMatchObject({ rescued: 0 });
    expect(queue.sent).toHaveLength(1);
  });

  it('waits until the minute after an intent is over, so a confirmation written then still counts', async () => {
    const journal = new PublishJournal();
    const at = NOW - 10 * MINUTE;
    const w = published('w', at);
    add(w);
    const intent = journal.begin([ref(w)], at);
    store.intents.push(intent);
    now = at + MINUTE;
    await run();
    // Too early for the intent's minute: the sweep marked the minute before it.
    expect(store.reads).toBe(0);
    journal.end(intent.seq);
    store.intents.push(journal.begin([], at + MINUTE + 50_000));
    now = at + 3 * MINUTE;
    expect(await run()).toMatchObject({ rescued: 0 });
    expect(store.reads).toBe(0);
    expect(queue.sent).toEqual([]);
  });
});
