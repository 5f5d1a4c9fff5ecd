import { deflateRawSync, inflateRawSync } from 'node:zlib';
import {
  FINAL_STATUSES,
  type Attempt,
  type Webhook,
  type WebhookState,
  type WebhookStatus,
} from '../../domain/model.ts';
import { DELIVERY_ERRORS, isSuccessStatus } from '../../domain/delivery/outcomes.ts';
import { isoMs } from '../../domain/time.ts';
import { dueIndex, failedIndex, idShard, parkedIndex, webhookPartition, type WebhookPartition } from './keys.ts';

/**
 * How a webhook is laid out in DynamoDB (its keys: keys.ts), written for the fewest request units
 * (docs/api.md's table of how the filters are served and docs/delivery.md say why):
 *
 *   state     the webhook's state, with short attribute names, and its payload and last response
 *             inline while the item stays within 1 KB (1 write unit)
 *   payload   the payload, when it does not fit: written once, never rewritten
 *   response  the response of attempt n, when it does not fit: written once
 *
 * A state change is an UpdateItem of the attributes that changed. No index entry is written when a
 * webhook is published or delivered: the endpoint's partitions (its shards) are the log, each
 * sorted by id (UUIDv7, so by time). Two sparse indexes hold the exceptions: `failed` (failed webhooks, by organization) and
 * `due` (webhooks whose next attempt waits in the store, or whose message could not be sent).
 */

type Item = Record<string, unknown>;

/** The state attributes the search filters read (the `failed` index copies them: table.ts). */
export const FILTERED = {
  organization: 'o',
  webhookType: 't',
  status: 's',
  httpStatus: 'h',
  attemptCount: 'n',
  objectId: 'oi',
} as const;

/** An item of at most this many bytes costs one write unit. */
const WRITE_UNIT_BYTES = 1024;
/** Room left in a new state item for what attempts add (an attempt entry, a short response). */
const GROWTH_ALLOWANCE = 64;
/** Below this, compressing costs more than it saves. */
const COMPRESS_FROM_BYTES = 96;

/** Text as stored: as is, or raw-deflated into a binary attribute when that is smaller. */
export function pack(text: string): string | Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length < COMPRESS_FROM_BYTES) return text;
  const packed = deflateRawSync(bytes);
  return packed.length < bytes.length * 0.9 ? new Uint8Array(packed) : text;
}

export function unpack(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return inflateRawSync(value).toString('utf8');
  return null;
}

/** DynamoDB's size of an item (names plus values), by its published rules, rounded up a little. */
export function itemBytes(item: Item): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    bytes += Buffer.byteLength(name) + valueBytes(value);
  }
  return bytes;
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace('.', '').length / 2) + 1;
  if (typeof value === 'boolean' || value === null) return 1;
  if (value instanceof Uint8Array) return value.length;
  if (Array.isArray(value)) return 3 + value.reduce<number>((n, v) => n + 1 + valueBytes(v), 0);
  if (typeof value === 'object') return 3 + itemBytes(value as Item) + Object.keys(value).length;
  return 0;
}

const derivedError = (status: number | null) =>
  status !== null && !isSuccessStatus(status) ? DELIVERY_ERRORS.unexpectedStatus(status) : null;

/** An attempt as a short list: [number, at (ms), http status, duration, error unless it follows from the status]. */
function packAttempt(a: Attempt): unknown[] {
  const error = a.error === derivedError(a.http_status) ? null : a.error;
  return [a.number, a.at_ms, a.http_status, a.duration_ms, error];
}

function unpackAttempt(raw: unknown): Attempt {
  const [number, at, httpStatus, duration, error] = raw as [number, number, number | null, number, string | null];
  return {
    number,
    at_ms: at,
    http_status: httpStatus,
    error: error ?? derivedError(httpStatus),
    duration_ms: duration,
  };
}

/**
 * Whether a live webhook belongs in the `due` index: parked (by endpoint), or its next attempt
 * waits in the store (a timer from before chains), or its message is not known to be queued.
 */
export function dueKeys(state: WebhookState): Item {
  if (FINAL_STATUSES.includes(state.status)) return {};
  if (state.parked) return parkedIndex.attributes(state.endpoint_id, state.id);
  if (!state.next_attempt_at_ms || !(state.timer || state.unqueued)) return {};
  const shard = idShard(state.id, dueIndex.shards);
  return dueIndex.attributes(state.timer ? 'timer' : 'overdue', shard, isoMs(state.next_attempt_at_ms), state.id);
}

