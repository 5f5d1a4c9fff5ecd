/**
 * The delivery queue's messages, written and read only here. A delivery message names the webhook
 * and the attempt it is for, and carries the payload when its sender had it, so the sender needs no
 * read for it (SQS takes 1 MiB and bills per 64 KB; payloads are at most 256 KB); a wait longer
 * than SQS's 15 minutes carries its due time and hops (hops.ts). Messages without an `attempt`
 * (written before attempts were numbered) are read, and dropped by the sender. A message with a
 * `record` makes no attempt: it records one already made, whose write the store refused
 * (record.ts). A drain message carries on queueing the waiting webhooks of an endpoint just enabled
 * (shared/domain/endpoints/health.ts).
 */

import { z } from 'zod';
import { WEBHOOK_STATUSES, type WebhookState } from '../model.ts';
import { LANES } from './policy.ts';
import type { Successor } from './settle.ts';

export type DeadLetterReason = 'exhausted' | 'poison';

export interface DeliveryMessage {
  webhookId: string;
  endpointId: string;
  organizationId: string;
  /** The attempt this message makes (1-based over the webhook's life); a message for any other attempt is stale. */
  attempt?: number;
  /** Times this message was sent again without making its attempt (a store error); it grows the backoff. */
  requeues?: number;
  /** Why it went to the dead-letter queue: once redriven, an exhausted webhook starts a new round. */
  reason?: DeadLetterReason;
  /** The exact bytes to POST; absent, the sender reads them from the store. */
  payload?: string;
  /** When its attempt is due, for a wait longer than SQS can delay a message: until then it hops without a read. */
  dueAtMs?: number;
  /** An attempt made whose record is still to be written: the message writes it instead of posting. */
  record?: CarriedRecord;
}

/**
 * Where an endpoint's drain goes on: its parked webhooks from shard `shard`, after the webhook `after` in it.
 * With `probe` (when its circuit breaker opened), it unparks one webhook, the breaker's probe (endpoints/health.ts).
 */
export interface DrainMessage {
  drain: { organizationId: string; endpointId: string; shard: number; after?: string; probe?: number };
}

/** Anything the delivery lanes carry. */
export type LaneMessage = DeliveryMessage | DrainMessage;

export const isDrain = (message: LaneMessage): message is DrainMessage => 'drain' in message;

/** An attempt's record, carried by a message until the store takes it. */
export interface CarriedRecord {
  /** The version of the webhook's state the attempt began from: the record is written onto that state only. */
  version: number;
  /** The webhook's state after the attempt, as the attempt would have written it. */
  state: WebhookState;
  /** What follows the attempt (already sent when it was made), and whether the fast lane cut it: for the report. */
  then: Successor;
  cut: boolean;
}

const count = () => z.int().min(0);
const Attempt = z.object({
  number: z.int().min(1),
  at_ms: z.number(),
  http_status: z.int().nullable(),
  error: z.string().nullable(),
  duration_ms: z.number(),
});
/** Loose: fields of a state this version does not know are kept, not dropped. */
const State = z.looseObject({
  id: z.string(),
  organization_id: z.string(),
  endpoint_id: z.string(),
  endpoint_url: z.string(),
  webhook_type: z.string(),
  object_type: z.string(),
  object_id: z.string().nullable(),
  status: z.enum(WEBHOOK_STATUSES),
  attempt_count: count(),
  round_attempts: count(),
  attempts: z.array(Attempt),
  http_status: z.int().nullable(),
  response_body: z.string().nullable(),
  error: z.string().nullable(),
  next_attempt_at_ms: z.number().nullable(),
  timer: z.boolean().optional(),
  unqueued: z.boolean().optional(),
  parked: z.boolean().optional(),
  test: z.boolean().optional(),
  created_at_ms: z.number(),
  updated_at_ms: z.number(),
  version: count(),
});
const CarriedRecordWire = z.object({
  version: count(),
  state: State,
  then: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('none') }),
    z.object({ kind: z.literal('message'), lane: z.enum(LANES), delaySeconds: count(), dueAtMs: count().optional() }),
    z.object({ kind: z.literal('dead-letter') }),
  ]),
  cut: z.boolean(),
}) satisfies z.ZodType<CarriedRecord>;

interface Wire {
  v?: number;
  webhook_id?: unknown;
  endpoint_id?: unknown;
  organization_id?: unknown;
  attempt?: unknown;
  requeues?: unknown;
  reason?: unknown;
  payload?: unknown;
  due_at_ms?: unknown;
  drain?: { organization_id?: unknown; endpoint_id?: unknown; shard?: unknown; after?: unknown; probe?: unknown };
  record?: unknown;
}

