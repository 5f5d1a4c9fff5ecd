import type { Webhook } from '../model.ts';

/** What a new webhook is made of: which event it carries, and to which endpoint. */
export type NewWebhook = Pick<
  Webhook,
  'id' | 'organization_id' | 'endpoint_id' | 'endpoint_url' | 'webhook_type' | 'object_type' | 'object_id' | 'payload'
> & {
  /** When it is created: its first attempt is due at once. */
  atMs: number;
  /** A test event (shared/domain/webhooks/test-events.ts). */
  test?: boolean;
};

/** A webhook as publish creates it: pending, no attempt made, its first attempt due now. */
export function newWebhook({ atMs, test, ...made }: NewWebhook): Webhook {
  return {
    ...made,
    status: 'pending',
    attempt_count: 0,
    round_attempts: 0,
    attempts: [],
    http_status: null,
    response_body: null,
    error: null,
    next_attempt_at_ms: atMs,
    timer: false,
    created_at_ms: atMs,
    updated_at_ms: atMs,
    version: 0,
    ...(test ? { test: true } : {}),
  };
}
