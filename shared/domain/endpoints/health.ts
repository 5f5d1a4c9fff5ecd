import { nextAttemptMessage, type DrainMessage } from '../delivery/message.ts';
import { laneOf, type Lane } from '../delivery/policy.ts';
import type { WebhookEndpoint, WebhookState } from '../model.ts';
import type {
  DeliveryQueue,
  EndpointStore,
  Logger,
  OperationalEvent,
  OperationalEvents,
  ParkedCursor,
  WebhookStore,
} from '../ports.ts';
import { isoMs as iso } from '../time.ts';

/**
 * Disabled endpoints and failing ones (beyond Lago).
 *
 * A webhook whose endpoint is disabled is parked: one write marks it, and puts it in its endpoint's
 * sparse list of parked webhooks; no message holds it and nothing fires while the endpoint stays
 * disabled. Enabling the endpoint drains that list: each parked webhook's mark is cleared (it is
 * marked unqueued until its attempt, for the sweeper), then its message sent. The enable's request
 * drains the first pages; a drain message carries on with the rest in the lanes, a page at a time,
 * so an enable queues every parked webhook however many there are. Deleting an endpoint drains it
 * the same way, and the sender fails each webhook.
 *
 * Health costs nothing on the healthy path: `failing_since` is written on the first failed attempt
 * after a success, cleared by the first success after it, and read from the endpoint record the
 * sender reads anyway. An endpoint whose every attempt failed for `autoDisableAfterMs` is disabled,
 * once, and an operational event says so; so does its first success after failing.
 *
 * The circuit breaker: `breakerFailures` failed attempts in a row (counted in the sender's memory,
 * so a failure costs no write) open an endpoint's breaker, one conditional write and an event. While
 * it is open its webhooks are parked when due, as a disabled endpoint's are, and spend no attempt. A
 * drain message sent with the cool-down's delay unparks one of them: the probe (half-open), which one
 * conditional write lets alone through. Its success closes the breaker and drains the parked webhooks;
 * its failure opens it again for another cool-down. Auto-disable goes on counting time from
 * `failing_since` through the breaker's probes: an endpoint that never recovers is still disabled.
 */

/** Parked webhooks read per page of a drain. */
const PAGE = 100;
/** Pages an enable drains in its own request (2,000 webhooks); a drain message carries on with the rest. */
const INLINE_PAGES = 20;
/** Pages one drain message drains before it hands on to the next. */
const PAGES_PER_MESSAGE = 10;
const QUEUE_BATCH = 10;

/** What the sender's health reports need besides: the circuit breaker's settings, and its process's failure streaks. */
export interface BreakerDeps {
  /** Failed attempts in a row, seen by one process, that open an endpoint's breaker; 0 never. */
  breakerFailures: number;
  /** How long an open breaker waits before its probe. */
  breakerCooldownMs: number;
  /** A probe claimed longer ago than this never finished (a crash): another webhook may take its place. */
  breakerProbeStaleMs: number;
  /** By endpoint: its failed attempts in a row in this process, and its `failing_since` as they saw it. */
  failureStreaks: Map<string, { since: number | null; count: number }>;
}

export interface HealthDeps {
  store: EndpointStore & Pick<WebhookStore, 'updateWebhook' | 'findParked'>;
  queue: DeliveryQueue;
  logger: Logger;
  events: OperationalEvents;
  now: () => number;
  /** Every attempt failing this long disables the endpoint; 0 never does. */
  autoDisableAfterMs: number;
}

/** The endpoint a drain queues for, and on which lane. */
interface DrainTarget {
  organizationId: string;
  endpointId: string;
  lane: Lane;
}

/**
 * Parks a webhook of a disabled endpoint (a redriven dead letter starts its new round parked). If
 * the endpoint was enabled meanwhile, the enable may have missed it: it is queued at once instead.
 */
export async function parkWebhook(
  deps: HealthDeps,
  webhook: WebhookState,
  endpoint: WebhookEndpoint,
  redrive: boolean,
): Promise<void> {
  const nowMs = deps.now();
  const context = {
    webhook_id: webhook.id,
    organization_id: webhook.organization_id,
    endpoint_id: webhook.endpoint_id,
  };
  const { unqueued: _unqueued, ...rest } = webhook;
  const parked = await deps.store.updateWebhook(webhook, {
    ...rest,
    ...(redrive ? { status: 'retrying' as const, round_attempts: 0 } : {}),
    timer: false,
    parked: true,
    next_attempt_at_ms: null,
    updated_at_ms: nowMs,
  });
  // Changed meanwhile: the newer state has its own message.
  if (!parked) return;
  deps.logger.info(
    context,
    endpoint.disabled_at_ms
      ? 'endpoint disabled: webhook waits for it to be enabled'
      : 'circuit breaker open: webhook waits for it to close',
  );
  const fresh = await deps.store.getEndpoint(endpoint.organization_id, endpoint.id);
  if (fresh && !fresh.disabled_at_ms && !fresh.breaker_opened_at_ms)
    await queueParked(deps, targetOf(fresh, deps.now()), [parked]);
}

