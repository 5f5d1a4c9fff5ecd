import { createHash } from 'node:crypto';
import type { WebhookRef } from '../../domain/ports.ts';
import { TABLE, type IndexDefinition } from './table.ts';

/**
 * The key scheme, declared once: every item's key and every index key is built here, for writes
 * and for queries alike, on the attribute names of the table definition (table.ts):
 *
 *   ORG#<org> / ORG                  the organization, with its endpoint count (the limit is a condition on it)
 *   KEY#<sha256 of api key> / KEY    the organization an API key belongs to
 *   ORG#<org> / EP#<id>              an endpoint
 *   ORG#<org> / XEP#<id>             an endpoint deleted while its webhooks are kept (expires with them)
 *   ORG#<org> / URL#<sha256 of url>  claims a URL so it is unique per organization
 *   IDEM#<org>#<key> / IDEM          the webhooks created by a publish with that idempotency key
 *   PUB#<minute>#<shard> / <publisher>#<n>  a publish's intent: the webhooks it is about to store
 *   SWEEP#<name> / SWEEP             where the sweeper is in a walk (the last minute of intents it checked)
 *   EP#<endpoint>#<shard> / W#<id>   a webhook's state, in one of its endpoint's shards (webhook-items.ts)
 *   EP#<endpoint>#<shard> / P#<id>   its payload, when it does not fit in the state
 *   EP#<endpoint>#<shard> / R#<id>#<n>  the response of attempt n, when it does not fit in the state
 *   EP#<endpoint> / W#<id>, P#, R#   the same for a webhook of an endpoint from before shards, created
 *                                    before the endpoint's layout says: read and updated where it is
 *   EP#<endpoint> / SHARDS           the endpoint's layout (webhook-layouts.ts): its shard count, and
 *                                    for an endpoint from before shards the id its shards begin at
 *   RATE#<org> / RATE#<action>#<window start>   rate-limit counters of a window (dynamodb-rate-limits.ts)
 *
 *   index `failed`: <org>#<shard> / W#<id>         failed webhooks, by organization and shard
 *                   <org> / W#<id>                 those of an unsharded partition
 *   index `due`:    TIMER#<shard> or DUE#<shard> / <next attempt at>#<id>
 *                   PARK#<endpoint>#<shard> / <id>  a disabled endpoint's parked webhooks
 *
 * A webhook's shard is a hash of its id modulo its endpoint's shard count, so one endpoint's writes
 * spread over that many partition keys: DynamoDB serves about 1,000 write units a second per key,
 * and ids only increase, so a single key cannot be split for heat. Webhook ids are UUIDv7: each
 * partition, sorted by the sort key, is sorted by creation time, and the search merges the shards
 * (webhook-search.ts). The strings are the stored data's: changing one leaves existing items unread.
 */

export const PK = TABLE.partitionKey;
export const SK = TABLE.sortKey;
const indexNamed = (name: string): IndexDefinition => TABLE.indexes.find((index) => index.name === name)!;
const FAILED = indexNamed('failed');
const DUE = indexNamed('due');

export type Key = { [PK]: string; [SK]: string };
type Item = Record<string, unknown>;

const SEPARATOR = '#';

/** A kind of key value: its tag alone (`ORG`), or the tag and parts joined by `#` (`EP#<id>`). */
function tagged(tag: string) {
  const prefix = `${tag}${SEPARATOR}`;
  return {
    tag,
    /** What every value with parts begins with, for `begins_with` and ranges. */
    prefix,
    of: (...parts: (string | number)[]) => [tag, ...parts].join(SEPARATOR),
    /** What follows the tag, or undefined for a value of another kind. */
    read: (value: unknown) =>
      typeof value === 'string' && value.startsWith(prefix) ? value.slice(prefix.length) : undefined,
  };
}

