import { createHmac } from 'node:crypto';
import { conflict } from '../errors.ts';
import type { DeploymentKeys } from '../keys/deployment-keys.ts';
import { UnusableKeyError } from '../keys/keyring.ts';
import { LEGACY_HMAC_ROOT } from '../keys/provisioning.ts';
import type { Organization, PreviousToken, TokenSource } from '../model.ts';
import type { Logger, OrganizationStore, SecretStore } from '../ports.ts';
import { hmacSecretName } from '../secrets.ts';

/**
 * Organization HMAC tokens at a fixed cost: no secret per organization. A token is derived from an HMAC root (a
 * version of the deployment's HMAC root ring, named in the organization's record) and the organization's token
 * version; a rotation moves the organization to a new token version under the current root, so rotating the root
 * changes no token until each organization rotates its own. Organizations created before tokens were derived kept
 * a secret each: on first use their token is sealed into their record (bound to the organization) and the secret is
 * deleted, so the token a receiver holds never changes.
 */

/** Tokens are kept in memory this long: after a rotation, other processes sign with the new token within it. */
export const TOKEN_CACHE_MS = 30_000;
/** How long the token before a rotation stays valid, by default and at most. */
const DEFAULT_ROTATION_OVERLAP_SECONDS = 24 * 3600;
export const MAX_ROTATION_OVERLAP_SECONDS = 7 * 24 * 3600;
/** Live previous tokens an organization keeps at most: a rotation that would keep more is refused until one expires. */
export const MAX_PREVIOUS_TOKENS = 5;

/** An organization's token, and the tokens before it whose overlap still runs. */
export interface OrganizationTokenSet {
  current: string;
  /** Newest first, each until its own expiry. */
  previous: { token: string; expiresAt: number }[];
}

/** The organization's token at `version` under an HMAC root: 32 bytes, base64url, like the random tokens before it. */
export function deriveToken(root: Buffer, organizationId: string, version: number): string {
  return createHmac('sha256', root).update(`${organizationId}:${version}`).digest('base64url');
}

export interface OrganizationTokenDeps {
  store: Pick<OrganizationStore, 'getOrganization' | 'rotateOrganizationToken' | 'sealOrganizationToken'>;
  keys: Pick<DeploymentKeys, 'hmacRoot' | 'currentHmacRoot' | 'seal' | 'open'>;
  /** Where older organizations' own token secrets are. */
  secretStore: SecretStore;
  secretsPrefix: string;
  logger: Logger;
  now: () => number;
}

const rotatedMeanwhile = () =>
  conflict(
    'hmac_key_rotated_concurrently',
    'the HMAC key was rotated by another request meanwhile; read it again, or retry',
    1,
  );

/** Reads organizations' tokens, each kept in memory for a while, so a delivery costs no secret store call; rotates them. */
export class OrganizationTokens {
  private readonly deps: OrganizationTokenDeps;
  private readonly cached = new Map<string, { tokens: Promise<OrganizationTokenSet | undefined>; until: number }>();

  constructor(deps: OrganizationTokenDeps) {
    this.deps = deps;
  }

