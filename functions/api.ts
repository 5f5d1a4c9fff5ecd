import { depsFromEnv, lazy } from '#shared/adapters/aws-deps.ts';
import { endpointPolicy, webhookDeps, type Deps } from '#shared/deps.ts';
import { createEndpoint, deleteEndpoint, getEndpoint, listEndpoints, serializeEndpoint, updateEndpoint } from '#shared/endpoints.ts';
import { WEBHOOK_EVENT_TYPES } from '#shared/event-catalog.ts';
import { json, jsonBody, header, pathParam, queryParams, router, text, type HttpEvent, type RouteHandler } from '#shared/http.ts';
import { authenticate } from '#shared/organizations.ts';
import { hmacSecretName, signingKeySecretName } from '#shared/secrets.ts';
import { lagoPublicKey, standardWebhooksSecret } from '#shared/signing.ts';
import { detail, getWebhook, listWebhooks, parseLogQuery, recoverWebhooks, retryWebhook } from '#shared/webhooks.ts';

/** The organization API (Bearer API key): Lago's webhook endpoint routes, the signing keys and the webhook logs. */
export function createApiHandler(deps: Deps): RouteHandler {
  const policy = endpointPolicy(deps);
  const webhooks = webhookDeps(deps);
  const page = (event: HttpEvent) => {
    const q = queryParams(event);
    const n = (name: string, fallback: number, max: number) => {
      const value = Number(q.get(name));
      return Number.isInteger(value) && value >= 1 ? Math.min(value, max) : fallback;
    };
    return { page: n('page', 1, 1_000_000), perPage: n('per_page', 20, 100) };
  };
  // Every route runs as the organization its key belongs to, and only sees that organization's data.
  const authed = (route: (org: string, event: HttpEvent) => Promise<ReturnType<typeof json>>): RouteHandler => async (event) =>
    route(await authenticate(deps.store, header(event, 'authorization')), event);
  const signingKey = async () => {
    const key = await deps.secrets.get(signingKeySecretName(deps.secretsPrefix));
    if (!key) throw new Error('the deployment signing key is missing');
    return lagoPublicKey(key);
  };

  return router(
    {
      'POST /api/v1/webhook_endpoints': authed(async (org, event) => json(200, { webhook_endpoint: serializeEndpoint(await createEndpoint(deps.store, policy, org, jsonBody(event), deps.now())) })),
      'GET /api/v1/webhook_endpoints': authed(async (org, event) => json(200, await listEndpoints(deps.store, org, page(event)))),
      'GET /api/v1/webhook_endpoints/{lago_id}': authed(async (org, event) => json(200, { webhook_endpoint: serializeEndpoint(await getEndpoint(deps.store, org, pathParam(event, 'lago_id'))) })),
      'PUT /api/v1/webhook_endpoints/{lago_id}': authed(async (org, event) =>
        json(200, { webhook_endpoint: serializeEndpoint(await updateEndpoint(deps.store, policy, org, pathParam(event, 'lago_id'), jsonBody(event))) }),
      ),
      'DELETE /api/v1/webhook_endpoints/{lago_id}': authed(async (org, event) => json(200, { webhook_endpoint: serializeEndpoint(await deleteEndpoint(deps.store, org, pathParam(event, 'lago_id'))) })),
      'GET /api/v1/webhooks/public_key': authed(async () => text(200, await signingKey())),
      'GET /api/v1/webhooks/json_public_key': authed(async () => json(200, { webhook: { public_key: await signingKey() } })),
      'GET /api/v1/webhooks/hmac_key': authed(async (org) => {
        const token = await deps.secrets.get(hmacSecretName(deps.secretsPrefix, org));
        if (!token) throw new Error('the organization has no HMAC token');
        return json(200, { webhook: { hmac_key: token, standard_webhooks_secret: standardWebhooksSecret(token) } });
      }),
      'GET /api/v1/webhook_event_types': authed(async () => json(200, { webhook_event_types: WEBHOOK_EVENT_TYPES })),
      'GET /api/v1/webhooks': authed(async (org, event) => json(200, await listWebhooks(webhooks, parseLogQuery(org, queryParams(event))))),
      'POST /api/v1/webhooks/recover': authed(async (org, event) => json(200, await recoverWebhooks(webhooks, org, jsonBody(event)))),
      'GET /api/v1/webhooks/{lago_id}': authed(async (org, event) => json(200, { webhook: detail(await getWebhook(deps.store, org, pathParam(event, 'lago_id'))) })),
      'POST /api/v1/webhooks/{lago_id}/retry': authed(async (org, event) => json(200, await retryWebhook(webhooks, org, pathParam(event, 'lago_id')))),
    },
    deps.logger,
  );
}

const instance = lazy(() => createApiHandler(depsFromEnv()));
export const handler: RouteHandler = (event) => instance()(event);
