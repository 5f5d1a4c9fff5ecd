import { depsFromEnv } from '#shared/runtime/aws-deps.ts';
import { endpointPolicy, healthDeps, webhookDeps, type Deps } from '#shared/runtime/deps.ts';
import { drainDeletedEndpoint, resumeParkedWebhooks } from '#shared/domain/endpoints/health.ts';
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listEndpoints,
  revealHeaders,
  serializeEndpoint,
  updateEndpoint,
} from '#shared/domain/endpoints/endpoints.ts';
import { WEBHOOK_EVENT_TYPES } from '#shared/domain/catalog/event-catalog.ts';
import { ROUTES } from '#shared/runtime/routes.ts';
import { openApiDocument } from '#shared/runtime/openapi.ts';
import { publishTest } from '#shared/domain/webhooks/test-events.ts';
import {
  json,
  jsonBody,
  header,
  pathParam,
  queryParams,
  router,
  text,
  type HttpEvent,
  type HttpHandler,
  type HttpResult,
  type RouteHandler,
} from '#shared/runtime/http.ts';
import { lambdaHandler } from '#shared/runtime/lambda.ts';
import { authenticatePrincipal, type Principal } from '#shared/domain/organizations/portal-sessions.ts';
import { PageQuery } from '#shared/domain/pagination.ts';
import { RotateRequest } from '#shared/domain/organizations/schemas.ts';
import type { OrganizationTokenSet } from '#shared/domain/organizations/tokens.ts';
import { EndpointQuery } from '#shared/domain/endpoints/schemas.ts';
import type { WebhookEndpoint } from '#shared/domain/model.ts';
import { parseBody, parseQuery } from '#shared/domain/validation.ts';
import { UnusableKeyError } from '#shared/domain/keys/keyring.ts';
import { conflict, forbidden } from '#shared/domain/errors.ts';
import { lagoPublicKey, standardWebhooksSecret } from '#shared/domain/delivery/signing.ts';
import { recoverWebhooks, resendWebhook, retryWebhook } from '#shared/domain/webhooks/recovery.ts';
import { replayWebhooks } from '#shared/domain/webhooks/replay.ts';
import { getWebhook, listWebhooks, parseWebhookQuery } from '#shared/domain/webhooks/search.ts';
import { detail } from '#shared/domain/webhooks/views.ts';

/**
 * Lago's hmac_key view, plus the Standard Webhooks secret; while rotations' overlaps last, the newest previous token
 * in the fields it always had, and every live previous token in `previous_hmac_keys`.
 */
function hmacKeyView(tokens: OrganizationTokenSet | undefined) {
  if (!tokens) throw new Error('the organization has no HMAC token');
  const [newest] = tokens.previous;
  return {
    webhook: {
      hmac_key: tokens.current,
      standard_webhooks_secret: standardWebhooksSecret(tokens.current),
      ...(newest
        ? {
            previous_hmac_key: newest.token,
            previous_standard_webhooks_secret: standardWebhooksSecret(newest.token),
            previous_expires_at: new Date(newest.expiresAt).toISOString(),
            previous_hmac_keys: tokens.previous.map((previous) => ({
              hmac_key: previous.token,
              standard_webhooks_secret: standardWebhooksSecret(previous.token),
              expires_at: new Date(previous.expiresAt).toISOString(),
            })),
          }
        : {}),
    },
  };
}

/** A token that cannot be had (its HMAC root retired, its seal broken) cannot be shown: the organization rotates to a new one. */
async function tokensOf(deps: Deps, organizationId: string): Promise<OrganizationTokenSet | undefined> {
  try {
    return await deps.tokens.get(organizationId);
  } catch (error) {
    if (!(error instanceof UnusableKeyError)) throw error;
    throw conflict('hmac_key_unusable', `${error.message}: rotate it (POST /api/v1/webhooks/hmac_key/rotate)`);
  }
}

type OrganizationRoute = (organizationId: string, event: HttpEvent) => Promise<HttpResult>;

/** Lago's webhook endpoint routes, and the test event sent to one endpoint. */
function endpointRoutes(deps: Deps): Record<string, OrganizationRoute> {
  const policy = endpointPolicy(deps);
  const webhooks = webhookDeps(deps);
  const health = healthDeps(deps);
  const view = (endpoint: WebhookEndpoint) => ({ webhook_endpoint: serializeEndpoint(endpoint) });
  return {
    'POST /api/v1/webhook_endpoints': async (org, event) =>
      json(200, view(await createEndpoint(deps.store, policy, org, jsonBody(event), deps.now()))),
    'GET /api/v1/webhook_endpoints': async (org, event) => {
      const { page, per_page: perPage } = parseQuery(PageQuery, queryParams(event));
      return json(200, await listEndpoints(deps.store, org, { page, perPage }));
    },
    'GET /api/v1/webhook_endpoints/{lago_id}': async (org, event) => {
      const endpoint = await getEndpoint(deps.store, org, pathParam(event, 'lago_id'));
      // `?reveal_headers=true`: the custom headers' values in plain text, for their owner (beyond Lago).
      const revealed = parseQuery(EndpointQuery, queryParams(event)).reveal_headers
        ? await revealHeaders(policy, endpoint)
        : undefined;
      return json(200, { webhook_endpoint: serializeEndpoint(endpoint, revealed) });
    },
    'PUT /api/v1/webhook_endpoints/{lago_id}': async (org, event) => {
      // Enabled: its waiting webhooks are queued now rather than at their timers.
      const endpoint = await updateEndpoint(
        deps.store,
        policy,
        org,
        pathParam(event, 'lago_id'),
        jsonBody(event),
        deps.now(),
        (enabled) => resumeParkedWebhooks(health, enabled),
      );
      return json(200, view(endpoint));
    },
    'DELETE /api/v1/webhook_endpoints/{lago_id}': async (org, event) => {
      const deleted = await deleteEndpoint(deps.store, org, pathParam(event, 'lago_id'));
      // Its parked webhooks are queued, and fail without an attempt.
      await drainDeletedEndpoint(health, deleted);
      return json(200, view(deleted));
    },
    'POST /api/v1/webhook_endpoints/{lago_id}/test': async (org, event) =>
      json(200, await publishTest(webhooks, org, pathParam(event, 'lago_id'), jsonBody(event))),
    'POST /api/v1/webhook_endpoints/{lago_id}/replay': async (org, event) =>
      json(202, await replayWebhooks(webhooks, org, pathParam(event, 'lago_id'), jsonBody(event))),
  };
}

