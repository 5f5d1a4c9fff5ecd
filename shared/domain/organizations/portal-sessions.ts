import { hkdfSync, randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { notFound, unauthorized } from '../errors.ts';
import type { DeploymentKeys } from '../keys/deployment-keys.ts';
import type { EndpointStore, OrganizationStore } from '../ports.ts';
import { isoSeconds } from '../time.ts';
import { parseBody } from '../validation.ts';
import { authenticate, bearerToken } from './organizations.ts';
import { PortalSessionRequest } from './schemas.ts';

/**
 * Portal sessions (docs/security.md#portal-sessions): a short-lived JWT, scoped to one organization and a role, that
 * signs a person in to the console by link and works as a Bearer credential on /api/v1 instead of the API key.
 * HS256 under a key of their own, derived with HKDF from a version of the HMAC root ring under a label no other
 * key uses (`kid` names the version): no secret to provision, and rotating and retiring HMAC roots rotates and
 * retires it. Revocation: the organization's session version (`sv`), which a revocation bumps.
 */

type PortalRole = 'viewer' | 'manager';

/** Who a request runs as: the organization, and the role (the API key is a manager). */
export interface Principal {
  organizationId: string;
  role: PortalRole;
}

export const PORTAL_AUDIENCE = 'lago-webhooks-portal';

export interface PortalSessionDeps {
  store: Pick<OrganizationStore, 'getOrganization' | 'findOrganizationIdByKeyHash' | 'bumpPortalSessionVersion'> &
    Pick<EndpointStore, 'getEndpoint'>;
  keys: Pick<DeploymentKeys, 'currentHmacRoot' | 'hmacRoot' | 'claimedHmacRoot'>;
  now: () => number;
}

/** The portal sessions' key under an HMAC root: its own HKDF label, so it is neither the root nor any token. */
export const portalSessionKey = (root: Buffer): Uint8Array =>
  new Uint8Array(hkdfSync('sha256', root, 'lago-webhooks', 'portal-sessions', 32));

const Claims = z.object({
  sub: z.string().min(1),
  role: z.enum(['viewer', 'manager']),
  sv: z.number().int().min(0),
});

/**
 * A new session for the organization; `consoleUrl` is where the console is reached: the token goes in its fragment,
 * and the endpoint whose deliveries the link opens, if one is named (it must be the organization's).
 */
export async function createPortalSession(
  deps: PortalSessionDeps,
  organizationId: string,
  body: unknown,
  consoleUrl: string,
) {
  const { role, ttl_seconds: ttl, webhook_endpoint_id: endpointId } = parseBody(PortalSessionRequest, body);
  const organization = await deps.store.getOrganization(organizationId);
  if (!organization) throw notFound('organization');
  if (endpointId !== undefined && !(await deps.store.getEndpoint(organization.id, endpointId)))
    throw notFound('webhook_endpoint');
  const version = await deps.keys.currentHmacRoot();
  const issuedAt = Math.floor(deps.now() / 1000);
  const expiresAt = issuedAt + ttl;
  const token = await new SignJWT({ role, sv: organization.portal_session_version ?? 0 })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: version })
    .setSubject(organization.id)
    .setAudience(PORTAL_AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .setJti(randomUUID())
    .sign(portalSessionKey(await deps.keys.hmacRoot(version)));
  return {
    portal_session: {
      url: `${consoleUrl}#portal=${token}${endpointId !== undefined ? `&endpoint=${endpointId}` : ''}`,
      token,
      role,
      expires_at: isoSeconds(expiresAt * 1000),
    },
  };
}

/** Revokes every session of the organization made so far; a 404 if it does not exist. */
export async function revokePortalSessions(deps: PortalSessionDeps, organizationId: string) {
  if (!(await deps.store.bumpPortalSessionVersion(organizationId))) throw notFound('organization');
  return { portal_sessions: { revoked_at: isoSeconds(deps.now()) } };
}

/**
 * The organization and role of a session token; a 401 (as for a bad API key) when it is expired, tampered with,
 * signed by another key, for another audience, revoked, or its organization is gone.
 */
async function verifyPortalSession(deps: PortalSessionDeps, token: string): Promise<Principal> {
  const key: JWTVerifyGetKey = async ({ kid }) => {
    const root = kid === undefined ? undefined : await deps.keys.claimedHmacRoot(kid);
    if (!root) throw new errors.JWKSNoMatchingKey();
    return portalSessionKey(root);
  };
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      audience: PORTAL_AUDIENCE,
      requiredClaims: ['exp', 'iat', 'jti'],
      currentDate: new Date(deps.now()),
    }));
  } catch (error) {
    if (error instanceof errors.JOSEError) throw unauthorized();
    throw error;
  }
  const claims = Claims.safeParse(payload);
  if (!claims.success) throw unauthorized();
  const organization = await deps.store.getOrganization(claims.data.sub);
  if (!organization || claims.data.sv !== (organization.portal_session_version ?? 0)) throw unauthorized();
  return { organizationId: organization.id, role: claims.data.role };
}

/** A compact JWS of a sane size: three base64url parts. An API key never has a dot. */
export const isSessionTokenShaped = (credential: string): boolean =>
  credential.length <= 4096 && /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(credential);

/** Who a Bearer credential is: a session token or an API key (a manager). Anything else is a 401. */
export async function authenticatePrincipal(
  deps: PortalSessionDeps,
  authorization: string | undefined,
): Promise<Principal> {
  const credential = bearerToken(authorization);
  if (credential !== undefined && isSessionTokenShaped(credential)) return verifyPortalSession(deps, credential);
  return { organizationId: await authenticate(deps.store, authorization), role: 'manager' };
}
