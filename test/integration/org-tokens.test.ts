// Organization HMAC tokens on the local service: a new organization has no secret of its own, one created before tokens were derived keeps its token across the move into its record, and a rotation keeps both tokens valid during its overlap, as receivers verify them.
import { createHmac } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook } from 'standardwebhooks';
import { afterEach, expect, it } from 'vitest';
import { LocalSecretStore } from '#shared/adapters/local-secrets.ts';
import { hmacSecretName } from '#shared/domain/secrets.ts';
import { LOCAL_SECRETS_PREFIX } from '#shared/runtime/local-deps.ts';
import { createEndpoint, createOrg, publish, request, stack, webhookSettles } from './helpers.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver } from '../support/receiver.ts';

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

const secretFiles = async () => readdir(join(stack().dataDir, 'secrets')).catch(() => [] as string[]);
const hmacKey = async (apiKey: string) =>
  (await request<{ webhook: { hmac_key: string } }>('GET', '/api/v1/webhooks/hmac_key', { token: apiKey })).body.webhook
    .hmac_key;

it('gives a new organization a token without creating a secret for it', async () => {
  const before = (await secretFiles()).length;
  const org = await createOrg('Derived');
  expect(await hmacKey(org.apiKey)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect((await secretFiles()).length).toBe(before);
});

it("keeps an older organization's token when it moves from its own secret into its record", async () => {
  const org = await createOrg('From before');
  // As organizations were stored before: no token version, a random token in a secret of its own.
  const legacy = 'tok_created_before_the_upgrade_0123456789abc';
  const client = new DynamoDBClient({
    endpoint: stack().dynamoDbEndpoint,
    region: 'us-east-1',
    credentials: stack().credentials,
  });
  try {
    await DynamoDBDocumentClient.from(client).send(
      new UpdateCommand({
        TableName: stack().table,
        Key: { pk: `ORG#${org.id}`, sk: 'ORG' },
        UpdateExpression: 'REMOVE token_version',
      }),
    );
  } finally {
    client.destroy();
  }
  const secrets = new LocalSecretStore(stack().dataDir);
  await secrets.create(hmacSecretName(LOCAL_SECRETS_PREFIX, org.id), legacy);

  expect(await hmacKey(org.apiKey)).toBe(legacy);
  // Moved: the secret is gone, the token is the same, and deliveries are signed with it.
  expect(await secrets.get(hmacSecretName(LOCAL_SECRETS_PREFIX, org.id))).toBeUndefined();
  expect(await hmacKey(org.apiKey)).toBe(legacy);
  const r = await new Receiver().start();
  receivers.push(r);
  await createEndpoint(org, { webhook_url: r.url, signature_algo: 'hmac' });
  const res = await publish(org, 'invoice.created', { lago_id: 'inv_legacy_token' });
  const [got] = await r.waitFor(1);
  expect(got!.headers['x-lago-signature']).toBe(createHmac('sha256', legacy).update(got!.body).digest('base64'));
  await webhookSettles(org, res.body.webhooks[0]!.lago_id, ['succeeded']);
});

it('rotates the HMAC token with an overlap: both verify during it, only the new one after', async () => {
  const r = await new Receiver().start();
  receivers.push(r);
  const org = await createOrg('Rotation');
  await createEndpoint(org, { webhook_url: r.url, signature_algo: 'hmac' });
  const before = (
    await request<{ webhook: { hmac_key: string; standard_webhooks_secret: string } }>(
      'GET',
      '/api/v1/webhooks/hmac_key',
      { token: org.apiKey },
    )
  ).body.webhook;
  expect(Object.keys(before).sort()).toEqual(['hmac_key', 'standard_webhooks_secret']);

  const rotated = await request<{ webhook: Record<string, string> }>('POST', '/api/v1/webhooks/hmac_key/rotate', {
    token: org.apiKey,
    body: { overlap_seconds: 3 },
  });
  expect(rotated.status).toBe(200);
  const during = rotated.body.webhook;
  expect(during.hmac_key).not.toBe(before.hmac_key);
  expect(during).toMatchObject({
    previous_hmac_key: before.hmac_key,
    previous_standard_webhooks_secret: before.standard_webhooks_secret,
  });
  expect(Date.parse(during.previous_expires_at!) - Date.now()).toBeLessThanOrEqual(3000);
  expect((await request('GET', '/api/v1/webhooks/hmac_key', { token: org.apiKey })).body).toEqual(rotated.body);

  // During the overlap: X-Lago-Signature is the new token's, webhook-signature carries both.
  await publish(org, 'invoice.created', { lago_id: 'inv_rotation_1' });
  const [first] = await r.waitFor(1);
  expect(first!.headers['x-lago-signature']).toBe(
    createHmac('sha256', during.hmac_key!).update(first!.body).digest('base64'),
  );
  for (const secret of [during.standard_webhooks_secret!, before.standard_webhooks_secret])
    expect(() => new Webhook(secret).verify(first!.body, first!.headers as Record<string, string>)).not.toThrow();

  // After it: only the new token.
  await eventually(
    async () => {
      const now = await request<{ webhook: Record<string, string> }>('GET', '/api/v1/webhooks/hmac_key', {
        token: org.apiKey,
      });
      return now.body.webhook.previous_hmac_key === undefined ? true : undefined;
    },
    10_000,
    'the overlap to end',
  );
  await publish(org, 'invoice.created', { lago_id: 'inv_rotation_2' });
  const [, second] = await r.waitFor(2);
  expect(() =>
    new Webhook(during.standard_webhooks_secret!).verify(second!.body, second!.headers as Record<string, string>),
  ).not.toThrow();
  expect(() =>
    new Webhook(before.standard_webhooks_secret).verify(second!.body, second!.headers as Record<string, string>),
  ).toThrow();
  expect(second!.headers['webhook-signature']).not.toContain(' ');

  // Bad overlaps are refused in Lago's shape, and change nothing.
  for (const body of [{ overlap_seconds: -1 }, { overlap_seconds: 604_801 }, { overlap_seconds: '60' }]) {
    const res = await request('POST', '/api/v1/webhooks/hmac_key/rotate', { token: org.apiKey, body });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      status: 422,
      error: 'Unprocessable Entity',
      code: 'validation_errors',
      error_details: { overlap_seconds: ['value_is_invalid'] },
    });
  }
  expect(
    (await request<{ webhook: { hmac_key: string } }>('GET', '/api/v1/webhooks/hmac_key', { token: org.apiKey })).body
      .webhook.hmac_key,
  ).toBe(during.hmac_key);
});