const ORGANIZATION = tagged('ORG');
const API_KEY = tagged('KEY');
const ENDPOINT = tagged('EP');
const DELETED_ENDPOINT = tagged('XEP');
const URL_CLAIM = tagged('URL');
const IDEMPOTENCY = tagged('IDEM');
const STATE = tagged('W');
const PAYLOAD = tagged('P');
const RESPONSE = tagged('R');
const LAYOUT = tagged('SHARDS');
const TIMER = tagged('TIMER');
const OVERDUE = tagged('DUE');
const PARKED = tagged('PARK');
const INTENT = tagged('PUB');
const SWEEP_MARK = tagged('SWEEP');
const RATE = tagged('RATE');

const key = (pk: string, sk: string): Key => ({ [PK]: pk, [SK]: sk });
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

export const organizationKey = (id: string) => key(ORGANIZATION.of(id), ORGANIZATION.tag);
export const apiKeyKey = (hash: string) => key(API_KEY.of(hash), API_KEY.tag);
export const endpointKey = (organizationId: string, id: string) =>
  key(ORGANIZATION.of(organizationId), ENDPOINT.of(id));
export const deletedEndpointKey = (organizationId: string, id: string) =>
  key(ORGANIZATION.of(organizationId), DELETED_ENDPOINT.of(id));
export const urlClaimKey = (organizationId: string, url: string) =>
  key(ORGANIZATION.of(organizationId), URL_CLAIM.of(sha256(url)));
export const idempotencyKey = (organizationId: string, idempotencyKey: string) =>
  key(IDEMPOTENCY.of(organizationId, idempotencyKey), IDEMPOTENCY.tag);
/**
 * Where a webhook's items are: one of its endpoint's shards, or (`shard` null) the endpoint's
 * unsharded partition, where earlier releases stored every webhook.
 */
export interface WebhookPartition {
  endpointId: string;
  shard: number | null;
}

/** A webhook's shard among its endpoint's `shards`: a hash of its id, so its partition follows from its id and its endpoint's layout. */
export const shardOf = (id: string, shards: number): number =>
  createHash('sha256').update(id).digest().readUInt32BE(0) % shards;

const partitionKey = ({ endpointId, shard }: WebhookPartition) =>
  shard === null ? ENDPOINT.of(endpointId) : ENDPOINT.of(endpointId, shard);

export const webhookStateKey = (partition: WebhookPartition, id: string) => key(partitionKey(partition), STATE.of(id));
export const webhookPayloadKey = (partition: WebhookPartition, id: string) =>
  key(partitionKey(partition), PAYLOAD.of(id));
/** One item per attempt whose response does not fit inline: a concurrent attempt that loses its write cannot replace the recorded one's. */
export const webhookResponseKey = (partition: WebhookPartition, id: string, attempt: number) =>
  key(partitionKey(partition), RESPONSE.of(id, attempt));
/** An endpoint's layout (webhook-layouts.ts), in its unsharded partition: found from the endpoint's id alone. */
export const endpointLayoutKey = (endpointId: string) => key(ENDPOINT.of(endpointId), LAYOUT.tag);

/** An organization's rate-limit counters for one action and window, apart from its own partition. */
export const rateLimitKey = (organizationId: string, action: string, windowStartMs: number) =>
  key(RATE.of(organizationId), RATE.of(action, windowStartMs));

/**
 * A minute's publish intents, spread over shards by publisher (a publisher's intents stay in one
 * partition); sorted by publisher and number.
 */
export const intentPartition = {
  shards: 8,
  key: (minuteIso: string, shard: number) => INTENT.of(minuteIso, shard),
  itemKey: (minuteIso: string, publisher: string, seq: number) =>
    key(
      INTENT.of(minuteIso, idShard(publisher, intentPartition.shards)),
      `${publisher}${SEPARATOR}${String(seq).padStart(12, '0')}`,
    ),
  /** The publisher and number an intent's sort key holds. */
  idOf: (item: Item): { publisher: string; seq: number } => {
    const sk = item[SK] as string;
    const at = sk.lastIndexOf(SEPARATOR);
    return { publisher: sk.slice(0, at), seq: Number(sk.slice(at + 1)) };
  },
};

export const sweepMarkKey = (name: string) => key(SWEEP_MARK.of(name), SWEEP_MARK.tag);

/** The key of an item read back: keys.ts alone knows how a key is spelled. */
export const keyOf = (item: Item): Key => key(item[PK] as string, item[SK] as string);