const targetOf = (endpoint: WebhookEndpoint, nowMs: number): DrainTarget => ({
  organizationId: endpoint.organization_id,
  endpointId: endpoint.id,
  lane: laneOf(endpoint, nowMs),
});

/** Queues the parked webhooks of an endpoint just enabled (or whose breaker closed): the first pages now, the rest through drain messages; returns how many now. */
export async function resumeParkedWebhooks(
  deps: HealthDeps,
  endpoint: WebhookEndpoint,
  done = 'endpoint enabled: its waiting webhooks are queued',
): Promise<number> {
  if (endpoint.disabled_at_ms) return 0;
  return drainAll(deps, targetOf(endpoint, deps.now()), done);
}

/** Queues the parked webhooks of an endpoint just deleted, so the sender fails each (no attempt); returns how many now. */
export function drainDeletedEndpoint(deps: HealthDeps, endpoint: WebhookEndpoint): Promise<number> {
  const target = { organizationId: endpoint.organization_id, endpointId: endpoint.id, lane: 'fast' as const };
  return drainAll(deps, target, 'endpoint deleted: its waiting webhooks are queued to fail');
}

async function drainAll(deps: HealthDeps, target: DrainTarget, done: string): Promise<number> {
  const context = { organization_id: target.organizationId, endpoint_id: target.endpointId };
  let progress: { resumed: number; next?: ParkedCursor } = { resumed: 0, next: { shard: 0 } };
  try {
    progress = await drain(deps, target, undefined, INLINE_PAGES, (page) => (progress = page));
    if (progress.next) await handOn(deps, target, progress.next);
  } catch (error) {
    // What is not queued yet stays parked until a drain message gets through.
    deps.logger.error({ ...context, err: error }, 'could not queue the parked webhooks of an endpoint');
    if (progress.next) await handOn(deps, target, progress.next).catch(() => undefined);
    return progress.resumed;
  }
  if (progress.resumed > 0 || progress.next)
    deps.logger.info({ ...context, resumed: progress.resumed, more: Boolean(progress.next) }, done);
  return progress.resumed;
}

/**
 * A drain message: the next pages of an endpoint's parked webhooks, unless it was disabled again (they
 * stay parked). A breaker's probe message (`probe`: when the breaker it is for opened) unparks one.
 */
export async function continueDrain(
  deps: HealthDeps & Pick<BreakerDeps, 'breakerCooldownMs'>,
  { organizationId, endpointId, shard, after, probe }: DrainMessage['drain'],
) {
  const endpoint = await deps.store.getEndpoint(organizationId, endpointId);
  if (endpoint?.disabled_at_ms) return;
  if (probe !== undefined) {
    // Closed or opened again since: nothing to probe, or another probe message of its own.
    if (endpoint?.breaker_opened_at_ms !== probe) return;
    const { resumed } = await drain(deps, targetOf(endpoint, deps.now()), { shard: 0 }, 1, undefined, 1);
    deps.logger.info({ organization_id: organizationId, endpoint_id: endpointId, resumed }, 'circuit breaker probe');
    // Nothing to unpark (none parked yet, or the index lags): the breaker looks again a cool-down later, so parked
    // webhooks never wait on traffic that may not come. It stops once closed, disabled or deleted.
    if (resumed === 0) await sendProbe(deps, endpoint, probe);
    return;
  }
  // A deleted endpoint is drained too: the sender fails each webhook.
  const target = endpoint ? targetOf(endpoint, deps.now()) : { organizationId, endpointId, lane: 'fast' as const };
  const { resumed, next } = await drain(deps, target, { shard, ...(after ? { after } : {}) }, PAGES_PER_MESSAGE);
  if (next) await handOn(deps, target, next);
  deps.logger.info(
    { organization_id: organizationId, endpoint_id: endpointId, resumed, more: Boolean(next) },
    'drain of parked webhooks',
  );
}

/** The next drain message; if it cannot be sent, the enable or delete has to be made again (it fails loudly). */
async function handOn(deps: HealthDeps, target: DrainTarget, from: ParkedCursor): Promise<void> {
  const message: DrainMessage = {
    drain: {
      organizationId: target.organizationId,
      endpointId: target.endpointId,
      shard: from.shard,
      ...(from.after ? { after: from.after } : {}),
    },
  };
  await deps.queue.send('fast', [message]);
}

