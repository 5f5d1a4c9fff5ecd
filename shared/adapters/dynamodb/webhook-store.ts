import type { Webhook, WebhookState } from '../../domain/model.ts';
import type {
  Idempotency,
  ParkedCursor,
  PublishIntent,
  ParkedPage,
  WebhookPage,
  WebhookQuery,
  WebhookRef,
  WebhookSet,
  WebhookSetOutcome,
  WebhookStore,
} from '../../domain/ports.ts';
import { eachLimit, IF_ABSENT, PARALLEL_REQUESTS, type Item, type Table } from './client.ts';
import {
  dueIndex,
  idempotencyKey,
  intentPartition,
  organizationPartition,
  parkedIndex,
  PK,
  SK,
  webhookPartition,
  webhookPayloadKey,
  webhookResponseKey,
  webhookStateKey,
  sweepMarkKey,
} from './keys.ts';
import {
  FILTERED,
  fitsInline,
  fromStateItem,
  type StoredState,
  itemBytes,
  pack,
  stateAttributes,
  unpack,
  withoutPayload,
} from './webhook-items.ts';
import { planSearch, type PlannedQuery } from './webhook-search.ts';
import { isoMs } from '../../domain/time.ts';

const OVERDUE_SCAN_PAGE = 100;
/** A publish intent is read by the sweeper within minutes; it is kept a while longer for an operator to look at. */
const INTENT_TTL_SECONDS = 2 * 86400;

/** The minute an intent is filed under, as its key spells it. */
const minuteOf = (ms: number) => isoMs(Math.floor(ms / 60_000) * 60_000).slice(0, 16);
/** BatchWriteItem takes 25 items. */
const WRITE_BATCH = 25;

const idempotencyRecordKey = ({ organizationId, key }: Idempotency) => idempotencyKey(organizationId, key);

/** Webhooks in their endpoints' partitions (webhook-items.ts), the idempotency records of publishes, and the webhook search. */
export class DynamoDbWebhookStore implements WebhookStore {
  private readonly table: Table;
  private readonly retentionDays: number;
  /** The stored size of each state this store handed out, which an update may grow (the domain never sees it). */
  private readonly stateBytes = new WeakMap<WebhookState, number>();

  /** `retentionDays`: webhooks, their payloads, responses and idempotency records expire (DynamoDB TTL) this long after they were published. */
  constructor(table: Table, retentionDays: number) {
    this.table = table;
    this.retentionDays = retentionDays;
  }

  /** The TTL attribute of an item that lives as long as a webhook published at `createdAtMs`. */
  private expiresAt(createdAtMs: number): number {
    return Math.floor(createdAtMs / 1000) + this.retentionDays * 86400;
  }

  /** A state item read, its size remembered for the update that may follow. */
  private read(item: Item): StoredState {
    const stored = fromStateItem(item);
    this.stateBytes.set(stored.state, stored.stateBytes);
    return stored;
  }

