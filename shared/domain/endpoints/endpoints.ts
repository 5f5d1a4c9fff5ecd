import { badRequest, notFound, unavailable, validationFailed, type ValidationDetails } from '../errors.ts';
import {
  hasCustomHeaders,
  maskCustomHeaders,
  openCustomHeaders,
  parseCustomHeaders,
  sealCustomHeaders,
} from './headers.ts';
import { isWebhookType } from '../catalog/event-types.ts';
import { isUuid, uuidv7 } from '../ids.ts';
import { pageMeta, type PageRequest } from '../pagination.ts';
import { CONTROL_CHARACTER } from '../text.ts';
import { isoSeconds } from '../time.ts';
import type { SignatureAlgo, WebhookEndpoint } from '../model.ts';
import type { EndpointStore } from '../ports.ts';
import { assertPublicAddress, BlockedAddressError, isIpLiteral, type Cidr } from '../delivery/ssrf.ts';

/** Webhook endpoints, with Lago's rules: 10 per organization, unique URL, event types from the catalog. */

export const MAX_ENDPOINTS = 10;
const MAX_URL_LENGTH = 2048;
const MAX_NAME_LENGTH = 255;

export interface EndpointPolicy {
  allow: readonly Cidr[];
  allowHttp: boolean;
  /** The key that seals custom header values (shared/domain/endpoints/headers.ts). @default - none: custom headers are refused as unavailable */
  headerKey?: () => Promise<Buffer>;
}

interface EndpointInput {
  webhook_url?: string;
  signature_algo?: SignatureAlgo;
  name?: string | null;
  event_types?: string[] | null;
  disabled?: boolean;
  /** Plain values; a masked one keeps the stored value. */
  headers?: Record<string, string> | null;
}

const DISABLED_BY_REQUEST = 'disabled by request';

/**
 * Lago's serialisation of an endpoint, and after Lago's fields ours: whether it is disabled, since
 * when and why, since when its attempts have failed, and its custom headers, masked unless
 * `revealed` (their plain values) is given.
 */
export function serializeEndpoint(endpoint: WebhookEndpoint, revealed?: Record<string, string>) {
  return {
    lago_id: endpoint.id,
    lago_organization_id: endpoint.organization_id,
    webhook_url: endpoint.webhook_url,
    signature_algo: endpoint.signature_algo,
    name: endpoint.name,
    event_types: endpoint.event_types,
    created_at: endpoint.created_at,
    disabled: Boolean(endpoint.disabled_at),
    disabled_at: endpoint.disabled_at ?? null,
    disabled_reason: endpoint.disabled_reason ?? null,
    failing_since: endpoint.failing_since ? new Date(endpoint.failing_since).toISOString() : null,
    headers: revealed ?? maskCustomHeaders(endpoint.headers),
  };
}

/** The endpoint's custom headers in plain text, for the owner's explicit reveal. */
export async function revealHeaders(
  policy: EndpointPolicy,
  endpoint: WebhookEndpoint,
): Promise<Record<string, string>> {
  if (!hasCustomHeaders(endpoint.headers)) return {};
  return openCustomHeaders(await headerKey(policy), endpoint.id, endpoint.headers);
}

async function headerKey(policy: EndpointPolicy): Promise<Buffer> {
  if (!policy.headerKey) throw unavailable('custom headers cannot be stored by this deployment');
  return policy.headerKey();
}

function add(details: ValidationDetails, field: string, code: string) {
  (details[field] ??= []).push(code);
}

function checkUrl(raw: unknown, policy: EndpointPolicy, details: ValidationDetails): string | undefined {
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
    add(details, 'webhook_url', 'value_is_mandatory');
    return undefined;
  }
  if (typeof raw !== 'string' || raw.length > MAX_URL_LENGTH) {
    add(details, 'webhook_url', 'url_is_invalid');
    return undefined;
  }
  const value = raw.trim();
  // The URL parser silently drops tabs and newlines, so they would make look-alike "unique" URLs;
  // a fragment is never sent to the receiver, so it is refused rather than stored.
  if (CONTROL_CHARACTER.test(value) || value.includes('#')) {
    add(details, 'webhook_url', 'url_is_invalid');
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    add(details, 'webhook_url', 'url_is_invalid');
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || url.username || url.password) {
    add(details, 'webhook_url', 'url_is_invalid');
    return undefined;
  }
  if (url.protocol === 'http:' && !policy.allowHttp) {
    add(details, 'webhook_url', 'url_must_use_https');
    return undefined;
  }
  // Literal addresses are checked now; names are checked on every delivery, when they are resolved.
  const name = url.hostname.replace(/\.$/, '');
  const host = name === 'localhost' || name.endsWith('.localhost') ? '127.0.0.1' : name;
  if (isIpLiteral(host)) {
    try {
      assertPublicAddress(host, policy.allow);
    } catch (error) {
      if (!(error instanceof BlockedAddressError)) throw error;
      add(details, 'webhook_url', 'address_is_not_public');
      return undefined;
    }
  }
  // Stored (and compared for uniqueness) in WHATWG serialization: HTTP://Example.com/./x and
  // http://example.com/x are one endpoint.
  if (url.href.length > MAX_URL_LENGTH) {
    add(details, 'webhook_url', 'url_is_invalid');
    return undefined;
  }
  return url.href;
}