/** Up to `pages` pages of an endpoint's parked webhooks queued, from `from`; where to go on, if anywhere. */
async function drain(
  deps: HealthDeps,
  target: DrainTarget,
  from: ParkedCursor | undefined,
  pages: number,
  /** Told after each page, so a failure part-way knows where to go on. */
  onPage: (progress: { resumed: number; next?: ParkedCursor }) => void = () => undefined,
  pageSize = PAGE,
): Promise<{ resumed: number; next?: ParkedCursor }> {
  let resumed = 0;
  let cursor = from;
  for (let page = 0; page < pages; page++) {
    const found = await deps.store.findParked(target.endpointId, cursor, pageSize);
    resumed += await queueParked(
      deps,
      target,
      found.items.filter((webhook) => webhook.parked),
    );
    if (!found.next) {
      onPage({ resumed });
      return { resumed };
    }
    cursor = found.next;
    onPage({ resumed, next: cursor });
  }
  return { resumed, next: cursor };
}

/**
 * Clears each parked webhook's mark (conditional on the state read: one parked again meanwhile stays
 * parked), then sends the messages of those cleared. Cleared first, so the mark never changes under an
 * attempt (whose record would then not land); cleared as unqueued, so a message that cannot be sent,
 * or a crash in between, leaves the webhook to the sweeper rather than waiting for nothing.
 */
async function queueParked(deps: HealthDeps, target: DrainTarget, webhooks: WebhookState[]): Promise<number> {
  const now = deps.now();
  const cleared = (
    await Promise.all(
      webhooks.map((webhook) =>
        deps.store.updateWebhook(webhook, {
          ...webhook,
          parked: false,
          unqueued: true,
          next_attempt_at_ms: now,
          updated_at_ms: now,
        }),
      ),
    )
  ).filter((webhook) => webhook !== undefined);
  for (let i = 0; i < cleared.length; i += QUEUE_BATCH)
    await deps.queue.send(target.lane, cleared.slice(i, i + QUEUE_BATCH).map(nextAttemptMessage));
  return cleared.length;
}

/** The reason an automatic disable stores and shows. */
const autoDisableReason = (failingSince: number, afterMs: number) =>
  `every attempt failed since ${iso(failingSince)} (automatically disabled after ${Math.round(afterMs / 1000)} s of failures)`;

/**
 * After an attempt to `endpoint` (as the sender read it): its failures (`failing_since`, auto-disable),
 * then its circuit breaker. Writes nothing on a success to an endpoint that was neither failing nor
 * open, nor on a failure once marked, unless the failure opens the breaker or was its probe.
 */
export async function recordEndpointHealth(
  deps: HealthDeps & BreakerDeps,
  endpoint: WebhookEndpoint,
  succeeded: boolean,
  attemptedAt: number,
): Promise<void> {
  await recordFailures(deps, endpoint, succeeded, attemptedAt);
  await recordBreaker(deps, endpoint, succeeded);
}

/**
 * Marks the start of the endpoint's failures, disables it once they have lasted long enough, or
 * clears them on a success, emitting the operational events.
 */
async function recordFailures(
  deps: HealthDeps,
  endpoint: WebhookEndpoint,
  succeeded: boolean,
  attemptedAt: number,
): Promise<void> {
  const { organization_id: organizationId, id } = endpoint;
  const context = { organization_id: organizationId, endpoint_id: id };
  const since = endpoint.failing_since_ms ?? null;
  if (succeeded) {
    if (since === null) return;
    const recovered = await deps.store.markEndpointRecovered(organizationId, id);
    if (!recovered) return;
    deps.logger.info({ ...context, failing_since: iso(since) }, 'webhook endpoint recovered');
    await emit(deps, endpoint, 'endpoint.recovered', { reason: null, failingSinceMs: since, atMs: deps.now() });
    return;
  }
  if (since === null) {
    await deps.store.markEndpointFailing(organizationId, id, attemptedAt);
    return;
  }
  const nowMs = deps.now();
  if (deps.autoDisableAfterMs <= 0 || endpoint.disabled_at_ms || nowMs - since < deps.autoDisableAfterMs) return;
  const reason = autoDisableReason(since, deps.autoDisableAfterMs);
  if (!(await deps.store.autoDisableEndpoint(organizationId, id, since, nowMs, reason))) return;
  deps.logger.warn({ ...context, failing_since: iso(since), reason }, 'webhook endpoint disabled automatically');
  await emit(deps, endpoint, 'endpoint.disabled', { reason, failingSinceMs: since, atMs: nowMs });
}

