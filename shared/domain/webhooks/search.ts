import { notFound } from '../errors.ts';
import { isUuid } from '../ids.ts';
import type { Webhook } from '../model.ts';
import type { WebhookQuery, WebhookStore } from '../ports.ts';
import { parseQuery } from '../validation.ts';
import { encodeCursor, WebhookListQuery } from './schemas.ts';
import type { WebhookDeps } from './deps.ts';
import { summarize } from './views.ts';

/** Finding webhooks: the list's query (filters, dates, cursor, page size), the list, one webhook. */

/** The list's query (shared/domain/webhooks/schemas.ts) as the store's search. */
export function parseWebhookQuery(organizationId: string, params: URLSearchParams): WebhookQuery {
  const query = parseQuery(WebhookListQuery, params);
  return {
    organizationId,
    limit: query.per_page,
    endpointId: query.webhook_endpoint_id,
    statuses: query.statuses,
    webhookTypes: query.webhook_types,
    httpStatuses: query.http_statuses,
    fromMs: query.from_date,
    toMs: query.to_date,
    searchTerm: query.search_term,
    before: query.cursor,
  };
}

export async function listWebhooks(deps: Pick<WebhookDeps<WebhookStore>, 'store'>, query: WebhookQuery) {
  const page = await deps.store.queryWebhooks(query);
  return {
    webhooks: page.items.map(summarize),
    meta: { per_page: query.limit, next_cursor: page.last ? encodeCursor(page.last) : null },
  };
}

export async function getWebhook(store: WebhookStore, organizationId: string, id: string): Promise<Webhook> {
  // Read among the organization's own endpoints: another organization's webhook does not exist, as far as this one can tell.
  const webhook = isUuid(id) ? await store.getWebhook(organizationId, id) : undefined;
  if (!webhook || webhook.organization_id !== organizationId) throw notFound('webhook');
  return webhook;
}
