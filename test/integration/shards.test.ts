// Endpoints' webhooks spread over shards (shared/adapters/dynamodb/keys.ts, webhook-layouts.ts) in the stored table:
// a new endpoint's webhooks land in its shards and its failed ones under its organization's shards of the failed
// index; an endpoint from before shards gets them with its first publish since, for webhooks from 15 minutes on, and
// keeps its older webhooks where they were, listed, read, delivered, retried and swept beside the newer ones, with no
// data migration; an endpoint keeps the shard count it was created with when WEBHOOK_SHARDS changes. The stored
// strings are spelled out here: they are the data of earlier releases.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStore } from '#shared/adapters/dynamodb-store.ts';
import { stateAttributes, withoutPayload } from '#shared/adapters/dynamodb/webhook-items.ts';
import { DELIVERY_DEFAULTS } from '#shared/runtime/config.ts';
import { lowestIdAt, uuidv7 } from '#shared/domain/ids.ts';
import type { Webhook, WebhookEndpoint } from '#shared/domain/model.ts';
import { newWebhook } from '#shared/domain/webhooks/new-webhook.ts';
import {
  admin,
  createEndpoint,
  createOrg,
  publish,
  request,
  stack,
  webhook,
  webhookSettles,
  type Org,
} from './helpers.ts';
import { Receiver } from '../support/receiver.ts';

let client: DynamoDBClient;
let table: DynamoDBDocumentClient;
const receivers: Receiver[] = [];

beforeAll(() => {
  client = new DynamoDBClient({
    endpoint: stack().dynamoDbEndpoint,
    region: 'us-east-1',
    credentials: stack().credentials,
  });
  table = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
});

afterAll(async () => {
  client.destroy();
  for (const r of receivers) await r.stop();
});

/** A receiver that fails every attempt of an invoice whose id begins with `fail_`. */
async function receiver(): Promise<Receiver> {
  const r: Receiver = new Receiver((_req, res, count) => {
    const body = JSON.parse(r.received[count - 1]!.body) as { invoice: { lago_id: string } };
    res.writeHead(body.invoice.lago_id.startsWith('fail_') ? 500 : 200).end();
  });
  receivers.push(await r.start());
  return r;
}

const objectsReceived = (r: Receiver) =>
  r.received.map((got) => (JSON.parse(got.body) as { invoice: { lago_id: string } }).invoice.lago_id);

/** The state items of an endpoint's webhooks, by id: the partition key each is stored under, and its `failed` index key. */
async function storedStates(endpointId: string): Promise<Map<string, { pk: string; fo?: string }>> {
  const found = new Map<string, { pk: string; fo?: string }>();
  for (const pk of [`EP#${endpointId}`, ...Array.from({ length: 32 }, (_, n) => `EP#${endpointId}#${n}`)]) {
    const { Items = [] } = await table.send(
      new QueryCommand({
        TableName: stack().table,
        ConsistentRead: true,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :state)',
        ExpressionAttributeValues: { ':pk': pk, ':state': 'W#' },
      }),
    );
    for (const item of Items)
      found.set((item.sk as string).slice(2), { pk, ...(item.fo ? { fo: item.fo as string } : {}) });
  }
  return found;
}

const layoutKey = (endpointId: string) => ({ pk: `EP#${endpointId}`, sk: 'SHARDS' });

/** An endpoint's layout item, without its key. */
async function layoutOf(endpointId: string) {
  const { Item } = await table.send(
    new GetCommand({ TableName: stack().table, Key: layoutKey(endpointId), ConsistentRead: true }),
  );
  const { pk: _pk, sk: _sk, ...layout } = Item ?? {};
  return layout;
}

/** Every page of a search, two webhooks a page. */
async function listAll(org: Org, query = ''): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: { webhooks: { lago_id: string }[]; meta: { next_cursor: string | null } } } =
      await request('GET', `/api/v1/webhooks?per_page=2${query}${cursor ? `&cursor=${cursor}` : ''}`, {
        token: org.apiKey,
      });
    expect(res.status).toBe(200);
    ids.push(...res.body.webhooks.map((w) => w.lago_id));
    cursor = res.body.meta.next_cursor;
  } while (cursor);
  return ids;
}

const batch = async (org: Org, objects: string[]) => {
  const res = await admin<{ results: { webhooks: { lago_id: string }[] }[] }>('POST', '/admin/v1/webhooks/batch', {
    events: objects.map((lago_id) => ({
      organization_id: org.id,
      webhook_type: 'invoice.created',
      object_type: 'invoice',
      object: { lago_id },
    })),
  });
  expect(res.status).toBe(200);
  return res.body.results.map((result) => result.webhooks[0]!.lago_id);
};

const newestFirst = (ids: string[]) => [...ids].sort().reverse();