/** The endpoint's breaker after an attempt: closed by a success, opened by a streak of failures, opened again by a failed probe. */
async function recordBreaker(deps: HealthDeps & BreakerDeps, endpoint: WebhookEndpoint, succeeded: boolean) {
  const { organization_id: organizationId, id } = endpoint;
  const openedAt = endpoint.breaker_opened_at_ms ?? null;
  if (succeeded) {
    deps.failureStreaks.delete(id);
    if (openedAt !== null) await closeBreaker(deps, endpoint, openedAt);
    return;
  }
  if (openedAt !== null) {
    // Only a probe is attempted while the breaker is open: it failed, and the breaker waits another cool-down.
    const nowMs = deps.now();
    if (!(await deps.store.reopenBreaker(organizationId, id, openedAt, nowMs))) return;
    deps.logger.info({ organization_id: organizationId, endpoint_id: id }, 'circuit breaker probe failed: open again');
    await probeOrClose(deps, endpoint, nowMs);
    return;
  }
  if (deps.breakerFailures <= 0) return;
  const since = endpoint.failing_since_ms ?? null;
  const streak = deps.failureStreaks.get(id);
  // Another process's success cleared the failures meanwhile: the streak starts again.
  const count = streak && (streak.since === null || streak.since === since) ? streak.count + 1 : 1;
  if (count < deps.breakerFailures) {
    deps.failureStreaks.set(id, { since, count });
    return;
  }
  deps.failureStreaks.delete(id);
  if (endpoint.disabled_at_ms) return;
  const nowMs = deps.now();
  if (!(await deps.store.openBreaker(organizationId, id, nowMs))) return;
  const reason = `${count} consecutive failed attempts (circuit breaker open for ${Math.round(deps.breakerCooldownMs / 1000)} s, then a probe)`;
  deps.logger.warn({ organization_id: organizationId, endpoint_id: id, reason }, 'circuit breaker opened');
  await emit(deps, endpoint, 'endpoint.circuit_opened', { reason, failingSinceMs: since, atMs: nowMs });
  await probeOrClose(deps, endpoint, nowMs);
}

/**
 * Sends the probe of a breaker just opened; if the queue refuses it, closes the breaker again, so
 * that no webhook stays parked without a probe to wake it (delivery goes on as without a breaker).
 */
async function probeOrClose(deps: HealthDeps & BreakerDeps, endpoint: WebhookEndpoint, openedAtMs: number) {
  try {
    await sendProbe(deps, endpoint, openedAtMs);
  } catch (error) {
    deps.logger.error(
      { organization_id: endpoint.organization_id, endpoint_id: endpoint.id, err: error },
      'circuit breaker probe could not be queued: breaker closed again',
    );
    await closeBreaker(deps, endpoint, openedAtMs);
  }
}

/** The drain message that unparks the probe once the cool-down is over (a second later, so it finds it over). */
async function sendProbe(
  deps: HealthDeps & Pick<BreakerDeps, 'breakerCooldownMs'>,
  endpoint: WebhookEndpoint,
  openedAtMs: number,
) {
  const message: DrainMessage = {
    drain: { organizationId: endpoint.organization_id, endpointId: endpoint.id, shard: 0, probe: openedAtMs },
  };
  await deps.queue.send('fast', [message], Math.ceil(deps.breakerCooldownMs / 1000) + 1);
}

async function closeBreaker(deps: HealthDeps, endpoint: WebhookEndpoint, openedAtMs: number): Promise<void> {
  const { organization_id: organizationId, id } = endpoint;
  if (!(await deps.store.closeBreaker(organizationId, id, openedAtMs))) return;
  deps.logger.info(
    { organization_id: organizationId, endpoint_id: id, opened_at: iso(openedAtMs) },
    'circuit breaker closed',
  );
  await emit(deps, endpoint, 'endpoint.circuit_closed', { reason: null, failingSinceMs: null, atMs: deps.now() });
  const fresh = await deps.store.getEndpoint(organizationId, id);
  if (fresh) await resumeParkedWebhooks(deps, fresh, 'circuit breaker closed: its waiting webhooks are queued');
}

/** Publishes what happened to `endpoint`; a failure to publish is logged, never thrown (delivery goes on). */
async function emit(
  deps: HealthDeps,
  endpoint: WebhookEndpoint,
  type: OperationalEvent['type'],
  what: { reason: string | null; failingSinceMs: number | null; atMs: number },
): Promise<void> {
  const event: OperationalEvent = {
    type,
    organization_id: endpoint.organization_id,
    endpoint_id: endpoint.id,
    webhook_url: endpoint.webhook_url,
    reason: what.reason,
    failing_since_ms: what.failingSinceMs,
    at_ms: what.atMs,
  };
  try {
    await deps.events.emit(event);
  } catch (error) {
    deps.logger.error(
      { err: error, organization_id: event.organization_id, endpoint_id: event.endpoint_id, event: event.type },
      'operational event not published',
    );
  }
}
