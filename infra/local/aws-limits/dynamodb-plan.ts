import {
  applyUpdate,
  equalityValue,
  updateEffects,
  type Names,
  type UpdateEffects,
  type Values,
} from './expressions.ts';
import { itemBytes, keyText, pick, readUnits, writeUnits, type WireItem, type WireValue } from './units.ts';

/**
 * Which partitions a DynamoDB request reaches, and its units as DynamoDB would estimate them before
 * serving it: the table's partition key and, for a write, the partition key of each global
 * secondary index entry it puts, updates or deletes. Pure: the table's shape and the item as it
 * was before the write (read by the model) come in as arguments.
 */

export interface IndexShape {
  name: string;
  arn: string;
  partitionKey: string;
  sortKey?: string;
  /** Attributes copied into the index besides the keys: `all` for the ALL projection. */
  projected: 'all' | string[];
}

export interface TableShape {
  name: string;
  arn: string;
  partitionKey: string;
  sortKey?: string;
  /** PAY_PER_REQUEST (on-demand) rather than provisioned. */
  onDemand: boolean;
  indexes: IndexShape[];
}

export type Kind = 'read' | 'write';

/** Units a request takes from one key's bucket: the table's, or an index's. */
export interface Charge {
  table: string;
  index?: string;
  key: string;
  kind: Kind;
  units: number;
}

/** One item of a request, normalised: a single request has one, a batch or a transaction several. */
export interface Entry {
  op: 'get' | 'query' | 'put' | 'update' | 'delete' | 'check';
  table: string;
  /** The primary key (gets, updates, deletes, condition checks). */
  key?: WireItem;
  /** The whole item (puts). */
  item?: WireItem;
  effects?: UpdateEffects;
  consistent: boolean;
  /** 2 in a transaction: DynamoDB charges transactional reads and writes twice. */
  factor: 1 | 2;
  /** Queries: the index and the key condition. */
  query?: { index?: string; expression?: string; names: Names; values: Values; conditions?: unknown };
}

/** single: the one item is admitted or refused; batch: each item on its own; transaction: all or none. */
export type Mode = 'single' | 'batch' | 'transaction';

type Json = Record<string, unknown>;
const asItem = (value: unknown) => value as WireItem | undefined;
const asRecord = (value: unknown) => (value ?? {}) as Record<string, Json>;

/** What an UpdateItem (expression or legacy AttributeUpdates) changes. */
function effectsOf(body: Json): UpdateEffects {
  if (typeof body.UpdateExpression === 'string')
    return updateEffects(
      body.UpdateExpression,
      body.ExpressionAttributeNames as Names,
      asItem(body.ExpressionAttributeValues),
    );
  const effects: UpdateEffects = { set: new Map(), removed: new Set(), touched: new Set() };
  for (const [name, update] of Object.entries(asRecord(body.AttributeUpdates))) {
    effects.touched.add(name);
    const value = update.Value as WireValue | undefined;
    if (update.Action === 'DELETE' && !value) effects.removed.add(name);
    else effects.set.set(name, update.Action === 'PUT' && value ? { kind: 'value', value } : { kind: 'computed' });
  }
  return effects;
}

/** A write of a transaction, or of a single request. */
function writeEntry(op: 'Put' | 'Update' | 'Delete' | 'ConditionCheck', body: Json, factor: 1 | 2): Entry {
  const table = body.TableName as string;
  const base = { table, consistent: true, factor };
  if (op === 'Put') return { ...base, op: 'put', item: asItem(body.Item) };
  if (op === 'Update') return { ...base, op: 'update', key: asItem(body.Key), effects: effectsOf(body) };
  return { ...base, op: op === 'Delete' ? 'delete' : 'check', key: asItem(body.Key) };
}

function queryEntry(body: Json): Entry {
  return {
    op: 'query',
    table: body.TableName as string,
    consistent: body.ConsistentRead === true,
    factor: 1,
    query: {
      index: body.IndexName as string | undefined,
      expression: body.KeyConditionExpression as string | undefined,
      names: body.ExpressionAttributeNames as Names,
      values: asItem(body.ExpressionAttributeValues),
      conditions: body.KeyConditions,
    },
  };
}

/** The items of a BatchWriteItem, table by table, in request order. */
function batchWriteEntries(body: Json): Entry[] {
  const entries: Entry[] = [];
  for (const [table, requests] of Object.entries(body.RequestItems ?? {}) as [string, Json[]][])
    for (const request of requests) {
      const put = request.PutRequest as Json | undefined;
      const del = request.DeleteRequest as Json | undefined;
      if (put) entries.push({ op: 'put', table, item: asItem(put.Item), consistent: true, factor: 1 });
      else if (del) entries.push({ op: 'delete', table, key: asItem(del.Key), consistent: true, factor: 1 });
    }
  return entries;
}