/**
 * The signing keys: the JWT public key in Lago's two forms (the one signing now) and as a JWKS (every published key,
 * so a receiver verifies across a rotation), the HMAC token and its rotation. The api function reads only public keys.
 */
function keyRoutes(deps: Deps): Record<string, OrganizationRoute> {
  const publicKey = async () => lagoPublicKey((await deps.keys.publicKeys()).current.pem);
  return {
    'GET /api/v1/webhooks/public_key': async () => text(200, await publicKey()),
    'GET /api/v1/webhooks/json_public_key': async () => json(200, { webhook: { public_key: await publicKey() } }),
    'GET /api/v1/webhooks/jwks.json': async () =>
      json(200, { keys: (await deps.keys.publicKeys()).all.map((key) => key.jwk) }),
    'GET /api/v1/webhooks/hmac_key': async (org) => json(200, hmacKeyView(await tokensOf(deps, org))),
    'POST /api/v1/webhooks/hmac_key/rotate': async (org, event) => {
      const { overlap_seconds: overlap } = parseBody(RotateRequest, jsonBody(event));
      await deps.rateLimits.take('rotation', org);
      return json(200, hmacKeyView(await deps.tokens.rotate(org, overlap)));
    },
  };
}

/** The event catalog and the webhook logs: search, details, retry, resend and recovery. */
function webhookRoutes(deps: Deps): Record<string, OrganizationRoute> {
  const webhooks = webhookDeps(deps);
  return {
    'GET /api/v1/webhook_event_types': async () => json(200, { webhook_event_types: WEBHOOK_EVENT_TYPES }),
    'GET /api/v1/webhooks': async (org, event) =>
      json(200, await listWebhooks(webhooks, parseWebhookQuery(org, queryParams(event)))),
    'POST /api/v1/webhooks/recover': async (org, event) =>
      json(200, await recoverWebhooks(webhooks, org, jsonBody(event))),
    'GET /api/v1/webhooks/{lago_id}': async (org, event) =>
      json(200, { webhook: detail(await getWebhook(deps.store, org, pathParam(event, 'lago_id'))) }),
    'POST /api/v1/webhooks/{lago_id}/retry': async (org, event) =>
      json(200, await retryWebhook(webhooks, org, pathParam(event, 'lago_id'))),
    'POST /api/v1/webhooks/{lago_id}/resend': async (org, event) =>
      json(200, await resendWebhook(webhooks, org, pathParam(event, 'lago_id'))),
  };
}

/** The OpenAPI document, built on the first request for it, then kept: it only changes with a deployment. */
function openApiRoute(): RouteHandler {
  let openApi: string | undefined;
  return async () => {
    openApi ??= JSON.stringify(openApiDocument(ROUTES));
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300' },
      body: openApi,
    };
  };
}

/**
 * A portal session's viewer reads endpoints, deliveries and the public keys, and nothing else: no write, no HMAC
 * token, no custom header value. Checked before the route runs, so a refused request changes and spends nothing.
 */
function checkRole(principal: Principal, routeKey: string, event: HttpEvent): void {
  if (principal.role !== 'viewer') return;
  const secret =
    routeKey === 'GET /api/v1/webhooks/hmac_key' ||
    (routeKey === 'GET /api/v1/webhook_endpoints/{lago_id}' &&
      parseQuery(EndpointQuery, queryParams(event)).reveal_headers);
  if (!routeKey.startsWith('GET ') || secret) throw forbidden('forbidden_for_viewer');
}

/**
 * The organization API (Bearer API key, or a portal session's token): Lago's webhook endpoint routes, the signing
 * keys and the webhook logs.
 */
export function createApiHandler(deps: Deps): HttpHandler {
  const routes = { ...endpointRoutes(deps), ...keyRoutes(deps), ...webhookRoutes(deps) };
  // Every route runs as the organization its credential belongs to, and only sees that organization's data.
  const authenticated = Object.entries(routes).map(([key, route]): [string, RouteHandler] => [
    key,
    async (event) => {
      const principal = await authenticatePrincipal(deps, header(event, 'authorization'));
      checkRole(principal, key, event);
      return route(principal.organizationId, event);
    },
  ]);
  return router({ 'GET /api/v1/openapi.json': openApiRoute(), ...Object.fromEntries(authenticated) }, deps.logger);
}

export const handler = lambdaHandler((runtime) => createApiHandler(depsFromEnv(runtime)));
