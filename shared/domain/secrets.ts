import type { SecretStore } from './ports.ts';

/**
 * Names and caching of the service's secrets: the key hierarchy (docs/security.md#key-hierarchy), one secret per
 * ring, at a fixed cost per deployment. Organizations created before tokens were derived had an HMAC token secret
 * each (shared/domain/organizations/tokens.ts moves them into their record).
 */

export const hmacSecretName = (prefix: string, organizationId: string) =>
  `${prefix}/organizations/${organizationId}/hmac`;
/** The RSA private keys that sign JWTs (a bare PEM, as earlier revisions kept it, until the first rotation): the senders only. */
export const signingKeySecretName = (prefix: string) => `${prefix}/signing-key`;
/** Their public keys, which the api function publishes; not secret, but written only with the private ring. */
export const signingPublicKeysSecretName = (prefix: string) => `${prefix}/keys/signing-public`;
/** The roots organizations' HMAC tokens are derived from. */
export const hmacRootSecretName = (prefix: string) => `${prefix}/keys/hmac-root`;
/** The keys that seal custom header values and older organizations' random tokens. */
export const sealKeySecretName = (prefix: string) => `${prefix}/keys/seal`;

export const DEFAULT_SECRET_CACHE_MS = 5 * 60_000;

/** Keeps secrets in memory for a while, so a delivery never waits on the secret store. */
export class CachedSecrets {
  private readonly store: SecretStore;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, { value: Promise<string | undefined>; until: number }>();
  /** Reads `getFresh` started and that have not finished: callers meanwhile share them. */
  private readonly fresh = new Map<string, Promise<string | undefined>>();

  constructor(store: SecretStore, ttlMs = DEFAULT_SECRET_CACHE_MS, now: () => number = Date.now) {
    this.store = store;
    this.ttlMs = ttlMs;
    this.now = now;
  }

  get(name: string): Promise<string | undefined> {
    const cached = this.entries.get(name);
    if (cached && cached.until > this.now()) return cached.value;
    return this.read(name);
  }

  /**
   * Reads `name` from the store now, and keeps what it reads: for a value that must be the latest (another process
   * rotated a key this one has not seen yet). Concurrent calls share one read.
   */
  getFresh(name: string): Promise<string | undefined> {
    const reading = this.fresh.get(name);
    if (reading) return reading;
    const value = this.read(name);
    this.fresh.set(name, value);
    const done = () => void this.fresh.delete(name);
    value.then(done, done);
    return value;
  }

  private read(name: string): Promise<string | undefined> {
    const value = this.store.get(name);
    this.entries.set(name, { value, until: this.now() + this.ttlMs });
    // A failed or missing read is not worth remembering.
    value.then(
      (v) => v === undefined && this.entries.get(name)?.value === value && this.entries.delete(name),
      () => this.entries.get(name)?.value === value && this.entries.delete(name),
    );
    return value;
  }
}
