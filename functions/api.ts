import { depsFromEnv } from '#shared/runtime/aws-deps.ts';
import { endpointPolicy, healthDeps, webhookDeps, type Deps } from '#shared/runtime/deps.ts';
import { resumeParkedWebhooks } from '#shared/domain/endpoints/health.ts';
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
  type RouteHandler,
} from '#shared/runtime/http.ts';
import { lambdaHandler } from '#shared/runtime/lambda.ts';
import { authenticate } from '#shared/domain/organizations/organizations.ts';
import { parsePage } from '#shared/domain/pagination.ts';
import { parseRotation, type OrganizationTokenSet } from '#shared/domain/organizations/tokens.ts';
import { signingKeySecretName } from '#shared/domain/secrets.ts';
import { lagoPublicKey, standardWebhooksSecret } from '#shared/domain/delivery/signing.ts';
import { recoverWebhooks, resendWebhook, retryWebhook } from '#shared/domain/webhooks/recovery.ts';
import { getWebhook, listWebhooks, parseWebhookQuery } from '#shared/domain/webhooks/search.ts';
import { detail } from '#shared/domain/webhooks/views.ts';

/** Lago's hmac_key view, plus the Standard Webhooks secret, and the previous token while a rotation's overlap lasts. */
function hmacKeyView(tokens: OrganizationTokenSet | undefined) {
  if (!tokens) throw new Error('the organization has no HMAC token');
  return {
    webhook: {
      hmac_key: tokens.current,
      standard_webhooks_secret: standardWebhooksSecret(tokens.current),
      ...(tokens.previous
        ? {
            previous_hmac_key: tokens.previous.token,
            previous_standard_webhooks_secret: standardWebhooksSecret(tokens.previous.token),
            previous_expires_at: new Date(tokens.previous.expiresAt).toISOString(),
          }
        : {}),
    },
  };
}

/** The organization API (Bearer API key): Lago's webhook endpoint routes, the signing keys and the webhook logs. */
export function createApiHandler(deps: Deps): HttpHandler {
  const policy = endpointPolicy(deps);
  const webhooks = webhookDeps(deps);
  const health = healthDeps(deps);
  // `?reveal_headers=true`: the custom headers' values in plain text, for their owner (beyond Lago).
  const endpointView = async (event: HttpEvent, endpoint: Awaited<ReturnType<typeof getEndpoint>>) =>
    serializeEndpoint(
      endpoint,
      queryParams(event).get('reveal_headers') === 'true' ? await revealHeaders(policy, endpoint) : undefined,
    );
  // Every route runs as the organization its key belongs to, and only sees that organization's data.
  const authed =
    (route: (org: string, event: HttpEvent) => Promise<ReturnType<typeof json>>): RouteHandler =>
    async (event) =>
      route(await authenticate(deps.store, header(event, 'authorization')), event);
  const signingKey = async () => {
    const key = await deps.secrets.get(signingKeySecretName(deps.secretsPrefix));
    if (!key) throw new Error('the deployment signing key is missing');
    return lagoPublicKey(key);
  };

  // Built on the first request for it, then kept: it only changes with a deployment.
  let openApi: string | undefined;

  return router(
    {
      'GET /api/v1/openapi.json': async () => {
        openApi ??= JSON.stringify(openApiDocument(ROUTES));
        return {
          statusCode: 200,
          headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300' },
          body: openApi,
        };
      },
      'POST /api/v1/webhook_endpoints': authed(async (org, event) =>
        json(200, {
          webhook_endpoint: serializeEndpoint(
            await createEndpoint(deps.store, policy, org, jsonBody(event), deps.now()),
          ),
        }),
      ),
      'GET /api/v1/webhook_endpoints': authed(async (org, event) =>
        json(200, await listEndpoints(deps.store, org, parsePage(queryParams(event)))),
      ),
      'GET /api/v1/webhook_endpoints/{lago_id}': authed(async (org, event) =>
        json(200, {
          webhook_endpoint: await endpointView(event, await getEndpoint(deps.store, org, pathParam(event, 'lago_id'))),
        }),
      ),
      'PUT /api/v1/webhook_endpoints/{lago_id}': authed(async (org, event) => {
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
        return json(200, { webhook_endpoint: serializeEndpoint(endpoint) });
      }),
      'DELETE /api/v1/webhook_endpoints/{lago_id}': authed(async (org, event) =>
        json(200, {
          webhook_endpoint: serializeEndpoint(await deleteEndpoint(deps.store, org, pathParam(event, 'lago_id'))),
        }),
      ),
      'POST /api/v1/webhook_endpoints/{lago_id}/test': authed(async (org, event) =>
        json(200, await publishTest(webhooks, org, pathParam(event, 'lago_id'), jsonBody(event))),
      ),
      'GET /api/v1/webhooks/public_key': authed(async () => text(200, await signingKey())),
      'GET /api/v1/webhooks/json_public_key': authed(async () =>
        json(200, { webhook: { public_key: await signingKey() } }),
      ),
      'GET /api/v1/webhooks/hmac_key': authed(async (org) => json(200, hmacKeyView(await deps.tokens.get(org)))),
      'POST /api/v1/webhooks/hmac_key/rotate': authed(async (org, event) =>
        json(200, hmacKeyView(await deps.tokens.rotate(org, parseRotation(jsonBody(event))))),
      ),
      'GET /api/v1/webhook_event_types': authed(async () => json(200, { webhook_event_types: WEBHOOK_EVENT_TYPES })),
      'GET /api/v1/webhooks': authed(async (org, event) =>
        json(200, await listWebhooks(webhooks, parseWebhookQuery(org, queryParams(event)))),
      ),
      'POST /api/v1/webhooks/recover': authed(async (org, event) =>
        json(200, await recoverWebhooks(webhooks, org, jsonBody(event))),
      ),
      'GET /api/v1/webhooks/{lago_id}': authed(async (org, event) =>
        json(200, { webhook: detail(await getWebhook(deps.store, org, pathParam(event, 'lago_id'))) }),
      ),
      'POST /api/v1/webhooks/{lago_id}/retry': authed(async (org, event) =>
        json(200, await retryWebhook(webhooks, org, pathParam(event, 'lago_id'))),
      ),
      'POST /api/v1/webhooks/{lago_id}/resend': authed(async (org, event) =>
        json(200, await resendWebhook(webhooks, org, pathParam(event, 'lago_id'))),
      ),
    },
    deps.logger,
  );
}

export const handler = lambdaHandler((runtime) => createApiHandler(depsFromEnv(runtime)));