describe("an endpoint's webhooks", () => {
  it("are spread over its shards, and its failed ones over its organization's keys of the failed index", async () => {
    const r = await receiver();
    const org = await createOrg('Shards');
    const endpointId = await createEndpoint(org, { webhook_url: r.url, signature_algo: 'hmac' });
    expect(await layoutOf(endpointId)).toEqual({ shards: 8 });

    const ids = await batch(org, [...Array.from({ length: 39 }, (_, i) => `inv_${i}`), 'fail_1']);
    await webhookSettles(org, ids[39]!, ['failed']);
    const stored = await storedStates(endpointId);
    expect([...stored.keys()].sort()).toEqual([...ids].sort());
    const partitions = new Set([...stored.values()].map((s) => s.pk));
    expect(partitions.size).toBeGreaterThanOrEqual(6);
    for (const pk of partitions) expect(pk).toMatch(new RegExp(`^EP#${endpointId}#[0-7]$`));
    const failed = stored.get(ids[39]!)!;
    expect(failed.fo).toBe(`${org.id}#${failed.pk.split('#')[2]}`);
    expect(await listAll(org, '&statuses[]=failed')).toEqual([ids[39]]);
  });

  it('keep the shard count their endpoint was created with when WEBHOOK_SHARDS changes', async () => {
    const r = await receiver();
    const org = await createOrg('Three shards');
    // A process running with WEBHOOK_SHARDS=3 creates the endpoint; the suite's service (8) publishes to it.
    const before = new DynamoDbStore(client, stack().table, {
      retentionDays: DELIVERY_DEFAULTS.webhookRetentionDays,
      webhookShards: 3,
    });
    const endpoint: WebhookEndpoint = {
      id: uuidv7(),
      organization_id: org.id,
      webhook_url: r.url,
      signature_algo: 'hmac',
      name: null,
      event_types: null,
      created_at_ms: Date.now(),
    };
    expect(await before.createEndpoint(endpoint, 10)).toBe('ok');

    const ids = await batch(
      org,
      Array.from({ length: 30 }, (_, i) => `inv_${i}`),
    );
    await r.waitFor(30);
    const partitions = new Set([...(await storedStates(endpoint.id)).values()].map((s) => s.pk));
    expect([...partitions].sort()).toEqual([0, 1, 2].map((n) => `EP#${endpoint.id}#${n}`));
    expect(await listAll(org)).toEqual(newestFirst(ids));
  });
});