function batchGetEntries(body: Json): Entry[] {
  const entries: Entry[] = [];
  for (const [table, request] of Object.entries(asRecord(body.RequestItems)))
    for (const key of (request.Keys ?? []) as WireItem[])
      entries.push({ op: 'get', table, key, consistent: request.ConsistentRead === true, factor: 1 });
  return entries;
}

function transactWriteEntries(body: Json): Entry[] {
  return ((body.TransactItems ?? []) as Json[]).flatMap((item) => {
    const [op, request] = Object.entries(item)[0] ?? [];
    return op && ['Put', 'Update', 'Delete', 'ConditionCheck'].includes(op)
      ? [writeEntry(op as 'Put' | 'Update' | 'Delete' | 'ConditionCheck', request as Json, 2)]
      : [];
  });
}

function transactGetEntries(body: Json): Entry[] {
  return ((body.TransactItems ?? []) as Json[]).map((item) => {
    const get = (item.Get ?? {}) as Json;
    return { op: 'get', table: get.TableName as string, key: asItem(get.Key), consistent: true, factor: 2 };
  });
}

const READERS: Record<string, { mode: Mode; entries: (body: Json) => Entry[] }> = {
  GetItem: {
    mode: 'single',
    entries: (body) => [
      {
        op: 'get',
        table: body.TableName as string,
        key: asItem(body.Key),
        consistent: body.ConsistentRead === true,
        factor: 1,
      },
    ],
  },
  Query: { mode: 'single', entries: (body) => [queryEntry(body)] },
  PutItem: { mode: 'single', entries: (body) => [writeEntry('Put', body, 1)] },
  UpdateItem: { mode: 'single', entries: (body) => [writeEntry('Update', body, 1)] },
  DeleteItem: { mode: 'single', entries: (body) => [writeEntry('Delete', body, 1)] },
  BatchWriteItem: { mode: 'batch', entries: batchWriteEntries },
  BatchGetItem: { mode: 'batch', entries: batchGetEntries },
  TransactWriteItems: { mode: 'transaction', entries: transactWriteEntries },
  TransactGetItems: { mode: 'transaction', entries: transactGetEntries },
};

/** The operations the model admits; it leaves the others alone (Scan, PartiQL, the control plane). */
export const isModelled = (operation: string) => Object.hasOwn(READERS, operation);

/** The request's items, or undefined for an operation the model leaves alone. */
export function requestEntries(operation: string, body: Json): { mode: Mode; entries: Entry[] } | undefined {
  const reader = READERS[operation];
  return reader && { mode: reader.mode, entries: reader.entries(body) };
}

/** The primary key of an entry's item. */
export function primaryKey(entry: Entry, shape: TableShape): WireItem {
  return entry.key ?? pick(entry.item ?? {}, [shape.partitionKey, ...(shape.sortKey ? [shape.sortKey] : [])]);
}

/** A primary key as one string, to find the item read before the write. */
export function keyString(key: WireItem, shape: TableShape): string {
  return JSON.stringify([keyText(key[shape.partitionKey]), shape.sortKey ? keyText(key[shape.sortKey]) : null]);
}

/** Whether an update changes an attribute some index holds (its keys or what it projects). */
function reachesIndex(index: IndexShape, touched: ReadonlySet<string>): boolean {
  if (index.projected === 'all') return touched.size > 0;
  return [index.partitionKey, index.sortKey, ...index.projected].some(
    (name) => name !== undefined && touched.has(name),
  );
}

/** Whether the model needs the item as it is before this write: to know the index entries the write replaces. */
export function needsImage(entry: Entry, shape: TableShape): boolean {
  if (entry.op === 'put' || entry.op === 'delete') return shape.indexes.length > 0;
  if (entry.op === 'update')
    return shape.indexes.some((index) => reachesIndex(index, entry.effects?.touched ?? new Set()));
  return false;
}

/** The item's entry in an index: undefined when it lacks the index's keys (indexes are sparse). */
function indexEntry(item: WireItem | undefined, shape: TableShape, index: IndexShape): WireItem | undefined {
  if (!item || item[index.partitionKey] === undefined) return undefined;
  if (index.sortKey && item[index.sortKey] === undefined) return undefined;
  const keys = [shape.partitionKey, shape.sortKey, index.partitionKey, index.sortKey].filter((n) => n !== undefined);
  return pick(item, index.projected === 'all' ? Object.keys(item) : [...keys, ...index.projected]);
}

const sameIndexKey = (a: WireItem, b: WireItem, index: IndexShape) =>
  keyText(a[index.partitionKey]) === keyText(b[index.partitionKey]) &&
  (!index.sortKey || keyText(a[index.sortKey]) === keyText(b[index.sortKey]));

interface Write {
  entry: Entry;
  old: WireItem | undefined;
  next: WireItem | undefined;
  /** Attributes of `next` whose value the request computes. */
  unknown: ReadonlySet<string>;
  touched: ReadonlySet<string> | 'all';
}

/**
 * An index write: the entry is updated in place when its keys stay (and a projected attribute
 * changes); otherwise the old entry is deleted and the new one put, each on its own partition.
 */
