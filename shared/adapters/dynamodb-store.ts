import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
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
import { TABLE, type IndexName } from '#infra/definitions.ts';
import { unavailable } from '../errors.ts';
import { highestIdAt, isUuid, lowestIdAt } from '../ids.ts';
import { FINAL_STATUSES, type Organization, type WebhookEndpoint, type WebhookLog, type WebhookState } from '../model.ts';
import type { EndpointWriteResult, Idempotency, LogPage, LogQuery, Store, WebhookSet, WebhookSetOutcome } from '../ports.ts';

/**
 * The store on one DynamoDB table (keys in infra/definitions.ts):
 *   ORG#<org> / ORG               organization, with its endpoint count (the limit is a condition on it)
 *   KEY#<sha256 of api key> / KEY  the organization an API key belongs to
 *   ORG#<org> / EP#<id>            endpoint
 *   ORG#<org> / URL#<sha256 url>   claims a URL so it is unique per organization
 *   WH#<id> / WH                   webhook state, with index keys for each search the API offers
 *   WH#<id> / PAYLOAD              the payload, written once: attempts rewrite only the small state item
 *   IDEM#<org>#<key> / IDEM        ids created by a publish with that idempotency key
 * Webhook ids are UUIDv7, so every index sorted by `log_sk` is sorted by creation time.
 */

const DUE_SHARDS = 8;
const TRANSACTION_ATTEMPTS = 4;
const OVERDUE_SCAN_PAGE = 100;

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const orgKey = (id: string) => ({ pk: `ORG#${id}`, sk: 'ORG' });
const endpointKey = (orgId: string, id: string) => ({ pk: `ORG#${orgId}`, sk: `EP#${id}` });
const urlKey = (orgId: string, url: string) => ({ pk: `ORG#${orgId}`, sk: `URL#${sha256(url)}` });
const webhookKey = (id: string) => ({ pk: `WH#${id}`, sk: 'WH' });
const payloadKey = (id: string) => ({ pk: `WH#${id}`, sk: 'PAYLOAD' });
const idempotencyKey = ({ organizationId, key }: Idempotency) => ({ pk: `IDEM#${organizationId}#${key}`, sk: 'IDEM' });
const dueShard = (id: string) => parseInt(sha256(id).slice(0, 4), 16) % DUE_SHARDS;

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

function stateItem(log: WebhookState): Item {
  const org = `ORG#${log.organization_id}`;
  const { payload: _payload, ...state } = log as WebhookLog;
  const item: Item = {
    ...webhookKey(log.id),
    ...state,
    log_sk: log.id,
    org_pk: org,
    endpoint_pk: `EP#${log.endpoint_id}`,
    status_pk: `${org}#${log.status}`,
    endpoint_status_pk: `EP#${log.endpoint_id}#${log.status}`,
    type_pk: `${org}#TYPE#${log.webhook_type}`,
  };
  if (log.object_id) item.object_pk = `${org}#OBJ#${log.object_id}`;
  // Only live webhooks are in the sparse `due` index the sweeper reads: under TIMER# when their next
  // attempt waits in the store, under DUE# when a queue message holds it (found only if it is lost).
  if (!FINAL_STATUSES.includes(log.status) && log.next_attempt_at) {
    item.due_pk = `${log.timer ? 'TIMER' : 'DUE'}#${dueShard(log.id)}`;
    item.due_sk = `${log.next_attempt_at}#${log.id}`;
  }
  return item;
}

const INTERNAL_ATTRIBUTES = ['pk', 'sk', 'log_sk', 'org_pk', 'endpoint_pk', 'status_pk', 'endpoint_status_pk', 'type_pk', 'object_pk', 'due_pk', 'due_sk'];

