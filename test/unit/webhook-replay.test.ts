// Covers shared/domain/webhooks/replay.ts against an in-memory store: an event whose webhooks straddle two pages of the
// organization's log is replayed once (its endpoint's own webhook resent, no copy made), a call that runs out of time
// says where the next one goes on and the two together replay each event once, and types the endpoint does not listen
// to are not even read.
import { describe, expect, it } from 'vitest';
import { derivedUuidv7, idTime } from '#shared/domain/ids.ts';
import type { Webhook, WebhookEndpoint, WebhookState } from '#shared/domain/model.ts';
import type {
  DeliveryQueue,
  EndpointStore,
  Logger,
  WebhookPage,
  WebhookQuery,
  WebhookSet,
  WebhookStore,
} from '#shared/domain/ports.ts';
import { newWebhook } from '#shared/domain/webhooks/new-webhook.ts';
import { replayWebhooks } from '#shared/domain/webhooks/replay.ts';

const ORG = '01900000-0000-7000-8000-0000000000a1';
const A = '01900000-0000-7000-8000-0000000000e1';
const B = '01900000-0000-7000-8000-0000000000e2';
const START = Date.UTC(2026, 10, 1);
const NOW = START + 86_400_000;

const endpoint = (id: string, eventTypes: string[] | null = null): WebhookEndpoint =>
  ({
    id,
    organization_id: ORG,
    webhook_url: `https://receiver.example/${id}`,
    signature_algo: 'hmac',
    name: null,
    event_types: eventTypes,
    created_at_ms: START,
  }) as WebhookEndpoint;

/** A succeeded webhook of an event at `ms` for `endpointId`. */
function delivered(id: string, endpointId: string, objectId: string): Webhook {
  return {
    ...newWebhook({
      id,
      organization_id: ORG,
      endpoint_id: endpointId,
      endpoint_url: `https://receiver.example/${endpointId}`,
      webhook_type: 'invoice.created',
      object_type: 'invoice',
      object_id: objectId,
      payload: JSON.stringify({ webhook_type: 'invoice.created', invoice: { lago_id: objectId } }),
      atMs: idTime(id),
    }),
    status: 'succeeded',
    attempt_count: 1,
    round_attempts: 1,
    next_attempt_at_ms: null,
  };
}

const unsupported = (name: string) => () => Promise.reject(new Error(`${name} is not used by replay`));

/** The organization's webhooks in memory: the log's query newest first, conditional writes by version. */
class MemoryStore implements Pick<EndpointStore, 'getEndpoint'>, WebhookStore {
  readonly items = new Map<string, Webhook>();
  readonly endpoints = new Map<string, WebhookEndpoint>();
  readonly queries: WebhookQuery[] = [];
  created: Webhook[] = [];
  listIntents = unsupported('listIntents');
  readSweepMark = unsupported('readSweepMark');
  moveSweepMark = unsupported('moveSweepMark');
  getWebhookState = unsupported('getWebhookState');
  getWebhooks = unsupported('getWebhooks');
  findOverdue = unsupported('findOverdue');
  findDueTimers = unsupported('findDueTimers');
  findParked = unsupported('findParked');

  async getEndpoint(organizationId: string, id: string) {
    const found = this.endpoints.get(id);
    return found?.organization_id === organizationId ? found : undefined;
  }

  async queryWebhooks(query: WebhookQuery): Promise<WebhookPage> {
    this.queries.push(query);
    const matching = [...this.items.values()]
      .filter(
        (w) =>
          w.organization_id === query.organizationId &&
          (!query.webhookTypes || query.webhookTypes.includes(w.webhook_type)) &&
          idTime(w.id) >= (query.fromMs ?? 0) &&
          idTime(w.id) <= (query.toMs ?? Infinity) &&
          (!query.before || w.id < query.before),
      )
      .sort((x, y) => (x.id < y.id ? 1 : -1));
    const items = matching.slice(0, query.limit).map(({ payload: _payload, ...state }) => state);
    return matching.length > query.limit ? { items, last: items[items.length - 1]!.id } : { items };
  }

  async getWebhook(organizationId: string, id: string) {
    const found = this.items.get(id);
    return found?.organization_id === organizationId ? found : undefined;
  }

  async createWebhookSets(sets: WebhookSet[]) {
    for (const set of sets)
      for (const webhook of set.webhooks)
        if (!this.items.has(webhook.id)) {
          this.items.set(webhook.id, webhook);
          this.created.push(webhook);
        }
    return sets.map(() => ({ created: true as const }));
  }

  async updateWebhook(previous: WebhookState, next: WebhookState) {
    const stored = this.items.get(previous.id);
    if (!stored || stored.version !== previous.version) return undefined;
    const written = { ...stored, ...next, payload: stored.payload, version: previous.version + 1 };
    this.items.set(written.id, written);
    const { payload: _payload, ...state } = written;
    return state;
  }
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} } as unknown as Logger;