  /**
   * Each set's idempotency record first (a conditional put: a replay finds it and answers with its
   * webhooks), then the webhooks of every new set, 25 items per BatchWriteItem call. No transaction
   * (it would bill twice): a set whose record was written but not its webhooks (a crash in between)
   * is completed by its replay, which finds them missing.
   */
  async createWebhookSets(sets: WebhookSet[], intent?: PublishIntent): Promise<WebhookSetOutcome[]> {
    const outcomes: WebhookSetOutcome[] = sets.map(() => ({ created: true }));
    const intentWritten = intent
      ? this.writeIntent(intent).then(
          () => undefined,
          (error: unknown) => error,
        )
      : undefined;
    await eachLimit(sets, PARALLEL_REQUESTS, async (set, i) => {
      if (!set.idempotency) return;
      try {
        const record = {
          ...idempotencyRecordKey(set.idempotency),
          webhooks: set.webhooks.map((l) => [l.id, l.endpoint_id]),
          // It expires with the webhooks it names.
          expires_at: this.expiresAt(set.webhooks[0]?.created_at_ms ?? Date.now()),
        };
        if (!(await this.table.putIfAbsent(record))) outcomes[i] = await this.recordedSet(set.idempotency);
      } catch (error) {
        outcomes[i] = { failed: error };
      }
    });
    // Without its intent, a publish killed before it queues would leave its webhooks unqueued for good: nothing is written.
    const intentError = await intentWritten;
    if (intentError !== undefined) return sets.map(() => ({ failed: intentError }));
    // Payloads that do not fit inline first, then the states: a state item is never stored without its payload.
    for (const phase of ['payloads', 'states'] as const) {
      // A set's items stay in one call (at most 10 endpoints: 10 items), so a failed call fails whole sets.
      const chunks: { sets: Set<number>; items: Item[] }[] = [];
      const conditional: { set: number; item: Item }[] = [];
      sets.forEach((set, i) => {
        if (!('created' in outcomes[i]!)) return;
        const items = set.webhooks.flatMap((webhook) => {
          const [state, payload] = newWebhookItems(webhook, this.expiresAt(webhook.created_at_ms));
          return (phase === 'states' ? [state] : payload ? [payload] : []) as Item[];
        });
        if (set.onlyIfAbsent) {
          for (const item of items) conditional.push({ set: i, item });
          return;
        }
        let chunk = chunks[chunks.length - 1];
        if (items.length === 0) return;
        if (!chunk || chunk.items.length + items.length > WRITE_BATCH)
          chunks.push((chunk = { sets: new Set(), items: [] }));
        chunk.items.push(...items);
        chunk.sets.add(i);
      });
      await eachLimit(chunks, PARALLEL_REQUESTS, async ({ sets: members, items }) => {
        try {
          await this.table.batchPut(items);
        } catch (error) {
          for (const i of members) outcomes[i] = { failed: error };
          // Answered as not stored: what the call wrote of them is taken back, best effort.
          if (phase === 'states') await this.table.batchDelete(items).catch(() => undefined);
        }
      });
      // Copies written again by a replay never replace what the first publish wrote meanwhile.
      await eachLimit(conditional, PARALLEL_REQUESTS, async ({ set, item }) => {
        try {
          await this.table.putIfAbsent(item);
        } catch (error) {
          outcomes[set] = { failed: error };
        }
      });
    }
    return outcomes;
  }

  /** A publish intent, its webhooks grouped by endpoint (each endpoint's id written once). */
  private async writeIntent({ publisher, seq, done, atMs, webhooks }: PublishIntent): Promise<void> {
    const byEndpoint: Record<string, string[]> = {};
    for (const { endpointId, id } of webhooks) (byEndpoint[endpointId] ??= []).push(id);
    await this.table.put({
      ...intentPartition.itemKey(minuteOf(atMs), publisher, seq),
      w: byEndpoint,
      d: done,
      at: atMs,
      expires_at: Math.floor(atMs / 1000) + INTENT_TTL_SECONDS,
    });
  }

  async listIntents(minuteMs: number): Promise<PublishIntent[]> {
    const minute = minuteOf(minuteMs);
    const shards = Array.from({ length: intentPartition.shards }, (_, shard) => shard);
    const pages = await Promise.all(
      shards.map(async (shard) => {
        const items: Item[] = [];
        let start: Record<string, unknown> | undefined;
        do {
          const page = await this.table.query({
            KeyConditionExpression: `${PK} = :pk`,
            ExpressionAttributeValues: { ':pk': intentPartition.key(minute, shard) },
            ExclusiveStartKey: start,
          });
          items.push(...(page.Items ?? []));
          start = page.LastEvaluatedKey;
        } while (start);
        return items;
      }),
    );
    return pages.flat().map((item) => ({
      ...intentPartition.idOf(item),
      done: (item.d as number[] | undefined) ?? [],
      atMs: item.at as number,
      webhooks: Object.entries((item.w as Record<string, string[]> | undefined) ?? {}).flatMap(([endpointId, ids]) =>
        ids.map((id) => ({ endpointId, id })),
      ),
    }));
  }

