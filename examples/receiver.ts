/**
 * A receiver that verifies every signature this service sends, as your server would.
 *   API_URL=http://127.0.0.1:3000 API_KEY=lwh_... npm run receiver
 * It fetches the organization's HMAC key and the deployment's public key once, then checks each
 * webhook on http://127.0.0.1:4000/webhooks (RECEIVER_PORT to change) and answers 200 when all hold.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import jwt from 'jsonwebtoken';
import { Webhook } from 'standardwebhooks';

const apiUrl = process.env.API_URL ?? 'http://127.0.0.1:3000';
const apiKey = process.env.API_KEY;
if (!apiKey) throw new Error('set API_KEY to the organization API key');

async function get(path: string): Promise<Record<string, Record<string, string>>> {
  const res = await fetch(`${apiUrl}/api/v1${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
  return (await res.json()) as Record<string, Record<string, string>>;
}

const { hmac_key: hmacKey, standard_webhooks_secret: standardSecret } = (await get('/webhooks/hmac_key')).webhook!;
// Lago serves the public key as base64 of the PEM.
const publicKey = Buffer.from((await get('/webhooks/json_public_key')).webhook!.public_key!, 'base64').toString('utf8');

/** X-Lago-Signature, as Lago defines it: HMAC-SHA256 of the raw body, or an RS256 JWT whose `data` claim is the body. */
function verifyLago(algorithm: string | undefined, signature: string, body: string): boolean {
  if (algorithm === 'hmac') {
    const expected = createHmac('sha256', hmacKey!).update(body).digest();
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
  try {
    const claims = jwt.verify(signature, publicKey, { algorithms: ['RS256'] }) as { data?: string };
    return claims.data === body;
  } catch {
    return false;
  }
}

/** Standard Webhooks: also rejects a timestamp more than 5 minutes away, so a replayed request fails. */
function verifyStandard(headers: Record<string, string>, body: string): boolean {
  try {
    new Webhook(standardSecret!).verify(body, headers);
    return true;
  } catch {
    return false;
  }
}

const port = Number(process.env.RECEIVER_PORT ?? 4000);
createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
  req.on('end', () => {
    const headers = req.headers as Record<string, string>;
    const lago = verifyLago(headers['x-lago-signature-algorithm'], headers['x-lago-signature'] ?? '', body);
    const standard = verifyStandard(headers, body);
    const event = JSON.parse(body) as { webhook_type: string };
    console.log(
      `${headers['x-lago-unique-key']} ${event.webhook_type}: X-Lago-Signature (${headers['x-lago-signature-algorithm']}) ${lago ? 'valid' : 'INVALID'}, webhook-signature ${standard ? 'valid' : 'INVALID'}`,
    );
    res.writeHead(lago && standard ? 200 : 401).end();
  });
}).listen(port, '127.0.0.1', () => console.log(`receiver listening on http://127.0.0.1:${port}/webhooks`));
