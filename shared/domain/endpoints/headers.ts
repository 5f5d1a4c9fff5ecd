import { z } from 'zod';
import { conflict } from '../errors.ts';
import type { DeploymentKeys } from '../keys/deployment-keys.ts';
import { UnusableKeyError } from '../keys/keyring.ts';
import type { SealBinding } from '../keys/sealing.ts';
import { refuse, type LagoCode } from '../validation.ts';
import type { CustomHeader, WebhookEndpoint } from '../model.ts';

/**
 * Custom headers per endpoint (beyond Lago): up to 10, sent on every attempt before the service's own. Their values
 * may be credentials, so each is sealed (shared/domain/keys/sealing.ts: AES-256-GCM under the seal keyring, bound to
 * the organization, the endpoint and the header's name) in the endpoint's record. Reads show them masked unless
 * revealed. Names are data, never object keys: a list of name and value, so any RFC 7230 token is a name, `__proto__`
 * and `constructor` included, and nothing a request sends can reach an object's prototype.
 */

const MAX_CUSTOM_HEADERS = 10;
const MAX_HEADER_VALUE_BYTES = 1024;
const MAX_HEADER_NAME_LENGTH = 256;
/** What a read shows for every value; sent back on an update, it keeps the stored value. */
export const MASKED_VALUE = '••••';

// RFC 7230 token.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Visible ASCII, space and tab: no CR, LF, NUL or other control character.
const VALUE = /^[\t\x20-\x7e]+$/;
// The service's own headers, what the HTTP client owns, hop-by-hop headers, Expect (the client refuses it), and
// Accept-Encoding: a compressed answer would be stored as binary (Content-* is reserved as a prefix).
const RESERVED_NAMES = new Set([
  'accept-encoding',
  'host',
  'user-agent',
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);
const RESERVED_PREFIXES = ['x-lago-', 'webhook-', 'content-', 'proxy-'];

export const isReservedHeader = (name: string): boolean => {
  const lower = name.toLowerCase();
  return RESERVED_NAMES.has(lower) || RESERVED_PREFIXES.some((prefix) => lower.startsWith(prefix));
};

/** A header as a create or update sends it: its plain value, or MASKED_VALUE to keep the stored one. */
export interface HeaderInput {
  name: string;
  value: string;
}

/** What the request field looks like in the OpenAPI document: an object of names and values. */
const AS_DOCUMENTED = { type: 'object', propertyNames: { type: 'string' }, additionalProperties: { type: 'string' } };

/**
 * The `headers` field of a create or update: null (or {}) for none, else names with their plain values; a value of
 * MASKED_VALUE keeps the value `stored` under that name. Checked as a whole, in order (the count, then each header's
 * name and value), so a request learns of its first mistake with its own code. Read as a list of the object's own
 * entries (never rebuilt as an object, which would drop a `__proto__` name).
 */
export function customHeaders(stored: readonly CustomHeader[] | null | undefined) {
  const kept = new Set((stored ?? []).map((header) => header.name.toLowerCase()));
  return z
    .preprocess(
      (raw, ctx) => {
        const code = headersRefusal(raw, kept);
        return code ? refuse(ctx, code) : Object.entries(raw as Record<string, string>);
      },
      z.custom<[string, string][]>((entries) => Array.isArray(entries)).meta(AS_DOCUMENTED),
    )
    .transform((entries): HeaderInput[] | null =>
      entries.length > 0 ? entries.map(([name, value]) => ({ name, value })) : null,
    )
    .nullable()
    .describe(
      'Beyond Lago: up to 10 custom headers (values up to 1 KB; X-Lago-*, webhook-*, Content-*, Host, User-Agent, Accept-Encoding and hop-by-hop names are refused); a masked value sent back keeps the stored one; null removes them',
    );
}

function headersRefusal(raw: unknown, kept: ReadonlySet<string>): LagoCode | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'value_is_invalid';
  const entries: [string, unknown][] = Object.entries(raw);
  if (entries.length > MAX_CUSTOM_HEADERS) return 'too_many_headers';
  const seen = new Set<string>();
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (name.length > MAX_HEADER_NAME_LENGTH || !TOKEN.test(name)) return 'header_name_is_invalid';
    if (isReservedHeader(name)) return 'header_name_is_reserved';
    if (seen.has(lower)) return 'header_name_is_duplicated';
    seen.add(lower);
    if (value === MASKED_VALUE && kept.has(lower)) continue;
    if (typeof value !== 'string' || !VALUE.test(value) || value === MASKED_VALUE) return 'header_value_is_invalid';
    if (Buffer.byteLength(value) > MAX_HEADER_VALUE_BYTES) return 'header_value_is_too_long';
  }
  return undefined;
}

