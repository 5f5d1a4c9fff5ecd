import { notFound, unavailable, validationFailed } from '../errors.ts';
import { maskCustomHeaders, revealCustomHeaders, sealCustomHeaders, type HeaderSealer } from './headers.ts';
import { isUuid, uuidv7 } from '../ids.ts';
import { pageMeta, type PageRequest } from '../pagination.ts';
import { isoMs, isoSeconds, toSecond } from '../time.ts';
import { DISABLED_BY_REQUEST, disabledAtIso } from './disabling.ts';
import type { WebhookEndpoint } from '../model.ts';
import type { EndpointStore } from '../ports.ts';
import { parseWrapped } from '../validation.ts';
import { createEndpointRequest, updateEndpointRequest, type UrlPolicy } from './schemas.ts';
import { destinationRefusal, isArn } from './destinations.ts';

/** Webhook endpoints, with Lago's rules: 10 per organization, unique URL, event types from the catalog. */

export const MAX_ENDPOINTS = 10;

export interface EndpointPolicy extends UrlPolicy {
  /** What seals custom header values (shared/domain/endpoints/headers.ts). @default - none: custom headers are refused as unavailable */
  sealer?: HeaderSealer;
}

/**
 * Lago's serialisation of an endpoint, and after Lago's fields ours: whether it is disabled, since
 * when and why, since when its attempts have failed, its custom headers, masked unless `revealed`
 * (their plain values) is given, its max_rps and its circuit breaker.
 */
export function serializeEndpoint(endpoint: WebhookEndpoint, revealed?: [string, string][]) {
  return {
    lago_id: endpoint.id,
    lago_organization_id: endpoint.organization_id,
    webhook_url: endpoint.webhook_url,
    signature_algo: endpoint.signature_algo,
    name: endpoint.name,
    event_types: endpoint.event_types,
    created_at: isoSeconds(endpoint.created_at_ms),
    disabled: Boolean(endpoint.disabled_at_ms),
    disabled_at: endpoint.disabled_at_ms ? disabledAtIso(endpoint.disabled_at_ms, endpoint.disabled_reason) : null,
    disabled_reason: endpoint.disabled_reason ?? null,
    failing_since: endpoint.failing_since_ms ? isoMs(endpoint.failing_since_ms) : null,
    headers: revealed ? Object.fromEntries(revealed) : maskCustomHeaders(endpoint.headers),
    aws_role_arn: endpoint.aws_role_arn ?? null,
    max_rps: endpoint.max_rps ?? null,
    circuit: circuitOf(endpoint),
  };
}

/** The circuit breaker as the API shows it: half-open once its probe is out. */
function circuitOf({ breaker_opened_at_ms: openedAtMs, breaker_probe: probe }: WebhookEndpoint) {
  if (!openedAtMs) return { state: 'closed' as const, opened_at: null };
  return { state: probe ? ('half_open' as const) : ('open' as const), opened_at: isoMs(openedAtMs) };
}

/** Refuses an AWS destination the deployment does not deliver to, or a role that does not go with the URL (destinations.ts). */
function checkDestination(policy: EndpointPolicy, webhookUrl: string, roleArn: string | null): void {
  const refusal = destinationRefusal(policy.aws ?? { roles: [] }, webhookUrl, roleArn);
  if (refusal) throw validationFailed({ [refusal.field]: [refusal.code] });
}

/** The endpoint's custom headers in plain text, for the owner's explicit reveal. */
export async function revealHeaders(policy: EndpointPolicy, endpoint: WebhookEndpoint): Promise<[string, string][]> {
  if (!endpoint.headers?.length) return [];
  return revealCustomHeaders(sealerOf(policy), endpoint);
}

function sealerOf(policy: EndpointPolicy): HeaderSealer {
  if (!policy.sealer) throw unavailable('custom headers cannot be stored by this deployment');
  return policy.sealer;
}

const urlTaken = () => validationFailed({ webhook_url: ['value_already_exist'] });
const changedMeanwhile = () => unavailable('the webhook endpoint changed meanwhile; read it again and retry');

export async function createEndpoint(
  store: EndpointStore,
  policy: EndpointPolicy,
  organizationId: string,
  body: unknown,
  nowMs: number,
): Promise<WebhookEndpoint> {
  const input = parseWrapped('webhook_endpoint', createEndpointRequest(policy), body);
  checkDestination(policy, input.webhook_url, input.aws_role_arn ?? null);
  const id = uuidv7(nowMs);
  const endpoint: WebhookEndpoint = {
    id,
    organization_id: organizationId,
    webhook_url: input.webhook_url,
    signature_algo: input.signature_algo ?? 'jwt',
    name: input.name ?? null,
    event_types: input.event_types === undefined ? null : input.event_types,
    created_at_ms: toSecond(nowMs),
    ...(input.max_rps ? { max_rps: input.max_rps } : {}),
    ...(input.disabled ? { disabled_at_ms: toSecond(nowMs), disabled_reason: DISABLED_BY_REQUEST } : {}),
    ...(input.headers
      ? {
          headers: await sealCustomHeaders(
            sealerOf(policy),
            { id, organization_id: organizationId },
            input.headers,
            null,
          ),
        }
      : {}),
    ...(input.aws_role_arn ? { aws_role_arn: input.aws_role_arn } : {}),
  };
  const result = await store.createEndpoint(endpoint, MAX_ENDPOINTS);
  if (result === 'url_taken') throw urlTaken();
  if (result === 'limit_reached') throw validationFailed({ base: ['Maximum number of webhook endpoints was reached'] });
  return endpoint;
}

