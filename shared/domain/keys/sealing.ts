import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Sealed data at rest: custom header values and the random tokens of organizations from before tokens were derived.
 * AES-256-GCM under a version of the seal keyring, with associated data that binds each blob to what it belongs to
 * (its organization; for a header, its endpoint and name too): a blob copied to another organization, endpoint or
 * header does not open. A blob names its key version: `<version>.<base64url of iv, tag and ciphertext>`.
 *
 * Blobs sealed by earlier revisions carry no version (base64url has no dot) and open with the ring's legacy
 * versions, derived from the signing key as they were: `legacy-tokens` (no associated data) and `legacy-headers`
 * (bound to the endpoint and name). They are sealed anew, the current way, on the next write of their record.
 */

export type SealBinding =
  | { kind: 'organization-token'; organizationId: string }
  | { kind: 'custom-header'; organizationId: string; endpointId: string; name: string };

/** The seal ring's versions for blobs from before versions: one per purpose, as they were derived. */
export const LEGACY_SEAL_VERSIONS = {
  'organization-token': 'legacy-tokens',
  'custom-header': 'legacy-headers',
} as const;

const IV_BYTES = 12;
const TAG_BYTES = 16;

function associatedData(binding: SealBinding): Buffer {
  const lowerName = binding.kind === 'custom-header' ? binding.name.toLowerCase() : '';
  return Buffer.from(
    binding.kind === 'custom-header'
      ? `lago-webhooks/custom-header\n${binding.organizationId}\n${binding.endpointId}\n${lowerName}`
      : `lago-webhooks/organization-token\n${binding.organizationId}`,
  );
}

// What earlier revisions bound a blob to: headers to their endpoint and lower-case name, tokens to nothing.
function legacyAssociatedData(binding: SealBinding): Buffer | undefined {
  return binding.kind === 'custom-header'
    ? Buffer.from(`${binding.endpointId}\n${binding.name.toLowerCase()}`)
    : undefined;
}

/** The version a blob was sealed with: its own, or the legacy version of its purpose. */
export function sealedVersion(sealed: string, binding: Pick<SealBinding, 'kind'>): string {
  const dot = sealed.indexOf('.');
  return dot === -1 ? LEGACY_SEAL_VERSIONS[binding.kind] : sealed.slice(0, dot);
}

function encrypt(key: Buffer, aad: Buffer | undefined, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad) cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url');
}

function decrypt(key: Buffer, aad: Buffer | undefined, body: string): string {
  const raw = Buffer.from(body, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
}

export function seal(version: string, key: Buffer, binding: SealBinding, plaintext: string): string {
  return `${version}.${encrypt(key, associatedData(binding), plaintext)}`;
}

/** Opens a blob with the key of its version (`sealedVersion`); throws if it was sealed for something else. */
export function open(key: Buffer, binding: SealBinding, sealed: string): string {
  const dot = sealed.indexOf('.');
  return dot === -1
    ? decrypt(key, legacyAssociatedData(binding), sealed)
    : decrypt(key, associatedData(binding), sealed.slice(dot + 1));
}
