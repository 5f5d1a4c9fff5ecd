import { createCipheriv, createDecipheriv, createHmac, createPrivateKey, hkdfSync, randomBytes } from 'node:crypto';
import type { Logger } from './logger.ts';
import type { SecretStore, Store } from './ports.ts';
import { hmacSecretName, signingKeySecretName, type CachedSecrets } from './secrets.ts';

/**
 * Organization HMAC tokens at a fixed cost: no secret per organization. A token is derived from
 * the deployment's signing key (the one secret, in Secrets Manager) and the organization's token
 * version, kept in its record; a new version is a new token. Organizations created before this kept
 * a secret each: on first use their token is sealed (AES-256-GCM, under a key derived the same way)
 * into their record and the secret is deleted, so the token a receiver holds never changes.
 */

export const TOKEN_CACHE_MS = 5 * 60_000;

/** Keys for tokens, derived from the signing key with HKDF, one per purpose. */
export function tokenKeys(signingKeyPem: string): { derive: Buffer; seal: Buffer } {
  const material = createPrivateKey(signingKeyPem).export({ type: 'pkcs8', format: 'der' });
  const key = (info: string) => Buffer.from(hkdfSync('sha256', material, 'lago-webhooks', info, 32));
  return { derive: key('organization-hmac-tokens'), seal: key('sealed-organization-hmac-tokens') };
}

/** The organization's token at `version`: 32 bytes, base64url, like the random tokens before it. */
export function deriveToken(key: Buffer, organizationId: string, version: number): string {
  return createHmac('sha256', key).update(`${organizationId}:${version}`).digest('base64url');
}

export function sealToken(key: Buffer, token: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const sealed = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
}

export function openToken(key: Buffer, sealed: string): string {
  const raw = Buffer.from(sealed, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

export interface OrganizationTokenDeps {
  store: Store;
  secrets: CachedSecrets;
  secretStore: SecretStore;
  secretsPrefix: string;
  logger: Logger;
  now: () => number;
}

/** Reads organizations' tokens, each kept in memory for a while, so a delivery costs no Secrets Manager call. */
export class OrganizationTokens {
  private readonly deps: OrganizationTokenDeps;
  private readonly cached = new Map<string, { token: Promise<string | undefined>; until: number }>();

  constructor(deps: OrganizationTokenDeps) {
    this.deps = deps;
  }

  get(organizationId: string): Promise<string | undefined> {
    const hit = this.cached.get(organizationId);
    if (hit && hit.until > this.deps.now()) return hit.token;
    const token = this.read(organizationId);
    this.cached.set(organizationId, { token, until: this.deps.now() + TOKEN_CACHE_MS });
    token.then((t) => t === undefined && this.cached.delete(organizationId), () => this.cached.delete(organizationId));
    return token;
  }

  private async keys() {
    const pem = await this.deps.secrets.get(signingKeySecretName(this.deps.secretsPrefix));
    if (!pem) throw new Error('the deployment signing key is unavailable');
    return tokenKeys(pem);
  }

  private async read(organizationId: string): Promise<string | undefined> {
    const organization = await this.deps.store.getOrganization(organizationId);
    if (!organization) return undefined;
    const keys = await this.keys();
    if (organization.token_version !== undefined) return deriveToken(keys.derive, organizationId, organization.token_version);
    if (organization.sealed_token !== undefined) return openToken(keys.seal, organization.sealed_token);
    // Created before tokens were derived: its token is a secret of its own, moved into its record once.
    const name = hmacSecretName(this.deps.secretsPrefix, organizationId);
    const legacy = await this.deps.secretStore.get(name);
    if (legacy === undefined) return undefined;
    // Whoever seals it first, the token is the same; only the first deletes the secret.
    if (await this.deps.store.sealOrganizationToken(organizationId, sealToken(keys.seal, legacy))) {
      await this.deps.secretStore.delete(name).catch((error: unknown) => this.deps.logger.warn({ err: error, organization_id: organizationId }, 'could not delete an organization token secret after moving it'));
      this.deps.logger.info({ organization_id: organizationId }, 'organization token moved from its own secret into its record');
    }
    return legacy;
  }
}