/** What seals and opens header values: the deployment's seal keyring. */
export type HeaderSealer = Pick<DeploymentKeys, 'seal' | 'open' | 'isSealedCurrently'>;

/** The endpoint a header belongs to. */
type Owner = Pick<WebhookEndpoint, 'id' | 'organization_id'>;

const bindingOf = (owner: Owner, name: string): SealBinding => ({
  kind: 'custom-header',
  organizationId: owner.organization_id,
  endpointId: owner.id,
  name,
});

/**
 * Seals parsed headers for the record. A masked value keeps the stored value of its name: as it is when it is sealed
 * the current way, otherwise opened and sealed anew (a value from an earlier revision, or under an older seal key).
 */
export async function sealCustomHeaders(
  sealer: HeaderSealer,
  owner: Owner,
  input: readonly HeaderInput[],
  previous: readonly CustomHeader[] | null | undefined,
): Promise<CustomHeader[]> {
  const kept = new Map((previous ?? []).map((header) => [header.name.toLowerCase(), header.sealed]));
  return Promise.all(
    input.map(async ({ name, value }) => {
      const binding = bindingOf(owner, name);
      const old = value === MASKED_VALUE ? kept.get(name.toLowerCase()) : undefined;
      // Sealed under the lower-case name, a kept value opens whatever the case it is now sent with.
      if (old !== undefined && (await sealer.isSealedCurrently(binding, old))) return { name, sealed: old };
      const plain = old !== undefined ? await openHeader(sealer, binding, old) : value;
      return { name, sealed: await sealer.seal(binding, plain) };
    }),
  );
}

async function openHeader(sealer: HeaderSealer, binding: SealBinding, sealed: string): Promise<string> {
  try {
    return await sealer.open(binding, sealed);
  } catch (error) {
    if (!(error instanceof UnusableKeyError)) throw error;
    throw conflict('custom_header_unusable', `${error.message}: send its value again`);
  }
}

/** The endpoint's custom headers in plain text, as name and value pairs in their order (for an attempt or a reveal). */
export async function openCustomHeaders(
  sealer: Pick<HeaderSealer, 'open'>,
  endpoint: WebhookEndpoint,
): Promise<[string, string][]> {
  return Promise.all(
    (endpoint.headers ?? []).map(async ({ name, sealed }): Promise<[string, string]> => [
      name,
      await sealer.open(bindingOf(endpoint, name), sealed),
    ]),
  );
}

/** The values a reveal shows; one that cannot be opened (a retired seal key, a broken seal) is a 409 that says to send it again. */
export async function revealCustomHeaders(
  sealer: HeaderSealer,
  endpoint: WebhookEndpoint,
): Promise<[string, string][]> {
  return Promise.all(
    (endpoint.headers ?? []).map(async ({ name, sealed }): Promise<[string, string]> => [
      name,
      await openHeader(sealer, bindingOf(endpoint, name), sealed),
    ]),
  );
}

export const maskCustomHeaders = (headers: readonly CustomHeader[] | null | undefined): Record<string, string> =>
  Object.fromEntries((headers ?? []).map(({ name }) => [name, MASKED_VALUE]));

/** The endpoint's custom headers for an attempt, opened; the seal keyring is read only when it has some. */
export async function attemptHeaders(
  endpoint: WebhookEndpoint,
  sealer: Pick<HeaderSealer, 'open'>,
): Promise<Record<string, string>> {
  if (!endpoint.headers?.length) return {};
  // Own properties only (fromEntries defines them): a header named __proto__ is a header, not a prototype.
  return Object.fromEntries(await openCustomHeaders(sealer, endpoint));
}
