// Portal sessions on the local service: the operator's route makes a link and a token; the token works as Bearer on
// /api/v1 with its role's rights (a viewer reads, never a secret, and changes nothing: 403s that change nothing);
// an expired, tampered, foreign-signed, wrong-audience or revoked token is a 401 as a bad API key is; the API key is
// untouched by all of it.
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalSecretStore } from '#shared/adapters/local-secrets.ts';
import { currentVersion, parseKeyring } from '#shared/domain/keys/keyring.ts';
import { PORTAL_AUDIENCE, portalSessionKey } from '#shared/domain/organizations/portal-sessions.ts';
import { hmacRootSecretName } from '#shared/domain/secrets.ts';
import { LOCAL_SECRETS_PREFIX } from '#shared/runtime/local-deps.ts';
import { admin, createEndpoint, createOrg, request, stack, type Org } from './helpers.ts';

interface PortalSession {
  url: string;
  token: string;
  role: string;
  expires_at: string;
}

const portalSession = async (org: Org, body: unknown) => {
  const res = await admin<{ portal_session: PortalSession }>(
    'POST',
    `/admin/v1/organizations/${org.id}/portal_sessions`,
    body,
  );
  if (res.status !== 201) throw new Error(`portal session not made: ${res.status} ${res.text}`);
  return res.body.portal_session;
};

/** The key the stack signs sessions with, read from its secrets, to mint tokens the route would not make. */
async function sessionKey(): Promise<{ kid: string; key: Uint8Array }> {
  const text = await new LocalSecretStore(stack().dataDir).get(hmacRootSecretName(LOCAL_SECRETS_PREFIX));
  if (!text) throw new Error('no HMAC root ring');
  const current = currentVersion(parseKeyring(text), Date.now());
  return { kid: current.version, key: portalSessionKey(Buffer.from(current.key, 'base64')) };
}

async function mint(
  org: Org,
  claims: { role?: string; sv?: number; aud?: string; iat?: number; exp?: number },
  key?: Uint8Array,
) {
  const signing = await sessionKey();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: claims.role ?? 'manager', sv: claims.sv ?? 0 })
    .setProtectedHeader({ alg: 'HS256', kid: signing.kid })
    .setSubject(org.id)
    .setAudience(claims.aud ?? PORTAL_AUDIENCE)
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime(claims.exp ?? now + 600)
    .setJti('test')
    .sign(key ?? signing.key);
}

const UNAUTHORIZED = { status: 401, error: 'Unauthorized' };
const FORBIDDEN = { status: 403, error: 'Forbidden', code: 'forbidden_for_viewer' };

let org: Org;
let endpointId: string;

beforeAll(async () => {
  org = await createOrg('Portal Co');
  endpointId = await createEndpoint(org, {
    webhook_url: 'https://example.com/portal-hook',
    signature_algo: 'hmac',
    headers: { 'X-Secret': 'portal-header-value' },
  });
});

describe('POST /admin/v1/organizations/{lago_id}/portal_sessions', () => {
  it('makes a link to the console with the token in its fragment, a viewer for an hour by default', async () => {
    const before = Date.now();
    const session = await portalSession(org, {});
    expect(session.role).toBe('viewer');
    expect(session.url).toBe(`${stack().url}/console/#portal=${session.token}`);
    expect(session.token.split('.')).toHaveLength(3);
    const expiresAt = Date.parse(session.expires_at);
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3600_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000);
    const manager = await portalSession(org, { role: 'manager', ttl_seconds: 60 });
    expect(manager.role).toBe('manager');
    expect(Date.parse(manager.expires_at) - Date.now()).toBeLessThanOrEqual(60_000);
  });

  it('refuses an unknown organization (404) and bad input (422 in Lago shape)', async () => {
    const unknown = await admin(
      'POST',
      '/admin/v1/organizations/00000000-0000-7000-8000-000000000000/portal_sessions',
      {
        role: 'viewer',
      },
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ status: 404, error: 'Not Found', code: 'organization_not_found' });
    // A link to another organization's endpoint is not made.
    const other = await createOrg('Not Portal Co');
    const theirs = await createEndpoint(other, { webhook_url: 'https://example.com/theirs' });
    const foreign = await admin('POST', `/admin/v1/organizations/${org.id}/portal_sessions`, {
      webhook_endpoint_id: theirs,
    });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual({ status: 404, error: 'Not Found', code: 'webhook_endpoint_not_found' });
    const ours = await portalSession(org, { webhook_endpoint_id: endpointId });
    expect(ours.url).toBe(`${stack().url}/console/#portal=${ours.token}&endpoint=${endpointId}`);
    for (const [body, field] of [
      [{ role: 'owner' }, 'role'],
      [{ ttl_seconds: 59 }, 'ttl_seconds'],
      [{ ttl_seconds: 86_401 }, 'ttl_seconds'],
      [{ ttl_seconds: 60.5 }, 'ttl_seconds'],
      [{ ttl_seconds: '3600' }, 'ttl_seconds'],
    ] as const) {
      const res = await admin('POST', `/admin/v1/organizations/${org.id}/portal_sessions`, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body).toMatchObject({ status: 422, error: 'Unprocessable Entity', code: 'validation_errors' });
      expect(Object.keys(res.body.error_details as object)).toEqual([field]);
    }
  });
});

