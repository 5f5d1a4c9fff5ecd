/** The organization API, called with the key the user signed in with (same origin, so no CORS). */

export interface Endpoint {
  lago_id: string;
  webhook_url: string;
  signature_algo: 'hmac' | 'jwt';
  name: string | null;
  event_types: string[] | null;
  created_at: string;
}

type WebhookStatus = 'pending' | 'retrying' | 'succeeded' | 'failed';

export interface Webhook {
  lago_id: string;
  lago_webhook_endpoint_id: string;
  webhook_url: string;
  webhook_type: string;
  object_type: string;
  object_id: string | null;
  unique_key: string;
  status: WebhookStatus;
  http_status: number | null;
  retries: number;
  attempts_count: number;
  last_retried_at: string | null;
  next_attempt_at: string | null;
  /** Sent by "Send test event". */
  test: boolean;
  created_at: string;
  updated_at: string;
}

interface Attempt {
  number: number;
  at: string;
  http_status: number | null;
  error: string | null;
  duration_ms: number | null;
}

export interface WebhookDetail extends Webhook {
  payload: unknown;
  response: string | null;
  error: string | null;
  attempts: Attempt[];
}

/** GET /api/v1/webhooks/hmac_key, and the answer of a rotation. */
export interface HmacKey {
  hmac_key: string;
  standard_webhooks_secret: string;
  previous_hmac_key?: string;
  previous_expires_at?: string;
}

export interface EventType {
  key: string;
  name: string;
  description: string;
  category: string;
  deprecated: boolean;
}

/** Lago's error shape; `details` holds the validation codes per field. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly details: Record<string, string[]>;

  constructor(status: number, body: unknown) {
    const b = (typeof body === 'object' && body !== null ? body : {}) as {
      error?: string;
      code?: string;
      message?: string;
      error_details?: Record<string, string[]>;
    };
    const summary =
      status === 401
        ? 'This organization API key was not accepted.'
        : [b.error ?? `HTTP ${status}`, b.code, b.message].filter(Boolean).join(': ');
    super(summary);
    this.status = status;
    this.code = b.code;
    this.details = b.error_details ?? {};
  }
}

export type Api = <T>(method: string, path: string, body?: unknown) => Promise<T>;

export function createApi(key: string): Api {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        cache: 'no-store',
      });
    } catch {
      throw new Error('The service cannot be reached. Check your connection and try again.');
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      // Not JSON: the error keeps the status only.
    }
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed as T;
  };
}

export interface WebhookFilters {
  q: string;
  status: string;
  type: string;
  http: string;
  from: string;
  to: string;
}

export const NO_FILTERS: WebhookFilters = { q: '', status: '', type: '', http: '', from: '', to: '' };

/** The query of GET /api/v1/webhooks for one endpoint and the console's filters. */
export function webhookListQuery(
  endpointId: string,
  filters: WebhookFilters,
  perPage: number,
  cursor?: string,
): string {
  const q = new URLSearchParams({ webhook_endpoint_id: endpointId, per_page: String(perPage) });
  if (filters.q) q.set('search_term', filters.q);
  if (filters.status) q.append('statuses[]', filters.status);
  if (filters.type) q.append('webhook_types[]', filters.type);
  if (filters.http) q.append('http_statuses[]', filters.http);
  if (filters.from) q.set('from_date', filters.from);
  if (filters.to) q.set('to_date', filters.to);
  if (cursor) q.set('cursor', cursor);
  return `/api/v1/webhooks?${q}`;
}
