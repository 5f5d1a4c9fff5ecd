// Covers shared/domain/endpoints/headers.ts and the endpoint routes' use of it (shared/domain/endpoints/endpoints.ts): names, values and reserved names of custom headers, their sealing round trip, masking and reveal.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  customHeaderKey,
  customHeaders,
  isReservedHeader,
  MASKED_VALUE,
  openCustomHeaders,
  openHeaderValue,
  sealCustomHeaders,
  sealHeaderValue,
} from '#shared/domain/endpoints/headers.ts';
import {
  createEndpoint,
  revealHeaders,
  serializeEndpoint,
  updateEndpoint,
  type EndpointPolicy,
} from '#shared/domain/endpoints/endpoints.ts';
import { ApiError } from '#shared/domain/errors.ts';
import { parseBody } from '#shared/domain/validation.ts';
import { lagoError } from '#shared/runtime/http.ts';
import { generateSigningKey } from '#shared/domain/delivery/signing.ts';
import { FakeStore } from './support/fake-store.ts';

const ORG = '0196d7a2-0000-7000-8000-00000000000a';
const EP = '0196d7a2-0000-7000-8000-0000000000e1';
const NOW = Date.UTC(2026, 10, 27, 12);
const pem = generateSigningKey().privateKeyPem;
const key = customHeaderKey(pem);
const policy: EndpointPolicy = { allow: [], allowHttp: false, headerKey: async () => key };

/** The `headers` field as read, or the refusal's details. */
const parse = (raw: unknown, previous?: Record<string, string>) => {
  try {
    return { value: parseBody(z.object({ headers: customHeaders(previous) }), { headers: raw }).headers, details: {} };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { value: undefined, details: error.details ?? {} };
  }
};

describe('customHeaders', () => {
  it('accepts up to 10 token names with printable values; null or {} is none', () => {
    const ten = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`X-Custom-${i}`, `v${i}`]));
    expect(parse(ten)).toEqual({ value: ten, details: {} });
    expect(parse({ Authorization: 'Bearer abc.def', "X-Weird!#$%&'*+.^_`|~": 'a b\tc' }).details).toEqual({});
    expect(parse(null)).toEqual({ value: null, details: {} });
    expect(parse({})).toEqual({ value: null, details: {} });
  });

  it('refuses more than 10 headers, non-objects, bad names, duplicates and bad values, each with its code', () => {
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`X-Custom-${i}`, 'v']));
    const cases: [unknown, string][] = [
      [eleven, 'too_many_headers'],
      [['Authorization', 'x'], 'value_is_invalid'],
      ['Authorization: x', 'value_is_invalid'],
      [{ 'Bad Name': 'x' }, 'header_name_is_invalid'],
      [{ 'Bad:Name': 'x' }, 'header_name_is_invalid'],
      [{ '': 'x' }, 'header_name_is_invalid'],
      [{ 'X-É': 'x' }, 'header_name_is_invalid'],
      [{ ['X'.repeat(257)]: 'x' }, 'header_name_is_invalid'],
      [{ 'X-Key': 'a', 'x-key': 'b' }, 'header_name_is_duplicated'],
      [{ 'X-Key': 'line\r\nInjected: yes' }, 'header_value_is_invalid'],
      [{ 'X-Key': 'a\nb' }, 'header_value_is_invalid'],
      [{ 'X-Key': 'a\u0000b' }, 'header_value_is_invalid'],
      [{ 'X-Key': 'café' }, 'header_value_is_invalid'],
      [{ 'X-Key': '' }, 'header_value_is_invalid'],
      [{ 'X-Key': 42 }, 'header_value_is_invalid'],
      [{ 'X-Key': null }, 'header_value_is_invalid'],
      [{ 'X-Key': MASKED_VALUE }, 'header_value_is_invalid'],
      [{ 'X-Key': 'x'.repeat(1025) }, 'header_value_is_too_long'],
    ];
    for (const [raw, code] of cases)
      expect(parse(raw), JSON.stringify(raw).slice(0, 80)).toEqual({ value: undefined, details: { headers: [code] } });
    expect(parse({ 'X-Key': 'x'.repeat(1024) }).details).toEqual({});
  });

  it('refuses the reserved names in any case: X-Lago-*, webhook-*, Content-*, Host, User-Agent, hop-by-hop, Proxy-*, Expect', () => {
    const reserved = [
      'X-Lago-Signature',
      'x-lago-anything',
      'webhook-id',
      'Webhook-Signature',
      'Content-Type',
      'content-length',
      'Host',
      'USER-AGENT',
      'Connection',
      'Keep-Alive',
      'Proxy-Authorization',
      'TE',
      'Trailer',
      'Transfer-Encoding',
      'Upgrade',
      'Expect',
    ];
    for (const name of reserved) {
      expect(isReservedHeader(name), name).toBe(true);
      expect(parse({ [name]: 'x' }), name).toEqual({
        value: undefined,
        details: { headers: ['header_name_is_reserved'] },
      });
    }
    for (const name of ['Authorization', 'X-Api-Key', 'X-Lagoon', 'Webhooks', 'Hostname', 'Accept'])
      expect(isReservedHeader(name), name).toBe(false);
  });

  it('keeps a stored value sent back masked, whatever the case of its name', () => {
    expect(parse({ authorization: MASKED_VALUE }, { Authorization: 'sealed' })).toEqual({
      value: { authorization: MASKED_VALUE },
      details: {},
    });
    expect(parse({ 'X-Other': MASKED_VALUE }, { Authorization: 'sealed' }).details).toEqual({
      headers: ['header_value_is_invalid'],
    });
  });
});

