import { createCipheriv, createDecipheriv, createPrivateKey, hkdfSync, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { refuse, type LagoCode } from '../validation.ts';
import type { WebhookEndpoint } from '../model.ts';

/**
 * Custom headers per endpoint (beyond Lago): up to 10, sent on every attempt before the service's own.
 * Their values may be credentials, so each is sealed (AES-256-GCM) in the endpoint's record under a
 * key derived (HKDF) from the deployment's signing key, like organization tokens: Secrets Manager
 * stays the only place secret material lives. Reads show them masked unless revealed.
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

/**
 * The `headers` field of a create or update: null (or {}) for none, else names with their plain values; a value of
 * MASKED_VALUE keeps the value `stored` under that name. Checked as a whole, in order (the count, then each header's
 * name and value), so a request learns of its first mistake with its own code.
 */
export function customHeaders(stored: Record<string, string> | null | undefined) {
  const kept = new Set(Object.keys(stored ?? {}).map((name) => name.toLowerCase()));
  return z
    .preprocess(
      (raw, ctx) => {
        const code = headersRefusal(raw, kept);
        return code ? refuse(ctx, code) : raw;
      },
      z.record(z.string(), z.string()),
    )
    .transform((headers) => (Object.keys(headers).length > 0 ? headers : null))
    .nullable()
    .describe(
      'Beyond Lago: up to 10 custom headers (values up to 1 KB; X-Lago-*, webhook-*, Content-*, Accept-Encoding, Host, User-Agent and hop-by-hop names are refused); a masked value sent back keeps the stored one; null removes them',
    );
}

function headersRefusal(raw: unknown, kept: ReadonlySet<string>): LagoCode | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'value_is_invalid';
  const entries = Object.entries(raw);
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

let derived: { pem: string; key: Buffer } | undefined;

/** The key that seals custom header values, derived from the signing key (kept for the last key seen). */
export function customHeaderKey(signingKeyPem: string): Buffer {
  if (derived?.pem !== signingKeyPem) {
    const material = createPrivateKey(signingKeyPem).export({ type: 'pkcs8', format: 'der' });
    derived = {
      pem: signingKeyPem,
      key: Buffer.from(hkdfSync('sha256', material, 'lago-webhooks', 'endpoint-custom-headers', 32)),
    };
  }
  return derived.key;
}

// Bound to its endpoint and name: a sealed value copied to another endpoint or header does not open.
const boundTo = (endpointId: string, name: string) => Buffer.from(`${endpointId}\n${name.toLowerCase()}`);

export function sealHeaderValue(key: Buffer, endpointId: string, name: string, value: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(boundTo(endpointId, name));
  const sealed = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
}

export function openHeaderValue(key: Buffer, endpointId: string, name: string, sealed: string): string {
  const raw = Buffer.from(sealed, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAAD(boundTo(endpointId, name));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

/** Seals parsed headers for the record; a masked value takes the previous sealed value of its name. */
export function sealCustomHeaders(
  key: Buffer,
  endpointId: string,
  plain: Record<string, string>,
  previous: Record<string, string> | null | undefined,
): Record<string, string> {
  const kept = new Map(Object.entries(previous ?? {}).map(([name, sealed]) => [name.toLowerCase(), sealed]));
  return Object.fromEntries(
    Object.entries(plain).map(([name, value]) => {
      const old = kept.get(name.toLowerCase());
      // Sealed under the lower-case name, a kept value opens whatever the case it is now sent with.
      if (value === MASKED_VALUE && old !== undefined) return [name, old];
      return [name, sealHeaderValue(key, endpointId, name, value)];
    }),
  );
}

export function openCustomHeaders(
  key: Buffer,
  endpointId: string,
  sealed: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(sealed).map(([name, value]) => [name, openHeaderValue(key, endpointId, name, value)]),
  );
}

export const maskCustomHeaders = (sealed: Record<string, string> | null | undefined): Record<string, string> =>
  Object.fromEntries(Object.keys(sealed ?? {}).map((name) => [name, MASKED_VALUE]));

export const hasCustomHeaders = (sealed: Record<string, string> | null | undefined): sealed is Record<string, string> =>
  sealed !== null && sealed !== undefined && Object.keys(sealed).length > 0;

/** The endpoint's custom headers for an attempt, opened; the signing key is read only when it has some. */
export async function attemptHeaders(
  endpoint: WebhookEndpoint,
  signingKey: () => Promise<string | undefined>,
): Promise<Record<string, string>> {
  if (!hasCustomHeaders(endpoint.headers)) return {};
  const pem = await signingKey();
  if (!pem) throw new Error('the signing key is unavailable');
  return openCustomHeaders(customHeaderKey(pem), endpoint.id, endpoint.headers);
}
