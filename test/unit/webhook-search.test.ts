// Covers shared/adapters/dynamodb/webhook-search.ts: the log search's pure planner (which partitions, shards or index keys it reads, with which key range and filter), that each filter's DynamoDB expression and its JavaScript matcher agree on the same fixtures, and that the planned streams, merged, list an endpoint's shards newest first across pages and cursors. Real DynamoDB runs them in test/integration/logs.test.ts.
import { describe, expect, it } from 'vitest';
import { webhookStateKey, type WebhookPartition } from '#shared/adapters/dynamodb/keys.ts';
import { stateAttributes } from '#shared/adapters/dynamodb/webhook-items.ts';
import { placeOf, type EndpointLayout } from '#shared/adapters/dynamodb/webhook-layouts.ts';
import {
  compileExpression,
  compileMatcher,
  mergeNewestFirst,
  planSearch,
  type PlannedQuery,
  type Predicate,
} from '#shared/adapters/dynamodb/webhook-search.ts';
import { highestIdAt, lowestIdAt } from '#shared/domain/ids.ts';
import type { WebhookState } from '#shared/domain/model.ts';
import { newWebhook } from '#shared/domain/webhooks/new-webhook.ts';
import type { WebhookQuery } from '#shared/domain/ports.ts';

const ORG = '0196d7a2-0000-7000-8000-00000000000a';
const OTHER_ORG = '0196d7a2-0000-7000-8000-00000000000b';
const EP1 = '0196d7a2-0000-7000-8000-0000000000e1';
const EP2 = '0196d7a2-0000-7000-8000-0000000000e2';
const T0 = Date.UTC(2026, 10, 1);
const HOUR = 3_600_000;

