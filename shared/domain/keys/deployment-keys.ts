import {
  hmacRootSecretName,
  sealKeySecretName,
  signingKeySecretName,
  signingPublicKeysSecretName,
  type CachedSecrets,
} from '../secrets.ts';
import {
  currentVersion,
  findVersion,
  KeyRetiredError,
  parseKeyring,
  UnusableKeyError,
  type Keyring,
  type KeyVersion,
} from './keyring.ts';
import { open, seal, sealedVersion, type SealBinding } from './sealing.ts';
import { parseSigningKeyring, publishedKeys, type PublishedKey } from './signing-keys.ts';

/**
 * The deployment's keys as a process uses them, each read from its own secret and kept in memory for a while
 * (docs/security.md#key-hierarchy): the signing keys (private: the senders; public: the api function), the HMAC roots
 * and the seal keys. A process reads only the secrets of what it calls: the api function never reads the private ring.
 * A version missing from a kept copy makes it read the secret again, so a rotation made elsewhere reaches it at once.
 */

export interface DeploymentKeysDeps {
  /** Reads kept in memory (their TTL bounds how long a new signing key takes to reach every process). */
  secrets: CachedSecrets;
  prefix: string;
  now: () => number;
}

/** A version found missing by a read of its ring is trusted missing this long before the ring is read again for it. */
const MISSING_FOR_MS = 1000;

type Parse = (text: string) => Keyring;

const whose = (binding: SealBinding) =>
  binding.kind === 'organization-token'
    ? "of this organization's token"
    : `of this endpoint's custom header ${binding.name}`;

/** A sealed value that does not open for what it is stored as: it was moved from another record, or altered. */
export class SealBrokenError extends UnusableKeyError {
  constructor(binding: SealBinding) {
    super(`the sealed value ${whose(binding)} does not open: it was sealed for another record, or altered`);
    this.name = 'SealBrokenError';
  }
}

export class DeploymentKeys {
  private readonly deps: DeploymentKeysDeps;
  private readonly parsed = new Map<string, { text: string; ring: Keyring }>();
  /** When a read of its ring last found a version missing, by ring and version. */
  private readonly missing = new Map<string, number>();
  /** When a claimed HMAC root was last found missing (`claimedHmacRoot`). */
  private claimedMissAt = Number.NEGATIVE_INFINITY;

  constructor(deps: DeploymentKeysDeps) {
    this.deps = deps;
  }

  private parse(name: string, text: string, parse: Parse): Keyring {
    const kept = this.parsed.get(name);
    if (kept?.text === text) return kept.ring;
    const ring = parse(text);
    this.parsed.set(name, { text, ring });
    return ring;
  }

  private async ring(name: string, parse: Parse = parseKeyring, fresh = false): Promise<Keyring> {
    const text = await (fresh ? this.deps.secrets.getFresh(name) : this.deps.secrets.get(name));
    if (text === undefined) throw new Error(`the key secret ${name} is missing`);
    return this.parse(name, text, parse);
  }

  /**
   * `version` of the ring `name`. When the kept copy lacks it, the secret is read again (a rotation elsewhere): it is
   * missing, retired, only if a read made after it was met lacks it too (then trusted for a second, not read again).
   */
  private async version(name: string, version: string): Promise<KeyVersion | undefined> {
    const kept = findVersion(await this.ring(name), version);
    if (kept) return kept;
    const key = `${name}#${version}`;
    const missedAt = this.missing.get(key);
    if (missedAt !== undefined && this.deps.now() - missedAt < MISSING_FOR_MS) return undefined;
    const found = findVersion(await this.ring(name, parseKeyring, true), version);
    if (found) this.missing.delete(key);
    else this.missing.set(key, this.deps.now());
    return found;
  }

  /** An HMAC root, by version; throws a KeyRetiredError when it left the ring. */
  async hmacRoot(version: string): Promise<Buffer> {
    const entry = await this.version(hmacRootSecretName(this.deps.prefix), version);
    if (!entry) throw new KeyRetiredError('HMAC root', version, "of this organization's token");
    return Buffer.from(entry.key, 'base64');
  }

  /**
   * The HMAC root a caller names (a portal session's `kid`), undefined if the ring lacks it. Unlike `hmacRoot`, a name
   * from outside never grows the missing-versions map, and reads the secret again at most once a second in all.
   */
  async claimedHmacRoot(version: string): Promise<Buffer | undefined> {
    const name = hmacRootSecretName(this.deps.prefix);
    let entry = findVersion(await this.ring(name), version);
    if (!entry && this.deps.now() - this.claimedMissAt >= MISSING_FOR_MS) {
      this.claimedMissAt = this.deps.now();
      entry = findVersion(await this.ring(name, parseKeyring, true), version);
    }
    return entry && Buffer.from(entry.key, 'base64');
  }

  /** The HMAC root new tokens derive from, read from the secret itself: a root rotated a moment ago is used at once. */
  async currentHmacRoot(): Promise<string> {
    return currentVersion(await this.ring(hmacRootSecretName(this.deps.prefix), parseKeyring, true), this.deps.now())
      .version;
  }

  async seal(binding: SealBinding, plaintext: string): Promise<string> {
    const current = currentVersion(await this.ring(sealKeySecretName(this.deps.prefix)), this.deps.now());
    return seal(current.version, Buffer.from(current.key, 'base64'), binding, plaintext);
  }

  /**
   * Opens a sealed blob bound to `binding`: a KeyRetiredError when its version left the ring, a SealBrokenError when
   * it does not open (sealed for another organization, endpoint or header, or altered).
   */
  async open(binding: SealBinding, sealed: string): Promise<string> {
    const version = sealedVersion(sealed, binding);
    const entry = await this.version(sealKeySecretName(this.deps.prefix), version);
    if (!entry) throw new KeyRetiredError('seal key', version, whose(binding));
    try {
      return open(Buffer.from(entry.key, 'base64'), binding, sealed);
    } catch {
      throw new SealBrokenError(binding);
    }
  }

  /** Whether a blob is sealed the current way (a version of its own, the current one): if not, its next write seals it anew. */
  async isSealedCurrently(binding: SealBinding, sealed: string): Promise<boolean> {
    const current = currentVersion(await this.ring(sealKeySecretName(this.deps.prefix)), this.deps.now());
    return sealed.includes('.') && sealedVersion(sealed, binding) === current.version;
  }

  /** The private key JWTs are signed with now (the senders only). */
  async signingKey(): Promise<{ kid: string; pem: string }> {
    const ring = await this.ring(signingKeySecretName(this.deps.prefix), parseSigningKeyring);
    const current = currentVersion(ring, this.deps.now());
    return { kid: current.version, pem: current.key };
  }

  /** The public keys to publish: the one signing now, and all of them (during a rotation, more than one). */
  async publicKeys(): Promise<{ current: PublishedKey; all: PublishedKey[] }> {
    return publishedKeys(await this.ring(signingPublicKeysSecretName(this.deps.prefix)), this.deps.now());
  }
}