function toState(item: Item): WebhookState {
  const copy: Item = { ...item };
  for (const key of INTERNAL_ATTRIBUTES) delete copy[key];
  return copy as unknown as WebhookState;
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

/** DynamoDB's limits on one TransactWriteItems call: 100 items, 4 MB (a margin is kept for keys and attributes). */
const MAX_TRANSACTION_ITEMS = 100;
const MAX_TRANSACTION_BYTES = 3_500_000;
/** A generous estimate of a webhook state item and its payload item's keys and attributes. */
const STATE_ITEM_BYTES = 2048;

/**
 * Packs sets of items into as few transactions as fit DynamoDB's limits, in order (first fit); a set
 * is never split, since it must be written all or nothing. Returns the indexes of the sets per transaction.
 */
export function packTransactions(sets: { items: number; bytes: number }[], maxItems = MAX_TRANSACTION_ITEMS, maxBytes = MAX_TRANSACTION_BYTES): number[][] {
  const chunks: { sets: number[]; items: number; bytes: number }[] = [];
  sets.forEach((set, index) => {
    if (set.items === 0) return;
    const chunk = chunks.find((c) => c.items + set.items <= maxItems && c.bytes + set.bytes <= maxBytes);
    if (chunk) {
      chunk.sets.push(index);
      chunk.items += set.items;
      chunk.bytes += set.bytes;
    } else chunks.push({ sets: [index], items: set.items, bytes: set.bytes });
  });
  return chunks.map((c) => c.sets);
}

/** The sets (indexes into `items`) with an item whose condition failed, from a cancelled transaction's reasons, in item order. */
function failingSets(pending: number[], items: TransactItem[][], codes: string[]): number[] {
  let offset = 0;
  return pending.filter((i) => {
    const failed = codes.slice(offset, offset + items[i]!.length).includes('ConditionalCheckFailed');
    offset += items[i]!.length;
    return failed;
  });
}

/** One index partition read newest first, lazily, with the query's filters applied by DynamoDB. */
interface Partition {
  index: IndexName;
  key: string;
}

export class DynamoDbStore implements Store {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(client: DynamoDBClient, tableName: string) {
    this.db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = tableName;
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
    if (!Item) return undefined;
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
      ]);
      return 'ok';
    } catch (error) {
      if (cancellationCodes(error)?.[0] === 'ConditionalCheckFailed') return this.missingOrChanged(endpoint);
      throw error;
    }
  }

  /**
   * Several events' webhooks per TransactWriteItems call, each with its idempotency record, packed by
   * `packTransactions`. Transactions, not BatchWriteItem: a set must be written all or nothing
   * together with the condition on its idempotency record (else a concurrent duplicate could create
   * a second set, or a set could lose its payloads); BatchWriteItem has no conditions. Packing
   * several events per call cuts round trips, not write units. A transaction cancelled by a
   * condition names the failing items: those sets are replays, and the others are written again.
   */
  async createWebhookSets(sets: WebhookSet[]): Promise<WebhookSetOutcome[]> {
    const outcomes: WebhookSetOutcome[] = sets.map(() => ({ created: true }));
    const items = sets.map((set) => this.webhookSetItems(set));
    const chunks = packTransactions(items.map((list, i) => ({ items: list.length, bytes: sets[i]!.logs.reduce((n, l) => n + Buffer.byteLength(l.payload) + STATE_ITEM_BYTES, 0) })));
    await Promise.all(
      chunks.map(async (chunk) => {
        let pending = chunk.filter((i) => items[i]!.length > 0);
        while (pending.length > 0) {
          try {
            await this.transact(pending.flatMap((i) => items[i]!));
            return;
          } catch (error) {
            const codes = cancellationCodes(error);
            const replays = codes?.includes('ConditionalCheckFailed') ? failingSets(pending, items, codes) : [];
            if (replays.length === 0) {
              for (const i of pending) outcomes[i] = { failed: error };
              return;
            }
            await Promise.all(replays.map(async (i) => (outcomes[i] = await this.recordedSet(sets[i]!))));
            pending = pending.filter((i) => !replays.includes(i));
          }
        }
      }),
    );
    return outcomes;
  }

  private webhookSetItems({ logs, idempotency }: WebhookSet): TransactItem[] {
    return [
      ...(idempotency
        ? [{ Put: { TableName: this.table, Item: { ...idempotencyKey(idempotency), webhook_ids: logs.map((l) => l.id), expires_at: idempotency.expiresAt }, ConditionExpression: 'attribute_not_exists(pk)' } }]
        : []),
      ...logs.flatMap((log) => [
        { Put: { TableName: this.table, Item: stateItem(log), ConditionExpression: 'attribute_not_exists(pk)' } },
        { Put: { TableName: this.table, Item: { ...payloadKey(log.id), payload: log.payload, expires_at: log.expires_at } } },
      ]),
    ];
  }

  /** The ids a set's idempotency record holds, once its condition failed; a read that keeps failing fails this set only. */
  private async recordedSet({ idempotency }: WebhookSet): Promise<WebhookSetOutcome> {
    // Webhook ids are new UUIDs: only an idempotency record can already exist.
    if (!idempotency) return { failed: new Error('a new webhook id already exists') };
    for (let attempt = 1; ; attempt++) {
      try {
        const { Item } = await this.db.send(new GetCommand({ TableName: this.table, Key: idempotencyKey(idempotency), ConsistentRead: true }));
        return { existing: (Item?.webhook_ids as string[] | undefined) ?? [] };
      } catch (error) {
        // DynamoDB Local refuses a read of an item that a concurrent transaction (the duplicate's) is still writing.
        if ((error as Error).name !== 'TransactionConflictException' || attempt >= TRANSACTION_ATTEMPTS) return { failed: error };
        await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt * (0.5 + Math.random())));
      }
    }
  }

  async getWebhook(id: string): Promise<WebhookLog | undefined> {
    // Both items of the webhook in one read.
    const { Items = [] } = await this.db.send(
      new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': webhookKey(id).pk }, ConsistentRead: true }),
    );
    const state = Items.find((item) => item.sk === 'WH');
    const payload = Items.find((item) => item.sk === 'PAYLOAD');
    return state && payload ? { ...toState(state), payload: payload.payload as string } : undefined;
  }

  async getWebhooks(ids: string[]): Promise<WebhookState[]> {
    const found = new Map<string, WebhookState>();
    for (let i = 0; i < ids.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = ids.slice(i, i + 100).map(webhookKey);
      while (keys && keys.length > 0) {
        const result: BatchGetCommandOutput = await this.db.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }));
        for (const item of result.Responses?.[this.table] ?? []) found.set(item.id as string, toState(item));
        keys = result.UnprocessedKeys?.[this.table]?.Keys;
      }
    }
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  async updateWebhook(previous: WebhookState, next: WebhookState): Promise<WebhookState | undefined> {
    const { payload: _payload, ...state } = next as WebhookLog;
    const written: WebhookState = { ...state, version: previous.version + 1 };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: stateItem(written),
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':v': previous.version },
        }),
      );
      return written;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
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
    const ids: string[] = [];
    for (let shard = 0; shard < DUE_SHARDS && ids.length < limit; shard++) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.db.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: 'due',
            KeyConditionExpression: 'due_pk = :pk AND due_sk < :before',
            ExpressionAttributeValues: { ':pk': `${kind}#${shard}`, ':before': dueBefore },
            Limit: Math.min(OVERDUE_SCAN_PAGE, limit - ids.length),
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) ids.push((item.pk as string).slice('WH#'.length));
        start = page.LastEvaluatedKey;
      } while (start && ids.length < limit);
    }
    return this.getWebhooks(ids);
  }

  async queryWebhooks(query: LogQuery): Promise<LogPage> {
    const { partitions, direct } = this.plan(query);
    const filter = buildFilter(query);
    const streams = partitions.map((p) => this.stream(p, query, filter));
    if (direct) streams.push(this.direct(direct, query));
    const ids: string[] = [];
    const heads = await Promise.all(streams.map((s) => s.next()));
    // k-way merge, newest first; one id can come from two streams (a search term that is both).
    while (ids.length <= query.limit) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const head = heads[i]!;
        if (head.done) continue;
        if (best === -1 || head.value > (heads[best]!.value as string)) best = i;
      }
      if (best === -1) break;
      const id = heads[best]!.value as string;
      if (ids[ids.length - 1] !== id) ids.push(id);
      heads[best] = await streams[best]!.next();
    }
    const more = ids.length > query.limit;
    const page = ids.slice(0, query.limit);
    const items = await this.getWebhooks(page);
    return more ? { items, last: page[page.length - 1] } : { items };
  }

  /** Picks the index whose partitions hold the fewest non-matching items. */
  private plan(query: LogQuery): { partitions: Partition[]; direct?: string } {
    const org = `ORG#${query.organizationId}`;
    if (query.searchTerm !== undefined) {
      const term = query.searchTerm;
      return { partitions: [{ index: 'byObject', key: `${org}#OBJ#${term}` }], ...(isUuid(term) ? { direct: term } : {}) };
    }
    const statuses = query.statuses?.length ? query.statuses : undefined;
    if (query.endpointId) {
      const ep = `EP#${query.endpointId}`;
      if (statuses) return { partitions: statuses.map((s) => ({ index: 'byEndpointStatus', key: `${ep}#${s}` })) };
      return { partitions: [{ index: 'byEndpoint', key: ep }] };
    }
    if (statuses) return { partitions: statuses.map((s) => ({ index: 'byStatus', key: `${org}#${s}` })) };
    if (query.webhookTypes?.length) return { partitions: query.webhookTypes.map((t) => ({ index: 'byType', key: `${org}#TYPE#${t}` })) };
    return { partitions: [{ index: 'byOrganization', key: org }] };
  }

  private async *stream(partition: Partition, query: LogQuery, filter: Filter): AsyncGenerator<string> {
    const index = TABLE.indexes.find((i) => i.name === partition.index)!;
    const low = query.fromMs !== undefined ? lowestIdAt(query.fromMs) : undefined;
    let high = query.toMs !== undefined ? highestIdAt(query.toMs) : undefined;
    if (query.before !== undefined && (high === undefined || query.before < high)) high = query.before;
    const values: Record<string, unknown> = { ':pk': partition.key, ...filter.values };
    let condition = `${index.partitionKey} = :pk`;
    if (low !== undefined && high !== undefined) {
      if (low >= high) return;
      condition += ` AND ${index.sortKey} BETWEEN :low AND :high`;
      Object.assign(values, { ':low': low, ':high': high });
    } else if (low !== undefined) {
      condition += ` AND ${index.sortKey} >= :low`;
      values[':low'] = low;
    } else if (high !== undefined) {
      condition += ` AND ${index.sortKey} < :high`;
      values[':high'] = high;
    }
    let start: Record<string, unknown> | undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.table,
        IndexName: index.name,
        KeyConditionExpression: condition,
        FilterExpression: filter.expression,
        ExpressionAttributeNames: filter.names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: Math.min(Math.max(query.limit + 1, 25), 500),
        ExclusiveStartKey: start,
      };
      const page = await this.db.send(new QueryCommand(input));
      for (const item of page.Items ?? []) {
        const id = item.log_sk as string;
        // BETWEEN is inclusive; the cursor is not.
        if (query.before !== undefined && id >= query.before) continue;
        yield id;
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /** A search term that is a webhook id: read it by key and apply the same filters in memory. */
  private async *direct(id: string, query: LogQuery): AsyncGenerator<string> {
    const log = await this.getWebhook(id);
    if (!log || !matches(log, query)) return;
    yield id;
  }
}