  /**
   * The tokens to sign with: the current one, and the previous ones while their overlap lasts. Throws an
   * UnusableKeyError when the current token cannot be had (its HMAC root was retired, or its seal is broken).
   */
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
    return set && { ...set, previous: set.previous.filter((p) => p.expiresAt > this.deps.now()) };
  }

  /**
   * Gives the organization a new token under the current HMAC root; the current one stays valid for
   * `overlapSeconds`, and every previous one until its own expiry. A rotation by another request meanwhile, or one
   * that would keep more than MAX_PREVIOUS_TOKENS live tokens, is a 409 with Retry-After. Undefined when the
   * organization does not exist.
   */
  async rotate(
    organizationId: string,
    overlapSeconds = DEFAULT_ROTATION_OVERLAP_SECONDS,
  ): Promise<OrganizationTokenSet | undefined> {
    let organization = await this.deps.store.getOrganization(organizationId);
    if (!organization) return undefined;
    // An organization from before derived tokens has its token moved into its record first.
    if (!organization.token) {
      if (!(await this.moveOwnSecret(organizationId))) return undefined;
      organization = await this.deps.store.getOrganization(organizationId);
      if (!organization?.token) throw rotatedMeanwhile();
    }
    const nowMs = this.deps.now();
    const previous = [
      ...(overlapSeconds > 0 ? await this.kept(organizationId, organization.token, nowMs + overlapSeconds * 1000) : []),
      ...(organization.previous_tokens ?? []).filter((token) => token.expires_at_ms > nowMs),
    ];
    if (previous.length > MAX_PREVIOUS_TOKENS) {
      const soonest = Math.min(...previous.map((token) => token.expires_at_ms));
      throw conflict(
        'too_many_previous_hmac_keys',
        `${MAX_PREVIOUS_TOKENS} previous HMAC keys are still valid; rotate again once the oldest expires, or with overlap_seconds 0`,
        Math.ceil((soonest - nowMs) / 1000),
      );
    }
    const token = {
      token_version: ('token_version' in organization.token ? organization.token.token_version : 0) + 1,
      token_root: await this.deps.keys.currentHmacRoot(),
    };
    const rotated = await this.deps.store.rotateOrganizationToken(organizationId, organization.token, {
      token,
      previous_tokens: previous,
    });
    if (!rotated) throw rotatedMeanwhile();
    this.cached.delete(organizationId);
    this.deps.logger.info(
      { organization_id: organizationId, overlap_seconds: overlapSeconds, hmac_root: token.token_root },
      'organization token rotated',
    );
    return this.get(organizationId);
  }

  /**
   * The current token as a previous one until `expiresAtMs`: a sealed token is sealed anew, bound to its organization
   * (its record is being written anyway); a token that cannot be had (a retired root) is not kept: it no longer signs.
   */
  private async kept(organizationId: string, current: TokenSource, expiresAtMs: number): Promise<PreviousToken[]> {
    try {
      if ('token_version' in current) {
        await this.deps.keys.hmacRoot(current.token_root ?? LEGACY_HMAC_ROOT);
        return [{ ...current, expires_at_ms: expiresAtMs }];
      }
      const binding = { kind: 'organization-token', organizationId } as const;
      const token = await this.deps.keys.open(binding, current.sealed_token);
      return [{ sealed_token: await this.deps.keys.seal(binding, token), expires_at_ms: expiresAtMs }];
    } catch (error) {
      if (!(error instanceof UnusableKeyError)) throw error;
      return [];
    }
  }

  private async tokenOf(organizationId: string, source: TokenSource): Promise<string> {
    if ('sealed_token' in source)
      return this.deps.keys.open({ kind: 'organization-token', organizationId }, source.sealed_token);
    const root = await this.deps.keys.hmacRoot(source.token_root ?? LEGACY_HMAC_ROOT);
    return deriveToken(root, organizationId, source.token_version);
  }

  /** Live previous tokens; one that cannot be had is left out (it can no longer sign) and logged. */
  private async previousOf(organization: Organization): Promise<OrganizationTokenSet['previous']> {
    const live = (organization.previous_tokens ?? []).filter((token) => token.expires_at_ms > this.deps.now());
    const tokens = await Promise.all(
      live.map(async (source) => {
        try {
          return [{ token: await this.tokenOf(organization.id, source), expiresAt: source.expires_at_ms }];
        } catch (error) {
          if (!(error instanceof UnusableKeyError)) throw error;
          this.deps.logger.warn({ organization_id: organization.id, err: error }, 'a previous token no longer signs');
          return [];
        }
      }),
    );
    return tokens.flat();
  }

  private async read(organizationId: string): Promise<OrganizationTokenSet | undefined> {
    const organization = await this.deps.store.getOrganization(organizationId);
    if (!organization) return undefined;
    if (organization.token)
      return {
        current: await this.tokenOf(organizationId, organization.token),
        previous: await this.previousOf(organization),
      };
    return this.moveOwnSecret(organizationId);
  }

  /** Created before tokens were derived: its token is a secret of its own, moved into its record once. */
  private async moveOwnSecret(organizationId: string): Promise<OrganizationTokenSet | undefined> {
    const name = hmacSecretName(this.deps.secretsPrefix, organizationId);
    const legacy = await this.deps.secretStore.get(name);
    if (legacy === undefined) {
      // Another process may have just moved it into the record and deleted the secret.
      const moved = await this.deps.store.getOrganization(organizationId);
      return moved?.token ? { current: await this.tokenOf(organizationId, moved.token), previous: [] } : undefined;
    }
    // Whoever seals it first, the token is the same; only the first deletes the secret.
    const sealed = await this.deps.keys.seal({ kind: 'organization-token', organizationId }, legacy);
    if (await this.deps.store.sealOrganizationToken(organizationId, sealed)) {
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
    return { current: legacy, previous: [] };
  }
}
