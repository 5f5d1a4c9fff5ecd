// Covers shared/domain/secrets.ts and shared/domain/keys/provisioning.ts's ensureKeys: the in-memory secret cache, the secret names, and the deployment's keys made on local mode's first start.
import { createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CachedSecrets,
  DEFAULT_SECRET_CACHE_MS,
  hmacRootSecretName,
  hmacSecretName,
  sealKeySecretName,
  signingKeySecretName,
  signingPublicKeysSecretName,
} from '#shared/domain/secrets.ts';
import { generateSigningKey } from '#shared/domain/delivery/signing.ts';
import { ensureKeys } from '#shared/domain/keys/provisioning.ts';
import { keyId, publicPem } from '#shared/domain/keys/signing-keys.ts';
import type { SecretStore } from '#shared/domain/ports.ts';
import { MemorySecrets } from './support/memory-secrets.ts';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('CachedSecrets', () => {
  it('reads the store once within the TTL and again after it', async () => {
    const store = new MemorySecrets();
    store.values.set('s', 'v1');
    const time = clock();
    const cache = new CachedSecrets(store, 1000, time.now);

    expect(await cache.get('s')).toBe('v1');
    store.values.set('s', 'v2');
    time.advance(999);
    expect(await cache.get('s')).toBe('v1');
    expect(store.gets).toBe(1);

    time.advance(1);
    expect(await cache.get('s')).toBe('v2');
    expect(store.gets).toBe(2);
  });

  it('shares one read between concurrent callers', async () => {
    const store = new MemorySecrets();
    store.values.set('s', 'v');
    const cache = new CachedSecrets(store, 1000, clock().now);
    expect(await Promise.all([cache.get('s'), cache.get('s'), cache.get('s')])).toEqual(['v', 'v', 'v']);
    expect(store.gets).toBe(1);
  });

  it('does not remember a missing secret', async () => {
    const store = new MemorySecrets();
    const cache = new CachedSecrets(store, 60_000, clock().now);
    expect(await cache.get('s')).toBeUndefined();
    store.values.set('s', 'created later');
    expect(await cache.get('s')).toBe('created later');
    expect(store.gets).toBe(2);
  });

  it('does not remember a failed read', async () => {
    let calls = 0;
    const store: SecretStore = {
      get: async () => {
        calls++;
        if (calls === 1) throw new Error('throttled');
        return 'v';
      },
      create: async (_name, value) => value,
      delete: async () => undefined,
    };
    const cache = new CachedSecrets(store, 60_000, clock().now);
    await expect(cache.get('s')).rejects.toThrow('throttled');
    expect(await cache.get('s')).toBe('v');
    expect(calls).toBe(2);
  });

  it('keeps secrets apart by name and defaults to a five-minute TTL', async () => {
    const store = new MemorySecrets();
    store.values.set('a', '1');
    store.values.set('b', '2');
    const time = clock();
    const cache = new CachedSecrets(store, undefined, time.now);
    expect([await cache.get('a'), await cache.get('b')]).toEqual(['1', '2']);
    time.advance(DEFAULT_SECRET_CACHE_MS - 1);
    await cache.get('a');
    expect(store.gets).toBe(2);
    time.advance(1);
    await cache.get('a');
    expect(store.gets).toBe(3);
    expect(DEFAULT_SECRET_CACHE_MS).toBe(300_000);
  });
});

describe('secret names', () => {
  it('names secrets under the prefix, one per key ring', () => {
    expect(hmacSecretName('lwh/prod', 'org-1')).toBe('lwh/prod/organizations/org-1/hmac');
    expect(signingKeySecretName('lwh/prod')).toBe('lwh/prod/signing-key');
    expect(signingPublicKeysSecretName('lwh/prod')).toBe('lwh/prod/keys/signing-public');
    expect(hmacRootSecretName('lwh/prod')).toBe('lwh/prod/keys/hmac-root');
    expect(sealKeySecretName('lwh/prod')).toBe('lwh/prod/keys/seal');
  });
});

describe('CachedSecrets.getFresh', () => {
  it('reads the store now, keeps what it read for later gets, and shares one read between concurrent callers', async () => {
    const store = new MemorySecrets();
    store.values.set('s', 'v1');
    const cache = new CachedSecrets(store, 60_000, clock().now);
    expect(await cache.get('s')).toBe('v1');
    store.values.set('s', 'v2');
    expect(await cache.get('s')).toBe('v1');
    expect(await Promise.all([cache.getFresh('s'), cache.getFresh('s')])).toEqual(['v2', 'v2']);
    expect(store.gets).toBe(2);
    expect(await cache.get('s')).toBe('v2');
    expect(store.gets).toBe(2);
  });
});

describe('ensureKeys', () => {
  it('creates an RSA private key and the rings made from it once, and keeps them afterwards', async () => {
    const store = new MemorySecrets();
    await ensureKeys(store, 'p');
    const first = store.values.get('p/signing-key')!;
    const key = createPrivateKey(first);
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect([...store.values.keys()].sort()).toEqual([
      'p/keys/hmac-root',
      'p/keys/seal',
      'p/keys/signing-public',
      'p/signing-key',
    ]);
    const rings = new Map(store.values);

    await ensureKeys(store, 'p');
    expect(store.creates).toBe(4);
    expect(new Map(store.values)).toEqual(rings);
  });

  it('keeps an existing key without creating one, and makes the rings an upgrade adds from it', async () => {
    const store = new MemorySecrets();
    const existing = generateSigningKey().privateKeyPem;
    store.values.set('p/signing-key', existing);
    await ensureKeys(store, 'p');
    expect(store.values.get('p/signing-key')).toBe(existing);
    expect(store.creates).toBe(3);
    expect(JSON.parse(store.values.get('p/keys/signing-public')!)).toEqual({
      keys: [{ version: keyId(existing), key: publicPem(existing) }],
    });
  });

  it('settles concurrent first calls on one key', async () => {
    const store = new MemorySecrets();
    await Promise.all([ensureKeys(store, 'p'), ensureKeys(store, 'p')]);
    const pem = store.values.get('p/signing-key')!;
    expect(JSON.parse(store.values.get('p/keys/signing-public')!).keys[0].version).toBe(keyId(pem));
  });
});