interface Filter {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

function buildFilter(query: LogQuery): Filter {
  const parts = ['#org = :org'];
  const names: Record<string, string> = { '#org': 'organization_id' };
  const values: Record<string, unknown> = { ':org': query.organizationId };
  const inList = (attr: string, prefix: string, list: readonly string[]) => {
    names[`#${prefix}`] = attr;
    const refs = list.map((value, i) => {
      values[`:${prefix}${i}`] = value;
      return `:${prefix}${i}`;
    });
    parts.push(`#${prefix} IN (${refs.join(', ')})`);
  };
  if (query.endpointId) {
    names['#ep'] = 'endpoint_id';
    values[':ep'] = query.endpointId;
    parts.push('#ep = :ep');
  }
  if (query.statuses?.length) inList('status', 'st', query.statuses);
  if (query.webhookTypes?.length) inList('webhook_type', 'wt', query.webhookTypes);
  if (query.httpStatuses?.length) {
    names['#hs'] = 'http_status';
    const alternatives = query.httpStatuses.map((code, i) => {
      if (code === 'timeout') {
        names['#ac'] = 'attempt_count';
        values[':zero'] = 0;
        values[':nulltype'] = 'NULL';
        return '(#ac > :zero AND (attribute_not_exists(#hs) OR attribute_type(#hs, :nulltype)))';
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
function matches(log: WebhookState, query: LogQuery): boolean {
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
