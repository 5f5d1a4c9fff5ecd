import type { z } from 'zod';
import type * as schemas from '#shared/domain/api-schemas.ts';
import type { CreateEndpointRequest } from '#shared/domain/endpoints/schemas.ts';
import type { RotateRequest as RotateRequestSchema } from '#shared/domain/organizations/schemas.ts';
import type {
  RecoverRequest as RecoverRequestSchema,
  ReplayRequest as ReplayRequestSchema,
  TestEventRequest as TestEventRequestSchema,
} from '#shared/domain/webhooks/schemas.ts';

/**
 * The organization API, called with the key the user signed in with (same origin, so no CORS). Its
 * types are inferred from the server's own zod schemas (type-only: nothing of the server is bundled),
 * so a field the server adds or renames shows up here at `npm run typecheck`.
 */

export type EndpointList = z.infer<typeof schemas.EndpointList>;
export type EndpointResponse = z.infer<typeof schemas.EndpointResponse>;
export type Endpoint = EndpointResponse['webhook_endpoint'];
export type WebhookList = z.infer<typeof schemas.WebhookList>;
export type Webhook = WebhookList['webhooks'][number];
export type WebhookResponse = z.infer<typeof schemas.WebhookResponse>;
export type WebhookDetail = WebhookResponse['webhook'];
export type HmacKeyResponse = z.infer<typeof schemas.HmacKey>;
export type HmacKey = HmacKeyResponse['webhook'];
export type JsonPublicKey = z.infer<typeof schemas.JsonPublicKey>;
export type EventTypes = z.infer<typeof schemas.WebhookEventTypes>;
export type EventType = EventTypes['webhook_event_types'][number];
export type RecoverResult = z.infer<typeof schemas.RecoverResult>;
export type ReplayResult = z.infer<typeof schemas.ReplayResult>;
// Request bodies are what the client sends: the schemas' input side.
export type EndpointRequest = z.input<typeof CreateEndpointRequest>;
export type RotateRequest = z.input<typeof RotateRequestSchema>;
export type RecoverRequest = z.input<typeof RecoverRequestSchema>;
export type ReplayRequest = z.input<typeof ReplayRequestSchema>;
export type TestEventRequest = z.input<typeof TestEventRequestSchema>;
type LagoError = z.infer<typeof schemas.LagoError>;

/** What a failed call shows: a sentence for the answers a user can act on, else Lago's error, code and message. */
function summarize(status: number, b: Partial<LagoError>, retryAfter: string | null): string {
  if (status === 401) return 'This organization API key was not accepted.';
  if (status === 429)
    return b.message
      ? `Rate limit reached: ${b.message}.`
      : `Rate limit reached: try again in ${retryAfter ?? 'a few'} seconds.`;
  if (status === 503 && b.code === 'starting') return 'The service is starting: try again in a moment.';
  return [b.error ?? `HTTP ${status}`, b.code, b.message].filter(Boolean).join(': ');
}

/** Lago's error shape; `details` holds the validation codes per field. */
export class ApiError extends Error {
  readonly status: number;
  readonly details: Record<string, string[]>;

  constructor(status: number, body: unknown, retryAfter: string | null = null) {
    const b: Partial<LagoError> = typeof body === 'object' && body !== null ? body : {};
    super(summarize(status, b, retryAfter));
    this.status = status;
    this.details = b.error_details ?? {};
  }
}

interface CallOptions {
  body?: unknown;
  /** Aborts the request; an aborted call rejects with the signal's reason. */
  signal?: AbortSignal;
}

export type Api = <T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, options?: CallOptions) => Promise<T>;

/** `onRefused`: called when the credential is refused (401), as a portal session is once it expires or is revoked. */
export function createApi(key: string, onRefused?: () => void): Api {
  return async <T>(method: string, path: string, { body, signal }: CallOptions = {}): Promise<T> => {
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
        signal: signal ?? null,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new Error('The service cannot be reached. Check your connection and try again.', { cause: error });
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      // Not JSON: the error keeps the status only.
    }
    if (response.status === 401) onRefused?.();
    if (!response.ok) throw new ApiError(response.status, parsed, response.headers.get('retry-after'));
    // The server's responses are checked against the same schemas in the tests (test/integration/console.test.ts).
    return parsed as T;
  };
}

export const isNotFound = (error: unknown) => error instanceof ApiError && error.status === 404;

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

export const endpointPath = (id: string) => `/api/v1/webhook_endpoints/${encodeURIComponent(id)}`;
export const webhookPath = (id: string) => `/api/v1/webhooks/${encodeURIComponent(id)}`;
