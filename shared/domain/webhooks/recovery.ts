import { notAllowed, notFound } from '../errors.ts';
import type { Webhook, WebhookStatus } from '../model.ts';
import type { EndpointStore, WebhookStore } from '../ports.ts';
import type { WebhookDeps } from './deps.ts';
import { isStuck, reopen } from './lifecycle.ts';
import { parseBody } from '../validation.ts';
import { RecoverRequest } from './schemas.ts';
import { getWebhook } from './search.ts';
import { detail } from './views.ts';

/** Getting failed webhooks delivered after all: retry, resend and bulk recovery over a time window. */

type RecoveryDeps = Pick<
  WebhookDeps<EndpointStore & WebhookStore>,
  'store' | 'queue' | 'logger' | 'now' | 'stuckAfterMs' | 'rateLimits'
>;

const MAX_RECOVER_PER_CALL = 5000;
/** Recover stops in time to answer within API Gateway's 30 s; the caller calls again while has_more. */
const RECOVER_TIME_BUDGET_MS = 20_000;

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

/** Lago's retry: a failed webhook again; a succeeded one is a 405. A retry click never makes a second delivery of a queued one. */
export async function retryWebhook(deps: RecoveryDeps, organizationId: string, id: string) {
  const webhook = await getWebhook(deps.store, organizationId, id);
  if (webhook.status === 'succeeded') throw notAllowed('is_succeeded');
  return redeliver(deps, organizationId, webhook, ['failed'], 'webhook retried');
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
