// Covers shared/domain/endpoints/headers.ts and the endpoint routes' use of it (shared/domain/endpoints/endpoints.ts): names, values and reserved names of custom headers (names as data: __proto__ and constructor are names like any), their sealing round trip bound to organization, endpoint and name, values sealed by earlier revisions, masking and reveal.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCipheriv, createPrivateKey, hkdfSync, randomBytes } from 'node:crypto';
import {
  customHeaders,
  isReservedHeader,
  MASKED_VALUE,
  openCustomHeaders,
  sealCustomHeaders,
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
import type { CustomHeader, WebhookEndpoint } from '#shared/domain/model.ts';
import { FakeStore } from './support/fake-store.ts';
import { testKeys } from './support/keys.ts';

const ORG = '0196d7a2-0000-7000-8000-00000000000a';
const EP = '0196d7a2-0000-7000-8000-0000000000e1';
const NOW = Date.UTC(2026, 10, 27, 12);
const { keys, signingKeyPem } = await testKeys();
const policy: EndpointPolicy = { allow: [], allowHttp: false, sealer: keys };
const owner = { id: EP, organization_id: ORG };
const pairs = (headers: Record<string, string>) => Object.entries(headers).map(([name, value]) => ({ name, value }));

/** The `headers` field as read, or the refusal's details. */
const parse = (raw: unknown, previous?: CustomHeader[]) => {
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
    expect(parse(ten)).toEqual({ value: pairs(ten), details: {} });
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

  it('refuses the reserved names in any case: X-Lago-*, webhook-*, Content-*, Host, User-Agent, hop-by-hop, Proxy-*, Expect, Accept-Encoding', () => {
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
      'Accept-Encoding',
      'Content-Encoding',
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
    const stored = [{ name: 'Authorization', sealed: 'sealed' }];
    expect(parse({ authorization: MASKED_VALUE }, stored)).toEqual({
      value: [{ name: 'authorization', value: MASKED_VALUE }],
      details: {},
    });
    expect(parse({ 'X-Other': MASKED_VALUE }, stored).details).toEqual({
      headers: ['header_value_is_invalid'],
    });
  });

  it('reads names as data: __proto__, constructor and prototype are header names like any, in their order', () => {
    const raw = JSON.parse('{"__proto__":"p","constructor":"c","prototype":"t","X-Last":"l"}') as unknown;
    expect(parse(raw)).toEqual({
      value: [
        { name: '__proto__', value: 'p' },
        { name: 'constructor', value: 'c' },
        { name: 'prototype', value: 't' },
        { name: 'X-Last', value: 'l' },
      ],
      details: {},
    });
  });
});

/** A value sealed as earlier revisions sealed it: under a key derived from the signing key, bound to endpoint and name. */
function sealedByEarlierRevision(endpointId: string, name: string, value: string): string {
  const material = createPrivateKey(signingKeyPem).export({ type: 'pkcs8', format: 'der' });
  const key = Buffer.from(hkdfSync('sha256', material, 'lago-webhooks', 'endpoint-custom-headers', 32));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(`${endpointId}\n${name.toLowerCase()}`));
  const sealed = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
}

const endpointWith = (headers: CustomHeader[], id = EP, organizationId = ORG) =>
  ({ id, organization_id: organizationId, headers }) as WebhookEndpoint;

describe('sealing', () => {
  it('round-trips each value, never stores it in plain text, and seals it anew every time', async () => {
    const sealed = await sealCustomHeaders(
      keys,
      owner,
      pairs({ Authorization: 'Bearer s3cret', 'X-Tenant': 'acme' }),
      null,
    );
    expect(sealed.map((h) => h.name)).toEqual(['Authorization', 'X-Tenant']);
    expect(JSON.stringify(sealed)).not.toContain('s3cret');
    expect(await openCustomHeaders(keys, endpointWith(sealed))).toEqual([
      ['Authorization', 'Bearer s3cret'],
      ['X-Tenant', 'acme'],
    ]);
    const again = await sealCustomHeaders(keys, owner, pairs({ Authorization: 'Bearer s3cret' }), null);
    expect(again[0]!.sealed).not.toBe(sealed[0]!.sealed);
  });

  it('binds a value to its organization, endpoint and name, and to the deployment key', async () => {
    const sealed = await sealCustomHeaders(keys, owner, pairs({ Authorization: 'Bearer s3cret' }), null);
    expect(await openCustomHeaders(keys, endpointWith([{ name: 'authorization', sealed: sealed[0]!.sealed }]))).toEqual(
      [['authorization', 'Bearer s3cret']],
    );
    await expect(
      openCustomHeaders(keys, endpointWith(sealed, '0196d7a2-0000-7000-8000-0000000000e2')),
    ).rejects.toThrow();
    await expect(
      openCustomHeaders(keys, endpointWith(sealed, EP, '0196d7a2-0000-7000-8000-00000000000b')),
    ).rejects.toThrow();
    await expect(
      openCustomHeaders(keys, endpointWith([{ name: 'X-Api-Key', sealed: sealed[0]!.sealed }])),
    ).rejects.toThrow();
    const other = await testKeys();
    await expect(openCustomHeaders(other.keys, endpointWith(sealed))).rejects.toThrow();
  });

  it('opens values sealed by an earlier revision, and seals them anew the current way when they are kept on an update', async () => {
    const legacy = [{ name: 'Authorization', sealed: sealedByEarlierRevision(EP, 'Authorization', 'Bearer old') }];
    expect(await openCustomHeaders(keys, endpointWith(legacy))).toEqual([['Authorization', 'Bearer old']]);
    const kept = await sealCustomHeaders(keys, owner, [{ name: 'Authorization', value: MASKED_VALUE }], legacy);
    expect(kept[0]!.sealed).toMatch(/^v1\./);
    expect(await openCustomHeaders(keys, endpointWith(kept))).toEqual([['Authorization', 'Bearer old']]);
    // Sealed the current way already: kept as it is.
    const again = await sealCustomHeaders(keys, owner, [{ name: 'authorization', value: MASKED_VALUE }], kept);
    expect(again[0]!.sealed).toBe(kept[0]!.sealed);
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
    expect(Object.fromEntries(await revealHeaders(policy, endpoint))).toEqual({ Authorization: 'Bearer s3cret' });

    const updated = await updateEndpoint(
      store,
      policy,
      ORG,
      endpoint.id,
      { webhook_endpoint: { headers: { Authorization: MASKED_VALUE, 'X-Tenant': 'acme' } } },
      NOW,
    );
    expect(Object.fromEntries(await revealHeaders(policy, updated))).toEqual({
      Authorization: 'Bearer s3cret',
      'X-Tenant': 'acme',
    });
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