/** The message for the webhook's next attempt. */
export const nextAttemptMessage = (webhook: WebhookState): DeliveryMessage => ({
  webhookId: webhook.id,
  endpointId: webhook.endpoint_id,
  organizationId: webhook.organization_id,
  attempt: webhook.attempt_count + 1,
});

/**
 * Payloads up to this size ride in the message: with JSON's escaping the message stays within one
 * 64 KB billing chunk. Larger ones are read from the store by the sender.
 */
const MESSAGE_PAYLOAD_LIMIT = 48 * 1024;

/** The message with its payload attached when it is small enough to ride along. */
export function withPayload(message: DeliveryMessage, payload: string | undefined): DeliveryMessage {
  const { payload: _previous, ...rest } = message;
  return payload !== undefined && Buffer.byteLength(payload) <= MESSAGE_PAYLOAD_LIMIT ? { ...rest, payload } : rest;
}

export function encodeMessage(message: LaneMessage): string {
  if (isDrain(message)) {
    const { organizationId, endpointId, shard, after, probe } = message.drain;
    return JSON.stringify({
      v: 2,
      drain: {
        organization_id: organizationId,
        endpoint_id: endpointId,
        shard,
        ...(after ? { after } : {}),
        ...(probe !== undefined ? { probe } : {}),
      },
    });
  }
  return JSON.stringify({
    v: 2,
    webhook_id: message.webhookId,
    endpoint_id: message.endpointId,
    organization_id: message.organizationId,
    ...(message.attempt !== undefined ? { attempt: message.attempt } : {}),
    ...(message.requeues ? { requeues: message.requeues } : {}),
    ...(message.reason ? { reason: message.reason } : {}),
    ...(message.dueAtMs !== undefined ? { due_at_ms: message.dueAtMs } : {}),
    ...(message.payload !== undefined ? { payload: message.payload } : {}),
    ...(message.record ? { record: message.record } : {}),
  });
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/** The message, or undefined for a body this service did not write (poison). */
export function decodeMessage(body: string): LaneMessage | undefined {
  let wire: Wire;
  try {
    wire = JSON.parse(body) as Wire;
  } catch {
    return undefined;
  }
  if (typeof wire !== 'object' || wire === null) return undefined;
  if (wire.drain !== undefined) return decodeDrain(wire.drain);
  if (
    typeof wire.webhook_id !== 'string' ||
    typeof wire.endpoint_id !== 'string' ||
    typeof wire.organization_id !== 'string'
  )
    return undefined;
  if (wire.attempt !== undefined && !(isCount(wire.attempt) && wire.attempt >= 1)) return undefined;
  if (wire.requeues !== undefined && !isCount(wire.requeues)) return undefined;
  if (wire.reason !== undefined && wire.reason !== 'exhausted' && wire.reason !== 'poison') return undefined;
  if (wire.payload !== undefined && typeof wire.payload !== 'string') return undefined;
  if (wire.due_at_ms !== undefined && !isCount(wire.due_at_ms)) return undefined;
  const record = wire.record === undefined ? undefined : CarriedRecordWire.safeParse(wire.record);
  if (record && (!record.success || record.data.state.id !== wire.webhook_id)) return undefined;
  return {
    webhookId: wire.webhook_id,
    endpointId: wire.endpoint_id,
    organizationId: wire.organization_id,
    ...(wire.attempt !== undefined ? { attempt: wire.attempt } : {}),
    ...(wire.requeues ? { requeues: wire.requeues } : {}),
    ...(wire.reason !== undefined ? { reason: wire.reason } : {}),
    ...(wire.payload !== undefined ? { payload: wire.payload } : {}),
    ...(wire.due_at_ms !== undefined ? { dueAtMs: wire.due_at_ms } : {}),
    ...(record ? { record: record.data } : {}),
  };
}

function decodeDrain(drain: NonNullable<Wire['drain']>): DrainMessage | undefined {
  if (typeof drain !== 'object' || drain === null) return undefined;
  const { organization_id: organizationId, endpoint_id: endpointId, shard, after, probe } = drain;
  if (typeof organizationId !== 'string' || typeof endpointId !== 'string' || !isCount(shard)) return undefined;
  if (after !== undefined && typeof after !== 'string') return undefined;
  if (probe !== undefined && !isCount(probe)) return undefined;
  return {
    drain: {
      organizationId,
      endpointId,
      shard,
      ...(after !== undefined ? { after } : {}),
      ...(probe !== undefined ? { probe } : {}),
    },
  };
}

/** The endpoint a message belongs to. */
export const endpointOf = (message: LaneMessage): string =>
  isDrain(message) ? message.drain.endpointId : message.endpointId;

/** The endpoint a message belongs to, for SQS fair queueing; also read from bodies that are not ours. */
export function messageGroup(body: string): string {
  const message = decodeMessage(body);
  return message ? endpointOf(message) : 'unreadable';
}
