// Covers shared/domain/organizations/tokens.ts and the rotation's body: organization HMAC tokens derived from the deployment's key and a version, sealed tokens, and the move of an older organization's own secret into its record with the token unchanged.
import { describe, expect, it } from 'vitest';
import {
  deriveToken,
  openToken,
  OrganizationTokens,
  sealToken,
  TOKEN_CACHE_MS,
  tokenKeys,
} from '#shared/domain/organizations/tokens.ts';
import { RotateRequest } from '#shared/domain/organizations/schemas.ts';
import { ApiError } from '#shared/domain/errors.ts';
import { parseBody } from '#shared/domain/validation.ts';
import { CachedSecrets, hmacSecretName, signingKeySecretName } from '#shared/domain/secrets.ts';
import { generateSigningKey } from '#shared/domain/delivery/signing.ts';
import { FakeOrganizationStore } from './support/fake-store.ts';
import { MemorySecrets } from './support/memory-secrets.ts';

const ORG = '0196d7a2-0000-7000-8000-00000000000a';
const OTHER = '0196d7a2-0000-7000-8000-00000000000b';
const silent = { info() {}, warn() {}, error() {}, debug() {} };
const pem = generateSigningKey().privateKeyPem;

class OrganizationsStore extends FakeOrganizationStore {
  reads = 0;
  override getOrganization = async (id: string) => {
    this.reads++;
    const found = this.organizations.get(id);
    return found && structuredClone(found);
  };
  override sealOrganizationToken = async (id: string, sealed: string) => {
    const found = this.organizations.get(id);
    if (!found || found.sealed_token !== undefined || found.token_version !== undefined) return false;
    found.sealed_token = sealed;
    return true;
  };
}

function setup() {
  const store = new OrganizationsStore();
  const secretStore = new MemorySecrets();
  secretStore.values.set(signingKeySecretName('p'), pem);
  let now = 1_000_000;
  const tokens = new OrganizationTokens({
    store,
    secrets: new CachedSecrets(secretStore),
    secretStore,
    secretsPrefix: 'p',
    logger: silent,
    now: () => now,
  });
  return { store, secretStore, tokens, advance: (ms: number) => void (now += ms) };
}

describe('the rotation body', () => {
  const refusal = (body: unknown) => {
    try {
      parseBody(RotateRequest, body);
    } catch (error) {
      if (error instanceof ApiError) return { kind: error.kind, details: error.details };
    }
    return undefined;
  };

  it('takes an overlap of 0 to 7 days in whole seconds, or none (the default)', () => {
    expect(parseBody(RotateRequest, {}).overlap_seconds).toBeUndefined();
    expect(parseBody(RotateRequest, { overlap_seconds: null }).overlap_seconds).toBeUndefined();
    expect(parseBody(RotateRequest, { overlap_seconds: 0 }).overlap_seconds).toBe(0);
    expect(parseBody(RotateRequest, { overlap_seconds: 604_800 }).overlap_seconds).toBe(604_800);
    for (const overlap of [-1, 604_801, 1.5, '60', true])
      expect(refusal({ overlap_seconds: overlap }), String(overlap)).toEqual({
        kind: 'validation',
        details: { overlap_seconds: ['value_is_invalid'] },
      });
    expect(refusal([])).toEqual({ kind: 'bad_request', details: undefined });
  });
});

describe('derived tokens', () => {
  it('are 256 bits, URL-safe, different per organization and per version, and stable for a key', () => {
    const { derive } = tokenKeys(pem);
    const a1 = deriveToken(derive, ORG, 1);
    expect(a1).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(deriveToken(tokenKeys(pem).derive, ORG, 1)).toBe(a1);
    expect(new Set([a1, deriveToken(derive, ORG, 2), deriveToken(derive, OTHER, 1)]).size).toBe(3);
    expect(deriveToken(tokenKeys(generateSigningKey().privateKeyPem).derive, ORG, 1)).not.toBe(a1);
  });

  it('seal and open, and a tampered seal does not open', () => {
    const { seal } = tokenKeys(pem);
    const sealed = sealToken(seal, 'tok_legacy');
    expect(openToken(seal, sealed)).toBe('tok_legacy');
    expect(sealed).not.toContain('tok_legacy');
    const tampered = Buffer.from(sealed, 'base64url');
    tampered[tampered.length - 1]! ^= 1;
    expect(() => openToken(seal, tampered.toString('base64url'))).toThrow();
  });
});

describe('OrganizationTokens', () => {
  it("derives a new organization's token from its version, with no secret of its own, and caches it", async () => {
    const { store, secretStore, tokens, advance } = setup();
    store.organizations.set(ORG, { id: ORG, name: 'Acme', created_at_ms: 0, token_version: 1 });
    const token = (await tokens.get(ORG))?.current;
    expect(token).toBe(deriveToken(tokenKeys(pem).derive, ORG, 1));
    expect((await tokens.get(ORG))?.current).toBe(token);
    expect(store.reads).toBe(1);
    // The signing key is read once; nothing per organization.
    expect(secretStore.gets).toBe(1);
    advance(TOKEN_CACHE_MS);
    expect((await tokens.get(ORG))?.current).toBe(token);
    expect(store.reads).toBe(2);
    expect(await tokens.get(OTHER)).toBeUndefined();
  });

  it("moves an older organization's own secret into its record once, keeping the token, and deletes the secret", async () => {
    const { store, secretStore, tokens, advance } = setup();
    store.organizations.set(ORG, { id: ORG, name: 'Before', created_at_ms: 0 });
    secretStore.values.set(hmacSecretName('p', ORG), 'tok_random_from_before');

    expect((await tokens.get(ORG))?.current).toBe('tok_random_from_before');
    expect(store.organizations.get(ORG)!.sealed_token).toEqual(expect.any(String));
    expect(secretStore.values.has(hmacSecretName('p', ORG))).toBe(false);
    expect(secretStore.deletes).toBe(1);

    // Later reads, in this process or another, open the sealed copy: same token, no secret.
    advance(TOKEN_CACHE_MS);
    expect((await tokens.get(ORG))?.current).toBe('tok_random_from_before');
    const theirs = new MemorySecrets();
    theirs.values.set(signingKeySecretName('p'), pem);
    const shared = new OrganizationTokens({
      store,
      secrets: new CachedSecrets(theirs),
      secretStore: theirs,
      secretsPrefix: 'p',
      logger: silent,
      now: Date.now,
    });
    expect((await shared.get(ORG))?.current).toBe('tok_random_from_before');
    expect(theirs.deletes).toBe(0);
  });
});