describe('webhooks stored before endpoints had shards', () => {
  /** A webhook's state item as releases before shards stored it: in its endpoint's own partition, the organization alone as its failed index key. */
  async function storeAsBefore(webhook: Webhook): Promise<void> {
    const partition = { endpointId: webhook.endpoint_id, shard: null };
    await table.send(
      new PutCommand({
        TableName: stack().table,
        Item: {
          pk: `EP#${webhook.endpoint_id}`,
          sk: `W#${webhook.id}`,
          ...stateAttributes(withoutPayload(webhook), partition),
          pl: webhook.payload,
          expires_at: Math.floor(Date.now() / 1000) + 86_400,
        },
      }),
    );
  }

  /** An endpoint as an earlier release made it: without a layout. */
  async function endpointFromBefore(org: Org, r: Receiver): Promise<WebhookEndpoint> {
    const endpoint: WebhookEndpoint = {
      id: uuidv7(Date.now() - 3_600_000),
      organization_id: org.id,
      webhook_url: r.url,
      signature_algo: 'hmac',
      name: 'older',
      event_types: null,
      created_at_ms: Date.now() - 3_600_000,
    };
    const store = new DynamoDbStore(client, stack().table, { retentionDays: DELIVERY_DEFAULTS.webhookRetentionDays });
    expect(await store.createEndpoint(endpoint, 10)).toBe('ok');
    await table.send(new DeleteCommand({ TableName: stack().table, Key: layoutKey(endpoint.id) }));
    return endpoint;
  }

  it('stay where the earlier release looks until 15 minutes after the first publish since, which gives their endpoint its shards', async () => {
    const r = await receiver();
    const org = await createOrg('First publish since');
    const endpoint = await endpointFromBefore(org, r);
    const publishedAt = Date.now();
    const [id] = await batch(org, ['inv_first']);
    await webhookSettles(org, id!, ['succeeded']);
    const layout = await layoutOf(endpoint.id);
    expect(layout).toEqual({ shards: 8, sharded_from: expect.any(String) as string });
    // Webhooks created from a quarter of an hour after this publish on go to the shards.
    const from = layout.sharded_from as string;
    expect(from > uuidv7(publishedAt + 14 * 60_000) && from < uuidv7(publishedAt + 16 * 60_000)).toBe(true);
    expect((await storedStates(endpoint.id)).get(id!)).toEqual({ pk: `EP#${endpoint.id}` });
    expect(objectsReceived(r)).toEqual(['inv_first']);
  });

  it('stay where they are: listed, read, delivered, retried and swept beside the newer ones in shards', async () => {
    const r = await receiver();
    const org = await createOrg('Before shards');
    const endpoint = await endpointFromBefore(org, r);
    // Its first publish since the upgrade was 20 minutes ago: webhooks from 5 minutes ago on are in its shards.
    const shardedFrom = lowestIdAt(Date.now() - 5 * 60_000);
    await table.send(
      new PutCommand({
        TableName: stack().table,
        Item: { ...layoutKey(endpoint.id), shards: 8, sharded_from: shardedFrom },
      }),
    );

    const older = (minutesAgo: number, lagoId: string, overrides: Partial<Webhook>): Webhook => ({
      ...newWebhook({
        id: uuidv7(Date.now() - minutesAgo * 60_000),
        organization_id: org.id,
        endpoint_id: endpoint.id,
        endpoint_url: r.url,
        webhook_type: 'invoice.created',
        object_type: 'invoice',
        object_id: lagoId,
        payload: JSON.stringify({
          webhook_type: 'invoice.created',
          object_type: 'invoice',
          organization_id: org.id,
          invoice: { lago_id: lagoId },
        }),
        atMs: Date.now() - minutesAgo * 60_000,
      }),
      version: 1,
      ...overrides,
    });
    const attempt = (n: number, status: number) => ({
      number: n,
      at_ms: Date.now() - 40 * 60_000,
      http_status: status,
      error: status === 200 ? null : `unexpected http status ${status}`,
      duration_ms: 12,
    });
    const delivered = older(50, 'inv_old_1', {
      status: 'succeeded',
      attempt_count: 1,
      round_attempts: 1,
      attempts: [attempt(1, 200)],
      http_status: 200,
      response_body: 'ok',
    });
    const failed = older(40, 'inv_old_2', {
      status: 'failed',
      attempt_count: 4,
      round_attempts: 4,
      attempts: [1, 2, 3, 4].map((n) => attempt(n, 500)),
      http_status: 500,
      response_body: 'down',
      error: 'unexpected http status 500',
    });
    // Its message was lost before the upgrade: the sweeper finds it in the due index and sends it.
    const unqueued = older(30, 'inv_old_3', { unqueued: true, next_attempt_at_ms: Date.now() - 3_600_000 });
    for (const w of [delivered, failed, unqueued]) await storeAsBefore(w);

    const fresh = await batch(org, ['inv_new', 'fail_new']);
    await webhookSettles(org, unqueued.id, ['succeeded'], 30_000);
    await webhookSettles(org, fresh[0]!, ['succeeded']);
    await webhookSettles(org, fresh[1]!, ['failed']);

    const stored = await storedStates(endpoint.id);
    for (const w of [delivered, failed, unqueued]) expect(stored.get(w.id)?.pk).toBe(`EP#${endpoint.id}`);
    for (const id of fresh) expect(stored.get(id)?.pk).toMatch(new RegExp(`^EP#${endpoint.id}#[0-7]$`));
    expect(stored.get(failed.id)?.fo).toBe(org.id);
    expect(objectsReceived(r).filter((id) => id === 'inv_old_3')).toHaveLength(1);

    const all = newestFirst([...fresh, delivered.id, failed.id, unqueued.id]);
    expect(await listAll(org)).toEqual(all);
    expect(await listAll(org, `&webhook_endpoint_id=${endpoint.id}`)).toEqual(all);
    expect(await listAll(org, '&statuses[]=failed')).toEqual([fresh[1], failed.id]);
    expect(await listAll(org, `&search_term=${failed.id}`)).toEqual([failed.id]);
    expect(await listAll(org, '&search_term=inv_old_3')).toEqual([unqueued.id]);
    expect(await webhook(org, failed.id)).toMatchObject({
      status: 'failed',
      attempts_count: 4,
      payload: JSON.parse(failed.payload) as unknown,
    });

    // A retry starts a new round where the webhook is.
    const retried = await request('POST', `/api/v1/webhooks/${failed.id}/retry`, { token: org.apiKey });
    expect(retried.status).toBe(200);
    expect(await webhookSettles(org, failed.id, ['succeeded'])).toMatchObject({ attempts_count: 5, http_status: 200 });
    expect(objectsReceived(r).filter((id) => id === 'inv_old_2')).toHaveLength(1);
    expect((await storedStates(endpoint.id)).get(failed.id)).toEqual({ pk: `EP#${endpoint.id}` });
    expect(await listAll(org, '&statuses[]=failed')).toEqual([fresh[1]]);
  });
});

// Publish one event by the single route too: its webhook lands in a shard like the batch's.
it('places a single publish in a shard as well', async () => {
  const r = await receiver();
  const org = await createOrg('Single');
  const endpointId = await createEndpoint(org, { webhook_url: r.url, signature_algo: 'hmac' });
  const res = await publish(org, 'invoice.created', { lago_id: 'inv_single' });
  expect(res.status).toBe(202);
  const [id] = res.body.webhooks.map((w) => w.lago_id);
  await webhookSettles(org, id!, ['succeeded']);
  expect((await storedStates(endpointId)).get(id!)?.pk).toMatch(new RegExp(`^EP#${endpointId}#[0-7]$`));
});
