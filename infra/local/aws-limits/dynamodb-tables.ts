import {
  BatchGetItemCommand,
  DescribeTableCommand,
  type AttributeValue,
  type BatchGetItemCommandOutput,
  type DynamoDBClient,
  type KeySchemaElement,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { keyString, needsImage, primaryKey, type Entry, type IndexShape, type TableShape } from './dynamodb-plan.ts';
import type { WireItem } from './units.ts';

/**
 * What the DynamoDB model reads from DynamoDB Local itself, on a client of its own (so the
 * service's middleware, e.g. the bench's accounting, never sees these reads, and nothing charges
 * them): the tables' keys and indexes, and the items a write is about to replace.
 */

const keyNamed = (schema: KeySchemaElement[] | undefined, type: 'HASH' | 'RANGE') =>
  schema?.find((element) => element.KeyType === type)?.AttributeName;

export function shapeOf(table: TableDescription): TableShape | undefined {
  const partitionKey = keyNamed(table.KeySchema, 'HASH');
  if (!table.TableName || !table.TableArn || !partitionKey) return undefined;
  const sortKey = keyNamed(table.KeySchema, 'RANGE');
  const indexes = (table.GlobalSecondaryIndexes ?? []).flatMap((index): IndexShape[] => {
    const indexKey = keyNamed(index.KeySchema, 'HASH');
    if (!index.IndexName || !indexKey) return [];
    const indexSort = keyNamed(index.KeySchema, 'RANGE');
    const { ProjectionType: type, NonKeyAttributes: include = [] } = index.Projection ?? {};
    return [
      {
        name: index.IndexName,
        arn: index.IndexArn ?? `${table.TableArn}/index/${index.IndexName}`,
        partitionKey: indexKey,
        ...(indexSort ? { sortKey: indexSort } : {}),
        projected: type === 'ALL' ? 'all' : type === 'INCLUDE' ? include : [],
      },
    ];
  });
  return {
    name: table.TableName,
    arn: table.TableArn,
    partitionKey,
    ...(sortKey ? { sortKey } : {}),
    onDemand: table.BillingModeSummary?.BillingMode === 'PAY_PER_REQUEST',
    indexes,
  };
}

/** Keys travel base64-encoded on the wire; the SDK's input takes the bytes. */
function sdkKey(key: WireItem): Record<string, AttributeValue> {
  const converted: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(key)) {
    if (typeof value.B === 'string') converted[name] = { B: Buffer.from(value.B, 'base64') };
    else converted[name] = value as AttributeValue;
  }
  return converted;
}

const READ_BATCH = 100;

export class DynamoDbReader {
  private readonly client: () => DynamoDBClient;
  private readonly tables = new Map<string, Promise<TableShape | undefined>>();

  constructor(client: () => DynamoDBClient) {
    this.client = client;
  }

  /** A table changed (CreateTable, UpdateTable, DeleteTable): described again when next used. */
  forget(table: unknown): void {
    if (typeof table === 'string') this.tables.delete(table);
  }

  /** The shapes of these tables, or undefined if one cannot be described (the request then goes through as is). */
  async shapes(names: string[]): Promise<Map<string, TableShape> | undefined> {
    const unique = [...new Set(names)];
    const shapes = await Promise.all(unique.map((name) => this.shape(name)));
    if (shapes.some((shape) => shape === undefined)) return undefined;
    return new Map(unique.map((name, i) => [name, shapes[i]!]));
  }

  private shape(name: string): Promise<TableShape | undefined> {
    let shape = this.tables.get(name);
    if (!shape) {
      shape = this.client()
        .send(new DescribeTableCommand({ TableName: name }))
        .then(
          ({ Table }) => (Table ? shapeOf(Table) : undefined),
          () => undefined,
        );
      this.tables.set(name, shape);
      // A table that cannot be described now (not created yet) is asked about again next time.
      void shape.then((found) => found ?? this.tables.delete(name));
    }
    return shape;
  }

  /** Each entry's item as it is now, for the writes that need it (needsImage); undefined otherwise or when absent. */
  async itemsBefore(entries: Entry[], shapes: Map<string, TableShape>): Promise<(WireItem | undefined)[]> {
    const wanted = new Map<string, Map<string, WireItem>>();
    entries.forEach((entry) => {
      const shape = shapes.get(entry.table)!;
      if (!needsImage(entry, shape)) return;
      const key = primaryKey(entry, shape);
      const byKey = wanted.get(entry.table) ?? new Map<string, WireItem>();
      byKey.set(keyString(key, shape), key);
      wanted.set(entry.table, byKey);
    });
    const found = new Map<string, WireItem>();
    for (const [table, keys] of wanted) {
      const shape = shapes.get(table)!;
      for (const item of await this.read(table, [...keys.values()]))
        found.set(`${table}\n${keyString(item, shape)}`, item);
    }
    return entries.map((entry) => {
      const shape = shapes.get(entry.table)!;
      return needsImage(entry, shape)
        ? found.get(`${entry.table}\n${keyString(primaryKey(entry, shape), shape)}`)
        : undefined;
    });
  }

  /** Consistent reads of `keys`, 100 a call, again for what DynamoDB Local left unprocessed. */
  private async read(table: string, keys: WireItem[]): Promise<WireItem[]> {
    const items: WireItem[] = [];
    for (let i = 0; i < keys.length; i += READ_BATCH) {
      let pending: Record<string, AttributeValue>[] | undefined = keys.slice(i, i + READ_BATCH).map(sdkKey);
      while (pending && pending.length > 0) {
        const { Responses, UnprocessedKeys }: BatchGetItemCommandOutput = await this.client().send(
          new BatchGetItemCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
        );
        items.push(...((Responses?.[table] ?? []) as WireItem[]));
        pending = UnprocessedKeys?.[table]?.Keys;
      }
    }
    return items;
  }
}
