import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type UpdateCommandInput,
  type BatchGetCommandOutput,
  type TransactWriteCommandInput,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unavailable } from '../errors.ts';
import { highestIdAt, isUuid, lowestIdAt } from '../ids.ts';
import type { Organization, WebhookEndpoint, Webhook, WebhookState } from '../model.ts';
import type { EndpointWriteResult, Idempotency, WebhookPage, WebhookQuery, Store, WebhookRef, WebhookSet, WebhookSetOutcome } from '../ports.ts';
import { DUE_SHARDS, fitsInline, fromStateItem, itemBytes, pack, payloadSk, responseSk, stateAttributes, stateSk, unpack, webhookPk, withoutPayload } from './webhook-items.ts';

/**
 * The store on one DynamoDB table (keys and indexes in infra/definitions.ts):
 *   ORG#<org> / ORG               organization, with its endpoint count (the limit is a condition on it)
 *   KEY#<sha256 of api key> / KEY  the organization an API key belongs to
 *   ORG#<org> / EP#<id>            endpoint
 *   ORG#<org> / XEP#<id>           an endpoint deleted while its webhooks are kept (expires with them)
 *   ORG#<org> / URL#<sha256 url>   claims a URL so it is unique per organization
 *   EP#<endpoint> / W#, P#, R#     webhooks: see shared/adapters/webhook-items.ts
 *   IDEM#<org>#<key> / IDEM        the webhooks created by a publish with that idempotency key
 * Webhook ids are UUIDv7, so an endpoint's partition, sorted by `sk`, is sorted by creation time.
 */

const TRANSACTION_ATTEMPTS = 4;
const OVERDUE_SCAN_PAGE = 100;
/** BatchWriteItem takes 25 items, BatchGetItem 100. */
const WRITE_BATCH = 25;
const READ_BATCH = 100;
/** Requests one call of the store keeps in flight. */
const PARALLEL_REQUESTS = 16;
/** Tries of a batch write whose items DynamoDB left unprocessed (throttling), with backoff. */
const BATCH_WRITE_TRIES = 6;

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const orgKey = (id: string) => ({ pk: `ORG#${id}`, sk: 'ORG' });
const endpointKey = (orgId: string, id: string) => ({ pk: `ORG#${orgId}`, sk: `EP#${id}` });
const deletedEndpointKey = (orgId: string, id: string) => ({ pk: `ORG#${orgId}`, sk: `XEP#${id}` });
const urlKey = (orgId: string, url: string) => ({ pk: `ORG#${orgId}`, sk: `URL#${sha256(url)}` });
const idempotencyKey = ({ organizationId, key }: Idempotency) => ({ pk: `IDEM#${organizationId}#${key}`, sk: 'IDEM' });
const stateKey = ({ endpointId, id }: WebhookRef) => ({ pk: webhookPk(endpointId), sk: stateSk(id) });
const refOf = (item: Record<string, unknown>): WebhookRef => ({ endpointId: (item.pk as string).slice(3), id: (item.sk as string).slice(2) });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** Runs `work` on every item with at most `limit` in flight. */
async function eachLimit<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
}

function toOrganization(Item: Item): Organization {
  return {
    id: Item.id as string,
    name: Item.name as string,
    created_at: Item.created_at as string,
    ...(typeof Item.token_version === 'number' ? { token_version: Item.token_version } : {}),
    ...(typeof Item.sealed_token === 'string' ? { sealed_token: Item.sealed_token } : {}),
    ...(typeof Item.previous_token_version === 'number' ? { previous_token_version: Item.previous_token_version } : {}),
    ...(typeof Item.previous_sealed_token === 'string' ? { previous_sealed_token: Item.previous_sealed_token } : {}),
    ...(typeof Item.previous_token_expires_at === 'number' ? { previous_token_expires_at: Item.previous_token_expires_at } : {}),
  };
}