export async function getEndpoint(
  store: Pick<EndpointStore, 'getEndpoint'>,
  organizationId: string,
  id: string,
): Promise<WebhookEndpoint> {
  // Ids are UUIDs: anything else cannot exist, and never reaches the store as a key.
  const endpoint = isUuid(id) ? await store.getEndpoint(organizationId, id) : undefined;
  if (!endpoint) throw notFound('webhook_endpoint');
  return endpoint;
}

/**
 * A partial update: only the keys present change. `disabled: true` disables the endpoint (publishing
 * skips it, its queued webhooks wait); `disabled: false` enables it, and if it was failing its
 * failures are counted afresh from now, so its first success after that is a recovery, and its
 * circuit breaker closes.
 */
export async function updateEndpoint(
  store: EndpointStore,
  policy: EndpointPolicy,
  organizationId: string,
  id: string,
  body: unknown,
  nowMs: number = Date.now(),
  /** Called once the update enabled the endpoint (its waiting webhooks can go). */
  onEnabled?: (endpoint: WebhookEndpoint) => Promise<unknown>,
): Promise<WebhookEndpoint> {
  const previous = await getEndpoint(store, organizationId, id);
  const input = parseWrapped('webhook_endpoint', updateEndpointRequest(policy, previous.headers), body);
  // A role goes with an ARN: a new URL drops the one it had unless one is given.
  const url = input.webhook_url ?? previous.webhook_url;
  const role =
    input.aws_role_arn !== undefined ? input.aws_role_arn : isArn(url) ? (previous.aws_role_arn ?? null) : null;
  checkDestination(policy, url, role);
  const disabling = input.disabled === true && !previous.disabled_at_ms;
  const enabling = input.disabled === false && Boolean(previous.disabled_at_ms);
  const next: WebhookEndpoint = {
    ...previous,
    ...(input.webhook_url !== undefined ? { webhook_url: input.webhook_url } : {}),
    ...(input.signature_algo !== undefined ? { signature_algo: input.signature_algo } : {}),
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.event_types !== undefined ? { event_types: input.event_types } : {}),
    ...(input.max_rps !== undefined ? { max_rps: input.max_rps } : {}),
    ...(disabling ? { disabled_at_ms: toSecond(nowMs), disabled_reason: DISABLED_BY_REQUEST } : {}),
    ...(enabling
      ? {
          disabled_at_ms: null,
          disabled_reason: null,
          ...(previous.failing_since_ms ? { failing_since_ms: nowMs } : {}),
          // Enabled by hand, it is tried at once: its breaker closes.
          breaker_opened_at_ms: null,
          breaker_probe: null,
        }
      : {}),
    ...(input.headers !== undefined
      ? {
          headers: input.headers
            ? await sealCustomHeaders(sealerOf(policy), previous, input.headers, previous.headers)
            : null,
        }
      : {}),
    ...(role !== (previous.aws_role_arn ?? null) ? { aws_role_arn: role } : {}),
  };
  const result = await store.updateEndpoint(previous, next);
  if (result === 'url_taken') throw urlTaken();
  if (result === 'not_found') throw notFound('webhook_endpoint');
  if (result === 'conflict') throw changedMeanwhile();
  if (enabling) await onEnabled?.(next);
  return next;
}

export async function deleteEndpoint(
  store: EndpointStore,
  organizationId: string,
  id: string,
): Promise<WebhookEndpoint> {
  const endpoint = await getEndpoint(store, organizationId, id);
  const result = await store.deleteEndpoint(endpoint);
  if (result === 'not_found') throw notFound('webhook_endpoint');
  if (result === 'conflict') throw changedMeanwhile();
  return endpoint;
}

export async function listEndpoints(store: EndpointStore, organizationId: string, page: PageRequest) {
  const all = await store.listEndpoints(organizationId);
  const items = all.slice((page.page - 1) * page.perPage, page.page * page.perPage);
  return { webhook_endpoints: items.map((e) => serializeEndpoint(e)), meta: pageMeta(page, all.length) };
}

/** A disabled endpoint subscribes to nothing: publishing skips it. */
export const subscribes = (endpoint: WebhookEndpoint, webhookType: string): boolean =>
  !endpoint.disabled_at_ms && (endpoint.event_types === null || endpoint.event_types.includes(webhookType));
