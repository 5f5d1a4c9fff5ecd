import type { Attempt, Webhook, WebhookState } from '../model.ts';
import { isoMs } from '../time.ts';

/** What the API shows of a webhook, in Lago's field names. */

/** The list view: everything but the payload and the attempts. */
export function summarize(webhook: WebhookState) {
  const lastAttempt = webhook.attempts[webhook.attempts.length - 1];
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
    last_retried_at: webhook.attempt_count > 1 && lastAttempt ? isoMs(lastAttempt.at_ms) : null,
    next_attempt_at:
      (webhook.status === 'pending' || webhook.status === 'retrying') && webhook.next_attempt_at_ms !== null
        ? isoMs(webhook.next_attempt_at_ms)
        : null,
    test: webhook.test === true,
    created_at: isoMs(webhook.created_at_ms),
    updated_at: isoMs(webhook.updated_at_ms),
  };
}

function attemptView({ at_ms, ...attempt }: Attempt) {
  return {
    number: attempt.number,
    at: isoMs(at_ms),
    http_status: attempt.http_status,
    error: attempt.error,
    duration_ms: attempt.duration_ms,
  };
}

/** The details view: all a person needs to debug one delivery. */
export function detail(webhook: Webhook) {
  return {
    ...summarize(webhook),
    payload: JSON.parse(webhook.payload) as unknown,
    response: webhook.response_body,
    error: webhook.error,
    attempts: webhook.attempts.map(attemptView),
  };
}
