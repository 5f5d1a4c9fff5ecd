import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type BatchGetCommandOutput,
  type QueryCommandInput,
  type TransactWriteCommandInput,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unavailable } from '../../domain/errors.ts';
import { keyOf, PK, type Key } from './keys.ts';

/** The plumbing the three stores share on the one table: requests with their retries, batching and conditions. */

export type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
/** A query on the table, without the table's name. */
type TableQuery = Omit<QueryCommandInput, 'TableName'>;

const TRANSACTION_ATTEMPTS = 4;
/** BatchWriteItem takes 25 items, BatchGetItem 100. */
const WRITE_BATCH = 25;
const READ_BATCH = 100;
/** Requests one call of the store keeps in flight. */
export const PARALLEL_REQUESTS = 16;
/** Tries of a batch write whose items DynamoDB left unprocessed (throttling), with backoff. */
const BATCH_WRITE_TRIES = 6;
/** BatchGetItem calls for one chunk before its keys still unprocessed make the read fail (a throttled hot key). */
const BATCH_GET_TRIES = 8;

/** Only when the item does not exist yet. */
export const IF_ABSENT = `attribute_not_exists(${PK})`;
/** Only when the item exists. */
export const IF_PRESENT = `attribute_exists(${PK})`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `work` on every item with at most `limit` in flight. */
export async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
}

/** The reason DynamoDB gives for each item of a cancelled transaction, in order; undefined for any other error. */
export function cancellationCodes(error: unknown): string[] | undefined {
  if (error instanceof TransactionCanceledException)
    return (error.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
  return undefined;
}

export class Table {
  readonly name: string;
  private readonly db: DynamoDBDocumentClient;

  constructor(client: DynamoDBClient, name: string) {
    this.db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.name = name;
  }

  async get(key: Key, { consistent = false } = {}): Promise<Item | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.name, Key: key, ...(consistent ? { ConsistentRead: true } : {}) }),
    );
    return Item;
  }

  /** One page of a query. */
  query(input: TableQuery) {
    return this.db.send(new QueryCommand({ TableName: this.name, ...input }));
  }

  async put(item: Item): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.name, Item: item }));
  }

  /** A put that does not replace: false when the item exists. */
  async putIfAbsent(item: Item): Promise<boolean> {
    try {
      await this.db.send(new PutCommand({ TableName: this.name, Item: item, ConditionExpression: IF_ABSENT }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** An update guarded by its condition: false when the condition did not hold. */
  async updateIf(input: Omit<UpdateCommandInput, 'TableName'>): Promise<boolean> {
    try {
      await this.db.send(new UpdateCommand({ TableName: this.name, ...input }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * One transaction, retried briefly when DynamoDB cancels it for a concurrent transaction on the
   * same items (the SDK does not retry that); a failed condition is the caller's to interpret.
   */
  async transact(items: TransactItem[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: items }));
        return;
      } catch (error) {
        const codes = cancellationCodes(error);
        if (!codes?.includes('TransactionConflict') || codes.includes('ConditionalCheckFailed')) throw error;
        if (attempt >= TRANSACTION_ATTEMPTS) throw unavailable('concurrent changes to the same records; retry');
        await sleep(10 * 2 ** attempt * (0.5 + Math.random()));
      }
    }
  }

  /** Puts items 25 per BatchWriteItem call, again for those DynamoDB left unprocessed; throws when some stay unwritten. */
  async batchPut(items: Item[]): Promise<void> {
    let pending = items.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) await sleep(20 * 2 ** attempt * (0.5 + Math.random()));
      if (attempt > BATCH_WRITE_TRIES) throw unavailable('the webhooks could not all be stored; retry');
      const { UnprocessedItems } = await this.db.send(
        new BatchWriteCommand({ RequestItems: { [this.name]: pending } }),
      );
      pending = (UnprocessedItems?.[this.name] ?? []) as typeof pending;
    }
  }

  /** Deletes items by key, 25 per call, once (no retry of what DynamoDB leaves unprocessed). */
  async batchDelete(items: Item[]): Promise<void> {
    for (let i = 0; i < items.length; i += WRITE_BATCH) {
      const keys = items.slice(i, i + WRITE_BATCH).map((item) => ({ DeleteRequest: { Key: keyOf(item) } }));
      await this.db.send(new BatchWriteCommand({ RequestItems: { [this.name]: keys } }));
    }
  }

  /**
   * Items by key, 100 per BatchGetItem call (consistent), again for keys DynamoDB left unprocessed,
   * up to BATCH_GET_TRIES calls: a key throttled longer than that fails the read (the caller comes
   * back later) instead of holding it, and its reads, on the hot key for good.
   */
  async batchGet(keys: Key[]): Promise<Item[]> {
    const items: Item[] = [];
    const chunks: Key[][] = [];
    for (let i = 0; i < keys.length; i += READ_BATCH) chunks.push(keys.slice(i, i + READ_BATCH));
    await eachLimit(chunks, PARALLEL_REQUESTS, async (chunk) => {
      let pending: Item[] | undefined = chunk;
      for (let attempt = 1; pending && pending.length > 0; attempt++) {
        if (attempt > 1) await sleep(20 * 2 ** Math.min(attempt, 6) * (0.5 + Math.random()));
        if (attempt > BATCH_GET_TRIES) throw unavailable('the webhooks could not all be read; retry');
        const result: BatchGetCommandOutput = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.name]: { Keys: pending, ConsistentRead: true } } }),
        );
        items.push(...(result.Responses?.[this.name] ?? []));
        pending = result.UnprocessedKeys?.[this.name]?.Keys;
      }
    });
    return items;
  }
}
