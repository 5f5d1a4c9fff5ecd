// Organization HMAC tokens at a fixed cost, on the local stack: a new organization has no secret of its own, and one created before tokens were derived keeps its token across the move into its record, as receivers verify it.
import { createHmac } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, expect, it } from 'vitest';
import { LocalSecretStore } from '#shared/adapters/local-secrets.ts';
import { hmacSecretName } from '#shared/secrets.ts';
import { LOCAL_SECRETS_PREFIX } from '#infra/local/stack.ts';
import { createEndpoint, createOrg, publish, Receiver, request, stack, webhookSettles } from './helpers.ts';

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

const secretFiles = async () => readdir(join(stack().dataDir, 'secrets')).catch(() => [] as string[]);
const hmacKey = async (apiKey: string) => (await request<{ webhook: { hmac_key: string } }>('GET', '/api/v1/webhooks/hmac_key', { token: apiKey })).body.webhook.hmac_key;

it('gives a new organization a token without creating a secret for it', async () => {
  const before = (await secretFiles()).length;
  const org = await createOrg('Derived');
  expect(await hmacKey(org.apiKey)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect((await secretFiles()).length).toBe(before);
});

it('keeps an older organization\'s token when it moves from its own secret into its record', async () => {
  const org = await createOrg('From before');
  // As organizations were stored before: no token version, a random token in a secret of its own.
  const legacy = 'tok_created_before_the_upgrade_0123456789abc';
  const client = new DynamoDBClient({ endpoint: stack().dynamoDbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    await DynamoDBDocumentClient.from(client).send(new UpdateCommand({ TableName: stack().table, Key: { pk: `ORG#${org.id}`, sk: 'ORG' }, UpdateExpression: 'REMOVE token_version' }));
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