function toEndpoint(item: Item): WebhookEndpoint {
  return {
    id: item.id as string,
    organization_id: item.organization_id as string,
    webhook_url: item.webhook_url as string,
    signature_algo: item.signature_algo as WebhookEndpoint['signature_algo'],
    name: (item.name as string | null | undefined) ?? null,
    event_types: (item.event_types as string[] | null | undefined) ?? null,
    created_at: item.created_at as string,
    slow_until: (item.slow_until as number | null | undefined) ?? null,
    disabled_at: (item.disabled_at as string | null | undefined) ?? null,
    disabled_reason: (item.disabled_reason as string | null | undefined) ?? null,
    failing_since: (item.failing_since as number | null | undefined) ?? null,
    headers: (item.headers as Record<string, string> | null | undefined) ?? null,
  };
}

/** What the API changes on an endpoint; the sender's own marks (slow_until, failing_since, an automatic disable) are written only when the API changed them. */
const ENDPOINT_FIELDS = ['signature_algo', 'name', 'event_types', 'headers', 'disabled_at', 'disabled_reason', 'failing_since'] as const;

/** SET and REMOVE clauses for the fields that differ between two versions of an endpoint. */
function endpointChanges(previous: WebhookEndpoint, next: WebhookEndpoint) {
  const set = ['#webhook_url = :webhook_url'];
  const remove: string[] = [];
  const names: Record<string, string> = { '#webhook_url': 'webhook_url' };
  const values: Record<string, unknown> = { ':webhook_url': next.webhook_url };
  for (const field of ENDPOINT_FIELDS) {
    const value = next[field] ?? null;
    if (JSON.stringify(value) === JSON.stringify(previous[field] ?? null)) continue;
    names[`#${field}`] = field;
    // Lago keeps name and event_types as null; the rest is absent when unset.
    if (value === null && field !== 'name' && field !== 'event_types') {
      remove.push(`#${field}`);
    } else {
      set.push(`#${field} = :${field}`);
      values[`:${field}`] = value;
    }
  }
  return { expression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`, names, values };
}

function cancellationCodes(error: unknown): string[] | undefined {
  if (error instanceof TransactionCanceledException) return (error.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
  return undefined;
}

/** One stream of candidate webhooks, newest first: an endpoint's partition, or the `failed` index. */
interface Partition {
  index?: 'failed';
  key: string;
}

export class DynamoDbStore implements Store {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  private readonly retentionDays: number;

  /** `retentionDays`: how long webhooks are kept, so a deleted endpoint's webhooks stay listed as long. */
  constructor(client: DynamoDBClient, tableName: string, options: { retentionDays?: number } = {}) {
    this.db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = tableName;
    this.retentionDays = options.retentionDays ?? 30;
  }

  /**
   * One transaction, retried briefly when DynamoDB cancels it for a concurrent transaction on the
   * same items (the SDK does not retry that); a failed condition is the caller's to interpret.
   */
  private async transact(items: TransactItem[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: items }));
        return;
      } catch (error) {
        const codes = cancellationCodes(error);
        if (!codes?.includes('TransactionConflict') || codes.includes('ConditionalCheckFailed')) throw error;
        if (attempt >= TRANSACTION_ATTEMPTS) throw unavailable('concurrent changes to the same records; retry');
        await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt * (0.5 + Math.random())));
      }
    }
  }

  /** An update guarded by its condition: false when the condition did not hold. */
  private async updateIf(input: UpdateCommandInput): Promise<boolean> {
    try {
      await this.db.send(new UpdateCommand(input));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async createOrganization(org: Organization, apiKeyHash: string): Promise<void> {
    await this.transact([
      { Put: { TableName: this.table, Item: { ...orgKey(org.id), ...org, endpoint_count: 0 }, ConditionExpression: 'attribute_not_exists(pk)' } },
      { Put: { TableName: this.table, Item: { pk: `KEY#${apiKeyHash}`, sk: 'KEY', organization_id: org.id }, ConditionExpression: 'attribute_not_exists(pk)' } },
    ]);
  }

  async getOrganization(id: string): Promise<Organization | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.table, Key: orgKey(id) }));
    return Item ? toOrganization(Item) : undefined;
  }

  /** One query: the organization's item and its endpoints sort together (`EP#…` < `ORG`), URL claims and deleted endpoints after. */
  async getOrganizationWithEndpoints(id: string): Promise<{ organization: Organization | undefined; endpoints: WebhookEndpoint[] }> {
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :ep AND :org',
        ExpressionAttributeValues: { ':pk': orgKey(id).pk, ':ep': 'EP#', ':org': 'ORG' },
        ConsistentRead: true,
      }),
    );
    const org = Items.find((item) => item.sk === 'ORG');
    return { organization: org ? toOrganization(org) : undefined, endpoints: Items.filter((item) => (item.sk as string).startsWith('EP#')).map(toEndpoint) };
  }

  async rotateOrganizationToken(organizationId: string, current: Pick<Organization, 'token_version' | 'sealed_token'>, nextVersion: number, previousExpiresAt: number): Promise<boolean> {
    const sealed = current.token_version === undefined;
    return this.updateIf({
      TableName: this.table,
      Key: orgKey(organizationId),
      UpdateExpression: sealed
        ? 'SET token_version = :next, previous_sealed_token = :sealed, previous_token_expires_at = :expires REMOVE sealed_token, previous_token_version'
        : 'SET token_version = :next, previous_token_version = :version, previous_token_expires_at = :expires REMOVE previous_sealed_token',
      ConditionExpression: sealed ? 'attribute_not_exists(token_version) AND sealed_token = :sealed' : 'token_version = :version',
      ExpressionAttributeValues: { ':next': nextVersion, ':expires': previousExpiresAt, ...(sealed ? { ':sealed': current.sealed_token } : { ':version': current.token_version }) },
    });
  }

  sealOrganizationToken(organizationId: string, sealed: string): Promise<boolean> {
    return this.updateIf({
      TableName: this.table,
      Key: orgKey(organizationId),
      UpdateExpression: 'SET sealed_token = :sealed',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(sealed_token) AND attribute_not_exists(token_version)',
      ExpressionAttributeValues: { ':sealed': sealed },
    });
  }

  async findOrganizationIdByKeyHash(hash: string): Promise<string | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: `KEY#${hash}`, sk: 'KEY' } }));
    return Item?.organization_id as string | undefined;
  }

  async createEndpoint(endpoint: WebhookEndpoint, limit: number): Promise<EndpointWriteResult> {
    try {
      await this.transact([
        {
          // The count and the endpoint change together, so concurrent creates can never pass the limit.
          Update: {
            TableName: this.table,
            Key: orgKey(endpoint.organization_id),
            UpdateExpression: 'SET endpoint_count = endpoint_count + :one',
            ConditionExpression: 'attribute_exists(pk) AND endpoint_count < :limit',
            ExpressionAttributeValues: { ':one': 1, ':limit': limit },
          },
        },
        { Put: { TableName: this.table, Item: { ...urlKey(endpoint.organization_id, endpoint.webhook_url), endpoint_id: endpoint.id }, ConditionExpression: 'attribute_not_exists(pk)' } },
        { Put: { TableName: this.table, Item: { ...endpointKey(endpoint.organization_id, endpoint.id), ...endpoint }, ConditionExpression: 'attribute_not_exists(pk)' } },
      ]);
      return 'ok';
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes?.[1] === 'ConditionalCheckFailed') return 'url_taken';
      if (codes?.[0] === 'ConditionalCheckFailed') return 'limit_reached';
      throw error;
    }
  }

  async getEndpoint(organizationId: string, id: string): Promise<WebhookEndpoint | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.table, Key: endpointKey(organizationId, id) }));
    return Item ? toEndpoint(Item) : undefined;
  }

  async listEndpoints(organizationId: string): Promise<WebhookEndpoint[]> {
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :ep)',
        ExpressionAttributeValues: { ':pk': `ORG#${organizationId}`, ':ep': 'EP#' },
        ConsistentRead: true,
      }),
    );
    return Items.map(toEndpoint);
  }

  /** After a failed guard on the endpoint: gone, or changed by someone else meanwhile. */
  private async missingOrChanged(endpoint: WebhookEndpoint): Promise<EndpointWriteResult> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.table, Key: endpointKey(endpoint.organization_id, endpoint.id), ConsistentRead: true }));
    return Item ? 'conflict' : 'not_found';
  }

  async updateEndpoint(previous: WebhookEndpoint, next: WebhookEndpoint): Promise<EndpointWriteResult> {
    const urlChanged = previous.webhook_url !== next.webhook_url;
    const changes = endpointChanges(previous, next);
    try {
      await this.transact([
        // Guarded by the URL it had when read, so the URL claims always match the endpoints; only the
        // fields that changed are written, so a sender's mark written meanwhile stays.
        {
          Update: {
            TableName: this.table,
            Key: endpointKey(previous.organization_id, previous.id),
            UpdateExpression: changes.expression,
            ConditionExpression: 'attribute_exists(pk) AND #webhook_url = :previous',
            ExpressionAttributeNames: changes.names,
            ExpressionAttributeValues: { ...changes.values, ':previous': previous.webhook_url },
          },
        },
        ...(urlChanged
          ? [
              { Put: { TableName: this.table, Item: { ...urlKey(next.organization_id, next.webhook_url), endpoint_id: next.id }, ConditionExpression: 'attribute_not_exists(pk)' } },
              { Delete: { TableName: this.table, Key: urlKey(previous.organization_id, previous.webhook_url) } },
            ]
          : []),
      ]);
      return 'ok';
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes?.[0] === 'ConditionalCheckFailed') return this.missingOrChanged(previous);
      if (codes?.[1] === 'ConditionalCheckFailed') return 'url_taken';
      throw error;
    }
  }

  async deleteEndpoint(endpoint: WebhookEndpoint): Promise<EndpointWriteResult> {
    try {
      await this.transact([
        {
          Delete: {
            TableName: this.table,
            Key: endpointKey(endpoint.organization_id, endpoint.id),
            ConditionExpression: 'attribute_exists(pk) AND webhook_url = :url',
            ExpressionAttributeValues: { ':url': endpoint.webhook_url },
          },
        },
        { Delete: { TableName: this.table, Key: urlKey(endpoint.organization_id, endpoint.webhook_url) } },
        { Update: { TableName: this.table, Key: orgKey(endpoint.organization_id), UpdateExpression: 'SET endpoint_count = endpoint_count - :one', ExpressionAttributeValues: { ':one': 1 } } },
        // Its webhooks stay in their partition until they expire: the organization's log still lists them.
        { Put: { TableName: this.table, Item: { ...deletedEndpointKey(endpoint.organization_id, endpoint.id), expires_at: Math.floor(Date.now() / 1000) + this.retentionDays * 86400 } } },
      ]);
      return 'ok';
    } catch (error) {
      if (cancellationCodes(error)?.[0] === 'ConditionalCheckFailed') return this.missingOrChanged(endpoint);
      throw error;
    }
  }

  /** A put that does not replace: false when the item exists. */
  private async putIfAbsent(item: Item): Promise<boolean> {
    try {
      await this.db.send(new PutCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Puts items 25 per BatchWriteItem call, again for those DynamoDB left unprocessed; throws when some stay unwritten. */
  private async batchPut(items: Item[]): Promise<void> {
    let pending = items.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) await sleep(20 * 2 ** attempt * (0.5 + Math.random()));
      if (attempt > BATCH_WRITE_TRIES) throw unavailable('the webhooks could not all be stored; retry');
      const { UnprocessedItems } = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
      pending = (UnprocessedItems?.[this.table] ?? []) as typeof pending;
    }
  }

  /**
   * Each set's idempotency record first (a conditional put: a replay finds it and answers with its
   * webhooks), then the webhooks of every new set, 25 items per BatchWriteItem call. No transaction
   * (it would bill twice): a set whose record was written but not its webhooks (a crash in between)
   * is completed by its replay, which finds them missing.
   */
  async createWebhookSets(sets: WebhookSet[]): Promise<WebhookSetOutcome[]> {
    const outcomes: WebhookSetOutcome[] = sets.map(() => ({ created: true }));
    await eachLimit(sets, PARALLEL_REQUESTS, async (set, i) => {
      if (!set.idempotency) return;
      try {
        const record = { ...idempotencyKey(set.idempotency), webhooks: set.webhooks.map((l) => [l.id, l.endpoint_id]), expires_at: set.idempotency.expiresAt };
        if (!(await this.putIfAbsent(record))) outcomes[i] = await this.recordedSet(set.idempotency);
      } catch (error) {
        outcomes[i] = { failed: error };
      }
    });
    // Payloads that do not fit inline first, then the states: a state item is never stored without its payload.
    for (const phase of ['payloads', 'states'] as const) {
      // A set's items stay in one call (at most 10 endpoints: 10 items), so a failed call fails whole sets.
      const chunks: { sets: Set<number>; items: Item[] }[] = [];
      const conditional: { set: number; item: Item }[] = [];
      sets.forEach((set, i) => {
        if (!('created' in outcomes[i]!)) return;
        const items = set.webhooks.flatMap((log) => {
          const [state, payload] = this.newWebhookItems(log);
          return (phase === 'states' ? [state] : payload ? [payload] : []) as Item[];
        });
        if (set.onlyIfAbsent) {
          for (const item of items) conditional.push({ set: i, item });
          return;
        }
        let chunk = chunks[chunks.length - 1];
        if (items.length === 0) return;
        if (!chunk || chunk.items.length + items.length > WRITE_BATCH) chunks.push((chunk = { sets: new Set(), items: [] }));
        chunk.items.push(...items);
        chunk.sets.add(i);
      });
      await eachLimit(chunks, PARALLEL_REQUESTS, async ({ sets: members, items }) => {
        try {
          await this.batchPut(items);
        } catch (error) {
          for (const i of members) outcomes[i] = { failed: error };
          // Answered as not stored: what the call wrote of them is taken back, best effort.
          if (phase === 'states') await this.batchDelete(items).catch(() => undefined);
        }
      });
      // Copies written again by a replay never replace what the first publish wrote meanwhile.
      await eachLimit(conditional, PARALLEL_REQUESTS, async ({ set, item }) => {
        try {
          await this.putIfAbsent(item);
        } catch (error) {
          outcomes[set] = { failed: error };
        }
      });
    }
    return outcomes;
  }

  /** Deletes items by key, 25 per call, once (no retry of what DynamoDB leaves unprocessed). */
  private async batchDelete(items: Item[]): Promise<void> {
    for (let i = 0; i < items.length; i += WRITE_BATCH) {
      const keys = items.slice(i, i + WRITE_BATCH).map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } }));
      await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: keys } }));
    }
  }

  /** A new webhook's items: its state, with the payload inline when the item stays within one write unit, or the state and its payload item. */
  private newWebhookItems(log: Webhook): [Item] | [Item, Item] {
    const state = withoutPayload(log);
    const keys = stateKey({ endpointId: log.endpoint_id, id: log.id });
    const packed = pack(log.payload);
    const bare: Item = { ...keys, ...stateAttributes(state) };
    if (fitsInline(itemBytes(bare), packed)) return [{ ...bare, pl: packed }];
    return [{ ...bare, px: true }, { pk: keys.pk, sk: payloadSk(log.id), p: packed, expires_at: log.expires_at }];
  }

  /** The webhooks an idempotency record names, once its condition failed. */
  private async recordedSet(idempotency: Idempotency): Promise<WebhookSetOutcome> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.table, Key: idempotencyKey(idempotency), ConsistentRead: true }));
    const pairs = (Item?.webhooks as [string, string][] | undefined) ?? [];
    return { existing: pairs.map(([id, endpointId]) => ({ id, endpointId })) };
  }

  /** The endpoints whose partitions hold the organization's webhooks: its endpoints and those deleted within the retention. */
  private async logEndpointIds(organizationId: string): Promise<string[]> {
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ProjectionExpression: 'sk',
          ExpressionAttributeValues: { ':pk': `ORG#${organizationId}` },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const sk = item.sk as string;
        if (sk.startsWith('EP#')) ids.push(sk.slice(3));
        else if (sk.startsWith('XEP#')) ids.push(sk.slice(4));
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return ids;
  }

  async getWebhookState(ref: WebhookRef): Promise<{ state: WebhookState; payload?: string } | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.table, Key: stateKey(ref), ConsistentRead: true }));
    if (!Item) return undefined;
    const { state, payload } = fromStateItem(Item);
    return payload !== undefined ? { state, payload } : { state };
  }

  async getWebhook(organizationId: string, id: string, endpointId?: string): Promise<Webhook | undefined> {
    const item = await this.findStateItem(organizationId, id, endpointId ? [endpointId] : await this.logEndpointIds(organizationId));
    if (!item) return undefined;
    const stored = fromStateItem(item);
    const elsewhere = async (sk: string, attribute: string) => {
      const { Item: found } = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: item.pk, sk }, ConsistentRead: true }));
      return unpack(found?.[attribute]);
    };
    const [payload, response] = await Promise.all([
      stored.payload ?? (stored.payloadElsewhere ? elsewhere(payloadSk(id), 'p') : null),
      stored.responseElsewhere !== undefined ? elsewhere(responseSk(id, stored.responseElsewhere), 'r') : stored.state.response_body,
    ]);
    if (payload === null) return undefined;
    return { ...stored.state, response_body: response, payload };
  }

  /** A webhook's state item among the partitions of `endpointIds`, if it is the organization's. */
  private async findStateItem(organizationId: string, id: string, endpointIds: string[]): Promise<Item | undefined> {
    const items = await this.batchGet(endpointIds.map((endpointId) => stateKey({ endpointId, id })));
    return items.find((item) => item.o === organizationId);
  }

  async getWebhooks(refs: WebhookRef[]): Promise<WebhookState[]> {
    const found = new Map<string, WebhookState>();
    for (const item of await this.batchGet(refs.map(stateKey))) {
      const { state } = fromStateItem(item);
      found.set(state.id, state);
    }
    return refs.flatMap((ref) => found.get(ref.id) ?? []);
  }

  /** Items by key, 100 per BatchGetItem call (consistent), again for keys DynamoDB left unprocessed. */
  private async batchGet(keys: Item[]): Promise<Item[]> {
    const items: Item[] = [];
    const chunks: Item[][] = [];
    for (let i = 0; i < keys.length; i += READ_BATCH) chunks.push(keys.slice(i, i + READ_BATCH));
    await eachLimit(chunks, PARALLEL_REQUESTS, async (chunk) => {
      let pending: Item[] | undefined = chunk;
      for (let attempt = 1; pending && pending.length > 0; attempt++) {
        if (attempt > 1) await sleep(20 * 2 ** Math.min(attempt, 6) * (0.5 + Math.random()));
        const result: BatchGetCommandOutput = await this.db.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }));
        items.push(...(result.Responses?.[this.table] ?? []));
        pending = result.UnprocessedKeys?.[this.table]?.Keys;
      }
    });
    return items;
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
    const storedBytes = (previous.stored_bytes ?? 1024) + itemBytes(after) - itemBytes(before);
    const set: Item = {};
    const remove: string[] = [];
    for (const [name, value] of Object.entries(after)) if (value !== undefined && JSON.stringify(value) !== JSON.stringify(before[name])) set[name] = value;
    for (const [name, value] of Object.entries(before)) if (value !== undefined && after[name] === undefined) remove.push(name);

    const key = stateKey({ endpointId: previous.endpoint_id, id: previous.id });
    if (written.attempt_count !== previous.attempt_count || written.response_body !== previous.response_body) {
      if (written.response_body === null) remove.push('rb', 'rx');
      else {
        const packed = pack(written.response_body);
        if (fitsInline(storedBytes, packed, 0)) {
          set.rb = packed;
          remove.push('rx');
        } else {
          // Written once, beside the state: later state changes do not rewrite it.
          await this.db.send(new PutCommand({ TableName: this.table, Item: { pk: key.pk, sk: responseSk(previous.id, written.attempt_count), r: packed, expires_at: written.expires_at } }));
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
    const ok = await this.updateIf({
      TableName: this.table,
      Key: key,
      UpdateExpression: [sets.length ? `SET ${sets.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : ''].join(' ').trim(),
      ConditionExpression: '#v = :version',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
    return ok ? { ...written, stored_bytes: storedBytes } : undefined;
  }

  /** Nothing if the endpoint is gone meanwhile. */
  async markEndpointSlow(organizationId: string, endpointId: string, until: number): Promise<void> {
    await this.updateIf({
      TableName: this.table,
      Key: endpointKey(organizationId, endpointId),
      UpdateExpression: 'SET slow_until = :until',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':until': until },
    });
  }

  markEndpointFailing(organizationId: string, endpointId: string, since: number): Promise<boolean> {
    return this.updateIf({
      TableName: this.table,
      Key: endpointKey(organizationId, endpointId),
      UpdateExpression: 'SET failing_since = :since',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(failing_since)',
      ExpressionAttributeValues: { ':since': since },
    });
  }

  markEndpointRecovered(organizationId: string, endpointId: string): Promise<boolean> {
    return this.updateIf({
      TableName: this.table,
      Key: endpointKey(organizationId, endpointId),
      UpdateExpression: 'REMOVE failing_since',
      ConditionExpression: 'attribute_exists(failing_since)',
    });
  }

  autoDisableEndpoint(organizationId: string, endpointId: string, failingSince: number, at: string, reason: string): Promise<boolean> {
    return this.updateIf({
      TableName: this.table,
      Key: endpointKey(organizationId, endpointId),
      UpdateExpression: 'SET disabled_at = :at, disabled_reason = :reason',
      ConditionExpression: 'attribute_not_exists(disabled_at) AND failing_since = :since',
      ExpressionAttributeValues: { ':at': at, ':reason': reason, ':since': failingSince },
    });
  }

  findOverdue(dueBefore: string, limit: number): Promise<WebhookState[]> {
    return this.findDue('DUE', dueBefore, limit);
  }

  findDueTimers(dueBefore: string, limit: number): Promise<WebhookState[]> {
    return this.findDue('TIMER', dueBefore, limit);
  }

  private async findDue(kind: 'DUE' | 'TIMER', dueBefore: string, limit: number): Promise<WebhookState[]> {
    const refs: WebhookRef[] = [];
    for (let shard = 0; shard < DUE_SHARDS && refs.length < limit; shard++) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.db.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: 'due',
            KeyConditionExpression: 'due_pk = :pk AND due_sk < :before',
            ExpressionAttributeValues: { ':pk': `${kind}#${shard}`, ':before': dueBefore },
            Limit: Math.min(OVERDUE_SCAN_PAGE, limit - refs.length),
            ExclusiveStartKey: start,
          }),
        );
        refs.push(...(page.Items ?? []).map(refOf));
        start = page.LastEvaluatedKey;
      } while (start && refs.length < limit);
    }
    return this.getWebhooks(refs);
  }

  /**
   * A page of the organization's webhooks, newest first: a k-way merge of its endpoints'
   * partitions (or of the `failed` index when only failed webhooks are asked for), each read with
   * the query's filters applied by DynamoDB; the page's items are then read by key.
   */
  async queryWebhooks(query: WebhookQuery): Promise<WebhookPage> {
    const endpoints = await this.logEndpointIds(query.organizationId);
    // Another organization's endpoint is none of this one's: nothing to list.
    if (query.endpointId && !endpoints.includes(query.endpointId)) return { items: [] };
    const partitions = this.plan(query, query.endpointId ? [query.endpointId] : endpoints);
    const filter = buildFilter(query, partitions[0]?.index === 'failed');
    const streams = partitions.map((p) => this.stream(p, query, filter));
    if (query.searchTerm !== undefined && isUuid(query.searchTerm)) streams.push(this.direct(query.searchTerm, query, endpoints));
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

  /** Only failed webhooks: the sparse `failed` index. Anything else: the endpoints' partitions. */
  private plan(query: WebhookQuery, endpoints: string[]): Partition[] {
    const onlyFailed = query.statuses?.length === 1 && query.statuses[0] === 'failed';
    if (onlyFailed && query.searchTerm === undefined) return [{ index: 'failed', key: query.organizationId }];
    return endpoints.map((e) => ({ key: webhookPk(e) }));
  }

  private async *stream(partition: Partition, query: WebhookQuery, filter: Filter): AsyncGenerator<WebhookRef> {
    const low = query.fromMs !== undefined ? lowestIdAt(query.fromMs) : '';
    let high = query.toMs !== undefined ? highestIdAt(query.toMs) : '~';
    if (query.before !== undefined && query.before < high) high = query.before;
    if (low >= high) return;
    const keyName = partition.index === 'failed' ? 'fo' : 'pk';
    let start: Record<string, unknown> | undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.table,
        ...(partition.index ? { IndexName: partition.index } : { ConsistentRead: true }),
        KeyConditionExpression: '#key = :key AND sk BETWEEN :low AND :high',
        FilterExpression: filter.expression,
        ExpressionAttributeNames: { ...filter.names, '#key': keyName },
        ExpressionAttributeValues: { ...filter.values, ':key': partition.key, ':low': stateSk(low), ':high': stateSk(high) },
        ProjectionExpression: 'pk, sk',
        ScanIndexForward: false,
        Limit: Math.min(Math.max(query.limit + 1, 25), 500),
        ExclusiveStartKey: start,
      };
      const page = await this.db.send(new QueryCommand(input));
      for (const item of page.Items ?? []) {
        const ref = refOf(item);
        // BETWEEN is inclusive; the cursor is not.
        if (query.before !== undefined && ref.id >= query.before) continue;
        yield ref;
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /** A search term that is a webhook id: read it by key and apply the same filters in memory. */
  private async *direct(id: string, query: WebhookQuery, endpoints: string[]): AsyncGenerator<WebhookRef> {
    const item = await this.findStateItem(query.organizationId, id, query.endpointId ? [query.endpointId] : endpoints);
    if (!item || !matches(fromStateItem(item).state, query)) return;
    yield refOf(item);
  }
}

interface Filter {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

/** The query's filters as a DynamoDB filter expression, on the state items' short attribute names. */
function buildFilter(query: WebhookQuery, onFailedIndex: boolean): Filter {
  const parts = ['#org = :org'];
  const names: Record<string, string> = { '#org': 'o' };
  const values: Record<string, unknown> = { ':org': query.organizationId };
  const inList = (attr: string, prefix: string, list: readonly string[]) => {
    names[`#${prefix}`] = attr;
    const refs = list.map((value, i) => {
      values[`:${prefix}${i}`] = value;
      return `:${prefix}${i}`;
    });
    parts.push(`#${prefix} IN (${refs.join(', ')})`);
  };
  // On the `failed` index the endpoint is a filter (its partition key is the organization).
  if (onFailedIndex && query.endpointId) {
    names['#ep'] = 'pk';
    values[':ep'] = webhookPk(query.endpointId);
    parts.push('#ep = :ep');
  }
  if (query.statuses?.length && !onFailedIndex) inList('s', 'st', query.statuses);
  if (query.webhookTypes?.length) inList('t', 'wt', query.webhookTypes);
  if (query.searchTerm !== undefined) {
    // An object id; a webhook id is read by key (`direct`).
    names['#oi'] = 'oi';
    values[':term'] = query.searchTerm;
    parts.push('#oi = :term');
  }
  if (query.httpStatuses?.length) {
    names['#hs'] = 'h';
    const alternatives = query.httpStatuses.map((code, i) => {
      if (code === 'timeout') {
        names['#ac'] = 'n';
        values[':zero'] = 0;
        return '(#ac > :zero AND attribute_not_exists(#hs))';
      }
      const cls = /^([1-5])xx$/.exec(code);
      if (cls) {
        values[`:hlo${i}`] = Number(cls[1]) * 100;
        values[`:hhi${i}`] = Number(cls[1]) * 100 + 99;
        return `(#hs BETWEEN :hlo${i} AND :hhi${i})`;
      }
      values[`:hs${i}`] = Number(code);
      return `(#hs = :hs${i})`;
    });
    // DynamoDB refuses redundant parentheses: a single alternative is not wrapped again.
    parts.push(alternatives.length === 1 ? alternatives[0]! : `(${alternatives.join(' OR ')})`);
  }
  return { expression: parts.join(' AND '), names, values };
}

/** The same filters as `buildFilter`, for an item read by key. */
function matches(log: WebhookState, query: WebhookQuery): boolean {
  if (log.organization_id !== query.organizationId) return false;
  if (query.endpointId && log.endpoint_id !== query.endpointId) return false;
  if (query.statuses?.length && !query.statuses.includes(log.status)) return false;
  if (query.webhookTypes?.length && !query.webhookTypes.includes(log.webhook_type)) return false;
  if (query.fromMs !== undefined && log.id < lowestIdAt(query.fromMs)) return false;
  if (query.toMs !== undefined && log.id > highestIdAt(query.toMs)) return false;
  if (query.before !== undefined && log.id >= query.before) return false;
  if (query.httpStatuses?.length) {
    return query.httpStatuses.some((code) => {
      if (code === 'timeout') return log.attempt_count > 0 && log.http_status === null;
      const cls = /^([1-5])xx$/.exec(code);
      if (cls) return log.http_status !== null && Math.floor(log.http_status / 100) === Number(cls[1]);
      return log.http_status === Number(code);
    });
  }
  return true;
}
