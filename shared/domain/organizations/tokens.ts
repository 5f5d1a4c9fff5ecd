import { createCipheriv, createDecipheriv, createHmac, createPrivateKey, hkdfSync, randomBytes } from 'node:crypto';
import type { Logger, OrganizationStore, SecretStore } from '../ports.ts';
import { hmacSecretName, signingKeySecretName, type CachedSecrets } from '../secrets.ts';

/**
 * Organization HMAC tokens at a fixed cost: no secret per organization. A token is derived from
 * the deployment's signing key (the one secret, in Secrets Manager) and the organization's token
 * version, kept in its record; a new version is a new token. Organizations created before this kept
 * a secret each: on first use their token is sealed (AES-256-GCM, under a key derived the same way)
 * into their record and the secret is deleted, so the token a receiver holds never changes.
 */

/** Tokens are kept in memory this long: after a rotation, other processes sign with the new token within it. */
export const TOKEN_CACHE_MS = 30_000;
/** How long the token before a rotation stays valid, by default and at most. */
const DEFAULT_ROTATION_OVERLAP_SECONDS = 24 * 3600;
export const MAX_ROTATION_OVERLAP_SECONDS = 7 * 24 * 3600;

/** An organization's token, and during a rotation's overlap the one before it. */
export interface OrganizationTokenSet {
  current: string;
  previous?: { token: string; expiresAt: number };
}

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
  store: Pick<OrganizationStore, 'getOrganization' | 'rotateOrganizationToken' | 'sealOrganizationToken'>;
  secrets: CachedSecrets;
  secretStore: SecretStore;
  secretsPrefix: string;
  logger: Logger;
  now: () => number;
}

/** Reads organizations' tokens, each kept in memory for a while, so a delivery costs no Secrets Manager call; rotates them. */
export class OrganizationTokens {
  private readonly deps: OrganizationTokenDeps;
  private readonly cached = new Map<string, { tokens: Promise<OrganizationTokenSet | undefined>; until: number }>();

  constructor(deps: OrganizationTokenDeps) {
    this.deps = deps;
  }

  /** The tokens to sign with: the current one, and the previous one while its overlap lasts. */
  async get(organizationId: string): Promise<OrganizationTokenSet | undefined> {
    const hit = this.cached.get(organizationId);
    let tokens: Promise<OrganizationTokenSet | undefined>;
    if (hit && hit.until > this.deps.now()) {
      tokens = hit.tokens;
    } else {
      tokens = this.read(organizationId);
      this.cached.set(organizationId, { tokens, until: this.deps.now() + TOKEN_CACHE_MS });
      tokens.then(
        (t) => t === undefined && this.cached.delete(organizationId),
        () => this.cached.delete(organizationId),
      );
    }
    const set = await tokens;
    if (set?.previous && set.previous.expiresAt <= this.deps.now()) return { current: set.current };
    return set;
  }

  /**
   * Gives the organization a new token; the current one stays valid for `overlapSeconds`. Undefined
   * when the organization does not exist.
   */
  async rotate(
    organizationId: string,
    overlapSeconds = DEFAULT_ROTATION_OVERLAP_SECONDS,
  ): Promise<OrganizationTokenSet | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      // An organization from before derived tokens has its token moved into its record first.
      if (!(await this.read(organizationId))) return undefined;
      const organization = await this.deps.store.getOrganization(organizationId);
      if (!organization || (organization.token_version === undefined && organization.sealed_token === undefined))
        continue;
      const rotated = await this.deps.store.rotateOrganizationToken(
        organizationId,
        { token_version: organization.token_version, sealed_token: organization.sealed_token },
        (organization.token_version ?? 0) + 1,
        this.deps.now() + overlapSeconds * 1000,
      );
      if (!rotated) continue;
      this.cached.delete(organizationId);
      this.deps.logger.info(
        { organization_id: organizationId, overlap_seconds: overlapSeconds },
        'organization token rotated',
      );
      return this.get(organizationId);
    }
    throw new Error('the organization token changed concurrently; retry');
  }

  private async keys() {
    const pem = await this.deps.secrets.get(signingKeySecretName(this.deps.secretsPrefix));
    if (!pem) throw new Error('the deployment signing key is unavailable');
    return tokenKeys(pem);
  }

  private async read(organizationId: string): Promise<OrganizationTokenSet | undefined> {
    const organization = await this.deps.store.getOrganization(organizationId);
    if (!organization) return undefined;
    const keys = await this.keys();
    const previous =
      organization.previous_token_expires_at_ms !== undefined &&
      organization.previous_token_expires_at_ms > this.deps.now()
        ? organization.previous_token_version !== undefined
          ? deriveToken(keys.derive, organizationId, organization.previous_token_version)
          : organization.previous_sealed_token !== undefined
            ? openToken(keys.seal, organization.previous_sealed_token)
            : undefined
        : undefined;
    const withPrevious = (current: string): OrganizationTokenSet =>
      previous !== undefined
        ? { current, previous: { token: previous, expiresAt: organization.previous_token_expires_at_ms! } }
        : { current };
    if (organization.token_version !== undefined)
      return withPrevious(deriveToken(keys.derive, organizationId, organization.token_version));
    if (organization.sealed_token !== undefined) return withPrevious(openToken(keys.seal, organization.sealed_token));
    // Created before tokens were derived: its token is a secret of its own, moved into its record once.
    const name = hmacSecretName(this.deps.secretsPrefix, organizationId);
    const legacy = await this.deps.secretStore.get(name);
    if (legacy === undefined) {
      // Another process may have just moved it into the record and deleted the secret.
      const moved = await this.deps.store.getOrganization(organizationId);
      return moved?.sealed_token !== undefined ? { current: openToken(keys.seal, moved.sealed_token) } : undefined;
    }
    // Whoever seals it first, the token is the same; only the first deletes the secret.
    if (await this.deps.store.sealOrganizationToken(organizationId, sealToken(keys.seal, legacy))) {
      await this.deps.secretStore
        .delete(name)
        .catch((error: unknown) =>
          this.deps.logger.warn(
            { err: error, organization_id: organizationId },
            'could not delete an organization token secret after moving it',
          ),
        );
      this.deps.logger.info(
        { organization_id: organizationId },
        'organization token moved from its own secret into its record',
      );
    }
    return { current: legacy };
  }
}