function indexCharges(write: Write, shape: TableShape, index: IndexShape): Charge[] {
  const charge = (item: WireItem, bytes: number): Charge => ({
    table: shape.name,
    index: index.name,
    key: keyText(item[index.partitionKey]) ?? '',
    kind: 'write',
    units: write.entry.factor * writeUnits(bytes),
  });
  const before = indexEntry(write.old, shape, index);
  // A key the request computes cannot be placed: its new entry goes uncharged (docs/aws-limits.md).
  const keyComputed = write.unknown.has(index.partitionKey) || (index.sortKey && write.unknown.has(index.sortKey));
  const after = keyComputed ? undefined : indexEntry(write.next, shape, index);
  if (before && after && sameIndexKey(before, after, index)) {
    const changed = write.touched === 'all' || reachesIndex(index, write.touched);
    return changed ? [charge(after, Math.max(itemBytes(before), itemBytes(after)))] : [];
  }
  return [...(before ? [charge(before, itemBytes(before))] : []), ...(after ? [charge(after, itemBytes(after))] : [])];
}

function writeCharges(entry: Entry, shape: TableShape, old: WireItem | undefined): Charge[] {
  const updated = entry.op === 'update' ? applyUpdate(old, entry.effects!) : undefined;
  const write: Write = {
    entry,
    old,
    next: entry.op === 'put' ? entry.item : updated?.item,
    unknown: updated?.unknown ?? new Set(),
    touched: entry.op === 'update' ? entry.effects!.touched : 'all',
  };
  const bytes = entry.op === 'check' ? 0 : Math.max(itemBytes(write.old), itemBytes(write.next));
  const key = keyText(primaryKey(entry, shape)[shape.partitionKey]) ?? '';
  const table: Charge = { table: shape.name, key, kind: 'write', units: entry.factor * writeUnits(bytes) };
  if (entry.op === 'check') return [table];
  return [table, ...shape.indexes.flatMap((index) => indexCharges(write, shape, index))];
}

/** A read's charge before it is served: the minimum, as its size is not known yet. */
function readCharges(entry: Entry, shape: TableShape): Charge[] {
  const index = entry.query?.index ? shape.indexes.find((i) => i.name === entry.query?.index) : undefined;
  if (entry.query?.index && !index) return [];
  const attribute = index?.partitionKey ?? shape.partitionKey;
  let value = entry.key?.[attribute];
  if (entry.query) {
    const { expression, names, values, conditions } = entry.query;
    const legacy = (conditions as Record<string, { AttributeValueList?: WireValue[] }> | undefined)?.[attribute];
    value = expression ? equalityValue(expression, attribute, names, values) : legacy?.AttributeValueList?.[0];
  }
  const key = keyText(value);
  if (key === undefined) return [];
  // Index reads are eventually consistent whatever the request says.
  const units = entry.factor * readUnits(0, entry.consistent && !index);
  return [{ table: shape.name, ...(index ? { index: index.name } : {}), key, kind: 'read', units }];
}

/** The charges of one entry; `old` is the item before a write, when the model read it. */
export function chargesOf(entry: Entry, shape: TableShape, old: WireItem | undefined): Charge[] {
  return entry.op === 'get' || entry.op === 'query' ? readCharges(entry, shape) : writeCharges(entry, shape, old);
}

/** A batch request reduced to the items at `positions` (in the order of `requestEntries`). */
export function batchSubset(operation: string, body: Json, positions: ReadonlySet<number>): Json {
  let position = 0;
  const kept: Json = {};
  for (const [table, request] of Object.entries(asRecord(body.RequestItems))) {
    if (operation === 'BatchWriteItem') {
      const items = (request as unknown as Json[]).filter(() => positions.has(position++));
      if (items.length > 0) kept[table] = items;
    } else {
      const keys = ((request.Keys ?? []) as WireItem[]).filter(() => positions.has(position++));
      if (keys.length > 0) kept[table] = { ...request, Keys: keys };
    }
  }
  return { ...body, RequestItems: kept };
}

/** Adds a batch's refused items to what DynamoDB left unprocessed, as BatchWriteItem and BatchGetItem return them. */
export function withUnprocessed(operation: string, body: Json, refused: ReadonlySet<number>, response: Json): Json {
  const { RequestItems } = batchSubset(operation, body, refused) as { RequestItems: Record<string, Json> };
  const field = operation === 'BatchWriteItem' ? 'UnprocessedItems' : 'UnprocessedKeys';
  const merged = { ...asRecord(response[field]) } as Record<string, unknown>;
  for (const [table, request] of Object.entries(RequestItems)) {
    const known = merged[table];
    if (operation === 'BatchWriteItem')
      merged[table] = [...((known ?? []) as Json[]), ...(request as unknown as Json[])];
    else
      merged[table] = {
        ...request,
        Keys: [...(((known as Json)?.Keys ?? []) as WireItem[]), ...(request.Keys as WireItem[])],
      };
  }
  return { ...response, [field]: merged };
}
