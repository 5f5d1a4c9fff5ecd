import type { Webhook, WebhookState } from '../model.ts';

/** What the API shows of a webhook, in Lago's field names. */

/** The list view: everything but the payload and the attempts. */
export function summarize(webhook: WebhookState) {
  return {
    lago_id: webhook.id,
    lago_organization_id: webhook.organization_id,
    lago_webhook_endpoint_id: webhook.endpoint_id,
    webhook_url: webhook.endpoint_url,
    webhook_type: webhook.webhook_type,
    object_type: webhook.object_type,
    object_id: webhook.object_id,
    unique_key: webhook.id,
    status: webhook.status,
    http_status: webhook.http_status,
    retries: Math.max(0, webhook.attempt_count - 1),
    attempts_count: webhook.attempt_count,
    last_retried_at: webhook.attempt_count > 1 ? (webhook.attempts[webhook.attempts.length - 1]?.at ?? null) : null,
    next_attempt_at: webhook.status === 'pending' || webhook.status === 'retrying' ? webhook.next_attempt_at : null,
    test: webhook.test === true,
    created_at: webhook.created_at,
    updated_at: webhook.updated_at,
  };
}

/** The details view: all a person needs to debug one delivery. */
export function detail(webhook: Webhook) {
  return {
    ...summarize(webhook),
    payload: JSON.parse(webhook.payload) as unknown,
    response: webhook.response_body,
    error: webhook.error,
    attempts: webhook.attempts,
  };
}