/** A UUIDv7 created `hours` after T0. */
const idAt = (hours: number, n = 1) => {
  const hex = (T0 + hours * HOUR).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-${n.toString(16).padStart(12, '0')}`;
};

const { payload: _payload, ...fresh } = newWebhook({
  id: idAt(1),
  organization_id: ORG,
  endpoint_id: EP1,
  endpoint_url: 'https://receiver.example.com/lago',
  webhook_type: 'invoice.created',
  object_type: 'invoice',
  object_id: 'inv_1',
  payload: '{}',
  atMs: T0,
});
/** A webhook delivered at its first attempt, unless `overrides` say otherwise. */
const state = (overrides: Partial<WebhookState> = {}): WebhookState => ({
  ...fresh,
  status: 'succeeded',
  attempt_count: 1,
  round_attempts: 1,
  http_status: 200,
  next_attempt_at_ms: null,
  version: 1,
  ...overrides,
});

/** An endpoint from before shards, never published to since: all its webhooks in its unsharded partition. */
const unshardedOnly = (endpointId: string): EndpointLayout => ({ endpointId, shards: 0 });
/** An endpoint with shards; `shardedFrom`: one from before shards, whose webhooks below that id are in its unsharded partition. */
const sharded = (endpointId: string, shards: number, shardedFrom?: string): EndpointLayout => ({
  endpointId,
  shards,
  ...(shardedFrom !== undefined ? { shardedFrom } : {}),
});
const [U1, U2] = [unshardedOnly(EP1), unshardedOnly(EP2)];

const query = (overrides: Partial<WebhookQuery> = {}): WebhookQuery => ({
  organizationId: ORG,
  limit: 20,
  ...overrides,
});

/** Where a webhook is stored under these layouts. */
const partitionOf = (s: WebhookState, layouts: readonly EndpointLayout[]): WebhookPartition =>
  placeOf(
    layouts.find((l) => l.endpointId === s.endpoint_id)!,
    s.id,
  );

/** The item as DynamoDB stores it: keys and state attributes. */
const itemOf = (s: WebhookState, partition: WebhookPartition = { endpointId: s.endpoint_id, shard: null }) => ({
  ...webhookStateKey(partition, s.id),
  ...stateAttributes(s, partition),
});

/**
 * DynamoDB's meaning of the condition expressions the planner writes (comparisons, IN, BETWEEN,
 * attribute_not_exists, AND, OR, parentheses), evaluated on an item: a comparison with an absent
 * attribute is false.
 */
function evaluate(
  expression: string,
  names: Record<string, string>,
  values: Record<string, unknown>,
  item: Record<string, unknown>,
): boolean {
  const tokens = expression.match(/[#:][\w]+|\(|\)|,|=|>|<|\w+/g)!;
  let at = 0;
  const peek = () => tokens[at];
  const take = (expected?: string) => {
    const token = tokens[at++];
    if (expected !== undefined && token !== expected)
      throw new Error(`expected ${expected}, got ${token} in ${expression}`);
    return token!;
  };
  const operand = (): unknown => {
    const token = take();
    if (token.startsWith('#')) return item[names[token]!];
    if (token.startsWith(':')) return values[token];
    throw new Error(`unexpected ${token} in ${expression}`);
  };
  const defined = (...vs: unknown[]) => vs.every((v) => v !== undefined);
  const condition = (): boolean => {
    if (peek() === '(') {
      take('(');
      const result = or();
      take(')');
      return result;
    }
    if (peek() === 'begins_with') {
      take();
      take('(');
      const value = operand();
      take(',');
      const prefix = operand();
      take(')');
      return typeof value === 'string' && value.startsWith(prefix as string);
    }
    if (peek() === 'attribute_not_exists') {
      take();
      take('(');
      const value = operand();
      take(')');
      return value === undefined;
    }
    const left = operand();
    const op = take();
    if (op === '=') return ((right) => defined(left, right) && left === right)(operand());
    if (op === '>') return ((right) => defined(left, right) && (left as number) > (right as number))(operand());
    if (op === '<') return ((right) => defined(left, right) && (left as number) < (right as number))(operand());
    if (op === 'IN') {
      take('(');
      const list = [operand()];
      while (peek() === ',') list.push((take(), operand()));
      take(')');
      return left !== undefined && list.includes(left);
    }
    if (op === 'BETWEEN') {
      const low = operand();
      take('AND');
      const high = operand();
      return (
        defined(left) &&
        typeof left === typeof low &&
        (left as number) >= (low as number) &&
        (left as number) <= (high as number)
      );
    }
    throw new Error(`unexpected ${op} in ${expression}`);
  };
  const and = (): boolean => {
    let result = condition();
    while (peek() === 'AND') result = (take(), condition()) && result;
    return result;
  };
  const or = (): boolean => {
    let result = and();
    while (peek() === 'OR') result = (take(), and()) || result;
    return result;
  };
  const result = or();
  if (at !== tokens.length) throw new Error(`unread tokens in ${expression}`);
  return result;
}

/** Whether a planned query returns the webhook stored in `partition`: its key condition and filter on the item (in the index only if it carries the index key), then the cursor. */
function returns(
  planned: PlannedQuery,
  s: WebhookState,
  before: string | undefined,
  partition?: WebhookPartition,
): boolean {
  const item: Record<string, unknown> = itemOf(s, partition);
  const names = planned.ExpressionAttributeNames;
  const keyName = names['#key']!;
  if (item[keyName] === undefined) return false;
  if (
    !evaluate(
      planned.KeyConditionExpression.replace('#key = :key AND ', ''),
      names,
      planned.ExpressionAttributeValues,
      item,
    )
  )
    return false;
  if (item[keyName] !== planned.ExpressionAttributeValues[':key']) return false;
  if (!evaluate(planned.FilterExpression, names, planned.ExpressionAttributeValues, item)) return false;
  return before === undefined || s.id < before;
}

describe('planSearch: where it reads', () => {
  it('reads every endpoint partition, consistently, newest first, keys only, with the organization as the one filter', () => {
    const plan = planSearch(query(), [U1, U2]);
    expect(plan.queries).toEqual(
      [EP1, EP2].map((endpoint) => ({
        ConsistentRead: true,
        KeyConditionExpression: '#key = :key AND #sort BETWEEN :low AND :high',
        FilterExpression: '#o = :v0',
        ExpressionAttributeNames: { '#o': 'o', '#key': 'pk', '#sort': 'sk' },
        ExpressionAttributeValues: { ':v0': ORG, ':key': `EP#${endpoint}`, ':low': 'W#', ':high': 'W#~' },
        ProjectionExpression: 'pk, sk',
        ScanIndexForward: false,
        Limit: 25,
      })),
    );
    expect(plan.byId).toBeUndefined();
    expect(plan.before).toBeUndefined();
  });

  it('reads only the sparse failed index when failed is the one status asked for, with the endpoint as a filter there', () => {
    const [failed, ...rest] = planSearch(query({ statuses: ['failed'], endpointId: EP2, limit: 100 }), [
      U1,
      U2,
    ]).queries;
    expect(rest).toEqual([]);
    expect(failed).toMatchObject({
      IndexName: 'failed',
      FilterExpression: '#o = :v0 AND begins_with(#pk, :v1)',
      ExpressionAttributeNames: { '#o': 'o', '#pk': 'pk', '#key': 'fo', '#sort': 'sk' },
      ExpressionAttributeValues: { ':v0': ORG, ':v1': `EP#${EP2}`, ':key': ORG },
      Limit: 101,
    });
    expect(failed).not.toHaveProperty('ConsistentRead');
  });

  it('reads the partitions, filtering by status, for any other statuses, and for failed with a search term', () => {
    const [first] = planSearch(query({ statuses: ['failed', 'retrying'] }), [U1]).queries;
    expect(first).toMatchObject({
      ConsistentRead: true,
      FilterExpression: '#o = :v0 AND #s IN (:v1, :v2)',
      ExpressionAttributeValues: { ':v1': 'failed', ':v2': 'retrying' },
    });
    const searched = planSearch(query({ statuses: ['failed'], searchTerm: 'inv_1' }), [U1, U2]);
    expect(searched.queries.map((q) => q.ExpressionAttributeValues[':key'])).toEqual([`EP#${EP1}`, `EP#${EP2}`]);
    expect(searched.queries[0]!.FilterExpression).toBe('#o = :v0 AND #s IN (:v1) AND #oi = :v2');
  });

  it('reads one partition for an endpoint of the organization, and nothing for an endpoint of another', () => {
    const plan = planSearch(query({ endpointId: EP2 }), [U1, U2]);
    expect(plan.queries.map((q) => q.ExpressionAttributeValues[':key'])).toEqual([`EP#${EP2}`]);
    expect(plan.queries[0]!.FilterExpression).toBe('#o = :v0');
    const foreign = planSearch(query({ endpointId: EP2, searchTerm: idAt(1) }), [U1]);
    expect(foreign.queries).toEqual([]);
    expect(foreign.byId).toBeUndefined();
    expect(foreign.matches(state({ endpoint_id: EP2 }))).toBe(false);
  });

  it('turns the date window and the cursor into a key range, and an empty window into no query', () => {
    const window = planSearch(query({ fromMs: T0, toMs: T0 + 2 * HOUR }), [U1]).queries[0]!;
    expect(window.ExpressionAttributeValues).toMatchObject({
      ':low': `W#${lowestIdAt(T0)}`,
      ':high': `W#${highestIdAt(T0 + 2 * HOUR)}`,
    });
    const cursor = planSearch(query({ fromMs: T0, toMs: T0 + 2 * HOUR, before: idAt(1) }), [U1]);
    expect(cursor.queries[0]!.ExpressionAttributeValues[':high']).toBe(`W#${idAt(1)}`);
    expect(cursor.before).toBe(idAt(1));
    // A cursor after the window's end leaves the window's end.
    expect(planSearch(query({ toMs: T0, before: idAt(5) }), [U1]).queries[0]!.ExpressionAttributeValues[':high']).toBe(
      `W#${highestIdAt(T0)}`,
    );
    expect(planSearch(query({ fromMs: T0 + 2 * HOUR, toMs: T0 }), [U1]).queries).toEqual([]);
    expect(planSearch(query({ fromMs: T0 + 2 * HOUR, before: idAt(1) }), [U1]).queries).toEqual([]);
  });

  it('reads a search term that is a webhook id by key too, in the partitions searched', () => {
    expect(planSearch(query({ searchTerm: idAt(1) }), [U1, U2]).byId).toEqual({
      id: idAt(1),
      endpointIds: [EP1, EP2],
    });
    expect(planSearch(query({ searchTerm: idAt(1), endpointId: EP1 }), [U1, U2]).byId).toEqual({
      id: idAt(1),
      endpointIds: [EP1],
    });
    expect(planSearch(query({ searchTerm: 'inv_1' }), [U1]).byId).toBeUndefined();
    // Even when no partition can hold it in the window: the by-id read checks the window itself.
    const empty = planSearch(query({ searchTerm: idAt(1), fromMs: T0 + 2 * HOUR, toMs: T0 }), [U1]);
    expect(empty.queries).toEqual([]);
    expect(empty.matches(state())).toBe(false);
  });

  it('writes webhook types and HTTP statuses (codes, classes, timeout) as alternatives, wrapping only what needs it', () => {
    const [plan] = planSearch(
      query({ webhookTypes: ['invoice.created', 'fee.created'], httpStatuses: ['404', '5xx', 'timeout'] }),
      [U1],
    ).queries;
    expect(plan!.FilterExpression).toBe(
      '#o = :v0 AND #t IN (:v1, :v2) AND (#h = :v3 OR (#h BETWEEN :v4 AND :v5) OR (#n > :v6 AND attribute_not_exists(#h)))',
    );
    expect(plan!.ExpressionAttributeValues).toMatchObject({ ':v3': 404, ':v4': 500, ':v5': 599, ':v6': 0 });
    expect(plan!.ExpressionAttributeNames).toMatchObject({ '#t': 't', '#h': 'h', '#n': 'n' });
    // One alternative is not wrapped twice (DynamoDB refuses redundant parentheses).
    expect(planSearch(query({ httpStatuses: ['5xx'] }), [U1]).queries[0]!.FilterExpression).toBe(
      '#o = :v0 AND (#h BETWEEN :v1 AND :v2)',
    );
    expect(planSearch(query({ httpStatuses: ['timeout'] }), [U1]).queries[0]!.FilterExpression).toBe(
      '#o = :v0 AND (#n > :v1 AND attribute_not_exists(#h))',
    );
    expect(planSearch(query({ httpStatuses: ['500'] }), [U1]).queries[0]!.FilterExpression).toBe(
      '#o = :v0 AND #h = :v1',
    );
  });
});

