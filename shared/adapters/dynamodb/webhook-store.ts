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
  type WebhookPartition,
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
import { placeOf, type EndpointLayout, type EndpointLayouts } from './webhook-layouts.ts';
import { mergeNewestFirst, planSearch, type PlannedQuery } from './webhook-search.ts';
import { isoMs } from '../../domain/time.ts';

const OVERDUE_SCAN_PAGE = 100;
/** A publish intent is read by the sweeper within minutes; it is kept a while longer for an operator to look at. */
const INTENT_TTL_SECONDS = 2 * 86400;

/** The minute an intent is filed under, as its key spells it. */
const minuteOf = (ms: number) => isoMs(Math.floor(ms / 60_000) * 60_000).slice(0, 16);
/** BatchWriteItem takes 25 items. */
const WRITE_BATCH = 25;
/** A query's pages after its first read twice as many items, up to this. */
const MAX_PAGE = 500;

const idempotencyRecordKey = ({ organizationId, key }: Idempotency) => idempotencyKey(organizationId, key);

/** A webhook at a known partition: what the store reads and writes by key. */
interface Placed {
  partition: WebhookPartition;
  id: string;
}

/** What the store knows of a state it handed out or wrote, which the domain never sees. */
interface Stored {
  /** The item's size, which an update may grow. */
  bytes: number;
  partition: WebhookPartition;
}

/**
 * Webhooks in their endpoints' partitions, spread over each endpoint's shards (keys.ts,
 * webhook-layouts.ts; webhook-items.ts for the items), the idempotency records of publishes, and
 * the webhook search.
 */
export class DynamoDbWebhookStore implements WebhookStore {
  private readonly table: Table;
  private readonly retentionDays: number;
  private readonly layouts: EndpointLayouts;
  /** The size and partition of each state this store handed out or wrote (the domain never sees them). */
  private readonly stored = new WeakMap<WebhookState, Stored>();

  /** `retentionDays`: webhooks, their payloads, responses and idempotency records expire (DynamoDB TTL) this long after they were published. */
  constructor(table: Table, retentionDays: number, layouts: EndpointLayouts) {
    this.table = table;
    this.retentionDays = retentionDays;
    this.layouts = layouts;
  }

  /** The TTL attribute of an item that lives as long as a webhook published at `createdAtMs`. */
  private expiresAt(createdAtMs: number): number {
    return Math.floor(createdAtMs / 1000) + this.retentionDays * 86400;
  }

  /** A state item read, its size and partition remembered for the update that may follow. */
  private read(item: Item): StoredState {
    const stored = fromStateItem(item);
    this.stored.set(stored.state, { bytes: stored.stateBytes, partition: webhookPartition.of(item) });
    return stored;
  }

