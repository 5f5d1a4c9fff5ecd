// Covers shared/domain/organizations/tokens.ts and the rotation's body: organization HMAC tokens derived from an HMAC root version and a token version, the tokens earlier revisions derived or sealed (unchanged), the move of an older organization's own secret into its record with the token unchanged, rotations that keep every previous token through its own overlap (up to 5), concurrent rotations as 409s, and rotations of the HMAC root.
import { createCipheriv, createHmac, createPrivateKey, hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  deriveToken,
  MAX_PREVIOUS_TOKENS,
  OrganizationTokens,
  TOKEN_CACHE_MS,
} from '#shared/domain/organizations/tokens.ts';
import { RotateRequest } from '#shared/domain/organizations/schemas.ts';
import { ApiError } from '#shared/domain/errors.ts';
import { SealBrokenError } from '#shared/domain/keys/deployment-keys.ts';
import { KeyRetiredError } from '#shared/domain/keys/keyring.ts';
import { retireKeyVersion, rotateKeyring } from '#shared/domain/keys/rotation.ts';
import { parseBody } from '#shared/domain/validation.ts';
import { hmacSecretName } from '#shared/domain/secrets.ts';
import { lagoError, toLagoError } from '#shared/runtime/http.ts';
import { FakeOrganizationStore } from './support/fake-store.ts';
import { KEYS_PREFIX, testKeys } from './support/keys.ts';
import { MemorySecrets } from './support/memory-secrets.ts';

const ORG = '0196d7a2-0000-7000-8000-00000000000a';
const OTHER = '0196d7a2-0000-7000-8000-00000000000b';
const silent = { info() {}, warn() {}, error() {}, debug() {} };

class OrganizationsStore extends FakeOrganizationStore {
  reads = 0;
  override getOrganization = async (id: string) => {
    this.reads++;
    const found = this.organizations.get(id);
    return found && structuredClone(found);
  };
}

/** What earlier revisions derived from the signing key, as they did it. */
const earlierKey = (pem: string, info: string) =>
  Buffer.from(
    hkdfSync('sha256', createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' }), 'lago-webhooks', info, 32),
  );

/** A token sealed as earlier revisions sealed it: AES-256-GCM, no associated data, no version. */
function sealedByEarlierRevision(pem: string, token: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', earlierKey(pem, 'sealed-organization-hmac-tokens'), iv);
  const sealed = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
}

async function setup() {
  const store = new OrganizationsStore();
  let now = 1_000_000_000;
  const clock = () => now;
  const { secretStore, keys, signingKeyPem } = await testKeys(clock);
  const tokens = new OrganizationTokens({
    store,
    keys,
    secretStore,
    secretsPrefix: KEYS_PREFIX,
    logger: silent,
    now: clock,
  });
  return { store, secretStore, keys, tokens, signingKeyPem, advance: (ms: number) => void (now += ms), clock };
}

/** The ApiError a call threw, as Lago's shape and the Retry-After header. */
async function refusal(call: Promise<unknown>) {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return { ...lagoError(error), retryAfter: toLagoError(error).headers?.['retry-after'] };
}

describe('the rotation body', () => {
  const refused = (body: unknown) => {
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
      expect(refused({ overlap_seconds: overlap }), String(overlap)).toEqual({
        kind: 'validation',
        details: { overlap_seconds: ['value_is_invalid'] },
      });
    expect(refused([])).toEqual({ kind: 'bad_request', details: undefined });
  });
});

describe('derived tokens', () => {
  it('are 256 bits, URL-safe, different per organization, per version and per root, and stable for a root', () => {
    const root = randomBytes(32);
    const a1 = deriveToken(root, ORG, 1);
    expect(a1).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(deriveToken(Buffer.from(root), ORG, 1)).toBe(a1);
    expect(new Set([a1, deriveToken(root, ORG, 2), deriveToken(root, OTHER, 1)]).size).toBe(3);
    expect(deriveToken(randomBytes(32), ORG, 1)).not.toBe(a1);
  });
});