describe('planSearch: endpoints spread over shards', () => {
  const keysOf = (plan: { queries: PlannedQuery[] }) => plan.queries.map((q) => q.ExpressionAttributeValues[':key']);

  it("reads each of an endpoint's shards, and its unsharded partition only while it may hold older webhooks, sharing a page's reads among them", () => {
    const plan = planSearch(query({ endpointId: EP1 }), [sharded(EP1, 8), U2]);
    expect(keysOf(plan)).toEqual(Array.from({ length: 8 }, (_, n) => `EP#${EP1}#${n}`));
    // A page's 25 items shared by 8 shards, and room for an uneven spread.
    expect(plan.queries.map((q) => q.Limit)).toEqual(Array(8).fill(6));
    expect(plan.queries[0]).toMatchObject({ ConsistentRead: true, FilterExpression: '#o = :v0' });

    const upgraded = planSearch(query({ endpointId: EP1, limit: 100 }), [sharded(EP1, 8, idAt(0))]);
    expect(keysOf(upgraded)).toEqual([...Array.from({ length: 8 }, (_, n) => `EP#${EP1}#${n}`), `EP#${EP1}`]);
    expect(upgraded.queries.map((q) => q.Limit)).toEqual(Array(9).fill(Math.ceil(101 / 9) + 2));

    // The whole organization: every endpoint's partitions, whatever its layout.
    expect(keysOf(planSearch(query(), [sharded(EP1, 2), U2]))).toEqual([`EP#${EP1}#0`, `EP#${EP1}#1`, `EP#${EP2}`]);
  });

  it('reads the failed index under the organization and each shard its endpoints use, and under the organization alone while an unsharded partition may hold webhooks', () => {
    const failedKeys = (layouts: EndpointLayout[], endpointId?: string) =>
      keysOf(planSearch(query({ statuses: ['failed'], ...(endpointId ? { endpointId } : {}) }), layouts));
    expect(failedKeys([sharded(EP1, 4), sharded(EP2, 2)])).toEqual([0, 1, 2, 3].map((n) => `${ORG}#${n}`));
    expect(failedKeys([sharded(EP1, 4), sharded(EP2, 2, idAt(0))])).toEqual([
      ...[0, 1, 2, 3].map((n) => `${ORG}#${n}`),
      ORG,
    ]);
    // One endpoint: only the keys its own webhooks can be under, with the endpoint as the filter.
    const [first] = planSearch(query({ statuses: ['failed'], endpointId: EP2 }), [
      sharded(EP1, 4),
      sharded(EP2, 2),
    ]).queries;
    expect(failedKeys([sharded(EP1, 4), sharded(EP2, 2)], EP2)).toEqual([`${ORG}#0`, `${ORG}#1`]);
    expect(first).toMatchObject({ IndexName: 'failed', FilterExpression: '#o = :v0 AND begins_with(#pk, :v1)' });
    expect(failedKeys([])).toEqual([]);
  });
});