/**
 * The state item's attributes (without its keys), in `partition`. Where the payload and the last
 * response are (`pl` or `px`, `rb` or `rx`) is the store's to write: they are not rewritten with
 * each state.
 */
export function stateAttributes(state: WebhookState, partition: WebhookPartition): Item {
  const item: Item = {
    [FILTERED.organization]: state.organization_id,
    [FILTERED.webhookType]: state.webhook_type,
    ot: state.object_type,
    [FILTERED.objectId]: state.object_id ?? undefined,
    u: state.endpoint_url,
    [FILTERED.status]: state.status,
    [FILTERED.attemptCount]: state.attempt_count,
    ra: state.round_attempts,
    a: state.attempts.map(packAttempt),
    [FILTERED.httpStatus]: state.http_status ?? undefined,
    er: state.error === derivedError(state.http_status) ? undefined : (state.error ?? undefined),
    na: state.next_attempt_at_ms ?? undefined,
    tm: state.timer ? true : undefined,
    uq: state.unqueued ? true : undefined,
    pa: state.parked ? true : undefined,
    ts: state.test ? true : undefined,
    c: state.created_at_ms,
    up: state.updated_at_ms,
    v: state.version,
    ...dueKeys(state),
    // Only failed webhooks are in the sparse `failed` index, with what its filters read, spread as their partitions are.
    ...(state.status === 'failed' ? failedIndex.attributes(state.organization_id, partition.shard) : {}),
  };
  return item;
}

/** Whether text fits in a state item already this big, keeping room for what later attempts add. */
export function fitsInline(stateBytes: number, packed: string | Uint8Array, allowance = GROWTH_ALLOWANCE): boolean {
  return stateBytes + 3 + valueBytes(packed) + allowance <= WRITE_UNIT_BYTES;
}

export interface StoredState {
  state: WebhookState;
  /** The size of the stored state item, without its inline response: what an update may add to it. */
  stateBytes: number;
  /** The payload when it is inline. */
  payload?: string;
  /** True when the payload or the response live in their own items. */
  payloadElsewhere: boolean;
  /** The attempt whose response item holds the last response, when it is not inline. */
  responseElsewhere?: number;
}

export function fromStateItem(item: Item): StoredState {
  const { endpointId, id } = webhookPartition.refOf(item);
  const inlineResponse = unpack(item.rb);
  const httpStatus = typeof item.h === 'number' ? item.h : null;
  const state: WebhookState = {
    id,
    organization_id: item.o as string,
    endpoint_id: endpointId,
    endpoint_url: item.u as string,
    webhook_type: item.t as string,
    object_type: item.ot as string,
    object_id: typeof item.oi === 'string' ? item.oi : null,
    status: item.s as WebhookStatus,
    attempt_count: item.n as number,
    round_attempts: item.ra as number,
    attempts: ((item.a as unknown[] | undefined) ?? []).map(unpackAttempt),
    http_status: httpStatus,
    response_body: inlineResponse,
    error: typeof item.er === 'string' ? item.er : derivedError(httpStatus),
    next_attempt_at_ms: typeof item.na === 'number' ? item.na : null,
    timer: item.tm === true,
    ...(item.uq === true ? { unqueued: true } : {}),
    ...(item.pa === true ? { parked: true } : {}),
    ...(item.ts === true ? { test: true } : {}),
    created_at_ms: item.c as number,
    updated_at_ms: item.up as number,
    version: item.v as number,
  };
  const payload = unpack(item.pl);
  return {
    state,
    stateBytes: itemBytes(item) - (item.rb === undefined ? 0 : 2 + valueBytes(item.rb)),
    ...(payload !== null ? { payload } : {}),
    payloadElsewhere: item.px === true,
    ...(typeof item.rx === 'number' ? { responseElsewhere: item.rx } : {}),
  };
}

/** The state of a webhook as Webhook minus the payload (what `updateWebhook` receives). */
export function withoutPayload(webhook: WebhookState | Webhook): WebhookState {
  const { payload: _payload, ...state } = webhook as Webhook;
  return state;
}