function deps(store: MemoryStore, now: () => number = () => NOW) {
  const sent: string[] = [];
  const queue = {
    send: async (_lane: unknown, messages: { webhookId: string }[]) => {
      sent.push(...messages.map((m) => m.webhookId));
    },
  } as unknown as DeliveryQueue;
  return { deps: { store, queue, logger: silent, now, rateLimits: { take: async () => undefined } }, sent };
}

/** `count` events one millisecond apart, each with a webhook for A, then one at the oldest time with A's and B's. */
function window(store: MemoryStore, count: number) {
  for (let i = 1; i <= count; i++) {
    const id = derivedUuidv7(START + 1000 + i, `a${i}`);
    store.items.set(id, delivered(id, A, `inv_${i}`));
  }
  // The shared event's copies, B's sorting first in the log: B's ends a page, A's starts the next.
  const [own, other] = [derivedUuidv7(START + 1000, 'shared-a'), derivedUuidv7(START + 1000, 'shared-b')].sort();
  store.items.set(own!, delivered(own!, A, 'inv_shared'));
  store.items.set(other!, delivered(other!, B, 'inv_shared'));
  return { own: own!, other: other! };
}

const body = (to = new Date(NOW).toISOString()) => ({ from_date: new Date(START).toISOString(), to_date: to });

describe('replay', () => {
  it("replays an event whose webhooks straddle two pages once: the endpoint's own webhook, no copy", async () => {
    const store = new MemoryStore();
    store.endpoints.set(A, endpoint(A));
    store.endpoints.set(B, endpoint(B));
    const { own } = window(store, 99);
    const { deps: d, sent } = deps(store);

    const answer = await replayWebhooks(d, ORG, A, body());

    expect(answer).toEqual({ replayed: 100, has_more: false, next_to_date: null });
    expect(store.created).toEqual([]);
    expect(sent).toHaveLength(100);
    expect(new Set(sent).size).toBe(100);
    expect(sent).toContain(own);
    expect(store.queries.length).toBeGreaterThan(1);
  });

  it('makes one webhook for an event another endpoint had, at its time, under a key derived from the copy', async () => {
    const store = new MemoryStore();
    store.endpoints.set(A, endpoint(A));
    store.endpoints.set(B, endpoint(B));
    const { other } = window(store, 0);
    const C = '01900000-0000-7000-8000-0000000000e3';
    store.endpoints.set(C, endpoint(C, ['invoice.created']));
    const { deps: d, sent } = deps(store);

    expect(await replayWebhooks(d, ORG, C, body())).toEqual({ replayed: 1, has_more: false, next_to_date: null });
    const [made] = store.created;
    expect(made).toMatchObject({ endpoint_id: C, created_at_ms: idTime(other), unqueued: true, status: 'pending' });
    expect(idTime(made!.id)).toBe(idTime(other));
    expect(made!.payload).toBe(store.items.get(other)!.payload);
    expect(sent).toEqual([made!.id]);

    // Again: its own webhook now, resent under the same key.
    const again = deps(store);
    expect(await replayWebhooks(again.deps, ORG, C, body())).toMatchObject({ replayed: 0 });
    store.items.set(made!.id, { ...store.items.get(made!.id)!, status: 'succeeded', unqueued: undefined });
    expect(await replayWebhooks(again.deps, ORG, C, body())).toMatchObject({ replayed: 1 });
    expect(again.sent).toEqual([made!.id]);
    expect(store.created).toHaveLength(1);
  });

  it('stops when out of time, saying where the next call goes on; together the calls replay each event once', async () => {
    const store = new MemoryStore();
    store.endpoints.set(A, endpoint(A));
    store.endpoints.set(B, endpoint(B));
    window(store, 250);
    let calls = 0;
    // Each reading of the clock is 10 s later: the first page outlasts the budget.
    const { deps: d, sent } = deps(store, () => NOW + 10_000 * calls++);

    const first = await replayWebhooks(d, ORG, A, body());
    expect(first.has_more).toBe(true);
    expect(first.next_to_date).not.toBeNull();
    expect(first.replayed).toBeLessThan(251);
    const second = await replayWebhooks(deps(store).deps, ORG, A, body(first.next_to_date!));
    expect(first.replayed + second.replayed).toBe(251);
    expect(store.created).toEqual([]);
    expect(sent).toHaveLength(first.replayed);
  });

  it('reads nothing when the types asked for are not among those the endpoint listens to', async () => {
    const store = new MemoryStore();
    store.endpoints.set(A, endpoint(A, ['invoice.created']));
    window(store, 3);
    const { deps: d, sent } = deps(store);
    expect(await replayWebhooks(d, ORG, A, { ...body(), webhook_types: ['customer.created'] })).toEqual({
      replayed: 0,
      has_more: false,
      next_to_date: null,
    });
    expect(store.queries).toEqual([]);
    expect(sent).toEqual([]);
  });
});