/** null means every type, [] none; "*" means every type; values trimmed, lowercased, de-duplicated. */
export function normalizeEventTypes(raw: unknown, details: ValidationDetails): string[] | null | undefined {
  if (raw === null) return null;
  if (!Array.isArray(raw) || raw.some((v) => typeof v !== 'string')) {
    add(details, 'event_types', 'value_is_invalid');
    return undefined;
  }
  const values = [...new Set((raw as string[]).map((v) => v.trim().toLowerCase()).filter((v) => v !== ''))];
  if (values.includes('*')) return null;
  if (values.some((v) => !isWebhookType(v))) {
    add(details, 'event_types', 'value_is_invalid');
    return undefined;
  }
  return values;
}

function parseInput(body: unknown, policy: EndpointPolicy, previous?: WebhookEndpoint): EndpointInput {
  const partial = previous !== undefined;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body must be a JSON object');
  const wrapper = (body as Record<string, unknown>).webhook_endpoint;
  if (typeof wrapper !== 'object' || wrapper === null || Array.isArray(wrapper)) {
    throw badRequest('param is missing or the value is empty: webhook_endpoint');
  }
  const raw = wrapper as Record<string, unknown>;
  const details: ValidationDetails = {};
  const input: EndpointInput = {};
  if (!partial || 'webhook_url' in raw) input.webhook_url = checkUrl(raw.webhook_url, policy, details);
  if ('signature_algo' in raw && raw.signature_algo !== null) {
    if (raw.signature_algo === 'jwt' || raw.signature_algo === 'hmac') input.signature_algo = raw.signature_algo;
    else add(details, 'signature_algo', 'value_is_invalid');
  }
  if ('name' in raw) {
    if (raw.name === null || raw.name === undefined) input.name = null;
    else if (typeof raw.name === 'string' && raw.name.length <= MAX_NAME_LENGTH && !CONTROL_CHARACTER.test(raw.name))
      input.name = raw.name.trim() === '' ? null : raw.name;
    else add(details, 'name', 'value_is_invalid');
  }
  if ('event_types' in raw) input.event_types = normalizeEventTypes(raw.event_types, details);
  if ('disabled' in raw) {
    if (typeof raw.disabled === 'boolean') input.disabled = raw.disabled;
    else add(details, 'disabled', 'value_is_invalid');
  }
  if ('headers' in raw) input.headers = parseCustomHeaders(raw.headers, previous?.headers, details);
  if (Object.keys(details).length > 0) throw validationFailed(details);
  return input;
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
  const input = parseInput(body, policy);
  const id = uuidv7(nowMs);
  const endpoint: WebhookEndpoint = {
    id,
    organization_id: organizationId,
    webhook_url: input.webhook_url!,
    signature_algo: input.signature_algo ?? 'jwt',
    name: input.name ?? null,
    event_types: input.event_types === undefined ? null : input.event_types,
    created_at: isoSeconds(nowMs),
    ...(input.disabled ? { disabled_at: isoSeconds(nowMs), disabled_reason: DISABLED_BY_REQUEST } : {}),
    ...(input.headers ? { headers: sealCustomHeaders(await headerKey(policy), id, input.headers, null) } : {}),
  };
  const result = await store.createEndpoint(endpoint, MAX_ENDPOINTS);
  if (result === 'url_taken') throw urlTaken();
  if (result === 'limit_reached') throw validationFailed({ base: ['Maximum number of webhook endpoints was reached'] });
  return endpoint;
}

export async function getEndpoint(store: EndpointStore, organizationId: string, id: string): Promise<WebhookEndpoint> {
  // Ids are UUIDs: anything else cannot exist, and never reaches the store as a key.
  const endpoint = isUuid(id) ? await store.getEndpoint(organizationId, id) : undefined;
  if (!endpoint) throw notFound('webhook_endpoint');
  return endpoint;
}

/**
 * A partial update: only the keys present change. `disabled: true` disables the endpoint (publishing
 * skips it, its queued webhooks wait); `disabled: false` enables it, and if it was failing its
 * failures are counted afresh from now, so its first success after that is a recovery.
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
  const input = parseInput(body, policy, previous);
  const disabling = input.disabled === true && !previous.disabled_at;
  const enabling = input.disabled === false && Boolean(previous.disabled_at);
  const next: WebhookEndpoint = {
    ...previous,
    ...(input.webhook_url !== undefined ? { webhook_url: input.webhook_url } : {}),
    ...(input.signature_algo !== undefined ? { signature_algo: input.signature_algo } : {}),
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.event_types !== undefined ? { event_types: input.event_types } : {}),
    ...(disabling ? { disabled_at: isoSeconds(nowMs), disabled_reason: DISABLED_BY_REQUEST } : {}),
    ...(enabling
      ? { disabled_at: null, disabled_reason: null, ...(previous.failing_since ? { failing_since: nowMs } : {}) }
      : {}),
    ...(input.headers !== undefined
      ? {
          headers: input.headers
            ? sealCustomHeaders(await headerKey(policy), previous.id, input.headers, previous.headers)
            : null,
        }
      : {}),
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
  !endpoint.disabled_at && (endpoint.event_types === null || endpoint.event_types.includes(webhookType));