/**
 * An organization's partition. Its item sorts after its endpoints (`EP#…` < `ORG`) and before its
 * URL claims and deleted endpoints, so one range reads the organization with its endpoints.
 */
export const organizationPartition = {
  key: (organizationId: string) => ORGANIZATION.of(organizationId),
  /** Sort keys from the first endpoint through the organization's item. */
  endpointsThroughOrganization: { from: ENDPOINT.prefix, to: ORGANIZATION.tag },
  endpointPrefix: ENDPOINT.prefix,
  isOrganization: (item: Item) => item[SK] === ORGANIZATION.tag,
  isEndpoint: (item: Item) => ENDPOINT.read(item[SK]) !== undefined,
  /** The endpoint an endpoint's item or a deleted endpoint's tombstone names; undefined for other items. */
  webhookEndpointOf: (item: Item) => ENDPOINT.read(item[SK]) ?? DELETED_ENDPOINT.read(item[SK]),
};

/** An endpoint's webhook partitions (its shards, and the unsharded one of earlier releases), each sorted by id. */
export const webhookPartition = {
  key: partitionKey,
  /** The state item's sort key for an id, or a bound of a range of ids. */
  stateSk: (id: string) => STATE.of(id),
  /** The partition an item's key (or its `failed` index entry's table key) names. */
  of: (item: Item): WebhookPartition => {
    const [endpointId = '', shard] = (ENDPOINT.read(item[PK]) ?? '').split(SEPARATOR);
    return { endpointId, shard: shard === undefined ? null : Number(shard) };
  },
  /** The webhook whose state item (or its index entry) this is. */
  refOf: (item: Item): WebhookRef => ({ endpointId: webhookPartition.of(item).endpointId, id: STATE.read(item[SK])! }),
};

/**
 * Sparse: only failed webhooks carry its key, the organization and the shard of their partition
 * (the organization alone for an unsharded one), so one tenant's mass exhaustion spreads over its
 * endpoints' shard count; its sort key is the state's.
 */
export const failedIndex = {
  name: FAILED.name,
  partitionKey: FAILED.partitionKey,
  sortKey: FAILED.sortKey,
  key: (organizationId: string, shard: number | null) =>
    shard === null ? organizationId : [organizationId, shard].join(SEPARATOR),
  attributes: (organizationId: string, shard: number | null) => ({
    [FAILED.partitionKey]: failedIndex.key(organizationId, shard),
  }),
};

/** A webhook's shard among `shards`, from the random end of its id. */
export const idShard = (id: string, shards: number): number => parseInt(id.replace(/-/g, '').slice(-4), 16) % shards;

/**
 * Sparse: webhooks whose next attempt waits in the store (`timer`: written only before waits were
 * chains of messages), or whose message was not sent (`overdue`), spread over shards.
 */
export const dueIndex = {
  name: DUE.name,
  partitionKey: DUE.partitionKey,
  sortKey: DUE.sortKey,
  shards: 8,
  partition: (kind: 'timer' | 'overdue', shard: number) => (kind === 'timer' ? TIMER : OVERDUE).of(shard),
  attributes: (kind: 'timer' | 'overdue', shard: number, nextAttemptAt: string, id: string) => ({
    [DUE.partitionKey]: dueIndex.partition(kind, shard),
    [DUE.sortKey]: `${nextAttemptAt}${SEPARATOR}${id}`,
  }),
};

/**
 * Sparse, in the `due` index: a disabled endpoint's parked webhooks, over shards of their own so an
 * endpoint parking at any rate takes no more than a key's throughput each, sorted by id.
 */
export const parkedIndex = {
  name: DUE.name,
  partitionKey: DUE.partitionKey,
  sortKey: DUE.sortKey,
  shards: 8,
  partition: (endpointId: string, shard: number) => PARKED.of(endpointId, shard),
  attributes: (endpointId: string, id: string) => ({
    [DUE.partitionKey]: parkedIndex.partition(endpointId, idShard(id, parkedIndex.shards)),
    [DUE.sortKey]: id,
  }),
};
