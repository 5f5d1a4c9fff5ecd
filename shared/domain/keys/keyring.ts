import { z } from 'zod';

/**
 * A versioned keyring: what each of the deployment's key secrets holds (docs/security.md#key-hierarchy). Versions
 * are kept in the order they were added. The current one, which seals, derives and signs, is the newest whose
 * activation time has come, so a rotation can publish a key before it is used; every version in the ring still
 * opens, derives or verifies what it made. A version leaves the ring only when an operator retires it, and what it
 * made then fails with a `KeyRetiredError` that says so.
 */

export interface KeyVersion {
  /** `v1`, `v2`, … (or a signing key's `kid`); never contains a dot, which separates it from a sealed blob. */
  version: string;
  /** The material: base64 of 32 random bytes, or a PEM, as the ring's kind says. */
  key: string;
  /** When it becomes current; absent: as soon as it is in the ring. */
  activates_at_ms?: number;
}

export interface Keyring {
  versions: KeyVersion[];
}

/**
 * What a token or a sealed value needs can never be had again: retrying cannot help, so a delivery fails at once
 * with the reason and the API says what to do (rotate the token, send the header's value again).
 */
export class UnusableKeyError extends Error {}

/** What a blob, token or signature was made with is no longer in its ring: an operator retired it. */
export class KeyRetiredError extends UnusableKeyError {
  readonly version: string;

  /** `key`: what it was and whose, e.g. "HMAC root" and "of this organization's token". */
  constructor(key: string, version: string, whose: string) {
    super(`the ${key} version ${version} ${whose} was retired`);
    this.name = 'KeyRetiredError';
    this.version = version;
  }
}

const VERSION = /^[A-Za-z0-9_-]{1,64}$/;

// As stored: times in ISO, like every stored format here.
const Stored = z.object({
  keys: z
    .array(
      z.object({
        version: z.string().regex(VERSION),
        key: z.string().min(1),
        activates_at: z.iso.datetime().optional(),
      }),
    )
    .min(1),
});

export function parseKeyring(text: string): Keyring {
  const stored = Stored.parse(JSON.parse(text));
  return {
    versions: stored.keys.map(({ version, key, activates_at }) => ({
      version,
      key,
      ...(activates_at !== undefined ? { activates_at_ms: Date.parse(activates_at) } : {}),
    })),
  };
}

export function serializeKeyring(ring: Keyring): string {
  return JSON.stringify({
    keys: ring.versions.map(({ version, key, activates_at_ms }) => ({
      version,
      key,
      ...(activates_at_ms !== undefined ? { activates_at: new Date(activates_at_ms).toISOString() } : {}),
    })),
  });
}

const isActive = (entry: KeyVersion, nowMs: number) => (entry.activates_at_ms ?? 0) <= nowMs;

/** The version in use at `nowMs`: the newest one whose activation has come. */
export function currentVersion(ring: Keyring, nowMs: number): KeyVersion {
  const active = ring.versions.filter((entry) => isActive(entry, nowMs));
  const current = active[active.length - 1];
  if (!current) throw new Error('no key of this ring is active yet');
  return current;
}

export const findVersion = (ring: Keyring, version: string): KeyVersion | undefined =>
  ring.versions.find((entry) => entry.version === version);

/** The next `vN` name: one more than the highest in the ring. */
export function nextVersionName(ring: Keyring): string {
  const numbers = ring.versions.map((entry) => /^v(\d+)$/.exec(entry.version)?.[1]).filter((n) => n !== undefined);
  return `v${Math.max(0, ...numbers.map(Number)) + 1}`;
}

/** The ring with `entry` added last; a version already in it is refused. */
export function addVersion(ring: Keyring, entry: KeyVersion): Keyring {
  if (!VERSION.test(entry.version)) throw new Error(`"${entry.version}" is not a key version name`);
  if (findVersion(ring, entry.version)) throw new Error(`version ${entry.version} is already in the ring`);
  return { versions: [...ring.versions, entry] };
}

/** The ring without `version`; the current version cannot be retired (rotate first). */
export function retireVersion(ring: Keyring, version: string, nowMs: number): Keyring {
  if (!findVersion(ring, version)) throw new Error(`version ${version} is not in the ring`);
  if (currentVersion(ring, nowMs).version === version)
    throw new Error(`version ${version} is the current one: rotate first, then retire it`);
  return { versions: ring.versions.filter((entry) => entry.version !== version) };
}