describe('OrganizationTokens', () => {
  it("derives a new organization's token from its root and version, with no secret of its own, and caches it", async () => {
    const { store, secretStore, keys, tokens, advance } = await setup();
    store.organizations.set(ORG, {
      id: ORG,
      name: 'Acme',
      created_at_ms: 0,
      token: { token_version: 1, token_root: 'v1' },
    });
    const token = (await tokens.get(ORG))?.current;
    expect(token).toBe(deriveToken(await keys.hmacRoot('v1'), ORG, 1));
    const gets = secretStore.gets;
    expect((await tokens.get(ORG))?.current).toBe(token);
    expect(store.reads).toBe(1);
    // The root ring is kept; nothing is read per organization.
    expect(secretStore.gets).toBe(gets);
    advance(TOKEN_CACHE_MS);
    expect((await tokens.get(ORG))?.current).toBe(token);
    expect(store.reads).toBe(2);
    expect(await tokens.get(OTHER)).toBeUndefined();
  });

  it('keeps the token of an organization from an earlier revision: derived from the signing key, as it was', async () => {
    const { store, tokens, signingKeyPem } = await setup();
    // Stored before HMAC roots: a token version and no root.
    store.organizations.set(ORG, { id: ORG, name: 'Before', created_at_ms: 0, token: { token_version: 3 } });
    const before = createHmac('sha256', earlierKey(signingKeyPem, 'organization-hmac-tokens'))
      .update(`${ORG}:3`)
      .digest('base64url');
    expect((await tokens.get(ORG))?.current).toBe(before);
  });

  it('opens a token sealed by an earlier revision, and seals it anew, bound to the organization, when it rotates', async () => {
    const { store, keys, tokens, signingKeyPem } = await setup();
    const legacy = 'tok_random_from_before';
    store.organizations.set(ORG, {
      id: ORG,
      name: 'Before',
      created_at_ms: 0,
      token: { sealed_token: sealedByEarlierRevision(signingKeyPem, legacy) },
    });
    expect((await tokens.get(ORG))?.current).toBe(legacy);

    const rotated = await tokens.rotate(ORG, 3600);
    expect(rotated?.previous.map((p) => p.token)).toEqual([legacy]);
    const [previous] = store.organizations.get(ORG)!.previous_tokens!;
    const sealed = (previous as { sealed_token: string }).sealed_token;
    expect(sealed).toMatch(/^v1\./);
    // Bound: the same blob does not open as another organization's.
    await expect(keys.open({ kind: 'organization-token', organizationId: OTHER }, sealed)).rejects.toThrow();
    expect(await keys.open({ kind: 'organization-token', organizationId: ORG }, sealed)).toBe(legacy);
  });

  it("moves an older organization's own secret into its record once, sealed and bound to it, keeping the token, and deletes the secret", async () => {
    const { store, secretStore, keys, tokens, advance, clock } = await setup();
    store.organizations.set(ORG, { id: ORG, name: 'Before', created_at_ms: 0 });
    secretStore.values.set(hmacSecretName(KEYS_PREFIX, ORG), 'tok_random_from_before');

    expect((await tokens.get(ORG))?.current).toBe('tok_random_from_before');
    const token = store.organizations.get(ORG)!.token;
    expect(token).toEqual({ sealed_token: expect.stringMatching(/^v1\./) });
    expect(secretStore.values.has(hmacSecretName(KEYS_PREFIX, ORG))).toBe(false);
    expect(secretStore.deletes).toBe(1);

    // A record whose sealed token was copied into another organization does not give it that token.
    store.organizations.set(OTHER, { id: OTHER, name: 'Thief', created_at_ms: 0, token: structuredClone(token) });
    await expect(tokens.get(OTHER)).rejects.toThrow(
      new SealBrokenError({ kind: 'organization-token', organizationId: OTHER }),
    );
    expect(new SealBrokenError({ kind: 'organization-token', organizationId: OTHER }).message).toBe(
      "the sealed value of this organization's token does not open: it was sealed for another record, or altered",
    );

    // Later reads, in this process or another, open the sealed copy: same token, no secret.
    advance(TOKEN_CACHE_MS);
    expect((await tokens.get(ORG))?.current).toBe('tok_random_from_before');
    const theirs = new MemorySecrets();
    for (const [name, value] of secretStore.values) theirs.values.set(name, value);
    const shared = new OrganizationTokens({
      store,
      keys,
      secretStore: theirs,
      secretsPrefix: KEYS_PREFIX,
      logger: silent,
      now: clock,
    });
    expect((await shared.get(ORG))?.current).toBe('tok_random_from_before');
    expect(theirs.deletes).toBe(0);
  });
});

