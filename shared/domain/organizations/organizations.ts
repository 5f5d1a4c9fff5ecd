import { createHash, randomBytes } from 'node:crypto';
import { isoSeconds, toSecond } from '../time.ts';
import { unauthorized } from '../errors.ts';
import { uuidv7 } from '../ids.ts';
import type { Organization } from '../model.ts';
import type { OrganizationStore } from '../ports.ts';
import { parseBody } from '../validation.ts';
import { OrganizationRequest } from './schemas.ts';

/** Organizations (tenants) and their API keys: random, shown once, stored only as a SHA-256 hash. */

const KEY_PREFIX = 'lwh_';

/**
 * The organization route's or operator's bearer token, parsed strictly: `Bearer`, ASCII spaces and
 * a token of RFC 6750 characters, nothing else (no tab, NBSP or other whitespace, no second value).
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  // Trailing spaces are tolerated: HTTP strips them from header values anyway.
  return /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization ?? '')?.[1];
}

export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** `lwh_` and base64url: the only shape an API key has, checked before any lookup. */
export const isApiKeyShaped = (key: string): boolean => /^lwh_[A-Za-z0-9_-]{1,128}$/.test(key);

export function newApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** `tokenRoot`: the current HMAC root version (shared/domain/keys/deployment-keys.ts), which its token derives from. */
export async function createOrganization(
  store: Pick<OrganizationStore, 'createOrganization'>,
  body: unknown,
  nowMs: number,
  tokenRoot: () => Promise<string>,
) {
  const { name } = parseBody(OrganizationRequest, body);
  // Its HMAC token is derived from the HMAC root and this version: no secret of its own to create.
  const organization: Organization = {
    id: uuidv7(nowMs),
    name,
    created_at_ms: toSecond(nowMs),
    token: { token_version: 1, token_root: await tokenRoot() },
  };
  const apiKey = newApiKey();
  await store.createOrganization(organization, hashApiKey(apiKey));
  return {
    organization: {
      lago_id: organization.id,
      name: organization.name,
      created_at: isoSeconds(organization.created_at_ms),
    },
    api_key: apiKey,
  };
}

/**
 * The organization a bearer key belongs to. The key is looked up by its hash, so no comparison
 * of secret bytes happens in this process, and timing reveals nothing about stored keys.
 */
export async function authenticate(
  store: Pick<OrganizationStore, 'findOrganizationIdByKeyHash'>,
  authorization: string | undefined,
): Promise<string> {
  const key = bearerToken(authorization);
  if (!key || !isApiKeyShaped(key)) throw unauthorized();
  const organizationId = await store.findOrganizationIdByKeyHash(hashApiKey(key));
  if (!organizationId) throw unauthorized();
  return organizationId;
}
