// Covers shared/domain/keys/: versioned keyrings (the current version, activation times, retirement), sealing bound to what a blob belongs to with its key version in the blob, the signing keys' kids and published forms, what each process reads (the api's routes never the private signing key; a version met before this process saw it is read at once), and the operator's rotation of each ring.
import { createPublicKey, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import { generateSigningKey, lagoPublicKey } from '#shared/domain/delivery/signing.ts';
import { DeploymentKeys } from '#shared/domain/keys/deployment-keys.ts';
import {
  addVersion,
  currentVersion,
  KeyRetiredError,
  nextVersionName,
  parseKeyring,
  retireVersion,
  serializeKeyring,
  type Keyring,
} from '#shared/domain/keys/keyring.ts';
import { describeKeyrings, retireKeyVersion, rotateKeyring } from '#shared/domain/keys/rotation.ts';
import { open, seal, sealedVersion, type SealBinding } from '#shared/domain/keys/sealing.ts';
import { keyId, parseSigningKeyring, publicPem, publishedKeys } from '#shared/domain/keys/signing-keys.ts';
import { CachedSecrets, signingKeySecretName, signingPublicKeysSecretName } from '#shared/domain/secrets.ts';
import { KEYS_PREFIX, testKeys } from './support/keys.ts';
import { MemorySecrets } from './support/memory-secrets.ts';

const ORG = '0196d7a2-0000-7000-8000-00000000000a';
const OTHER = '0196d7a2-0000-7000-8000-00000000000b';
const EP = '0196d7a2-0000-7000-8000-0000000000e1';
const T0 = Date.UTC(2026, 10, 28, 12);

describe('keyrings', () => {
  const ring: Keyring = {
    versions: [
      { version: 'v1', key: 'a' },
      { version: 'v2', key: 'b' },
      { version: 'v3', key: 'c', activates_at_ms: T0 + 60_000 },
    ],
  };

  it('use the newest version whose activation has come, and round-trip with activation times in ISO', () => {
    expect(currentVersion(ring, T0).version).toBe('v2');
    expect(currentVersion(ring, T0 + 60_000).version).toBe('v3');
    expect(serializeKeyring(ring)).toBe(
      '{"keys":[{"version":"v1","key":"a"},{"version":"v2","key":"b"},{"version":"v3","key":"c","activates_at":"2026-11-28T12:01:00.000Z"}]}',
    );
    expect(parseKeyring(serializeKeyring(ring))).toEqual(ring);
  });

  it('name the next version after the highest, refuse a version twice or a name with a dot, and never retire the current one', () => {
    expect(nextVersionName(ring)).toBe('v4');
    expect(nextVersionName({ versions: [{ version: 'legacy-tokens', key: 'x' }] })).toBe('v1');
    expect(() => addVersion(ring, { version: 'v2', key: 'z' })).toThrow('already in the ring');
    expect(() => addVersion(ring, { version: 'v.4', key: 'z' })).toThrow('not a key version name');
    expect(() => retireVersion(ring, 'v2', T0)).toThrow('v2 is the current one');
    expect(retireVersion(ring, 'v1', T0).versions.map((v) => v.version)).toEqual(['v2', 'v3']);
    // A key waiting to activate may be withdrawn.
    expect(retireVersion(ring, 'v3', T0).versions.map((v) => v.version)).toEqual(['v1', 'v2']);
    expect(() => retireVersion(ring, 'v9', T0)).toThrow('not in the ring');
  });

  it('refuse a stored ring that is not one', () => {
    for (const text of ['{}', '{"keys":[]}', '{"keys":[{"version":"v1"}]}', '{"keys":[{"version":"a.b","key":"k"}]}'])
      expect(() => parseKeyring(text), text).toThrow();
  });
});

describe('sealing', () => {
  const key = randomBytes(32);
  const token: SealBinding = { kind: 'organization-token', organizationId: ORG };
  const header: SealBinding = { kind: 'custom-header', organizationId: ORG, endpointId: EP, name: 'Authorization' };

  it('names the key version in the blob and opens only for what the blob was sealed for', () => {
    const sealed = seal('v7', key, token, 'tok_secret');
    expect(sealed).toMatch(/^v7\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('tok_secret');
    expect(sealedVersion(sealed, token)).toBe('v7');
    expect(open(key, token, sealed)).toBe('tok_secret');
    expect(() => open(key, { kind: 'organization-token', organizationId: OTHER }, sealed)).toThrow();
    expect(() => open(key, { ...header }, sealed)).toThrow();
    expect(() => open(randomBytes(32), token, sealed)).toThrow();
  });

  it('binds a header value to its organization, endpoint and name (in any case)', () => {
    const sealed = seal('v1', key, header, 'Bearer x');
    expect(open(key, { ...header, name: 'AUTHORIZATION' }, sealed)).toBe('Bearer x');
    for (const moved of [
      { ...header, organizationId: OTHER },
      { ...header, endpointId: OTHER },
      { ...header, name: 'X-Api-Key' },
    ])
      expect(() => open(key, moved, sealed)).toThrow();
  });

  it('reads a blob without a version as one of the legacy versions of its purpose', () => {
    expect(sealedVersion('AbC_-123', token)).toBe('legacy-tokens');
    expect(sealedVersion('AbC_-123', header)).toBe('legacy-headers');
  });
});

describe('signing keys', () => {
  const { privateKeyPem, publicKeyPem } = generateSigningKey();

  it("are named by their RFC 7638 thumbprint, jose's", async () => {
    expect(keyId(privateKeyPem)).toBe(await calculateJwkThumbprint({ kty: 'RSA', ...jwkOf(publicKeyPem) }));
    expect(keyId(publicKeyPem)).toBe(keyId(privateKeyPem));
  });

  it('read the bare PEM earlier revisions stored as a ring of that key alone', () => {
    expect(parseSigningKeyring(privateKeyPem)).toEqual({
      versions: [{ version: keyId(privateKeyPem), key: privateKeyPem }],
    });
  });

  it("are published as Lago's public key exactly as before, and as JWKs with kid, alg and use", () => {
    const ring = { versions: [{ version: keyId(privateKeyPem), key: publicPem(privateKeyPem) }] };
    const { current, all } = publishedKeys(ring, T0);
    expect(lagoPublicKey(current.pem)).toBe(lagoPublicKey(privateKeyPem));
    expect(current.pem).toBe(publicKeyPem);
    expect(all.map((k) => k.jwk)).toEqual([
      { kty: 'RSA', ...jwkOf(publicKeyPem), kid: keyId(privateKeyPem), alg: 'RS256', use: 'sig' },
    ]);
  });
});

function jwkOf(pem: string): { n: string; e: string } {
  const { n, e } = createPublicKey(pem).export({ format: 'jwk' });
  if (!n || !e) throw new Error('not an RSA key');
  return { n, e };
}

describe('DeploymentKeys', () => {
  it("serves the api's public keys without ever reading the private signing key", async () => {
    const store = new MemorySecrets();
    await testKeys(() => T0, store);
    const read: string[] = [];
    const guarded = {
      get: async (name: string) => {
        read.push(name);
        if (name === signingKeySecretName(KEYS_PREFIX)) throw new Error('AccessDenied: the private signing key');
        return store.get(name);
      },
      create: store.create.bind(store),
      delete: store.delete.bind(store),
    };
    const keys = new DeploymentKeys({ secrets: new CachedSecrets(guarded), prefix: KEYS_PREFIX, now: () => T0 });
    const published = await keys.publicKeys();
    expect(published.all).toHaveLength(1);
    const binding = { kind: 'organization-token', organizationId: ORG } as const;
    expect(await keys.open(binding, await keys.seal(binding, 'tok'))).toBe('tok');
    await keys.hmacRoot(await keys.currentHmacRoot());
    expect(read).not.toContain(signingKeySecretName(KEYS_PREFIX));
  });

  it('reads a ring again at once when it meets a version it has not seen (rotated by another process), and trusts a miss for a second', async () => {
    let now = T0;
    const { secretStore, keys } = await testKeys(() => now);
    const theirs = await testKeys(() => now, secretStore);
    const binding = { kind: 'organization-token', organizationId: ORG } as const;
    const old = await keys.seal(binding, 'before');
    expect(await keys.open(binding, old)).toBe('before');

    await rotateKeyring(secretStore, KEYS_PREFIX, 'seal', { nowMs: now });
    // Another process made a blob under the new version before this one's copy expired.
    const gets = secretStore.gets;
    const fresh = await theirs.keys.seal(binding, 'after');
    expect(fresh).toMatch(/^v2\./);
    expect(await keys.open(binding, fresh)).toBe('after');
    expect(secretStore.gets).toBeGreaterThan(gets);

    // A retirement reaches this process when its copy expires (the key cache's TTL: a minute here).
    await retireKeyVersion(secretStore, KEYS_PREFIX, 'seal', 'v1', now);
    now += 60_000;
    const first = await keys.open(binding, old).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(KeyRetiredError);
    expect((first as Error).message).toBe("the seal key version v1 of this organization's token was retired");
    const reads = secretStore.gets;
    await expect(keys.open(binding, old)).rejects.toBeInstanceOf(KeyRetiredError);
    expect(secretStore.gets).toBe(reads);
    now += 1000;
    await expect(keys.open(binding, old)).rejects.toBeInstanceOf(KeyRetiredError);
    expect(secretStore.gets).toBe(reads + 1);
  });

  it('signs with the key whose activation has come, and publishes a new one before it signs', async () => {
    let now = T0;
    const { secretStore, keys } = await testKeys(() => now);
    const before = await keys.signingKey();
    const { version, activatesAtMs } = await rotateKeyring(secretStore, KEYS_PREFIX, 'signing', {
      nowMs: now,
      activateInMs: 600_000,
    });
    expect(activatesAtMs).toBe(T0 + 600_000);
    // A fresh process: the new key is published at once, and signs only from its activation.
    const fresh = new DeploymentKeys({ secrets: new CachedSecrets(secretStore), prefix: KEYS_PREFIX, now: () => now });
    expect((await fresh.publicKeys()).all.map((k) => k.kid)).toEqual([before.kid, version]);
    expect((await fresh.publicKeys()).current.kid).toBe(before.kid);
    expect((await fresh.signingKey()).kid).toBe(before.kid);
    now = activatesAtMs;
    expect((await fresh.signingKey()).kid).toBe(version);
    expect((await fresh.publicKeys()).current.kid).toBe(version);
  });
});

describe('rotation', () => {
  it('adds a new current HMAC root or seal key, keeping every version', async () => {
    const { secretStore } = await testKeys(() => T0);
    expect(await rotateKeyring(secretStore, KEYS_PREFIX, 'hmac-root', { nowMs: T0 })).toEqual({
      version: 'v2',
      activatesAtMs: T0,
    });
    expect(await rotateKeyring(secretStore, KEYS_PREFIX, 'seal', { nowMs: T0 })).toEqual({
      version: 'v2',
      activatesAtMs: T0,
    });
    expect(await describeKeyrings(secretStore, KEYS_PREFIX, T0)).toEqual([
      { kind: 'signing', current: expect.any(String), versions: [{ version: expect.any(String) }] },
      { kind: 'hmac-root', current: 'v2', versions: [{ version: 'v0' }, { version: 'v1' }, { version: 'v2' }] },
      {
        kind: 'seal',
        current: 'v2',
        versions: [{ version: 'legacy-tokens' }, { version: 'legacy-headers' }, { version: 'v1' }, { version: 'v2' }],
      },
    ]);
  });

  it('keeps in the private signing ring only what may still sign, and retires a signing key from both rings', async () => {
    let now = T0;
    const { secretStore, signingKeyPem } = await testKeys(() => now);
    const first = keyId(signingKeyPem);
    const second = await rotateKeyring(secretStore, KEYS_PREFIX, 'signing', { nowMs: now, activateInMs: 0 });
    now += 1000;
    const third = await rotateKeyring(secretStore, KEYS_PREFIX, 'signing', { nowMs: now, activateInMs: 60_000 });
    const privateRing = parseSigningKeyring(secretStore.values.get(signingKeySecretName(KEYS_PREFIX))!);
    expect(privateRing.versions.map((v) => v.version)).toEqual([second.version, third.version]);
    const publicRing = parseKeyring(secretStore.values.get(signingPublicKeysSecretName(KEYS_PREFIX))!);
    expect(publicRing.versions.map((v) => v.version)).toEqual([first, second.version, third.version]);
    expect(JSON.stringify(publicRing)).not.toContain('PRIVATE KEY');

    await expect(retireKeyVersion(secretStore, KEYS_PREFIX, 'signing', second.version, now)).rejects.toThrow(
      'is the current one',
    );
    await retireKeyVersion(secretStore, KEYS_PREFIX, 'signing', first, now);
    expect(
      parseKeyring(secretStore.values.get(signingPublicKeysSecretName(KEYS_PREFIX))!).versions.map((v) => v.version),
    ).toEqual([second.version, third.version]);
  });

  it('says to deploy or start first when a ring does not exist', async () => {
    await expect(rotateKeyring(new MemorySecrets(), KEYS_PREFIX, 'seal', { nowMs: T0 })).rejects.toThrow(
      'deploy (or start) the service first',
    );
  });
});
