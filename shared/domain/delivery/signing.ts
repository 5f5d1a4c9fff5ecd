import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { SignJWT, importPKCS8, type CryptoKey } from 'jose';

/**
 * Signatures on every delivery. `X-Lago-Signature` is byte-compatible with Lago:
 * HMAC: base64 of HMAC-SHA256 keyed by the organization's token, over the body;
 * JWT: RS256 over {data: body, iss: API URL} with the deployment's current RSA key, header exactly {"alg":"RS256"}
 * as Lago's (no `kid`: receivers written for Lago may compare it; the JWKS route lists every key to try).
 * Standard Webhooks adds a timestamp, so receivers can refuse replays.
 */

export function signHmac(token: string, body: string): string {
  return createHmac('sha256', Buffer.from(token, 'utf8')).update(body, 'utf8').digest('base64');
}

const privateKeys = new Map<string, Promise<CryptoKey>>();

export async function signJwt(privateKeyPem: string, body: string, issuer: string): Promise<string> {
  let key = privateKeys.get(privateKeyPem);
  if (!key) {
    key = importPKCS8(privateKeyPem, 'RS256');
    privateKeys.set(privateKeyPem, key);
  }
  return new SignJWT({ data: body, iss: issuer }).setProtectedHeader({ alg: 'RS256' }).sign(await key);
}

/** The secret to give a Standard Webhooks library: the organization's token, base64, with its prefix. */
export function standardWebhooksSecret(token: string): string {
  return `whsec_${Buffer.from(token, 'utf8').toString('base64')}`;
}

export function signStandardWebhook(token: string, id: string, timestampSeconds: number, body: string): string {
  const digest = createHmac('sha256', Buffer.from(token, 'utf8'))
    .update(`${id}.${timestampSeconds}.${body}`, 'utf8')
    .digest('base64');
  return `v1,${digest}`;
}

export interface SigningKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

export function generateSigningKey(): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** Ruby's Base64.encode64, which Lago uses for its public key: a newline after every 60 characters. */
export function rubyEncode64(text: string): string {
  const b64 = Buffer.from(text, 'utf8').toString('base64');
  return (b64.match(/.{1,60}/g) ?? []).map((line) => `${line}\n`).join('');
}

/** The public key as Lago serves it: base64 of its SPKI PEM (from any PEM of the key, public or private). */
export function lagoPublicKey(pem: string): string {
  return rubyEncode64(createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString());
}