  /**
   * Each set's idempotency record first (a conditional put: a replay finds it and answers with its
   * webhooks), then the webhooks of every new set, each in its endpoint's shard, 25 items per
   * BatchWriteItem call. No transaction (it would bill twice): a set whose record was written but
   * not its webhooks (a crash in between) is completed by its replay, which finds them missing.
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
    const creating = sets.filter((_, i) => 'created' in outcomes[i]!);
    let layouts: Map<string, EndpointLayout>;
    try {
      layouts = await this.layouts.forWriting(creating.flatMap((set) => set.webhooks.map((w) => w.endpoint_id)));
    } catch (error) {
      return outcomes.map((outcome) => ('created' in outcome ? { failed: error } : outcome));
    }
    const itemsOf = (webhook: Webhook) => {
      const partition = placeOf(layouts.get(webhook.endpoint_id)!, webhook.id);
      const items = newWebhookItems(webhook, partition, this.expiresAt(webhook.created_at_ms));
      this.stored.set(webhook, { bytes: itemBytes(items[0]), partition });
      return items;
    };
    await this.writeSets(sets, outcomes, itemsOf);
    return outcomes;
  }

  /** The payloads that do not fit inline, then the states: a state item is never stored without its payload. */
  private async writeSets(
    sets: WebhookSet[],
    outcomes: WebhookSetOutcome[],
    itemsOf: (webhook: Webhook) => [Item] | [Item, Item],
  ): Promise<void> {
    const items = sets.map((set, i) => ('created' in outcomes[i]! ? set.webhooks.map(itemsOf) : []));
    for (const phase of ['payloads', 'states'] as const) {
      // A set's items stay in one call (at most 10 endpoints: 10 items), so a failed call fails whole sets.
      const chunks: { sets: Set<number>; items: Item[] }[] = [];
      const conditional: { set: number; item: Item }[] = [];
      sets.forEach((set, i) => {
        if (!('created' in outcomes[i]!)) return;
        const phaseItems = items[i]!.flatMap(([state, payload]) =>
          phase === 'states' ? [state] : payload ? [payload] : [],
        );
        if (set.onlyIfAbsent) {
          for (const item of phaseItems) conditional.push({ set: i, item });
          return;
        }
        let chunk = chunks[chunks.length - 1];
        if (phaseItems.length === 0) return;
        if (!chunk || chunk.items.length + phaseItems.length > WRITE_BATCH)
          chunks.push((chunk = { sets: new Set(), items: [] }));
        chunk.items.push(...phaseItems);
        chunk.sets.add(i);
      });
      await eachLimit(chunks, PARALLEL_REQUESTS, async ({ sets: members, items: chunkItems }) => {
        try {
          await this.table.batchPut(chunkItems);
        } catch (error) {
          for (const i of members) outcomes[i] = { failed: error };
          // Answered as not stored: what the call wrote of them is taken back, best effort.
          if (phase === 'states') await this.table.batchDelete(chunkItems).catch(() => undefined);
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

  /** State items by key, consistently, each in the partition its endpoint's layout puts it in. */
  private async stateItems(refs: readonly WebhookRef[]): Promise<Item[]> {
    const layouts = await this.layouts.of(refs.map((ref) => ref.endpointId));
    return this.table.batchGet(
      refs.map(({ endpointId, id }) => webhookStateKey(placeOf(layouts.get(endpointId)!, id), id)),
    );
  }

  /** State items at known partitions (read from a query or an index), in the order asked, read for an update. */
  private async statesAt(placed: readonly Placed[]): Promise<WebhookState[]> {
    const found = new Map<string, WebhookState>();
    for (const item of await this.table.batchGet(placed.map(({ partition, id }) => webhookStateKey(partition, id))))
      found.set(webhookPartition.refOf(item).id, this.read(item).state);
    return placed.flatMap(({ id }) => found.get(id) ?? []);
  }

  /** The sender's read: one consistent GetItem, in the partition the endpoint's layout puts the webhook in. */
  async getWebhookState(ref: WebhookRef): Promise<{ state: WebhookState; payload?: string } | undefined> {
    const partition = placeOf(await this.layouts.one(ref.endpointId), ref.id);
    const item = await this.table.get(webhookStateKey(partition, ref.id), { consistent: true });
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
    const partition = webhookPartition.of(item);
    const [payload, response] = await Promise.all([
      stored.payload ??
        (stored.payloadElsewhere
          ? this.table.get(webhookPayloadKey(partition, id), { consistent: true }).then((found) => unpack(found?.p))
          : null),
      stored.responseElsewhere !== undefined
        ? this.table
            .get(webhookResponseKey(partition, id, stored.responseElsewhere), { consistent: true })
            .then((found) => unpack(found?.r))
        : stored.state.response_body,
    ]);
    if (payload === null) return undefined;
    const webhook = { ...stored.state, response_body: response, payload };
    this.stored.set(webhook, { bytes: stored.stateBytes, partition });
    return webhook;
  }

  /** A webhook's state item among the partitions of `endpointIds`, if it is the organization's. */
  private async findStateItem(organizationId: string, id: string, endpointIds: string[]): Promise<Item | undefined> {
    const items = await this.stateItems(endpointIds.map((endpointId) => ({ endpointId, id })));
    return items.find((item) => item[FILTERED.organization] === organizationId);
  }

  async getWebhooks(refs: WebhookRef[]): Promise<WebhookState[]> {
    const found = new Map<string, WebhookState>();
    for (const item of await this.stateItems(refs)) {
      const { state } = this.read(item);
      found.set(state.id, state);
    }
    return refs.flatMap((ref) => found.get(ref.id) ?? []);
  }

  /** A state this store did not hand out (a copy of one): where its endpoint's layout puts it, and the size of a full item. */
  private async locate(state: WebhookState): Promise<Stored> {
    return { bytes: 1024, partition: placeOf(await this.layouts.one(state.endpoint_id), state.id) };
  }

  /**
   * An UpdateItem of the attributes that changed, guarded by the version read. A new attempt's
   * response goes inline while the item stays within one write unit, or into its own item, written
   * once; the payload is never rewritten.
   */
  async updateWebhook(previous: WebhookState, next: WebhookState): Promise<WebhookState | undefined> {
    const { bytes, partition } = this.stored.get(previous) ?? (await this.locate(previous));
    const written: WebhookState = { ...withoutPayload(next), version: previous.version + 1 };
    const before = stateAttributes(previous, partition);
    const after = stateAttributes(written, partition);
    const storedBytes = bytes + itemBytes(after) - itemBytes(before);
    const set: Item = {};
    const remove: string[] = [];
    for (const [name, value] of Object.entries(after))
      if (value !== undefined && JSON.stringify(value) !== JSON.stringify(before[name])) set[name] = value;
    for (const [name, value] of Object.entries(before))
      if (value !== undefined && after[name] === undefined) remove.push(name);

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
            ...webhookResponseKey(partition, written.id, written.attempt_count),
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
      Key: webhookStateKey(partition, previous.id),
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
    this.stored.set(written, { bytes: storedBytes, partition });
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
      // The entry carries its item's table key: the webhook's partition.
      const placed = (page.Items ?? []).map(placedOf);
      if (placed.length === 0) continue;
      const items = await this.statesAt(placed);
      const last = placed[placed.length - 1]!.id;
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
    const placed = await Promise.all(
      shards.map(async (shard) => {
        const found: Placed[] = [];
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
          // The entry carries its item's table key: the webhook's partition.
          found.push(...(page.Items ?? []).map(placedOf));
          start = page.LastEvaluatedKey;
        } while (start && found.length < perShard);
        return found;
      }),
    );
    return this.statesAt(placed.flat());
  }

  /**
   * A page of the organization's webhooks, newest first: the streams the search plans
   * (webhook-search.ts) over its endpoints' shards, each read with the query's filters applied by
   * DynamoDB, merged; the page's items are then read by key.
   */
  async queryWebhooks(query: WebhookQuery): Promise<WebhookPage> {
    const endpointIds = [...new Set(await this.webhookEndpointIds(query.organizationId))];
    const layouts = await this.layouts.of(endpointIds);
    const plan = planSearch(
      query,
      endpointIds.map((id) => layouts.get(id)!),
    );
    const streams = plan.queries.map((q) => this.stream(q, plan.before));
    if (plan.byId) streams.push(this.byId(query.organizationId, plan.byId.id, plan.byId.endpointIds, plan.matches));
    const placed = await mergeNewestFirst(streams, query.limit + 1);
    const more = placed.length > query.limit;
    const page = placed.slice(0, query.limit);
    const items = await this.statesAt(page);
    return more ? { items, last: page[page.length - 1]!.id } : { items };
  }

  /** One planned query, page after page, each page twice the one before (up to MAX_PAGE). */
  private async *stream(query: PlannedQuery, before: string | undefined): AsyncGenerator<Placed> {
    let start: Record<string, unknown> | undefined;
    let limit = query.Limit;
    do {
      const page = await this.table.query({ ...query, Limit: limit, ExclusiveStartKey: start });
      for (const item of page.Items ?? []) {
        const found = placedOf(item);
        if (before !== undefined && found.id >= before) continue;
        yield found;
      }
      start = page.LastEvaluatedKey;
      limit = Math.min(limit * 2, MAX_PAGE);
    } while (start);
  }

  /** A search term that is a webhook id: read it by key and apply the same filters in memory. */
  private async *byId(
    organizationId: string,
    id: string,
    endpointIds: string[],
    matches: (state: WebhookState) => boolean,
  ): AsyncGenerator<Placed> {
    const item = await this.findStateItem(organizationId, id, endpointIds);
    if (!item || !matches(fromStateItem(item).state)) return;
    yield placedOf(item);
  }
}

/** The webhook a state item, or an index entry with its table key, is for, and its partition. */
const placedOf = (item: Item): Placed => ({
  partition: webhookPartition.of(item),
  id: webhookPartition.refOf(item).id,
});

/** A new webhook's items in its partition: its state, with the payload inline when the item stays within one write unit, or the state and its payload item. */
function newWebhookItems(webhook: Webhook, partition: WebhookPartition, expiresAt: number): [Item] | [Item, Item] {
  const state = withoutPayload(webhook);
  const packed = pack(webhook.payload);
  const bare: Item = {
    ...webhookStateKey(partition, webhook.id),
    ...stateAttributes(state, partition),
    expires_at: expiresAt,
  };
  if (fitsInline(itemBytes(bare), packed)) return [{ ...bare, pl: packed }];
  return [
    { ...bare, px: true },
    { ...webhookPayloadKey(partition, webhook.id), p: packed, expires_at: expiresAt },
  ];
}
