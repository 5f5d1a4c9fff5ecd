// Covers shared/domain/organizations/organizations.ts: the organization's name, API key generation and hashing, and bearer authentication against the stored hashes.
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '#shared/domain/errors.ts';
import type { Organization } from '#shared/domain/model.ts';
import { authenticate, createOrganization, hashApiKey, newApiKey } from '#shared/domain/organizations/organizations.ts';
import { lagoError } from '#shared/runtime/http.ts';
import { FakeStore } from './support/fake-store.ts';

const ORG = '0196d7a2-0000-7000-8000-00000000000a';

describe('createOrganization', () => {
  const created: Organization[] = [];
  const store = { createOrganization: async (organization: Organization) => void created.push(organization) };
  const refusal = async (body: unknown) => {
    const error = await createOrganization(store, body, 0, root).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, JSON.stringify(body)).toBeInstanceOf(ApiError);
    return lagoError(error as ApiError);
  };

  const root = async () => 'v7';

  it('gives it a token version 1 under the current HMAC root', async () => {
    const rooted: Organization[] = [];
    await createOrganization({ createOrganization: async (o) => void rooted.push(o) }, { name: 'Rooted' }, 0, root);
    expect(rooted.map((o) => o.token)).toEqual([{ token_version: 1, token_root: 'v7' }]);
  });

  it('keeps the name trimmed', async () => {
    expect((await createOrganization(store, { name: '  Acme  ', extra: 1 }, 0, root)).organization.name).toBe('Acme');
    expect(created.map((o) => o.name)).toEqual(['Acme']);
  });

  it('requires a name (value_is_mandatory) that is short text without control characters (value_is_invalid)', async () => {
    const cases: [unknown, string][] = [
      [{}, 'value_is_mandatory'],
      [{ name: null }, 'value_is_mandatory'],
      [{ name: '' }, 'value_is_mandatory'],
      [{ name: ' '.repeat(300) }, 'value_is_mandatory'],
      [{ name: 'x'.repeat(256) }, 'value_is_invalid'],
      [{ name: 'a\r\nb' }, 'value_is_invalid'],
      [{ name: 'nul\u0000' }, 'value_is_invalid'],
      [{ name: 42 }, 'value_is_invalid'],
      [{ name: ['a'] }, 'value_is_invalid'],
    ];
    for (const [body, code] of cases)
      expect((await refusal(body)).body.error_details, JSON.stringify(body)).toEqual({ name: [code] });
    expect(await refusal([])).toEqual({
      status: 400,
      body: { status: 400, error: 'BadRequest: body must be a JSON object' },
    });
    expect(created).toHaveLength(1);
  });
});

describe('hashApiKey', () => {
  it('is the SHA-256 of the key, in hex', () => {
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const key = newApiKey();
    expect(hashApiKey(key)).toBe(createHash('sha256').update(key).digest('hex'));
  });
});

describe('newApiKey', () => {
  it('starts with lwh_ and carries 256 random bits', () => {
    const keys = Array.from({ length: 500 }, newApiKey);
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of keys) {
      expect(key).toMatch(/^lwh_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(key.slice(4), 'base64url')).toHaveLength(32);
    }
  });

  it('spreads its characters evenly (no fixed or biased positions)', () => {
    const keys = Array.from({ length: 500 }, newApiKey);
    for (let position = 4; position < 46; position++) {
      const distinct = new Set(keys.map((k) => k[position])).size;
      expect(distinct, `position ${position}`).toBeGreaterThan(40);
    }
  });
});

describe('authenticate', () => {
  let store: FakeStore;
  let key: string;
  beforeEach(() => {
    store = new FakeStore();
    key = newApiKey();
    store.keyHashes.set(hashApiKey(key), ORG);
  });

  const rejection = async (authorization: string | undefined) => {
    const error = await authenticate(store, authorization).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, String(authorization)).toBeInstanceOf(ApiError);
    expect((error as ApiError).kind).toBe('unauthorized');
  };

  it('returns the organization of a known key, looked up by its hash', async () => {
    expect(await authenticate(store, `Bearer ${key}`)).toBe(ORG);
    expect(await authenticate(store, `bearer   ${key} `)).toBe(ORG);
    expect(store.lookedUpHashes).toEqual([hashApiKey(key), hashApiKey(key)]);
  });

  it('rejects a missing or malformed header without touching the store', async () => {
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      key,
      `Basic ${key}`,
      `Token ${key}`,
      `Bearer ${key} extra`,
      'Bearer sk_live_abc',
      `Bearer ${key.slice(4)}`,
      `Bearer\u00a0${key}`,
      `Bearer\t${key}`,
      `Bearer ${key}\u0000`,
      `Bearer \u3000${key}`,
      `Bearer\u2003${key}`,
      `Bearer ${key}\n`,
      `Bearer ${key}, Bearer ${key}`,
    ]) {
      await rejection(header);
    }
    expect(store.lookedUpHashes).toEqual([]);
  });

  it('rejects a well-formed key nobody holds', async () => {
    await rejection(`Bearer ${newApiKey()}`);
    await rejection(`Bearer ${key}x`);
    expect(store.lookedUpHashes).toHaveLength(2);
  });
});
