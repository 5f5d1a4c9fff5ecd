import { highestIdAt, isUuid, lowestIdAt } from '../../domain/ids.ts';
import type { WebhookState } from '../../domain/model.ts';
import type { WebhookQuery } from '../../domain/ports.ts';
import { failedIndex, PK, SK, webhookPartition } from './keys.ts';
import { FILTERED } from './webhook-items.ts';
import { holdsUnsharded, partitionsOf, type EndpointLayout } from './webhook-layouts.ts';

/**
 * The webhook search's query planner, pure: from a query and the layouts of the organization's
 * endpoints it plans which partitions (each endpoint's shards) or index keys to read, with which
 * key conditions and filter, and how to check a webhook read by id; `mergeNewestFirst` merges what
 * they read. Each filter is declared once, as a predicate, and compiled both to a
 * DynamoDB filter expression (`compileExpression`) and to a JavaScript predicate (`compileMatcher`).
 * The webhook store runs the plan (webhook-store.ts).
 */

/** What a filter can test on a webhook's state: where DynamoDB finds it, and how it reads on a state. */
const FIELDS = {
  organization: { attribute: FILTERED.organization, read: (w: WebhookState) => w.organization_id },
  // Only on the `failed` index is the endpoint a filter: elsewhere it is the partition read. Its
  // partitions' keys all begin with its unsharded one's (`EP#<id>`, `EP#<id>#<shard>`; ids are UUIDs).
  endpoint: {
    attribute: PK,
    read: (w: WebhookState) => w.endpoint_id,
    stored: (endpointId: string) => webhookPartition.key({ endpointId, shard: null }),
    prefix: true,
  },
  status: { attribute: FILTERED.status, read: (w: WebhookState) => w.status },
  webhookType: { attribute: FILTERED.webhookType, read: (w: WebhookState) => w.webhook_type },
  objectId: { attribute: FILTERED.objectId, read: (w: WebhookState) => w.object_id },
  httpStatus: { attribute: FILTERED.httpStatus, read: (w: WebhookState) => w.http_status },
  attemptCount: { attribute: FILTERED.attemptCount, read: (w: WebhookState) => w.attempt_count },
} satisfies Record<
  string,
  {
    attribute: string;
    read: (w: WebhookState) => string | number | null;
    stored?: (value: string) => string;
    /** Equal on the state, a prefix of the stored attribute. */
    prefix?: true;
  }
>;

type Field = keyof typeof FIELDS;

/** A condition on a webhook's state. An absent attribute (null on the state) matches no comparison. */
export type Predicate =
  | { op: 'eq'; field: Field; value: string | number }
  | { op: 'in'; field: Field; values: readonly string[] }
  | { op: 'between'; field: Field; low: number; high: number }
  | { op: 'gt'; field: Field; value: number }
  | { op: 'absent'; field: Field }
  | { op: 'and'; all: Predicate[] }
  | { op: 'or'; any: Predicate[] };

