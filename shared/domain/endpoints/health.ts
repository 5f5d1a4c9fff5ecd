import { nextAttemptMessage } from '../delivery/message.ts';
import { laneOf } from '../delivery/policy.ts';
import type { WebhookEndpoint, WebhookState } from '../model.ts';
import type {
  DeliveryQueue,
  EndpointStore,
  Logger,
  OperationalEvent,
  OperationalEvents,
  WebhookStore,
} from '../ports.ts';
import { isoMs as iso } from '../time.ts';

/**
 * Disabled endpoints and failing ones (beyond Lago).
 *
 * A webhook whose endpoint is disabled is parked: it becomes a timer in the store (one write), due
 * in PARK_MS, and no message holds it. Enabling the endpoint queues its parked webhooks at once;
 * a parked webhook the enable did not reach is tried again when its timer falls due, and parks
 * again if the endpoint is still disabled (so a long disable costs two writes per webhook per
 * PARK_MS, and no attempt of its round).
 *
 * Health costs nothing on the healthy path: `failing_since` is written on the first failed attempt
 * after a success, cleared by the first success after it, and read from the endpoint record the
 * sender reads anyway. An endpoint whose every attempt failed for `autoDisableAfterMs` is disabled,
 * once, and an operational event says so; so does its first success after failing.
 */

/** How long a webhook of a disabled endpoint waits before it looks again. */
export const PARK_MS = 60 * 60_000;
/** Live webhooks an enable queues at once, at most; the others follow when their timers fall due. */
const RESUME_LIMIT = 2000;
const PAGE = 100;
const QUEUE_BATCH = 10;

export interface HealthDeps {
  store: EndpointStore & Pick<WebhookStore, 'updateWebhook' | 'queryWebhooks'>;
  queue: DeliveryQueue;
  logger: Logger;
  events: OperationalEvents;
  now: () => number;
  /** Every attempt failing this long disables the endpoint; 0 never does. */
  autoDisableAfterMs: number;
}

/**
 * Parks a webhook of a disabled endpoint (a redriven dead letter starts its new round parked). If the
 * endpoint was enabled meanwhile, the enable may have missed it: it is queued at once instead.
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
  const parked = await deps.store.updateWebhook(webhook, {
    ...webhook,
    ...(redrive ? { status: 'retrying' as const, round_attempts: 0 } : {}),
    timer: true,
    next_attempt_at_ms: nowMs + PARK_MS,
    updated_at_ms: nowMs,
  });
  // Changed meanwhile: the newer state has its own message or timer.
  if (!parked) return;
  deps.logger.info(
    { ...context, until: iso(nowMs + PARK_MS) },
    'endpoint disabled: webhook waits for it to be enabled',
  );
  const fresh = await deps.store.getEndpoint(endpoint.organization_id, endpoint.id);
  if (fresh && !fresh.disabled_at_ms) await queueParked(deps, fresh, [parked]);
}

/** Queues every parked webhook of an endpoint just enabled (up to RESUME_LIMIT); returns how many. */
export async function resumeParkedWebhooks(deps: HealthDeps, endpoint: WebhookEndpoint): Promise<number> {
  if (endpoint.disabled_at_ms) return 0;
  let resumed = 0;
  let before: string | undefined;
  for (let seen = 0; seen < RESUME_LIMIT; seen += PAGE) {
    const page = await deps.store.queryWebhooks({
      organizationId: endpoint.organization_id,
      endpointId: endpoint.id,
      statuses: ['pending', 'retrying'],
      limit: PAGE,
      before,
    });
    resumed += await queueParked(
      deps,
      endpoint,
      page.items.filter((webhook) => webhook.timer),
    );
    if (!page.last) break;
    before = page.last;
  }
  if (resumed > 0)
    deps.logger.info(
      { organization_id: endpoint.organization_id, endpoint_id: endpoint.id, resumed },
      'endpoint enabled: its waiting webhooks are queued',
    );
  return resumed;
}

/** Clears the timers (the sweeper would send them otherwise) and sends their messages now. */
async function queueParked(deps: HealthDeps, endpoint: WebhookEndpoint, webhooks: WebhookState[]): Promise<number> {
  const now = deps.now();
  // Unqueued until its attempt is made: if a message is not sent, the sweeper queues it again.
  const written = (
    await Promise.all(
      webhooks.map((webhook) =>
        deps.store.updateWebhook(webhook, {
          ...webhook,
          timer: false,
          unqueued: true,
          next_attempt_at_ms: now,
          updated_at_ms: now,
        }),
      ),
    )
  ).filter((webhook) => webhook !== undefined);
  const lane = laneOf(endpoint, deps.now());
  for (let i = 0; i < written.length; i += QUEUE_BATCH) {
    await deps.queue
      .send(lane, written.slice(i, i + QUEUE_BATCH).map(nextAttemptMessage))
      .catch((error: unknown) =>
        deps.logger.error(
          { err: error, endpoint_id: endpoint.id },
          'could not queue the webhooks of an enabled endpoint',
        ),
      );
  }
  return written.length;
}

/** The reason an automatic disable stores and shows. */
const autoDisableReason = (failingSince: number, afterMs: number) =>
  `every attempt failed since ${iso(failingSince)} (automatically disabled after ${Math.round(afterMs / 1000)} s of failures)`;

/**
 * After an attempt to `endpoint` (as the sender read it): marks the start of its failures, disables
 * it once they have lasted long enough, or clears them on a success, emitting the operational events.
 * Writes nothing on a success to an endpoint that was not failing, nor on a failure once marked.
 */
export async function recordEndpointHealth(
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
    await emit(deps, {
      type: 'endpoint.recovered',
      organization_id: organizationId,
      endpoint_id: id,
      webhook_url: endpoint.webhook_url,
      reason: null,
      failing_since_ms: since,
      at_ms: deps.now(),
    });
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
  await emit(deps, {
    type: 'endpoint.disabled',
    organization_id: organizationId,
    endpoint_id: id,
    webhook_url: endpoint.webhook_url,
    reason,
    failing_since_ms: since,
    at_ms: nowMs,
  });
}

async function emit(deps: HealthDeps, event: OperationalEvent): Promise<void> {
  try {
    await deps.events.emit(event);
  } catch (error) {
    deps.logger.error(
      { err: error, organization_id: event.organization_id, endpoint_id: event.endpoint_id, event: event.type },
      'operational event not published',
    );
  }
}
