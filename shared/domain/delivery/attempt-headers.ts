import { attemptHeaders } from '../endpoints/headers.ts';
import type { Webhook, WebhookEndpoint } from '../model.ts';
import type { SenderDeps } from './sender-deps.ts';
import { signHmac, signJwt, signStandardWebhook } from './signing.ts';

const USER_AGENT = 'lago-webhooks-aws/0.1 (+https://github.com/getlago/lago compatible)';

type SigningDeps = Pick<SenderDeps, 'organizationTokens' | 'keys' | 'issuer'>;

/**
 * The headers of an attempt, signed; throws when this service's token or key cannot be read (an UnusableKeyError when
 * it never will: the organization's HMAC root or a custom header's seal key was retired, or a sealed value is broken).
 */
export async function signAttempt(
  deps: SigningDeps,
  webhook: Pick<Webhook, 'id' | 'organization_id' | 'payload'>,
  endpoint: WebhookEndpoint,
  nowMs: number,
): Promise<Record<string, string>> {
  const tokens = await deps.organizationTokens(webhook.organization_id);
  if (!tokens) throw new Error('the organization signing token is unavailable');
  const signature =
    endpoint.signature_algo === 'hmac'
      ? signHmac(tokens.current, webhook.payload)
      : await signJwt((await deps.keys.signingKey()).pem, webhook.payload, deps.issuer);
  const timestamp = Math.floor(nowMs / 1000);
  return {
    // The endpoint's custom headers come first: the service's own always win.
    ...(await attemptHeaders(endpoint, deps.keys)),
    'Content-Type': 'application/json',
    'User-Agent': USER_AGENT,
    'X-Lago-Signature': signature,
    'X-Lago-Signature-Algorithm': endpoint.signature_algo,
    'X-Lago-Unique-Key': webhook.id,
    'webhook-id': webhook.id,
    'webhook-timestamp': String(timestamp),
    // During rotations' overlaps every live token signs, space-separated, as Standard Webhooks allows.
    'webhook-signature': [tokens.current, ...tokens.previous.map((previous) => previous.token)]
      .map((token) => signStandardWebhook(token, webhook.id, timestamp, webhook.payload))
      .join(' '),
  };
}
