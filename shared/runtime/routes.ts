/**
 * Every HTTP route and the function behind it. The CDK stack creates these routes on the HTTP API
 * and the local gateway serves the same table, so both expose exactly the same API.
 */
export type RouteFunction = 'api' | 'admin' | 'console';

export interface RouteDefinition {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  fn: RouteFunction;
  /** An `api` route anyone may call, without an API key (the OpenAPI document). */
  public?: boolean;
}

export const ROUTES: readonly RouteDefinition[] = [
  { method: 'POST', path: '/api/v1/webhook_endpoints', fn: 'api' },
  { method: 'GET', path: '/api/v1/webhook_endpoints', fn: 'api' },
  { method: 'GET', path: '/api/v1/webhook_endpoints/{lago_id}', fn: 'api' },
  { method: 'PUT', path: '/api/v1/webhook_endpoints/{lago_id}', fn: 'api' },
  { method: 'DELETE', path: '/api/v1/webhook_endpoints/{lago_id}', fn: 'api' },
  { method: 'POST', path: '/api/v1/webhook_endpoints/{lago_id}/test', fn: 'api' },
  // Replay of a window into one endpoint.
  { method: 'POST', path: '/api/v1/webhook_endpoints/{lago_id}/replay', fn: 'api' },
  { method: 'GET', path: '/api/v1/webhooks/public_key', fn: 'api' },
  { method: 'GET', path: '/api/v1/webhooks/json_public_key', fn: 'api' },
  { method: 'GET', path: '/api/v1/webhooks/jwks.json', fn: 'api' },
  { method: 'GET', path: '/api/v1/webhooks/hmac_key', fn: 'api' },
  { method: 'POST', path: '/api/v1/webhooks/hmac_key/rotate', fn: 'api' },
  { method: 'GET', path: '/api/v1/webhooks', fn: 'api' },
  { method: 'GET', path: '/api/v1/webhook_event_types', fn: 'api' },
  { method: 'POST', path: '/api/v1/webhooks/recover', fn: 'api' },
  { method: 'GET', path: '/api/v1/webhooks/{lago_id}', fn: 'api' },
  { method: 'POST', path: '/api/v1/webhooks/{lago_id}/retry', fn: 'api' },
  { method: 'POST', path: '/api/v1/webhooks/{lago_id}/resend', fn: 'api' },
  // The OpenAPI document of every route here but the console's (shared/runtime/openapi.ts).
  { method: 'GET', path: '/api/v1/openapi.json', fn: 'api', public: true },
  // The web console's static assets; it calls the /api/v1 routes above with the organization's key.
  { method: 'GET', path: '/console', fn: 'console' },
  { method: 'GET', path: '/console/{proxy+}', fn: 'console' },
  { method: 'POST', path: '/admin/v1/organizations', fn: 'admin' },
  { method: 'POST', path: '/admin/v1/organizations/{lago_id}/portal_sessions', fn: 'admin' },
  { method: 'POST', path: '/admin/v1/organizations/{lago_id}/portal_sessions/revoke', fn: 'admin' },
  { method: 'POST', path: '/admin/v1/webhooks', fn: 'admin' },
  { method: 'POST', path: '/admin/v1/webhooks/batch', fn: 'admin' },
  { method: 'GET', path: '/admin/v1/dead_letters', fn: 'admin' },
  { method: 'POST', path: '/admin/v1/dead_letters/redrive', fn: 'admin' },
];

export const routeKey = (route: RouteDefinition) => `${route.method} ${route.path}`;