interface Expression {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

/** The predicate as a DynamoDB condition expression; names are `#<attribute>`, values `:v0`, `:v1`… */
export function compileExpression(predicate: Predicate): Expression {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const name = (field: Field) => {
    const { attribute } = FIELDS[field];
    names[`#${attribute}`] = attribute;
    return `#${attribute}`;
  };
  const value = (field: Field, v: string | number) => {
    const ref = `:v${Object.keys(values).length}`;
    const definition = FIELDS[field];
    values[ref] = 'stored' in definition && typeof v === 'string' ? definition.stored(v) : v;
    return ref;
  };
  const compile = (p: Predicate): string => {
    switch (p.op) {
      case 'eq':
        return 'prefix' in FIELDS[p.field]
          ? `begins_with(${name(p.field)}, ${value(p.field, p.value)})`
          : `${name(p.field)} = ${value(p.field, p.value)}`;
      case 'in':
        return `${name(p.field)} IN (${p.values.map((v) => value(p.field, v)).join(', ')})`;
      case 'between':
        return `${name(p.field)} BETWEEN ${value(p.field, p.low)} AND ${value(p.field, p.high)}`;
      case 'gt':
        return `${name(p.field)} > ${value(p.field, p.value)}`;
      case 'absent':
        return `attribute_not_exists(${name(p.field)})`;
      case 'and':
      case 'or': {
        const parts = p.op === 'and' ? p.all : p.any;
        if (parts.length === 1) return compile(parts[0]!);
        // DynamoDB refuses redundant parentheses: only what could read ambiguously is wrapped, once.
        return parts
          .map((part) => (needsParentheses(part) ? `(${compile(part)})` : compile(part)))
          .join(p.op === 'and' ? ' AND ' : ' OR ');
      }
    }
  };
  return { expression: compile(predicate), names, values };
}

/** A BETWEEN (its own AND) or a combination of several conditions, inside another combination. */
function needsParentheses(p: Predicate): boolean {
  if (p.op === 'between') return true;
  if (p.op === 'and') return p.all.length > 1 || needsParentheses(p.all[0]!);
  if (p.op === 'or') return p.any.length > 1 || needsParentheses(p.any[0]!);
  return false;
}

/** The predicate as a test on a webhook's state, with DynamoDB's meaning. */
export function compileMatcher(predicate: Predicate): (state: WebhookState) => boolean {
  switch (predicate.op) {
    case 'eq':
      return (w) => FIELDS[predicate.field].read(w) === predicate.value;
    case 'in':
      return (w) => (predicate.values as readonly unknown[]).includes(FIELDS[predicate.field].read(w));
    case 'between':
      return (w) => {
        const v = FIELDS[predicate.field].read(w);
        return typeof v === 'number' && v >= predicate.low && v <= predicate.high;
      };
    case 'gt':
      return (w) => {
        const v = FIELDS[predicate.field].read(w);
        return typeof v === 'number' && v > predicate.value;
      };
    case 'absent':
      return (w) => FIELDS[predicate.field].read(w) === null;
    case 'and': {
      const all = predicate.all.map(compileMatcher);
      return (w) => all.every((test) => test(w));
    }
    case 'or': {
      const any = predicate.any.map(compileMatcher);
      return (w) => any.some((test) => test(w));
    }
  }
}

/** How candidates are read: an endpoint's partition, the `failed` index, or one webhook by its id. */
type Read = 'partition' | 'failed' | 'id';

interface Filter {
  predicate: Predicate;
  /** Reads whose keys already guarantee it, where it is not checked again (a key cannot be filtered on). */
  impliedBy?: Read[];
}

/** An HTTP status filter: an exact code, a class such as `5xx`, or `timeout` (attempted, no response). */
function httpStatusIs(code: string): Predicate {
  if (code === 'timeout')
    return {
      op: 'and',
      all: [
        { op: 'gt', field: 'attemptCount', value: 0 },
        { op: 'absent', field: 'httpStatus' },
      ],
    };
  const cls = /^([1-5])xx$/.exec(code);
  if (cls) return { op: 'between', field: 'httpStatus', low: Number(cls[1]) * 100, high: Number(cls[1]) * 100 + 99 };
  return { op: 'eq', field: 'httpStatus', value: Number(code) };
}

/** The query's filters, each declared once. */
function filtersOf(query: WebhookQuery): Filter[] {
  const filters: Filter[] = [{ predicate: { op: 'eq', field: 'organization', value: query.organizationId } }];
  if (query.endpointId)
    filters.push({ predicate: { op: 'eq', field: 'endpoint', value: query.endpointId }, impliedBy: ['partition'] });
  // The `failed` index is read only when `failed` is the one status asked for.
  if (query.statuses?.length)
    filters.push({ predicate: { op: 'in', field: 'status', values: query.statuses }, impliedBy: ['failed'] });
  if (query.webhookTypes?.length)
    filters.push({ predicate: { op: 'in', field: 'webhookType', values: query.webhookTypes } });
  // A search term is an object id, or a webhook id read by key.
  if (query.searchTerm !== undefined)
    filters.push({ predicate: { op: 'eq', field: 'objectId', value: query.searchTerm }, impliedBy: ['id'] });
  if (query.httpStatuses?.length) filters.push({ predicate: { op: 'or', any: query.httpStatuses.map(httpStatusIs) } });
  return filters;
}

const filterFor = (filters: Filter[], read: Read): Predicate => ({
  op: 'and',
  all: filters.filter((f) => !f.impliedBy?.includes(read)).map((f) => f.predicate),
});

/**
 * The ids in the query's date window and before its cursor. Ids are UUIDv7, sorted by time, so the
 * window is a range of sort keys; the cursor is exclusive, BETWEEN is not.
 */
function windowOf(query: WebhookQuery) {
  const low = query.fromMs !== undefined ? lowestIdAt(query.fromMs) : '';
  const high = query.toMs !== undefined ? highestIdAt(query.toMs) : '~';
  const { before } = query;
  return {
    /** Inclusive bounds of the sort keys to read; undefined when no id can be in the window. */
    range: (): [string, string] | undefined => {
      const top = before !== undefined && before < high ? before : high;
      return low < top ? [webhookPartition.stateSk(low), webhookPartition.stateSk(top)] : undefined;
    },
    contains: (id: string) => id >= low && id <= high && (before === undefined || id < before),
  };
}

/** A query of the table or an index, as the DynamoDB Query API takes it (without the table and the start key). */
export interface PlannedQuery {
  IndexName?: string;
  ConsistentRead?: boolean;
  KeyConditionExpression: string;
  FilterExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
  ProjectionExpression: string;
  ScanIndexForward: false;
  Limit: number;
}

interface SearchPlan {
  /** One query per stream of candidates, each newest first, reading only their keys; the store merges them. */
  queries: PlannedQuery[];
  /** A search term that may be a webhook id: its state item is read by key among these endpoints' partitions. */
  byId?: { id: string; endpointIds: string[] };
  /** Whether a webhook read by id passes the query's filters and window. */
  matches: (state: WebhookState) => boolean;
  /** Ids at or after it are dropped from the queries' results (their ranges include it). */
  before?: string;
}

/** A partition or index key to read, and how many keys share the candidates it is one of. */
interface Source {
  index?: string;
  keyName: string;
  sortKeyName: string;
  key: string;
  sharing: number;
}

/**
 * The `failed` index's keys for these endpoints: the organization with each shard up to the most
 * any endpoint has, and the organization alone for unsharded partitions.
 */
function failedSources(organizationId: string, endpoints: readonly EndpointLayout[]): Source[] {
  const shards = Math.max(0, ...endpoints.map((e) => e.shards));
  const keys = [
    ...Array.from({ length: shards }, (_, shard) => failedIndex.key(organizationId, shard)),
    ...(endpoints.some(holdsUnsharded) ? [failedIndex.key(organizationId, null)] : []),
  ];
  const { name, partitionKey, sortKey } = failedIndex;
  return keys.map((key) => ({ index: name, keyName: partitionKey, sortKeyName: sortKey, key, sharing: keys.length }));
}

/** Each endpoint's partitions: its shards, and its unsharded partition when it may hold webhooks. */
function partitionSources(endpoints: readonly EndpointLayout[]): Source[] {
  return endpoints.flatMap((layout) => {
    const partitions = partitionsOf(layout);
    return partitions.map((partition) => ({
      keyName: PK,
      sortKeyName: SK,
      key: webhookPartition.key(partition),
      sharing: partitions.length,
    }));
  });
}

/**
 * Items each query reads per page: a page's worth (at least 25, for filters), shared among the keys
 * its candidates are spread over, with a little room for an uneven spread (the store doubles it for
 * the pages after).
 */
const firstPageLimit = (limit: number, sharing: number) =>
  Math.min(Math.ceil(Math.max(limit + 1, 25) / sharing) + (sharing > 1 ? 2 : 0), 500);

/**
 * Plans a page of the organization's webhooks, newest first: when only failed webhooks are asked
 * for, the sparse `failed` index's keys; otherwise the partitions of its endpoints (`endpoints`:
 * the layouts of its live ones and of those deleted within the retention), or of the one endpoint
 * asked for.
 */
export function planSearch(query: WebhookQuery, endpoints: readonly EndpointLayout[]): SearchPlan {
  // Another organization's endpoint is none of this one's: nothing to list.
  if (query.endpointId && !endpoints.some((e) => e.endpointId === query.endpointId))
    return { queries: [], matches: () => false };
  const searched = query.endpointId ? endpoints.filter((e) => e.endpointId === query.endpointId) : endpoints;
  const filters = filtersOf(query);
  const window = windowOf(query);
  const onlyFailed = query.statuses?.length === 1 && query.statuses[0] === 'failed' && query.searchTerm === undefined;
  const sources = onlyFailed ? failedSources(query.organizationId, searched) : partitionSources(searched);
  const filter = compileExpression(filterFor(filters, onlyFailed ? 'failed' : 'partition'));
  const range = window.range();
  const queries = range
    ? sources.map(({ index, keyName, sortKeyName, key, sharing }): PlannedQuery => ({
        ...(index ? { IndexName: index } : { ConsistentRead: true }),
        KeyConditionExpression: '#key = :key AND #sort BETWEEN :low AND :high',
        FilterExpression: filter.expression,
        ExpressionAttributeNames: { ...filter.names, '#key': keyName, '#sort': sortKeyName },
        ExpressionAttributeValues: { ...filter.values, ':key': key, ':low': range[0], ':high': range[1] },
        ProjectionExpression: `${PK}, ${SK}`,
        ScanIndexForward: false,
        Limit: firstPageLimit(query.limit, sharing),
      }))
    : [];
  const matchesFilters = compileMatcher(filterFor(filters, 'id'));
  return {
    queries,
    ...(query.searchTerm !== undefined && isUuid(query.searchTerm)
      ? { byId: { id: query.searchTerm, endpointIds: searched.map((e) => e.endpointId) } }
      : {}),
    matches: (state) => window.contains(state.id) && matchesFilters(state),
    ...(query.before !== undefined ? { before: query.before } : {}),
  };
}

/**
 * The first `count` of several streams, each sorted newest first (by id, UUIDv7), merged newest
 * first: a k-way merge that reads each stream only as far as the merge needs. An id two streams
 * hold (a search term that is both an id and an object id) is taken once.
 */
export async function mergeNewestFirst<T extends { id: string }>(
  streams: AsyncGenerator<T>[],
  count: number,
): Promise<T[]> {
  const merged: T[] = [];
  const heads = await Promise.all(streams.map((s) => s.next()));
  try {
    while (merged.length < count) {
      let best: number | undefined;
      for (let i = 0; i < heads.length; i++) {
        const head = heads[i]!;
        if (!head.done && (best === undefined || head.value.id > (heads[best]!.value as T).id)) best = i;
      }
      if (best === undefined) break;
      const next = heads[best]!.value as T;
      if (merged[merged.length - 1]?.id !== next.id) merged.push(next);
      heads[best] = await streams[best]!.next();
    }
  } finally {
    await Promise.all(streams.map((s) => s.return(undefined)));
  }
  return merged;
}
