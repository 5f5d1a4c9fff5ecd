import { notAllowed, notFound } from '../errors.ts';
import type { Webhook, WebhookStatus } from '../model.ts';
import type { EndpointStore, WebhookStore } from '../ports.ts';
import type { WebhookDeps } from './deps.ts';
import { isStuck, reopen } from './lifecycle.ts';
import { enqueueOrFail } from './publish.ts';
import { parseBody } from '../validation.ts';
import { RecoverRequest } from './schemas.ts';
import { getWebhook } from './search.ts';
import { detail } from './views.ts';

/** Getting failed webhooks delivered after all: retry, resend and bulk recovery over a time window. */

type RecoveryDeps = Pick<
  WebhookDeps<EndpointStore & WebhookStore>,
  'store' | 'queue' | 'logger' | 'now' | 'stuckAfterMs' | 'rateLimits'
>;

/** Webhooks one recover or replay call starts at most; the caller calls again while has_more. */
export const MAX_RECOVER_PER_CALL = 5000;
/** Recover and replay stop in time to answer within API Gateway's 30 s; the caller calls again while has_more. */
export const RECOVER_TIME_BUDGET_MS = 20_000;
/** A retrying webhook due this soon is left alone: its attempt may be under way, and it comes now anyway. */
const RETRY_NOW_MARGIN_MS = 2000;

/** Starts a new round for a webhook whose status allows it (or that is stuck); one still queued is left alone. */
async function redeliver(
  deps: RecoveryDeps,
  organizationId: string,
  webhook: Webhook,
  finished: readonly WebhookStatus[],
  done: string,
) {
  if (!(await deps.store.getEndpoint(organizationId, webhook.endpoint_id))) throw notFound('webhook_endpoint');
  await deps.rateLimits.take('redelivery', organizationId);
  if (finished.includes(webhook.status) || isStuck(webhook, deps.now(), deps.stuckAfterMs)) {
    const reopened = await reopen(deps, webhook, webhook.payload);
    if (reopened) {
      deps.logger.info({ organization_id: organizationId, webhook_id: webhook.id }, done);
      return { webhook: detail({ ...reopened, payload: webhook.payload }) };
    }
  }
  return { webhook: detail(await getWebhook(deps.store, organizationId, webhook.id)) };
}

/**
 * Lago's retry: a failed webhook again, a retrying one now (Retry now); a succeeded one is a 405. A
 * retry click never makes a second delivery of a queued one.
 */
export async function retryWebhook(deps: RecoveryDeps, organizationId: string, id: string) {
  const webhook = await getWebhook(deps.store, organizationId, id);
  if (webhook.status === 'succeeded') throw notAllowed('is_succeeded');
  if (webhook.status === 'retrying' && !isStuck(webhook, deps.now(), deps.stuckAfterMs))
    return retryNow(deps, organizationId, webhook);
  return redeliver(deps, organizationId, webhook, ['failed'], 'webhook retried');
}

/**
 * Retry now: a retrying webhook's next attempt is made now, in its round (the schedule goes on from
 * there if it fails). Its state is due now and marked unqueued (the sweeper sends it if the message is
 * lost), then a message for the same attempt number is sent. The message of the old schedule (or
 * its chain of hops) makes no second attempt: once this one is recorded, it is for an attempt the
 * webhook has passed, and the sender drops it (decide.ts). Left alone: a webhook due within the
 * margin (its attempt may be under way), parked (its endpoint is disabled), or changed meanwhile.
 */
async function retryNow(deps: RecoveryDeps, organizationId: string, webhook: Webhook) {
  if (!(await deps.store.getEndpoint(organizationId, webhook.endpoint_id))) throw notFound('webhook_endpoint');
  await deps.rateLimits.take('redelivery', organizationId);
  const nowMs = deps.now();
  const due = webhook.next_attempt_at_ms;
  if (!webhook.parked && due !== null && due > nowMs + RETRY_NOW_MARGIN_MS) {
    const { payload, ...state } = webhook;
    const written = await deps.store.updateWebhook(webhook, {
      ...state,
      timer: false,
      unqueued: true,
      next_attempt_at_ms: nowMs,
      updated_at_ms: nowMs,
    });
    if (written) {
      await enqueueOrFail(deps, [written], payload);
      deps.logger.info(
        { organization_id: organizationId, webhook_id: webhook.id, attempt: written.attempt_count + 1 },
        'webhook retried now',
      );
      return { webhook: detail({ ...written, payload }) };
    }
  }
  return { webhook: detail(await getWebhook(deps.store, organizationId, webhook.id)) };
}

/**
 * Delivers a webhook again, whatever its outcome (Lago's retry refuses a succeeded one): a new
 * round under the same unique key, recorded in its attempts.
 */
export async function resendWebhook(deps: RecoveryDeps, organizationId: string, id: string) {
  return redeliver(
    deps,
    organizationId,
    await getWebhook(deps.store, organizationId, id),
    ['succeeded', 'failed'],
    'webhook resent',
  );
}

/** Starts a new round for each failed webhook of an endpoint in a window of days; `has_more` while some are left for the next call. */
export async function recoverWebhooks(deps: RecoveryDeps, organizationId: string, body: unknown) {
  const { webhook_endpoint_id: endpointId, from_date: from, to_date: to } = parseBody(RecoverRequest, body);
  if (!(await deps.store.getEndpoint(organizationId, endpointId))) throw notFound('webhook_endpoint');
  await deps.rateLimits.take('recovery', organizationId);
  let recovered = 0;
  let before: string | undefined;
  const started = deps.now();
  for (;;) {
    const page = await deps.store.queryWebhooks({
      organizationId,
      endpointId,
      statuses: ['failed'],
      fromMs: from,
      toMs: to,
      limit: 100,
      ...(before ? { before } : {}),
    });
    // The index is eventually consistent: the item read by key decides.
    for (const webhook of page.items) if (webhook.status === 'failed' && (await reopen(deps, webhook))) recovered++;
    if (!page.last || recovered >= MAX_RECOVER_PER_CALL || deps.now() - started > RECOVER_TIME_BUDGET_MS) {
      deps.logger.info({ organization_id: organizationId, endpoint_id: endpointId, recovered }, 'webhooks recovered');
      return { recovered, has_more: Boolean(page.last) };
    }
    before = page.last;
  }
}
