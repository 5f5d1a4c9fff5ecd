import { createHash, randomBytes } from 'node:crypto';
import { isoSeconds } from './endpoints.ts';
import { unauthorized, validationFailed } from './errors.ts';
import { uuidv7 } from './ids.ts';
import type { Organization } from './model.ts';
import type { Store } from './ports.ts';

/** Organizations (tenants) and their API keys: random, shown once, stored only as a SHA-256 hash. */

const KEY_PREFIX = 'lwh_';

export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

export function newApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export async function createOrganization(store: Store, body: unknown, nowMs: number) {
  const name = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).name : undefined;
  if (typeof name !== 'string' || name.trim() === '') throw validationFailed({ name: ['value_is_mandatory'] });
  if (name.length > 255) throw validationFailed({ name: ['value_is_invalid'] });
  // Its HMAC token is derived from the deployment's key and this version: no secret of its own to create.
  const organization: Organization = { id: uuidv7(nowMs), name: name.trim(), created_at: isoSeconds(nowMs), token_version: 1 };
  const apiKey = newApiKey();
  await store.createOrganization(organization, hashApiKey(apiKey));
  return { organization: { lago_id: organization.id, name: organization.name, created_at: organization.created_at }, api_key: apiKey };
}

/**
 * The organization a bearer key belongs to. The key is looked up by its hash, so no comparison
 * of secret bytes happens in this process, and timing reveals nothing about stored keys.
 */
export async function authenticate(store: Store, authorization: string | undefined): Promise<string> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match || !match[1]!.startsWith(KEY_PREFIX)) throw unauthorized();
  const organizationId = await store.findOrganizationIdByKeyHash(hashApiKey(match[1]!));
  if (!organizationId) throw unauthorized();
  return organizationId;
}
