import { randomBytes } from 'node:crypto';
import { generateSigningKey } from '../delivery/signing.ts';
import type { SecretStore, WritableSecretStore } from '../ports.ts';
import { signingKeySecretName, signingPublicKeysSecretName } from '../secrets.ts';
import {
  addVersion,
  currentVersion,
  nextVersionName,
  parseKeyring,
  retireVersion,
  serializeKeyring,
  type Keyring,
} from './keyring.ts';
import { derivedKeySecretName } from './provisioning.ts';
import { keyId, parseSigningKeyring, publicPem } from './signing-keys.ts';

/**
 * The operator's key rotation (`npm run cli -- keys ...`, docs/security.md#rotation-runbook), on the secrets
 * themselves: locally the files in DATA_DIR, on AWS Secrets Manager with the operator's credentials. No function of
 * the service can write a key. A new HMAC root or seal key is current at once (processes that have not seen it read
 * the ring again when they meet its version); a new signing key is published first and signs from `activateInMs` on.
 */

export type KeyringKind = 'hmac-root' | 'seal' | 'signing';
export const KEYRING_KINDS: readonly KeyringKind[] = ['signing', 'hmac-root', 'seal'];

export interface KeyringSummary {
  kind: KeyringKind;
  current: string;
  versions: { version: string; activates_at_ms?: number }[];
}

async function readRing(store: SecretStore, name: string, parse = parseKeyring): Promise<Keyring> {
  const text = await store.get(name);
  if (text === undefined) throw new Error(`the key secret ${name} does not exist: deploy (or start) the service first`);
  return parse(text);
}

/** The rings an operator sees: versions and activation times, never key material (signing: its public ring). */
export async function describeKeyrings(store: SecretStore, prefix: string, nowMs: number): Promise<KeyringSummary[]> {
  return Promise.all(
    KEYRING_KINDS.map(async (kind) => {
      const ring = await readRing(store, ringName(kind, prefix));
      return {
        kind,
        current: currentVersion(ring, nowMs).version,
        versions: ring.versions.map(({ version, activates_at_ms }) => ({
          version,
          ...(activates_at_ms !== undefined ? { activates_at_ms } : {}),
        })),
      };
    }),
  );
}

const ringName = (kind: KeyringKind, prefix: string) =>
  kind === 'signing' ? signingPublicKeysSecretName(prefix) : derivedKeySecretName(kind, prefix);

/** Adds a new version to the ring of `kind`; answers its name and when it becomes current. */
export async function rotateKeyring(
  store: WritableSecretStore,
  prefix: string,
  kind: KeyringKind,
  { nowMs, activateInMs = 0 }: { nowMs: number; activateInMs?: number },
): Promise<{ version: string; activatesAtMs: number }> {
  if (kind === 'signing') return rotateSigningKey(store, prefix, nowMs + activateInMs, nowMs);
  const name = ringName(kind, prefix);
  const ring = await readRing(store, name);
  const version = nextVersionName(ring);
  await store.put(name, serializeKeyring(addVersion(ring, { version, key: randomBytes(32).toString('base64') })));
  return { version, activatesAtMs: nowMs };
}

/**
 * A new RSA key: its public key joins the published ones first, then the private ring, which keeps only what may
 * still sign (the current key and any waiting to activate), so no key signs before it is published.
 */
async function rotateSigningKey(store: WritableSecretStore, prefix: string, activatesAtMs: number, nowMs: number) {
  const privateName = signingKeySecretName(prefix);
  const publicName = signingPublicKeysSecretName(prefix);
  const [privateRing, publicRing] = await Promise.all([
    readRing(store, privateName, parseSigningKeyring),
    readRing(store, publicName),
  ]);
  const { privateKeyPem } = generateSigningKey();
  const version = keyId(privateKeyPem);
  const signing = currentVersion(privateRing, nowMs);
  const stillSigning = privateRing.versions.filter(
    (entry) => entry === signing || (entry.activates_at_ms ?? 0) > nowMs,
  );
  await store.put(
    publicName,
    serializeKeyring(
      addVersion(publicRing, { version, key: publicPem(privateKeyPem), activates_at_ms: activatesAtMs }),
    ),
  );
  await store.put(
    privateName,
    serializeKeyring(
      addVersion({ versions: stillSigning }, { version, key: privateKeyPem, activates_at_ms: activatesAtMs }),
    ),
  );
  return { version, activatesAtMs };
}

/**
 * Removes a version from the ring of `kind` (never the current one). What it made stops working: tokens derived from
 * a retired HMAC root, values sealed by a retired seal key, JWTs signed by a retired signing key.
 */
export async function retireKeyVersion(
  store: WritableSecretStore,
  prefix: string,
  kind: KeyringKind,
  version: string,
  nowMs: number,
): Promise<void> {
  if (kind !== 'signing') {
    const name = ringName(kind, prefix);
    await store.put(name, serializeKeyring(retireVersion(await readRing(store, name), version, nowMs)));
    return;
  }
  // The private key stops signing before its public key stops being published.
  const privateName = signingKeySecretName(prefix);
  const publicName = signingPublicKeysSecretName(prefix);
  const publicRing = retireVersion(await readRing(store, publicName), version, nowMs);
  const privateRing = await readRing(store, privateName, parseSigningKeyring);
  if (privateRing.versions.some((entry) => entry.version === version))
    await store.put(privateName, serializeKeyring(retireVersion(privateRing, version, nowMs)));
  await store.put(publicName, serializeKeyring(publicRing));
}
