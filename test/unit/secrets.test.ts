// Covers shared/domain/secrets.ts: the in-memory secret cache, the secret names, organization tokens and the deployment's signing key.
import { createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CachedSecrets,
  DEFAULT_SECRET_CACHE_MS,
  ensureSigningKey,
  hmacSecretName,
  signingKeySecretName,
} from '#shared/domain/secrets.ts';
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
  it('names secrets under the prefix', () => {
    expect(hmacSecretName('lwh/prod', 'org-1')).toBe('lwh/prod/organizations/org-1/hmac');
    expect(signingKeySecretName('lwh/prod')).toBe('lwh/prod/signing-key');
  });
});

describe('ensureSigningKey', () => {
  it('creates an RSA private key once and returns it afterwards', async () => {
    const store = new MemorySecrets();
    const first = await ensureSigningKey(store, 'p');
    const key = createPrivateKey(first);
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(store.values.get('p/signing-key')).toBe(first);

    expect(await ensureSigningKey(store, 'p')).toBe(first);
    expect(store.creates).toBe(1);
  });

  it('returns the existing key without creating one', async () => {
    const store = new MemorySecrets();
    store.values.set('p/signing-key', 'EXISTING PEM');
    expect(await ensureSigningKey(store, 'p')).toBe('EXISTING PEM');
    expect(store.creates).toBe(0);
  });

  it('settles concurrent first calls on one key', async () => {
    const store = new MemorySecrets();
    const [a, b] = await Promise.all([ensureSigningKey(store, 'p'), ensureSigningKey(store, 'p')]);
    expect(a).toBe(b);
    expect(store.values.get('p/signing-key')).toBe(a);
  });
});
