import type { WebhookEndpoint, WebhookState } from '../model.ts';
import { EARLY_TOLERANCE_MS } from './hops.ts';
import type { DeliveryMessage } from './message.ts';
import { DELIVERY_ERRORS } from './outcomes.ts';
import { isFailing, type Lane } from './policy.ts';

/**
 * What a message may do to its webhook. Each kind carries what it proved exists, so what follows
 * never has to check again.
 * - `drop`: nothing to do (a stale copy, a duplicate, a finished webhook);
 * - `fail`: the endpoint is gone, the webhook fails without an attempt;
 * - `forward`: the endpoint is slow (or one of its attempts here runs long) or failing, the message moves to the slow lane;
 * - `busy`: the endpoint hangs and has its share of the slow lane in flight here, the message comes back later;
 * - `wait`: not due yet, the message comes back when it is (hopping if that is beyond 15 minutes);
 * - `early`: ahead of its predecessor's record, the message comes back a little later;
 * - `paused`: the endpoint is disabled, or its circuit breaker is open: the webhook is parked until it is enabled, or closes;
 * - `probe`: the endpoint's breaker is open and its cool-down over: the first message to claim the probe makes it, the others park;
 * - `attempt`: post it now (`redrive`: a redriven dead letter opens a new round).
 */
export type Decision =
  | { kind: 'drop'; why: string }
  | { kind: 'fail'; webhook: WebhookState; error: string }
  | { kind: 'forward' }
  | { kind: 'busy' }
  | { kind: 'wait'; dueAtMs: number }
  | { kind: 'early'; attempt: number }
  | { kind: 'paused'; webhook: WebhookState; endpoint: WebhookEndpoint; redrive: boolean }
  | { kind: 'probe'; webhook: WebhookState; endpoint: WebhookEndpoint; openedAtMs: number }
  | { kind: 'attempt'; webhook: WebhookState; endpoint: WebhookEndpoint; redrive: boolean };

/** What the sender knows when a message arrives. */
export interface Arrival {
  message: DeliveryMessage;
  /** The webhook's state, if it exists in the message's organization. */
  webhook: WebhookState | undefined;
  endpoint: WebhookEndpoint | undefined;
  /** The lane the message was received from. */
  lane: Lane;
  /** Until when (ms) the endpoint takes the slow lane, as the store or this process knows it. */
  endpointSlowUntil: number;
  /** The endpoint's attempts in this process: one running long (`suspect`), or a hanging endpoint's share in flight (`atCap`). */
  endpointLoad: { suspect: boolean; atCap: boolean };
  /** How long an open circuit breaker waits before its probe. */
  breakerCooldownMs: number;
  nowMs: number;
}

/** Pure: the message's decision from the state of its webhook and endpoint. */
export function decide({
  message,
  webhook,
  endpoint,
  lane,
  endpointSlowUntil,
  endpointLoad,
  breakerCooldownMs,
  nowMs,
}: Arrival): Decision {
  if (!webhook) return { kind: 'drop', why: 'unknown webhook' };
  if (message.attempt === undefined) return { kind: 'drop', why: 'a message from before attempts were numbered' };
  if (webhook.status === 'succeeded') return { kind: 'drop', why: 'already delivered' };
  if (webhook.status === 'failed') return decideRedrive(webhook, message, endpoint);
  const next = webhook.attempt_count + 1;
  // A dead letter of a webhook someone retried meanwhile: the retry's own message makes its attempt.
  if (message.reason !== undefined) return { kind: 'drop', why: 'dead letter of a webhook that is live again' };
  if (message.attempt < next)
    return { kind: 'drop', why: `message for attempt ${message.attempt}, the webhook is at ${next}` };
  // Sent before its predecessor was recorded, it may simply be ahead of that write: it comes back later.
  if (message.attempt > next) return { kind: 'early', attempt: message.attempt };
  // A timer stored before waits were chains: the sweeper sends its message, and clears the timer first.
  if (webhook.timer) return { kind: 'drop', why: 'the next attempt waits on a timer' };
  if (!endpoint) return { kind: 'fail', webhook, error: DELIVERY_ERRORS.endpointDeleted };
  // A disabled endpoint's webhooks wait, without an attempt, until it is enabled (a parked one sent by the enable's drain goes on).
  if (endpoint.disabled_at_ms) return { kind: 'paused', webhook, endpoint, redrive: false };
  const due = webhook.next_attempt_at_ms ?? nowMs;
  if (due > nowMs + EARLY_TOLERANCE_MS) return { kind: 'wait', dueAtMs: due };
  // An open circuit breaker: due webhooks wait without an attempt, but for one probe once the cool-down is over.
  const openedAtMs = endpoint.breaker_opened_at_ms;
  if (openedAtMs)
    return nowMs < openedAtMs + breakerCooldownMs
      ? { kind: 'paused', webhook, endpoint, redrive: false }
      : { kind: 'probe', webhook, endpoint, openedAtMs };
  // A fast-lane batch never waits on an endpoint already slow, one whose attempt here has run long, or one that fails.
  if (lane === 'fast' && (endpointSlowUntil > nowMs || endpointLoad.suspect || isFailing(endpoint, nowMs)))
    return { kind: 'forward' };
  // One hanging endpoint never holds more than its share of the slow lane.
  if (lane === 'slow' && endpointLoad.atCap) return { kind: 'busy' };
  return { kind: 'attempt', webhook, endpoint, redrive: false };
}

/** A failed webhook: a redriven dead letter starts a new round, unless the webhook moved on since it was dead-lettered. */
function decideRedrive(
  webhook: WebhookState,
  message: DeliveryMessage,
  endpoint: WebhookEndpoint | undefined,
): Decision {
  const redriven = message.reason !== undefined && message.attempt === webhook.attempt_count + 1;
  if (!redriven) return { kind: 'drop', why: 'stale copy of a finished round' };
  if (!endpoint) return { kind: 'drop', why: DELIVERY_ERRORS.endpointDeleted };
  if (endpoint.disabled_at_ms || endpoint.breaker_opened_at_ms)
    return { kind: 'paused', webhook, endpoint, redrive: true };
  return { kind: 'attempt', webhook, endpoint, redrive: true };
}