describe('a viewer session', () => {
  let token: string;
  beforeAll(async () => {
    token = (await portalSession(org, { role: 'viewer' })).token;
  });

  it('reads endpoints, deliveries, the catalog and the public keys', async () => {
    const list = await request('GET', '/api/v1/webhook_endpoints', { token });
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ webhook_endpoints: [{ lago_id: endpointId }] });
    const one = await request<{ webhook_endpoint: Record<string, unknown> }>(
      'GET',
      `/api/v1/webhook_endpoints/${endpointId}`,
      { token },
    );
    expect(one.status).toBe(200);
    expect(one.text).not.toContain('portal-header-value');
    for (const path of [
      '/api/v1/webhooks',
      '/api/v1/webhook_event_types',
      '/api/v1/webhooks/public_key',
      '/api/v1/webhooks/json_public_key',
      '/api/v1/webhooks/jwks.json',
    ])
      expect((await request('GET', path, { token })).status, path).toBe(200);
  });

  it('never reads a secret: the HMAC token and revealed header values are 403s', async () => {
    const hmac = await request('GET', '/api/v1/webhooks/hmac_key', { token });
    expect(hmac.status).toBe(403);
    expect(hmac.body).toEqual(FORBIDDEN);
    const revealed = await request('GET', `/api/v1/webhook_endpoints/${endpointId}?reveal_headers=true`, { token });
    expect(revealed.status).toBe(403);
    expect(revealed.body).toEqual(FORBIDDEN);
    expect(revealed.text).not.toContain('portal-header-value');
  });

  it('changes nothing: every write is a 403 and the endpoint stays as it was', async () => {
    const before = await request('GET', `/api/v1/webhook_endpoints/${endpointId}`, { token: org.apiKey });
    for (const [method, path, body] of [
      ['POST', '/api/v1/webhook_endpoints', { webhook_endpoint: { webhook_url: 'https://example.com/viewer' } }],
      ['PUT', `/api/v1/webhook_endpoints/${endpointId}`, { webhook_endpoint: { name: 'renamed by a viewer' } }],
      ['DELETE', `/api/v1/webhook_endpoints/${endpointId}`, undefined],
      ['POST', `/api/v1/webhook_endpoints/${endpointId}/test`, { webhook_type: 'invoice.created' }],
      ['POST', '/api/v1/webhooks/hmac_key/rotate', {}],
      ['POST', '/api/v1/webhooks/recover', { webhook_endpoint_id: endpointId, from_date: '2026-01-01' }],
      ['POST', `/api/v1/webhooks/${endpointId}/retry`, undefined],
      ['POST', `/api/v1/webhooks/${endpointId}/resend`, undefined],
      [
        'POST',
        `/api/v1/webhook_endpoints/${endpointId}/replay`,
        { from_date: '2026-01-01T00:00:00Z', to_date: '2026-01-02T00:00:00Z' },
      ],
    ] as const) {
      const res = await request(method, path, { token, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body).toEqual(FORBIDDEN);
    }
    const after = await request('GET', `/api/v1/webhook_endpoints/${endpointId}`, { token: org.apiKey });
    expect(after.body).toEqual(before.body);
    const list = await request<{ webhook_endpoints: unknown[] }>('GET', '/api/v1/webhook_endpoints', {
      token: org.apiKey,
    });
    expect(list.body.webhook_endpoints).toHaveLength(1);
  });
});

