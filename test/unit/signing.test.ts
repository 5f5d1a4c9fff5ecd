// Covers shared/domain/delivery/signing.ts: Lago's HMAC and JWT signatures, Ruby's Base64.encode64 and Standard Webhooks, each checked with an independent implementation.
import { createHmac, createPublicKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { Webhook } from 'standardwebhooks';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  generateSigningKey,
  lagoPublicKey,
  rubyEncode64,
  signHmac,
  signJwt,
  signStandardWebhook,
  standardWebhooksSecret,
  type SigningKeyPair,
} from '#shared/domain/delivery/signing.ts';

const BODY = JSON.stringify({
  webhook_type: 'invoice.created',
  object_type: 'invoice',
  organization_id: '0196d7a2-0000-7000-8000-000000000000',
  invoice: { lago_id: 'inv_1', total_amount_cents: 1999, customer: { name: 'Zoë “Ünïcode” ☃' } },
});
const ISSUER = 'https://webhooks.example.com';

/** Ruby's Array#pack("m"): 45 input bytes per line, each line base64 plus "\n". */
function rubyPackM(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i += 45) out += `${bytes.subarray(i, i + 45).toString('base64')}\n`;
  return out;
}

describe('signHmac', () => {
  it('matches the RFC 4231 HMAC-SHA256 test vector, base64 encoded', () => {
    const signature = signHmac('Jefe', 'what do ya want for nothing?');
    expect(Buffer.from(signature, 'base64').toString('hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(signature).toBe('W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=');
  });

  it("equals what Lago's receiver code computes over the raw body (standard, padded base64)", () => {
    const token = 'tok_9f8e7d6c5b4a';
    const expected = createHmac('sha256', token).update(Buffer.from(BODY, 'utf8')).digest('base64');
    const signature = signHmac(token, BODY);
    expect(signature).toBe(expected);
    expect(signature).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it('changes when one byte of the body changes', () => {
    expect(signHmac('k', BODY)).not.toBe(signHmac('k', BODY.replace('1999', '1998')));
  });
});

describe('signJwt', () => {
  let key: SigningKeyPair;
  let publicPem: string;
  beforeAll(() => {
    key = generateSigningKey();
    publicPem = Buffer.from(lagoPublicKey(key.privateKeyPem), 'base64').toString('utf8');
  });

  it('serves a public key that is the base64 of a PEM matching the private key', () => {
    expect(publicPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    expect(createPublicKey(publicPem).export({ format: 'pem', type: 'spki' })).toBe(key.publicKeyPem);
  });

  it('serves the same bytes from the public key alone (what the api function holds) as from the private key', () => {
    expect(lagoPublicKey(key.publicKeyPem)).toBe(lagoPublicKey(key.privateKeyPem));
  });

  it('has exactly the header {"alg":"RS256"}', async () => {
    const token = await signJwt(key.privateKeyPem, BODY, ISSUER);
    const [header] = token.split('.');
    expect(Buffer.from(header!, 'base64url').toString('utf8')).toBe('{"alg":"RS256"}');
  });

  it('verifies with jsonwebtoken and carries exactly {data: body, iss}', async () => {
    const token = await signJwt(key.privateKeyPem, BODY, ISSUER);
    const claims = jwt.verify(token, publicPem, { algorithms: ['RS256'], issuer: ISSUER });
    expect(claims).toEqual({ data: BODY, iss: ISSUER });
    expect(JSON.parse((claims as { data: string }).data)).toEqual(JSON.parse(BODY));
  });

  it('does not verify with another key', async () => {
    const token = await signJwt(key.privateKeyPem, BODY, ISSUER);
    const other = generateSigningKey();
    expect(() => jwt.verify(token, other.publicKeyPem, { algorithms: ['RS256'] })).toThrow(/invalid signature/);
  });
});

describe('rubyEncode64', () => {
  it("matches the examples in Ruby's Base64 documentation", () => {
    expect(rubyEncode64('Send reinforcements')).toBe('U2VuZCByZWluZm9yY2VtZW50cw==\n');
    expect(rubyEncode64('Now is the time for all good coders\nto learn Ruby')).toBe(
      'Tm93IGlzIHRoZSB0aW1lIGZvciBhbGwgZ29vZCBjb2RlcnMKdG8gbGVhcm4g\nUnVieQ==\n',
    );
  });

  it('breaks lines every 60 characters and ends with a newline, like pack("m")', () => {
    for (const length of [0, 1, 44, 45, 46, 89, 90, 91, 451]) {
      const text = 'x'.repeat(length);
      const encoded = rubyEncode64(text);
      expect(encoded).toBe(rubyPackM(text));
      for (const line of encoded.split('\n').slice(0, -1)) expect(line.length).toBeLessThanOrEqual(60);
    }
  });

  it('encodes a whole PEM so that it decodes back byte for byte', () => {
    const pem = generateSigningKey().publicKeyPem;
    const encoded = rubyEncode64(pem);
    expect(encoded).toBe(rubyPackM(pem));
    expect(encoded.endsWith('\n')).toBe(true);
    expect(Buffer.from(encoded, 'base64').toString('utf8')).toBe(pem);
  });
});

describe('Standard Webhooks', () => {
  const token = 'org-token-with-üñíçødé';
  const id = 'msg_0196d7a2';

  it('verifies with the standardwebhooks library given standardWebhooksSecret', () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signStandardWebhook(token, id, timestamp, BODY),
    };
    const verified = new Webhook(standardWebhooksSecret(token)).verify(BODY, headers);
    expect(verified).toEqual(JSON.parse(BODY));
  });

  it('matches the signature the library itself produces', () => {
    const timestamp = Math.floor(Date.now() / 1000);
    expect(signStandardWebhook(token, id, timestamp, BODY)).toBe(
      new Webhook(standardWebhooksSecret(token)).sign(id, new Date(timestamp * 1000), BODY),
    );
  });

  it('is refused by the library for a tampered body or a stale timestamp', () => {
    const receiver = new Webhook(standardWebhooksSecret(token));
    const now = Math.floor(Date.now() / 1000);
    const signature = signStandardWebhook(token, id, now, BODY);
    expect(() =>
      receiver.verify(`${BODY} `, {
        'webhook-id': id,
        'webhook-timestamp': String(now),
        'webhook-signature': signature,
      }),
    ).toThrow();
    const old = now - 3600;
    expect(() =>
      receiver.verify(BODY, {
        'webhook-id': id,
        'webhook-timestamp': String(old),
        'webhook-signature': signStandardWebhook(token, id, old, BODY),
      }),
    ).toThrow(/too old/i);
  });

  it('gives a whsec_ secret whose key is the token bytes', () => {
    expect(standardWebhooksSecret('abc')).toBe('whsec_YWJj');
  });
});
