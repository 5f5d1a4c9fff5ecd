// Covers shared/domain/organizations/portal-sessions.ts: the token a portal session carries (its claims, its key of
// its own, HS256 only), who it authenticates and as what role, and every way it is refused (expired, tampered,
// another key or audience, revoked, its HMAC root retired, its organization gone), beside the API key as before.
import { hkdfSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/domain/errors.ts';
import { retireKeyVersion, rotateKeyring } from '#shared/domain/keys/rotation.ts';
import type { Organization, WebhookEndpoint } from '#shared/domain/model.ts';
import { hashApiKey } from '#shared/domain/organizations/organizations.ts';
import {
  authenticatePrincipal,
  createPortalSession,
  PORTAL_AUDIENCE,
  portalSessionKey,
  revokePortalSessions,
} from '#shared/domain/organizations/portal-sessions.ts';
import { lagoError } from '#shared/runtime/http.ts';
import { testKeys } from './support/keys.ts';

const ORG = '01890000-0000-7000-8000-000000000001';
const API_KEY = 'lwh_portal-test-key';
const CONSOLE = 'https://hooks.example.com/console/';
const ENDPOINT = '01890000-0000-7000-8000-0000000000e1';

class Organizations {
  readonly organizations = new Map<string, Organization>([
    [ORG, { id: ORG, name: 'Acme', created_at_ms: 0, token: { token_version: 1, token_root: 'v1' } }],
  ]);

  async getOrganization(id: string) {
    const found = this.organizations.get(id);
    return found && structuredClone(found);
  }

  async getEndpoint(organizationId: string, id: string) {
    return organizationId === ORG && id === ENDPOINT ? ({ id } as WebhookEndpoint) : undefined;
  }

  async findOrganizationIdByKeyHash(hash: string) {
    return hash === hashApiKey(API_KEY) ? ORG : undefined;
  }

  async bumpPortalSessionVersion(id: string) {
    const found = this.organizations.get(id);
    if (!found) return false;
    found.portal_session_version = (found.portal_session_version ?? 0) + 1;
    return true;
  }
}

async function setup() {
  let now = Date.parse('2026-12-04T12:00:00Z');
  const clock = () => now;
  const { keys, secretStore } = await testKeys(clock);
  const store = new Organizations();
  const deps = { store, keys, now: clock };
  const session = async (body: unknown = {}) => (await createPortalSession(deps, ORG, body, CONSOLE)).portal_session;
  const authenticate = (token: string) => authenticatePrincipal(deps, `Bearer ${token}`);
  return { deps, keys, secretStore, store, session, authenticate, advance: (ms: number) => void (now += ms), clock };
}

async function refusal(call: Promise<unknown>) {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return lagoError(error);
}

const UNAUTHORIZED = { status: 401, body: { status: 401, error: 'Unauthorized' } };

describe('createPortalSession', () => {
  it('signs a JWT with HS256 under the current HMAC root version, with its claims, and links the console to it', async () => {
    const { session, clock } = await setup();
    const made = await session({ role: 'manager', ttl_seconds: 600 });
    expect(made).toEqual({
      url: `${CONSOLE}#portal=${made.token}`,
      token: made.token,
      role: 'manager',
      expires_at: '2026-12-04T12:10:00Z',
    });
    expect(decodeProtectedHeader(made.token)).toEqual({ alg: 'HS256', typ: 'JWT', kid: 'v1' });
    const iat = clock() / 1000;
    expect(decodeJwt(made.token)).toEqual({
      sub: ORG,
      aud: PORTAL_AUDIENCE,
      role: 'manager',
      sv: 0,
      iat,
      exp: iat + 600,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it('makes a viewer for an hour by default; refuses bad input with 422s and an unknown organization with a 404', async () => {
    const { session, deps } = await setup();
    const made = await session({});
    expect(made.role).toBe('viewer');
    expect(made.expires_at).toBe('2026-12-04T13:00:00Z');
    for (const body of [{ role: 'admin' }, { ttl_seconds: 59 }, { ttl_seconds: 86_401 }, { ttl_seconds: 1.5 }])
      expect((await refusal(session(body))).status, JSON.stringify(body)).toBe(422);
    expect(await refusal(createPortalSession(deps, 'nobody', {}, CONSOLE))).toEqual({
      status: 404,
      body: { status: 404, error: 'Not Found', code: 'organization_not_found' },
    });
  });

  it("links to an endpoint's deliveries when one of the organization's is named, and 404s another", async () => {
    const { session } = await setup();
    const made = await session({ webhook_endpoint_id: ENDPOINT });
    expect(made.url).toBe(`${CONSOLE}#portal=${made.token}&endpoint=${ENDPOINT}`);
    expect(await refusal(session({ webhook_endpoint_id: '01890000-0000-7000-8000-0000000000e2' }))).toEqual({
      status: 404,
      body: { status: 404, error: 'Not Found', code: 'webhook_endpoint_not_found' },
    });
    expect((await refusal(session({ webhook_endpoint_id: 'not-a-uuid' }))).status).toBe(422);
  });

  it('derives its key from the HMAC root under a label of its own: neither the root nor an HMAC token', async () => {
    const root = Buffer.alloc(32, 7);
    const key = portalSessionKey(root);
    expect(key).toHaveLength(32);
    expect(Buffer.from(key).equals(root)).toBe(false);
    expect(Buffer.from(key)).toEqual(Buffer.from(hkdfSync('sha256', root, 'lago-webhooks', 'portal-sessions', 32)));
  });
});

describe('authenticatePrincipal', () => {
  it('is the organization and role of a session token, and a manager for the API key', async () => {
    const { session, authenticate, deps } = await setup();
    expect(await authenticate((await session({ role: 'viewer' })).token)).toEqual({
      organizationId: ORG,
      role: 'viewer',
    });
    expect(await authenticate((await session({ role: 'manager' })).token)).toEqual({
      organizationId: ORG,
      role: 'manager',
    });
    expect(await authenticatePrincipal(deps, `Bearer ${API_KEY}`)).toEqual({ organizationId: ORG, role: 'manager' });
    expect(await refusal(authenticatePrincipal(deps, 'Bearer lwh_unknown'))).toEqual(UNAUTHORIZED);
    expect(await refusal(authenticatePrincipal(deps, undefined))).toEqual(UNAUTHORIZED);
  });

  it('refuses an expired token at its expiry, not before', async () => {
    const { session, authenticate, advance } = await setup();
    const { token } = await session({ ttl_seconds: 60 });
    advance(59_999);
    expect((await authenticate(token)).role).toBe('viewer');
    advance(1);
    expect(await refusal(authenticate(token))).toEqual(UNAUTHORIZED);
  });

  it('refuses a tampered token, another key, another audience, another algorithm, missing claims', async () => {
    const { session, authenticate, keys, clock } = await setup();
    const { token } = await session({ role: 'viewer' });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const promoted = Buffer.from(
      JSON.stringify({ ...(JSON.parse(Buffer.from(payload, 'base64url').toString()) as object), role: 'manager' }),
    ).toString('base64url');
    const iat = Math.floor(clock() / 1000);
    const key = portalSessionKey(await keys.hmacRoot('v1'));
    const sign = (claims: Record<string, unknown>, with_ = key, alg = 'HS256') =>
      new SignJWT({ role: 'manager', sv: 0, sub: ORG, aud: PORTAL_AUDIENCE, iat, exp: iat + 60, jti: 'j', ...claims })
        .setProtectedHeader({ alg, kid: 'v1' })
        .sign(with_);
    // A well-formed token made here is accepted: the refusals below are for what each changes.
    expect((await authenticate(await sign({}))).role).toBe('manager');
    for (const [what, forged] of [
      ['promoted payload', `${header}.${promoted}.${signature}`],
      ['no signature', `${header}.${payload}.`],
      ['another key', await sign({}, new Uint8Array(32))],
      ['the HMAC root itself as key', await sign({}, new Uint8Array(await keys.hmacRoot('v1')))],
      ['another audience', await sign({ aud: 'lago-webhooks-other' })],
      ['HS512', await sign({}, key, 'HS512')],
      ['no jti', await sign({ jti: undefined })],
      ['a role beyond the two', await sign({ role: 'owner' })],
      ['no session version', await sign({ sv: undefined })],
      ['another organization', await sign({ sub: '01890000-0000-7000-8000-000000000002' })],
      [
        'an unknown kid',
        `${Buffer.from(JSON.stringify({ alg: 'HS256', kid: 'v99' })).toString('base64url')}.${payload}.${signature}`,
      ],
    ] as const)
      expect(await refusal(authenticate(forged)), what).toEqual(UNAUTHORIZED);
  });

  it('refuses every session made before a revocation, and takes those made after', async () => {
    const { session, authenticate, deps } = await setup();
    const before = await session({ role: 'manager' });
    expect(await revokePortalSessions(deps, ORG)).toEqual({ portal_sessions: { revoked_at: '2026-12-04T12:00:00Z' } });
    expect(await refusal(authenticate(before.token))).toEqual(UNAUTHORIZED);
    const after = await session({ role: 'manager' });
    expect(decodeJwt(after.token).sv).toBe(1);
    expect((await authenticate(after.token)).role).toBe('manager');
    expect((await refusal(revokePortalSessions(deps, 'nobody'))).status).toBe(404);
  });

  it("follows the HMAC root ring: a rotation's new sessions use the new version, a retired version's are refused", async () => {
    const { session, authenticate, secretStore, clock, advance } = await setup();
    const old = await session();
    await rotateKeyring(secretStore, 'test', 'hmac-root', { nowMs: clock() });
    advance(1000);
    const fresh = await session();
    expect(decodeProtectedHeader(fresh.token).kid).toBe('v2');
    expect((await authenticate(old.token)).role).toBe('viewer');
    await retireKeyVersion(secretStore, 'test', 'hmac-root', 'v1', clock());
    advance(61_000);
    expect(await refusal(authenticate(old.token))).toEqual(UNAUTHORIZED);
    expect((await authenticate(fresh.token)).role).toBe('viewer');
  });

  it('refuses a session whose organization is gone', async () => {
    const { session, authenticate, store } = await setup();
    const { token } = await session();
    store.organizations.delete(ORG);
    expect(await refusal(authenticate(token))).toEqual(UNAUTHORIZED);
  });
});