describe('each filter compiles to an expression and a matcher that agree', () => {
  const fixtures: WebhookState[] = [
    state(),
    state({ id: idAt(2), organization_id: OTHER_ORG }),
    state({
      id: idAt(3),
      endpoint_id: EP2,
      status: 'failed',
      http_status: 503,
      attempt_count: 5,
      webhook_type: 'fee.created',
      object_id: 'fee_1',
    }),
    state({ id: idAt(4), status: 'failed', http_status: null, attempt_count: 3, object_id: null }),
    state({ id: idAt(5), status: 'retrying', http_status: 404, attempt_count: 1 }),
    state({ id: idAt(6), status: 'pending', http_status: null, attempt_count: 0, object_id: 'inv_2' }),
    state({
      id: idAt(7),
      endpoint_id: EP2,
      status: 'succeeded',
      http_status: 204,
      webhook_type: 'customer.created',
      object_id: 'cus_1',
    }),
    state({ id: idAt(8), status: 'failed', http_status: 410, attempt_count: 6 }),
  ];

  const queries: Partial<WebhookQuery>[] = [
    {},
    { endpointId: EP2 },
    { statuses: ['failed'] },
    { statuses: ['failed'], endpointId: EP1 },
    { statuses: ['pending', 'retrying'] },
    { webhookTypes: ['fee.created', 'customer.created'] },
    { httpStatuses: ['5xx'] },
    { httpStatuses: ['404', 'timeout'] },
    { httpStatuses: ['2xx'], endpointId: EP2 },
    { httpStatuses: ['410'], statuses: ['failed'] },
    { fromMs: T0 + 2 * HOUR, toMs: T0 + 5 * HOUR },
    { before: idAt(5) },
    { before: idAt(6), fromMs: T0 + 3 * HOUR, statuses: ['failed'] },
    {
      statuses: ['failed', 'succeeded'],
      webhookTypes: ['invoice.created'],
      httpStatuses: ['4xx', '5xx', 'timeout'],
      fromMs: T0,
      toMs: T0 + 8 * HOUR,
    },
  ];

  /** Layouts the fixtures are stored under: unsharded; in shards; in shards from the fifth hour on, the older ones unsharded. */
  const storages: { name: string; layouts: EndpointLayout[] }[] = [
    { name: 'unsharded', layouts: [U1, U2] },
    { name: 'sharded', layouts: [sharded(EP1, 8), sharded(EP2, 3)] },
    { name: 'upgraded', layouts: [sharded(EP1, 8, idAt(5)), U2] },
  ];

  it('on each stored item, in whichever partition: the planned queries return exactly what the matcher accepts', () => {
    for (const { name, layouts } of storages)
      for (const overrides of queries) {
        const q = query(overrides);
        const plan = planSearch(q, layouts);
        for (const s of fixtures) {
          const partition = partitionOf(s, layouts);
          const byQueries = plan.queries.some((planned) => returns(planned, s, plan.before, partition));
          expect(byQueries, `${name}: ${JSON.stringify(overrides)} on ${s.id}`).toBe(plan.matches(s));
        }
      }
  });

  it('finds what the queries find, with expected results on the fixtures', () => {
    const found = (overrides: Partial<WebhookQuery>) =>
      fixtures.filter(planSearch(query(overrides), [U1, U2]).matches).map((s) => s.id);
    expect(found({})).toEqual([1, 3, 4, 5, 6, 7, 8].map((h) => idAt(h)));
    expect(found({ statuses: ['failed'], endpointId: EP1 })).toEqual([idAt(4), idAt(8)]);
    expect(found({ httpStatuses: ['404', 'timeout'] })).toEqual([idAt(4), idAt(5)]);
    expect(found({ httpStatuses: ['5xx'] })).toEqual([idAt(3)]);
    expect(found({ fromMs: T0 + 2 * HOUR, toMs: T0 + 5 * HOUR })).toEqual([idAt(3), idAt(4), idAt(5)]);
    expect(found({ before: idAt(5) })).toEqual([idAt(1), idAt(3), idAt(4)]);
  });

  it('a search term matches by object id in the queries, and by id when read by key', () => {
    const plan = planSearch(query({ searchTerm: 'fee_1' }), [U1, U2]);
    expect(
      fixtures.filter((s) => plan.queries.some((planned) => returns(planned, s, plan.before))).map((s) => s.id),
    ).toEqual([idAt(3)]);
    // The by-id read found the webhook by its id: the other filters still apply.
    const byId = planSearch(query({ searchTerm: idAt(4), statuses: ['succeeded'] }), [U1, U2]);
    expect(byId.matches(fixtures[3]!)).toBe(false);
    expect(planSearch(query({ searchTerm: idAt(4) }), [U1, U2]).matches(fixtures[3]!)).toBe(true);
  });

  it('compiles a predicate alone the same way both sides', () => {
    const predicate: Predicate = {
      op: 'or',
      any: [
        { op: 'eq', field: 'webhookType', value: 'fee.created' },
        {
          op: 'and',
          all: [
            { op: 'gt', field: 'attemptCount', value: 2 },
            { op: 'absent', field: 'httpStatus' },
          ],
        },
      ],
    };
    const { expression, names, values } = compileExpression(predicate);
    expect(expression).toBe('#t = :v0 OR (#n > :v1 AND attribute_not_exists(#h))');
    const matcher = compileMatcher(predicate);
    for (const s of fixtures) expect(evaluate(expression, names, values, itemOf(s)), s.id).toBe(matcher(s));
    expect(fixtures.filter(matcher).map((s) => s.id)).toEqual([idAt(3), idAt(4)]);
  });
});