describe('a manager session', () => {
  it("has the API key's rights: writes, the HMAC token, revealed headers", async () => {
    const { token } = await portalSession(org, { role: 'manager' });
    const hmac = await request('GET', '/api/v1/webhooks/hmac_key', { token });
    expect(hmac.status).toBe(200);
    const keyHmac = await request('GET', '/api/v1/webhooks/hmac_key', { token: org.apiKey });
    expect(hmac.body).toEqual(keyHmac.body);
    const revealed = await request('GET', `/api/v1/webhook_endpoints/${endpointId}?reveal_headers=true`, { token });
    expect(revealed.status).toBe(200);
    expect(revealed.text).toContain('portal-header-value');
    const renamed = await request('PUT', `/api/v1/webhook_endpoints/${endpointId}`, {
      token,
      body: { webhook_endpoint: { name: 'renamed by a manager' } },
    });
    expect(renamed.status).toBe(200);
    const seen = await request('GET', `/api/v1/webhook_endpoints/${endpointId}`, { token: org.apiKey });
    expect(seen.body).toMatchObject({ webhook_endpoint: { name: 'renamed by a manager' } });
  });
});

describe('a refused session token', () => {
  it('is a 401 as a bad API key is: expired, tampered, signed by another key, for another audience', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = await mint(org, {});
    expect((await request('GET', '/api/v1/webhook_endpoints', { token: good })).status).toBe(200);
    const [header, payload, signature] = (await portalSession(org, { role: 'viewer' })).token.split('.');
    const promoted = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), role: 'manager' }),
    ).toString('base64url');
    const refused: [string, string][] = [
      ['expired', await mint(org, { iat: now - 120, exp: now - 60 })],
      ['tampered (a viewer made a manager)', `${header}.${promoted}.${signature}`],
      ['signed by another key', await mint(org, {}, new Uint8Array(randomBytes(32)))],
      ['for another audience', await mint(org, { aud: 'someone-else' })],
      ['of a session version not yet made', await mint(org, { sv: 7 })],
      ['unsigned', `${header}.${payload}.`],
    ];
    for (const [what, token] of refused) {
      const res = await request('GET', '/api/v1/webhook_endpoints', { token });
      expect(res.status, what).toBe(401);
      expect(res.body, what).toEqual(UNAUTHORIZED);
    }
  });

  it('is revoked with every other session of its organization, and only those; the API key keeps working', async () => {
    const other = await createOrg('Other Portal Co');
    const otherToken = (await portalSession(other, { role: 'viewer' })).token;
    const viewer = (await portalSession(org, { role: 'viewer' })).token;
    const manager = (await portalSession(org, { role: 'manager' })).token;
    expect((await request('GET', '/api/v1/webhook_endpoints', { token: manager })).status).toBe(200);
    const revoked = await admin('POST', `/admin/v1/organizations/${org.id}/portal_sessions/revoke`);
    expect(revoked.status).toBe(200);
    expect(Date.parse((revoked.body.portal_sessions as { revoked_at: string }).revoked_at)).not.toBeNaN();
    for (const token of [viewer, manager]) {
      const res = await request('GET', '/api/v1/webhook_endpoints', { token });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(UNAUTHORIZED);
    }
    // A session made after the revocation works; another organization's sessions and the API key are untouched.
    const fresh = (await portalSession(org, { role: 'viewer' })).token;
    expect((await request('GET', '/api/v1/webhook_endpoints', { token: fresh })).status).toBe(200);
    expect((await request('GET', '/api/v1/webhook_endpoints', { token: otherToken })).status).toBe(200);
    expect((await request('GET', '/api/v1/webhook_endpoints', { token: org.apiKey })).status).toBe(200);
    const unknown = await admin(
      'POST',
      '/admin/v1/organizations/00000000-0000-7000-8000-000000000000/portal_sessions/revoke',
    );
    expect(unknown.status).toBe(404);
  });
});
