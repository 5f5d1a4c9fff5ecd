import type { SecretStore } from './ports.ts';
import { generateSigningKey } from './delivery/signing.ts';

/**
 * Names and life cycle of the service's secrets: one RSA key per deployment. Organizations created
 * before tokens were derived from it (shared/domain/organizations/tokens.ts) had an HMAC token secret each.
 */

export const hmacSecretName = (prefix: string, organizationId: string) =>
  `${prefix}/organizations/${organizationId}/hmac`;
export const signingKeySecretName = (prefix: string) => `${prefix}/signing-key`;

export const DEFAULT_SECRET_CACHE_MS = 5 * 60_000;

/** Keeps secrets in memory for a while, so a delivery never waits on the secret store. */
export class CachedSecrets {
  private readonly store: SecretStore;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, { value: Promise<string | undefined>; until: number }>();

  constructor(store: SecretStore, ttlMs = DEFAULT_SECRET_CACHE_MS, now: () => number = Date.now) {
    this.store = store;
    this.ttlMs = ttlMs;
    this.now = now;
  }

  get(name: string): Promise<string | undefined> {
    const cached = this.entries.get(name);
    if (cached && cached.until > this.now()) return cached.value;
    const value = this.store.get(name);
    this.entries.set(name, { value, until: this.now() + this.ttlMs });
    // A failed or missing read is not worth remembering.
    value.then(
      (v) => v === undefined && this.entries.delete(name),
      () => this.entries.delete(name),
    );
    return value;
  }
}

/** Returns the deployment's signing key, creating it when it does not exist yet (local mode; on AWS the stack creates it). */
export async function ensureSigningKey(store: SecretStore, prefix: string): Promise<string> {
  const name = signingKeySecretName(prefix);
  const existing = await store.get(name);
  if (existing) return existing;
  return store.create(name, generateSigningKey().privateKeyPem);
}
