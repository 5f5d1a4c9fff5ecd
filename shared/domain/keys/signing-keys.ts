import { createHash, createPublicKey, type JsonWebKey } from 'node:crypto';
import { currentVersion, parseKeyring, type Keyring, type KeyVersion } from './keyring.ts';

/**
 * The RSA keys that sign Lago's JWT signatures, in two rings of the same versions: the private ring (the senders
 * read it) and the public ring (the api function reads it, to publish the keys). A version's name is its key's
 * `kid`, the RFC 7638 thumbprint of its public key, so anyone holding a public key can compute it.
 */

/** RFC 7638 over the required members in lexicographic order, as JSON without spaces (jose's is async; this is one line). */
function thumbprint(jwk: JsonWebKey): string {
  return createHash('sha256')
    .update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n }))
    .digest('base64url');
}

export const keyId = (pem: string): string => thumbprint(createPublicKey(pem).export({ format: 'jwk' }));

/** The public key of a PEM (private or public) as earlier revisions served it: SPKI PEM. */
export const publicPem = (pem: string): string =>
  createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();

/**
 * The private ring as stored under `<prefix>/signing-key`: a ring, or a bare PEM, the one key earlier revisions and
 * the stack's custom resource keep there (read as a ring of that key alone).
 */
export function parseSigningKeyring(text: string): Keyring {
  if (text.trimStart().startsWith('-----BEGIN')) return { versions: [{ version: keyId(text), key: text }] };
  return parseKeyring(text);
}

/** The public ring matching a private one: the same versions and activation times, public keys only. */
export const publicRing = (ring: Keyring): Keyring => ({
  versions: ring.versions.map((entry) => ({ ...entry, key: publicPem(entry.key) })),
});

export interface PublishedKey {
  kid: string;
  /** SPKI PEM, as Lago's `public_key` route serves it (base64, with Ruby's line breaks). */
  pem: string;
  jwk: JsonWebKey & { kid: string; alg: 'RS256'; use: 'sig' };
}

const published = (entry: KeyVersion): PublishedKey => ({
  kid: entry.version,
  pem: entry.key,
  jwk: { ...createPublicKey(entry.key).export({ format: 'jwk' }), kid: entry.version, alg: 'RS256', use: 'sig' },
});

/** The keys to publish at `nowMs`: the current one (what the senders sign with), and every one in the ring. */
export function publishedKeys(ring: Keyring, nowMs: number): { current: PublishedKey; all: PublishedKey[] } {
  return { current: published(currentVersion(ring, nowMs)), all: ring.versions.map(published) };
}