  async readSweepMark(name: string): Promise<number | undefined> {
    const item = await this.table.get(sweepMarkKey(name), { consistent: true });
    return typeof item?.m === 'number' ? item.m : undefined;
  }

  async moveSweepMark(name: string, from: number | undefined, to: number): Promise<boolean> {
    return this.table.updateIf({
      Key: sweepMarkKey(name),
      UpdateExpression: 'SET #m = :to',
      ConditionExpression: from === undefined ? IF_ABSENT : '#m = :from',
      ExpressionAttributeNames: { '#m': 'm' },
      ExpressionAttributeValues: { ':to': to, ...(from === undefined ? {} : { ':from': from }) },
    });
  }

  /** The webhooks an idempotency record names, once its condition failed. */
  private async recordedSet(idempotency: Idempotency): Promise<WebhookSetOutcome> {
    const item = await this.table.get(idempotencyRecordKey(idempotency), { consistent: true });
    const pairs = (item?.webhooks as [string, string][] | undefined) ?? [];
    return { existing: pairs.map(([id, endpointId]) => ({ id, endpointId })) };
  }

  /** The endpoints whose partitions hold the organization's webhooks: its endpoints and those deleted within the retention. */
  private async webhookEndpointIds(organizationId: string): Promise<string[]> {
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.table.query({
        KeyConditionExpression: `${PK} = :pk`,
        ProjectionExpression: SK,
        ExpressionAttributeValues: { ':pk': organizationPartition.key(organizationId) },
        ExclusiveStartKey: start,
      });
      for (const item of page.Items ?? []) {
        const id = organizationPartition.webhookEndpointOf(item);
        if (id !== undefined) ids.push(id);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return ids;
  }

  async getWebhookState(ref: WebhookRef): Promise<{ state: WebhookState; payload?: string } | undefined> {
    const item = await this.table.get(webhookStateKey(ref), { consistent: true });
    if (!item) return undefined;
    const { state, payload } = this.read(item);
    return payload !== undefined ? { state, payload } : { state };
  }

  async getWebhook(organizationId: string, id: string, endpointId?: string): Promise<Webhook | undefined> {
    const item = await this.findStateItem(
      organizationId,
      id,
      endpointId ? [endpointId] : await this.webhookEndpointIds(organizationId),
    );
    if (!item) return undefined;
    const stored = this.read(item);
    const ref = webhookPartition.refOf(item);
    const [payload, response] = await Promise.all([
      stored.payload ??
        (stored.payloadElsewhere
          ? this.table.get(webhookPayloadKey(ref), { consistent: true }).then((found) => unpack(found?.p))
          : null),
      stored.responseElsewhere !== undefined
        ? this.table
            .get(webhookResponseKey(ref, stored.responseElsewhere), { consistent: true })
            .then((found) => unpack(found?.r))
        : stored.state.response_body,
    ]);
    if (payload === null) return undefined;
    const webhook = { ...stored.state, response_body: response, payload };
    this.stateBytes.set(webhook, stored.stateBytes);
    return webhook;
  }

  /** A webhook's state item among the partitions of `endpointIds`, if it is the organization's. */
  private async findStateItem(organizationId: string, id: string, endpointIds: string[]): Promise<Item | undefined> {
    const items = await this.table.batchGet(endpointIds.map((endpointId) => webhookStateKey({ endpointId, id })));
    return items.find((item) => item[FILTERED.organization] === organizationId);
  }

  async getWebhooks(refs: WebhookRef[]): Promise<WebhookState[]> {
    const found = new Map<string, WebhookState>();
    for (const item of await this.table.batchGet(refs.map(webhookStateKey))) {
      const { state } = this.read(item);
      found.set(state.id, state);
    }
    return refs.flatMap((ref) => found.get(ref.id) ?? []);
  }

  /**
   * An UpdateItem of the attributes that changed, guarded by the version read. A new attempt's
   * response goes inline while the item stays within one write unit, or into its own item, written
   * once; the payload is never rewritten.
   */
  async updateWebhook(previous: WebhookState, next: WebhookState): Promise<WebhookState | undefined> {
    const written: WebhookState = { ...withoutPayload(next), version: previous.version + 1 };
    const before = stateAttributes(previous);
    const after = stateAttributes(written);
    const storedBytes = (this.stateBytes.get(previous) ?? 1024) + itemBytes(after) - itemBytes(before);
    const set: Item = {};
    const remove: string[] = [];
    for (const [name, value] of Object.entries(after))
      if (value !== undefined && JSON.stringify(value) !== JSON.stringify(before[name])) set[name] = value;
    for (const [name, value] of Object.entries(before))
      if (value !== undefined && after[name] === undefined) remove.push(name);

    const ref = { endpointId: previous.endpoint_id, id: previous.id };
    if (written.attempt_count !== previous.attempt_count || written.response_body !== previous.response_body) {
      if (written.response_body === null) remove.push('rb', 'rx');
      else {
        const packed = pack(written.response_body);
        if (fitsInline(storedBytes, packed, 0)) {
          set.rb = packed;
          remove.push('rx');
        } else {
          // Written once, beside the state: later state changes do not rewrite it.
          await this.table.put({
            ...webhookResponseKey(ref, written.attempt_count),
            r: packed,
            expires_at: this.expiresAt(written.created_at_ms),
          });
          set.rx = written.attempt_count;
          remove.push('rb');
        }
      }
    }
    const names: Record<string, string> = { '#v': 'v' };
    const values: Record<string, unknown> = { ':version': previous.version };
    const sets = Object.entries(set).map(([name, value], i) => {
      names[`#s${i}`] = name;
      values[`:s${i}`] = value;
      return `#s${i} = :s${i}`;
    });
    const removes = [...new Set(remove)].map((name, i) => {
      names[`#r${i}`] = name;
      return `#r${i}`;
    });
    const ok = await this.table.updateIf({
      Key: webhookStateKey(ref),
      UpdateExpression: [
        sets.length ? `SET ${sets.join(', ')}` : '',
        removes.length ? `REMOVE ${removes.join(', ')}` : '',
      ]
        .join(' ')
        .trim(),
      ConditionExpression: '#v = :version',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
    if (!ok) return undefined;
    this.stateBytes.set(written, storedBytes);
    return written;
  }

  findOverdue(dueBeforeMs: number, limit: number): Promise<WebhookState[]> {
    return this.findDue('overdue', dueBeforeMs, limit);
  }

  findDueTimers(dueBeforeMs: number, limit: number): Promise<WebhookState[]> {
    return this.findDue('timer', dueBeforeMs, limit);
  }

  async findParked(endpointId: string, from: ParkedCursor | undefined, limit: number): Promise<ParkedPage> {
    for (let shard = from?.shard ?? 0, after = from?.after; shard < parkedIndex.shards; shard++, after = undefined) {
      const page = await this.table.query({
        IndexName: parkedIndex.name,
        KeyConditionExpression: after === undefined ? '#p = :pk' : '#p = :pk AND #id > :after',
        ExpressionAttributeNames: {
          '#p': parkedIndex.partitionKey,
          ...(after === undefined ? {} : { '#id': parkedIndex.sortKey }),
        },
        ExpressionAttributeValues: {
          ':pk': parkedIndex.partition(endpointId, shard),
          ...(after === undefined ? {} : { ':after': after }),
        },
        Limit: limit,
      });
      const refs = (page.Items ?? []).map(webhookPartition.refOf);
      if (refs.length === 0) continue;
      const items = await this.getWebhooks(refs);
      const last = refs[refs.length - 1]!.id;
      // A full page may have more after it in this shard; otherwise the next shard is next.
      if (page.LastEvaluatedKey) return { items, next: { shard, after: last } };
      return shard + 1 < parkedIndex.shards ? { items, next: { shard: shard + 1 } } : { items };
    }
    return { items: [] };
  }

  /** The oldest due entries of every shard, an equal share of `limit` each, read side by side: no shard waits behind another. */
  private async findDue(kind: 'overdue' | 'timer', dueBeforeMs: number, limit: number): Promise<WebhookState[]> {
    const perShard = Math.ceil(limit / dueIndex.shards);
    const shards = Array.from({ length: dueIndex.shards }, (_, shard) => shard);
    const refs = await Promise.all(
      shards.map(async (shard) => {
        const found: WebhookRef[] = [];
        let start: Record<string, unknown> | undefined;
        do {
          const page = await this.table.query({
            IndexName: dueIndex.name,
            KeyConditionExpression: '#due = :pk AND #at < :before',
            ExpressionAttributeNames: { '#due': dueIndex.partitionKey, '#at': dueIndex.sortKey },
            // The index sorts by the ISO time of the next attempt (keys.ts).
            ExpressionAttributeValues: { ':pk': dueIndex.partition(kind, shard), ':before': isoMs(dueBeforeMs) },
            Limit: Math.min(OVERDUE_SCAN_PAGE, perShard - found.length),
            ExclusiveStartKey: start,
          });
          found.push(...(page.Items ?? []).map(webhookPartition.refOf));
          start = page.LastEvaluatedKey;
        } while (start && found.length < perShard);
        return found;
      }),
    );
    return this.getWebhooks(refs.flat());
  }

  /**
   * A page of the organization's webhooks, newest first: a k-way merge of the streams the search
   * plans (webhook-search.ts), each read with the query's filters applied by DynamoDB; the page's
   * items are then read by key.
   */
  async queryWebhooks(query: WebhookQuery): Promise<WebhookPage> {
    const plan = planSearch(query, await this.webhookEndpointIds(query.organizationId));
    const streams = plan.queries.map((q) => this.stream(q, plan.before));
    if (plan.byId) streams.push(this.byId(query.organizationId, plan.byId.id, plan.byId.endpointIds, plan.matches));
    const refs: WebhookRef[] = [];
    const heads = await Promise.all(streams.map((s) => s.next()));
    // k-way merge, newest first; one id can come from two streams (a search term that is both).
    while (refs.length <= query.limit) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const head = heads[i]!;
        if (head.done) continue;
        if (best === -1 || head.value.id > (heads[best]!.value as WebhookRef).id) best = i;
      }
      if (best === -1) break;
      const ref = heads[best]!.value as WebhookRef;
      if (refs[refs.length - 1]?.id !== ref.id) refs.push(ref);
      heads[best] = await streams[best]!.next();
    }
    await Promise.all(streams.map((s) => s.return(undefined)));
    const more = refs.length > query.limit;
    const page = refs.slice(0, query.limit);
    const items = await this.getWebhooks(page);
    return more ? { items, last: page[page.length - 1]!.id } : { items };
  }

  /** One planned query, page after page. */
  private async *stream(query: PlannedQuery, before: string | undefined): AsyncGenerator<WebhookRef> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.table.query({ ...query, ExclusiveStartKey: start });
      for (const item of page.Items ?? []) {
        const ref = webhookPartition.refOf(item);
        if (before !== undefined && ref.id >= before) continue;
        yield ref;
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /** A search term that is a webhook id: read it by key and apply the same filters in memory. */
  private async *byId(
    organizationId: string,
    id: string,
    endpointIds: string[],
    matches: (state: WebhookState) => boolean,
  ): AsyncGenerator<WebhookRef> {
    const item = await this.findStateItem(organizationId, id, endpointIds);
    if (!item || !matches(fromStateItem(item).state)) return;
    yield webhookPartition.refOf(item);
  }
}

/** A new webhook's items: its state, with the payload inline when the item stays within one write unit, or the state and its payload item. */
function newWebhookItems(webhook: Webhook, expiresAt: number): [Item] | [Item, Item] {
  const state = withoutPayload(webhook);
  const ref = { endpointId: webhook.endpoint_id, id: webhook.id };
  const packed = pack(webhook.payload);
  const bare: Item = { ...webhookStateKey(ref), ...stateAttributes(state), expires_at: expiresAt };
  if (fitsInline(itemBytes(bare), packed)) return [{ ...bare, pl: packed }];
  return [
    { ...bare, px: true },
    { ...webhookPayloadKey(ref), p: packed, expires_at: expiresAt },
  ];
}
