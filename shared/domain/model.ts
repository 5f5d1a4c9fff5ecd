/**
 * The webhook domain's records. Field names follow the API's snake_case; every time is epoch
 * milliseconds and says so in its name (`…_at_ms`, `…_ms`): ISO strings exist only at the API and
 * in the store's formats (shared/adapters/dynamodb/ converts).
 */

export type SignatureAlgo = 'jwt' | 'hmac';

/**
 * Where an organization's HMAC token comes from: derived from an HMAC root version and a token version
 * (shared/domain/organizations/tokens.ts), or, for an organization created before tokens were derived, its random
 * token, sealed.
 */
export type TokenSource =
  | {
      token_version: number;
      /** The HMAC root version; absent: the one earlier revisions derived from the signing key (`v0`). */
      token_root?: string;
    }
  | { sealed_token: string };

/** A token from before a rotation, valid until its own expiry. */
export type PreviousToken = TokenSource & { expires_at_ms: number };

export interface Organization {
  id: string;
  name: string;
  created_at_ms: number;
  /** Absent only for an organization from before derived tokens whose token is still in a secret of its own. */
  token?: TokenSource;
  /** Tokens before the current one, newest first, each until its `expires_at_ms`. */
  previous_tokens?: PreviousToken[];
  /** Portal sessions carry the version they were made under; a revocation bumps it (organizations/portal-sessions.ts). Absent: 0. */
  portal_session_version?: number;
}

/** A custom header as stored: its name, and its value sealed (shared/domain/endpoints/headers.ts). */
export interface CustomHeader {
  name: string;
  sealed: string;
}

export interface WebhookEndpoint {
  id: string;
  organization_id: string;
  webhook_url: string;
  signature_algo: SignatureAlgo;
  name: string | null;
  /** null: every type; []: none. */
  event_types: string[] | null;
  created_at_ms: number;
  /** Until when its webhooks take the slow lane: it answered slowly or not at all lately. Never shown by the API. */
  slow_until_ms?: number | null;
  /** Set while it is disabled: publishing skips it and its queued webhooks wait (shared/domain/endpoints/health.ts). */
  disabled_at_ms?: number | null;
  /** Why: "disabled by request", or the automatic disable's account of the failures. */
  disabled_reason?: string | null;
  /** Since when every attempt to it has failed; cleared by its next success. */
  failing_since_ms?: number | null;
  /** Custom headers sent on every attempt, in the order given: each name with its value sealed. */
  headers?: CustomHeader[] | null;
  /** The customer's role assumed to deliver to an AWS destination (`webhook_url` an ARN: shared/domain/endpoints/destinations.ts). */
  aws_role_arn?: string | null;
  /** Beyond Lago: the most attempts a second its receiver gets, across every sender; null: no limit. */
  max_rps?: number | null;
  /** Since when its circuit breaker is open (shared/domain/endpoints/health.ts); null: closed. */
  breaker_opened_at_ms?: number | null;
  /** The open breaker's probe once one is out (half-open): the webhook it attempts, and when it was claimed. */
  breaker_probe?: { webhook_id: string; at_ms: number } | null;
}

export type WebhookStatus = 'pending' | 'retrying' | 'succeeded' | 'failed';

export const FINAL_STATUSES: readonly WebhookStatus[] = ['succeeded', 'failed'];
export const WEBHOOK_STATUSES = [
  'pending',
  'retrying',
  'succeeded',
  'failed',
] as const satisfies readonly WebhookStatus[];

export interface Attempt {
  /** 1-based, counted over the webhook's whole life (manual retries continue the count). */
  number: number;
  at_ms: number;
  /** null when no response came back (timeout, refused, reset, blocked). */
  http_status: number | null;
  error: string | null;
  duration_ms: number;
}

export interface Webhook {
  id: string;
  organization_id: string;
  endpoint_id: string;
  endpoint_url: string;
  webhook_type: string;
  object_type: string;
  object_id: string | null;
  /** The exact bytes POSTed (and signed). */
  payload: string;
  status: WebhookStatus;
  attempt_count: number;
  /** Attempts in the current round; a manual retry, recover or redrive starts a new round. */
  round_attempts: number;
  attempts: Attempt[];
  http_status: number | null;
  response_body: string | null;
  error: string | null;
  next_attempt_at_ms: number | null;
  /**
   * True for a webhook whose next attempt waits in the store, as waits longer than SQS can delay a
   * message did before they were chains of messages: the sweeper sends its message when it is
   * nearly due. New waits never set it; a queue message holds every next attempt.
   */
  timer?: boolean;
  /** True while it waits for its disabled endpoint to be enabled, with no message and no next attempt time (shared/domain/endpoints/health.ts). */
  parked?: boolean;
  /** True when the message of its next attempt could not be sent: the sweeper sends it once it is overdue. */
  unqueued?: boolean;
  /** A test event (`POST /api/v1/webhook_endpoints/{id}/test`), logged like any webhook. */
  test?: boolean;
  created_at_ms: number;
  updated_at_ms: number;
  /** Bumped by every write; writes are conditional on it. */
  version: number;
}

/** A webhook without its payload: what changes with each attempt, and what lists show. */
export type WebhookState = Omit<Webhook, 'payload'>;