describe('rotations', () => {
  const organization = (store: OrganizationsStore) =>
    store.organizations.set(ORG, {
      id: ORG,
      name: 'Acme',
      created_at_ms: 0,
      token: { token_version: 1, token_root: 'v1' },
    });

  it('keep every previous token until its own expiry, newest first', async () => {
    const { store, tokens, advance } = await setup();
    organization(store);
    const first = (await tokens.get(ORG))!.current;
    const second = (await tokens.rotate(ORG, 3600))!.current;
    advance(1000);
    // A second rotation soon after, with a shorter overlap: the first token keeps its own hour.
    const third = await tokens.rotate(ORG, 60);
    expect(third!.previous.map((p) => p.token)).toEqual([second, first]);
    advance(61_000);
    expect((await tokens.get(ORG))!.previous.map((p) => p.token)).toEqual([first]);
    advance(3600_000);
    expect((await tokens.get(ORG))!.previous).toEqual([]);
  });

  it(`keep at most ${MAX_PREVIOUS_TOKENS} live previous tokens: one more is a 409 with Retry-After until the oldest expires; an overlap of 0 always rotates`, async () => {
    const { store, tokens, advance } = await setup();
    organization(store);
    for (let i = 0; i < MAX_PREVIOUS_TOKENS; i++) {
      await tokens.rotate(ORG, 600 + i);
      advance(1000);
    }
    expect((await tokens.get(ORG))!.previous).toHaveLength(MAX_PREVIOUS_TOKENS);
    const before = store.organizations.get(ORG);
    expect(await refusal(tokens.rotate(ORG, 600))).toEqual({
      status: 409,
      body: {
        status: 409,
        error: 'Conflict',
        code: 'too_many_previous_hmac_keys',
        message: `${MAX_PREVIOUS_TOKENS} previous HMAC keys are still valid; rotate again once the oldest expires, or with overlap_seconds 0`,
      },
      retryAfter: String(600 - MAX_PREVIOUS_TOKENS),
    });
    expect(store.organizations.get(ORG)).toEqual(before);
    const dropped = (await tokens.get(ORG))!.current;
    const immediate = await tokens.rotate(ORG, 0);
    expect(immediate!.previous).toHaveLength(MAX_PREVIOUS_TOKENS);
    expect(immediate!.previous.map((p) => p.token)).not.toContain(dropped);
  });

  it('answer a rotation that lost to a concurrent one with a 409 and Retry-After, and change nothing twice', async () => {
    const { store, tokens } = await setup();
    organization(store);
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => tokens.rotate(ORG, 3600)));
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
    expect(rejected.length).toBeGreaterThanOrEqual(1);
    for (const r of rejected) {
      const { status, body, retryAfter } = await refusal(Promise.reject(r.reason));
      expect({ status, body, retryAfter }).toEqual({
        status: 409,
        body: {
          status: 409,
          error: 'Conflict',
          code: 'hmac_key_rotated_concurrently',
          message: 'the HMAC key was rotated by another request meanwhile; read it again, or retry',
        },
        retryAfter: '1',
      });
    }
    const fulfilled = results.length - rejected.length;
    expect(store.organizations.get(ORG)!.token).toEqual({ token_version: 1 + fulfilled, token_root: 'v1' });
  });
});

describe('a rotation of the HMAC root', () => {
  it('changes no token; the next token rotation derives from the new root, and the previous token stays valid through its overlap', async () => {
    const { store, secretStore, keys, tokens, clock } = await setup();
    store.organizations.set(ORG, {
      id: ORG,
      name: 'Acme',
      created_at_ms: 0,
      token: { token_version: 1, token_root: 'v1' },
    });
    store.organizations.set(OTHER, { id: OTHER, name: 'Before', created_at_ms: 0, token: { token_version: 1 } });
    const before = { org: (await tokens.get(ORG))!.current, other: (await tokens.get(OTHER))!.current };

    await rotateKeyring(secretStore, KEYS_PREFIX, 'hmac-root', { nowMs: clock() });
    expect((await tokens.get(ORG))!.current).toBe(before.org);
    expect((await tokens.get(OTHER))!.current).toBe(before.other);

    const rotated = await tokens.rotate(ORG, 3600);
    expect(store.organizations.get(ORG)!.token).toEqual({ token_version: 2, token_root: 'v2' });
    expect(rotated!.current).toBe(deriveToken(await keys.hmacRoot('v2'), ORG, 2));
    expect(rotated!.previous.map((p) => p.token)).toEqual([before.org]);
  });

  it('retiring a root makes its tokens fail with a KeyRetiredError that says so; a rotation gives a working token again', async () => {
    const { store, secretStore, tokens, clock, advance } = await setup();
    store.organizations.set(ORG, { id: ORG, name: 'Before', created_at_ms: 0, token: { token_version: 1 } });
    await rotateKeyring(secretStore, KEYS_PREFIX, 'hmac-root', { nowMs: clock() });
    await expect(retireKeyVersion(secretStore, KEYS_PREFIX, 'hmac-root', 'v2', clock())).rejects.toThrow(
      'version v2 is the current one',
    );
    await retireKeyVersion(secretStore, KEYS_PREFIX, 'hmac-root', 'v0', clock());
    advance(TOKEN_CACHE_MS);

    const error = await tokens.get(ORG).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyRetiredError);
    expect((error as Error).message).toBe("the HMAC root version v0 of this organization's token was retired");
    // The retired token is not kept as a previous one: it can no longer sign.
    const rotated = await tokens.rotate(ORG, 3600);
    expect(rotated!.previous).toEqual([]);
    expect(store.organizations.get(ORG)!.token).toEqual({ token_version: 2, token_root: 'v2' });
  });
});