describe('the merged search', () => {
  /** A planned query run over stored webhooks as DynamoDB and the store run it: the webhooks it returns before the cursor, newest first. */
  async function* run(
    planned: PlannedQuery,
    stored: { s: WebhookState; partition: WebhookPartition }[],
    before: string | undefined,
  ) {
    const ids = stored
      .filter(({ s, partition }) => returns(planned, s, before, partition))
      .map(({ s }) => s.id)
      .sort()
      .reverse();
    for (const id of ids) yield { id };
  }

  /** Every page of a listing, as the API serves it: `limit + 1` merged, the last one shown the next page's cursor. */
  async function pages(
    overrides: Partial<WebhookQuery>,
    layouts: EndpointLayout[],
    stored: { s: WebhookState; partition: WebhookPartition }[],
  ): Promise<string[][]> {
    const limit = overrides.limit ?? 20;
    const listed: string[][] = [];
    let before: string | undefined;
    do {
      const plan = planSearch(query({ ...overrides, limit, ...(before ? { before } : {}) }), layouts);
      const merged = (
        await mergeNewestFirst(
          plan.queries.map((q) => run(q, stored, plan.before)),
          limit + 1,
        )
      ).map((ref) => ref.id);
      listed.push(merged.slice(0, limit));
      before = merged.length > limit ? merged[limit - 1] : undefined;
    } while (before);
    return listed;
  }

  // 60 webhooks a minute apart; the first 10 stored before the endpoint had shards.
  const webhooks = Array.from({ length: 60 }, (_, i) =>
    state({ id: idAt(i / 60, i + 1), status: i % 3 === 0 ? 'failed' : 'succeeded' }),
  );
  const layout = sharded(EP1, 8, webhooks[10]!.id);
  const stored = webhooks.map((s) => ({ s, partition: partitionOf(s, [layout]) }));
  const newestFirst = (list: WebhookState[]) => list.map((w) => w.id).reverse();

  it("lists an endpoint's webhooks from all its shards newest first, each page's cursor taking up where the last ended", async () => {
    expect(new Set(stored.map(({ partition }) => partition.shard)).size).toBe(9);
    const listed = await pages({ limit: 7 }, [layout], stored);
    expect(listed.map((page) => page.length)).toEqual([7, 7, 7, 7, 7, 7, 7, 7, 4]);
    expect(listed.flat()).toEqual(newestFirst(webhooks));
  });

  it('pages the failed index across its shards the same way, and keeps a date window', async () => {
    const failed = webhooks.filter((w) => w.status === 'failed');
    const listed = await pages({ statuses: ['failed'], limit: 4 }, [layout], stored);
    expect(listed.flat()).toEqual(newestFirst(failed));
    const windowed = await pages({ fromMs: T0 + 15 * 60_000, toMs: T0 + 44 * 60_000, limit: 6 }, [layout], stored);
    expect(windowed.flat()).toEqual(newestFirst(webhooks.slice(15, 45)));
  });

  it('takes an id two streams hold once, and reads each stream only as far as the page needs', async () => {
    let pulled = 0;
    async function* counted(ids: string[]) {
      for (const id of ids) {
        pulled++;
        yield { id };
      }
    }
    expect((await mergeNewestFirst([counted(['c', 'b']), counted(['c', 'a'])], 10)).map((r) => r.id)).toEqual([
      'c',
      'b',
      'a',
    ]);
    pulled = 0;
    const many = (from: number) => Array.from({ length: 100 }, (_, i) => String(1000 - from - i * 2));
    expect(await mergeNewestFirst([counted(many(0)), counted(many(1))], 3)).toHaveLength(3);
    expect(pulled).toBeLessThanOrEqual(5);
  });
});
