import { createPrivateKey, hkdfSync, randomBytes } from 'node:crypto';
import { generateSigningKey } from '../delivery/signing.ts';
import type { SecretStore } from '../ports.ts';
import {
  hmacRootSecretName,
  sealKeySecretName,
  signingKeySecretName,
  signingPublicKeysSecretName,
} from '../secrets.ts';
import { serializeKeyring, type Keyring } from './keyring.ts';
import { LEGACY_SEAL_VERSIONS } from './sealing.ts';
import { parseSigningKeyring, publicRing } from './signing-keys.ts';

/**
 * The first contents of each key secret, made once per deployment: by the stack's custom resource on AWS
 * (functions/signing-key.ts), by `ensureKeys` when local mode starts. Earlier revisions derived the HMAC root and
 * the seal keys from the signing key (HKDF); those derivations become the rings' legacy versions, so every token
 * and sealed value made before stays valid, and the signing key is needed for nothing else from then on.
 */

/** The HMAC root version of organizations whose record names none: the one earlier revisions derived. */
export const LEGACY_HMAC_ROOT = 'v0';

/** The key secrets besides the signing key, each made from it: the rings the api function reads, and the public keys. */
export type DerivedKeySecret = 'hmac-root' | 'seal' | 'signing-public';

const randomKey = () => randomBytes(32).toString('base64');

/** The keys earlier revisions derived from the signing key, one per purpose. */
function legacyKeys(signingKeyPem: string) {
  const material = createPrivateKey(signingKeyPem).export({ type: 'pkcs8', format: 'der' });
  const key = (info: string) => Buffer.from(hkdfSync('sha256', material, 'lago-webhooks', info, 32)).toString('base64');
  return {
    hmacRoot: key('organization-hmac-tokens'),
    sealedTokens: key('sealed-organization-hmac-tokens'),
    customHeaders: key('endpoint-custom-headers'),
  };
}

/**
 * The first ring of `secret`, from the signing key secret's text. The legacy versions come from its oldest key, the
 * one earlier revisions derived from (the rings are made before the signing key is ever rotated).
 */
export function initialKeyring(secret: DerivedKeySecret, signingKeyText: string): Keyring {
  const signing = parseSigningKeyring(signingKeyText);
  if (secret === 'signing-public') return publicRing(signing);
  const [oldest] = signing.versions;
  if (!oldest) throw new Error('the signing key ring is empty');
  const legacy = legacyKeys(oldest.key);
  if (secret === 'hmac-root')
    return {
      versions: [
        { version: LEGACY_HMAC_ROOT, key: legacy.hmacRoot },
        { version: 'v1', key: randomKey() },
      ],
    };
  return {
    versions: [
      { version: LEGACY_SEAL_VERSIONS['organization-token'], key: legacy.sealedTokens },
      { version: LEGACY_SEAL_VERSIONS['custom-header'], key: legacy.customHeaders },
      { version: 'v1', key: randomKey() },
    ],
  };
}

export const derivedKeySecretName = (secret: DerivedKeySecret, prefix: string): string =>
  ({
    'hmac-root': hmacRootSecretName,
    seal: sealKeySecretName,
    'signing-public': signingPublicKeysSecretName,
  })[secret](prefix);

export const DERIVED_KEY_SECRETS: readonly DerivedKeySecret[] = ['signing-public', 'hmac-root', 'seal'];

/**
 * Local mode's start: the signing key, then each ring made from it, for those that do not exist yet. Concurrent
 * starts agree: the first write of each secret wins (`create`), and the rings are made from the key that won.
 */
export async function ensureKeys(store: SecretStore, prefix: string): Promise<void> {
  const name = signingKeySecretName(prefix);
  const signingKey = (await store.get(name)) ?? (await store.create(name, generateSigningKey().privateKeyPem));
  for (const secret of DERIVED_KEY_SECRETS) {
    const ringName = derivedKeySecretName(secret, prefix);
    if ((await store.get(ringName)) === undefined)
      await store.create(ringName, serializeKeyring(initialKeyring(secret, signingKey)));
  }
}