describe('sealing', () => {
  it('round-trips each value, never stores it in plain text, and seals it anew every time', () => {
    const sealed = sealCustomHeaders(key, EP, { Authorization: 'Bearer s3cret', 'X-Tenant': 'acme' }, null);
    expect(Object.keys(sealed)).toEqual(['Authorization', 'X-Tenant']);
    expect(JSON.stringify(sealed)).not.toContain('s3cret');
    expect(openCustomHeaders(key, EP, sealed)).toEqual({ Authorization: 'Bearer s3cret', 'X-Tenant': 'acme' });
    expect(sealHeaderValue(key, EP, 'Authorization', 'Bearer s3cret')).not.toBe(sealed.Authorization);
  });

  it('binds a value to its endpoint and name, and to the deployment key', () => {
    const sealed = sealHeaderValue(key, EP, 'Authorization', 'Bearer s3cret');
    expect(openHeaderValue(key, EP, 'authorization', sealed)).toBe('Bearer s3cret');
    expect(() => openHeaderValue(key, '0196d7a2-0000-7000-8000-0000000000e2', 'Authorization', sealed)).toThrow();
    expect(() => openHeaderValue(key, EP, 'X-Api-Key', sealed)).toThrow();
    expect(() =>
      openHeaderValue(customHeaderKey(generateSigningKey().privateKeyPem), EP, 'Authorization', sealed),
    ).toThrow();
  });

  it('derives a key of its own from the signing key, stable for that key', () => {
    expect(customHeaderKey(pem)).toEqual(key);
    expect(key).toHaveLength(32);
  });
});

describe('endpoints with custom headers', () => {
  it('stores them sealed, shows them masked, reveals them to the owner, and keeps a masked value on update', async () => {
    const store = new FakeStore();
    const endpoint = await createEndpoint(
      store,
      policy,
      ORG,
      { webhook_endpoint: { webhook_url: 'https://example.com/h', headers: { Authorization: 'Bearer s3cret' } } },
      NOW,
    );
    expect(JSON.stringify(store.endpoints.get(endpoint.id))).not.toContain('s3cret');
    expect(serializeEndpoint(endpoint).headers).toEqual({ Authorization: MASKED_VALUE });
    expect(await revealHeaders(policy, endpoint)).toEqual({ Authorization: 'Bearer s3cret' });

    const updated = await updateEndpoint(
      store,
      policy,
      ORG,
      endpoint.id,
      { webhook_endpoint: { headers: { Authorization: MASKED_VALUE, 'X-Tenant': 'acme' } } },
      NOW,
    );
    expect(await revealHeaders(policy, updated)).toEqual({ Authorization: 'Bearer s3cret', 'X-Tenant': 'acme' });
    const cleared = await updateEndpoint(store, policy, ORG, endpoint.id, { webhook_endpoint: { headers: null } }, NOW);
    expect(serializeEndpoint(cleared).headers).toEqual({});
  });

  it("answers a reserved name with a 422 in Lago's shape, and stores nothing", async () => {
    const store = new FakeStore();
    const error = await createEndpoint(
      store,
      policy,
      ORG,
      { webhook_endpoint: { webhook_url: 'https://example.com/h', headers: { 'X-Lago-Signature': 'forged' } } },
      NOW,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(lagoError(error as ApiError)).toEqual({
      status: 422,
      body: {
        status: 422,
        error: 'Unprocessable Entity',
        code: 'validation_errors',
        error_details: { headers: ['header_name_is_reserved'] },
      },
    });
    expect(store.endpoints.size).toBe(0);
  });
});
