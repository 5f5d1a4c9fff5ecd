// Organization HMAC tokens on the local service: a new organization has no secret of its own, one created before tokens were derived keeps its token across the move into its record, a rotation keeps every previous token valid through its own overlap as receivers verify them, concurrent rotations are 200s and 409s, never 500s; and the operator's key rotations (`npm run cli -- keys`) of the HMAC root, the signing key and the seal key, end to end.
import { spawn } from 'node:child_process';
import { createHmac, createPublicKey, type JsonWebKey } from 'node:crypto';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook } from 'standardwebhooks';
import jwt from 'jsonwebtoken';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalSecretStore } from '#shared/adapters/local-secrets.ts';
import { parseKeyring } from '#shared/domain/keys/keyring.ts';
import { deriveToken } from '#shared/domain/organizations/tokens.ts';
import { hmacRootSecretName, hmacSecretName } from '#shared/domain/secrets.ts';
import { LOCAL_SECRETS_PREFIX } from '#shared/runtime/local-deps.ts';
import { LOCAL_TABLE } from '#infra/local/service.ts';
import { endpointKey, organizationKey } from '#shared/adapters/dynamodb/keys.ts';
import {
  createEndpoint,
  createOrg,
  isolatedStack,
  publish,
  request,
  stack,
  webhookSettles,
  type IsolatedStack,
} from './helpers.ts';
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

type HmacKeyView = {
  webhook: Record<string, string> & {
    previous_hmac_keys?: { hmac_key: string; standard_webhooks_secret: string; expires_at: string }[];
  };
};
const hmacKeyView = async (apiKey: string) =>
  (await request<HmacKeyView>('GET', '/api/v1/webhooks/hmac_key', { token: apiKey })).body.webhook;
const verifies = (secret: string, got: { body: string; headers: Record<string, unknown> }) => {
  try {
    new Webhook(secret).verify(got.body, got.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
};

/** The shared stack's table, as a document client: what an earlier revision stored, written directly. */
async function withTable<T>(use: (db: DynamoDBDocumentClient) => Promise<T>): Promise<T> {
  const client = new DynamoDBClient({
    endpoint: stack().dynamoDbEndpoint,
    region: 'us-east-1',
    credentials: stack().credentials,
  });
  try {
    return await use(DynamoDBDocumentClient.from(client));
  } finally {
    client.destroy();
  }
}

it('answers 30 concurrent rotations with 200, or 409 (or 429 past the rate limit) in Lago shape with Retry-After, never a 500, and every token a 200 gave stays valid', async () => {
  const org = await createOrg('Concurrent');
  const results = await Promise.all(
    Array.from({ length: 30 }, () =>
      request<HmacKeyView & { status?: number; error?: string; code?: string }>(
        'POST',
        '/api/v1/webhooks/hmac_key/rotate',
        { token: org.apiKey, body: {} },
      ),
    ),
  );
  const statuses = results.map((r) => r.status);
  expect(
    statuses.filter((s) => s !== 200 && s !== 409 && s !== 429),
    statuses.join(','),
  ).toEqual([]);
  expect(statuses).toContain(200);
  // Rotations past the organization's hourly limit (RATE_LIMIT_ROTATIONS_PER_HOUR, 10) are refused before they race.
  for (const limited of results.filter((r) => r.status === 429)) {
    expect(limited.body).toMatchObject({ status: 429, error: 'Too Many Requests', code: 'rate_limited' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  }
  expect(statuses.filter((s) => s !== 429).length).toBeLessThanOrEqual(10);
  for (const refused of results.filter((r) => r.status === 409)) {
    expect(refused.body).toMatchObject({ status: 409, error: 'Conflict' });
    expect(['hmac_key_rotated_concurrently', 'too_many_previous_hmac_keys']).toContain(refused.body.code);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  }
  // Each token a rotation answered with is the current one or a previous one still valid.
  const after = await hmacKeyView(org.apiKey);
  const live = [after.hmac_key, ...(after.previous_hmac_keys ?? []).map((p) => p.hmac_key)];
  for (const rotated of results.filter((r) => r.status === 200)) expect(live).toContain(rotated.body.webhook.hmac_key);
  expect(after.previous_hmac_keys!.length).toBeLessThanOrEqual(5);
});

it('keeps the first token valid through its own overlap after two quick rotations: a receiver verifies webhook-signature with it', async () => {
  const r = await new Receiver().start();
  receivers.push(r);
  const org = await createOrg('Two rotations');
  await createEndpoint(org, { webhook_url: r.url, signature_algo: 'hmac' });
  const first = await hmacKeyView(org.apiKey);
  const rotate = (overlap: number) =>
    request<HmacKeyView>('POST', '/api/v1/webhooks/hmac_key/rotate', {
      token: org.apiKey,
      body: { overlap_seconds: overlap },
    });
  const second = (await rotate(600)).body.webhook;
  const third = await rotate(60);
  expect(third.status).toBe(200);
  // The newest previous token in Lago's fields, and every live one in the list, each with its own expiry.
  expect(third.body.webhook).toMatchObject({
    previous_hmac_key: second.hmac_key,
    previous_standard_webhooks_secret: second.standard_webhooks_secret,
  });
  const list = third.body.webhook.previous_hmac_keys!;
  expect(list.map((p) => p.hmac_key)).toEqual([second.hmac_key, first.hmac_key]);
  expect(Date.parse(list[1]!.expires_at) - Date.parse(list[0]!.expires_at)).toBeGreaterThan(500_000);

  await publish(org, 'invoice.created', { lago_id: 'inv_two_rotations' });
  const [got] = await r.waitFor(1);
  expect(got!.headers['webhook-signature']!.toString().split(' ')).toHaveLength(3);
  for (const secret of [
    third.body.webhook.standard_webhooks_secret!,
    second.standard_webhooks_secret!,
    first.standard_webhooks_secret!,
  ])
    expect(verifies(secret, got!)).toBe(true);
});

it('keeps the previous token of an organization that was mid-rotation when upgraded, and moves it to the list on its next rotation', async () => {
  const org = await createOrg('Mid-rotation');
  // As an earlier revision stored a rotation: one previous token version (derived from the signing key: root v0).
  const expiresAt = Date.now() + 3600_000;
  await withTable((db) =>
    db.send(
      new UpdateCommand({
        TableName: stack().table,
        Key: organizationKey(org.id),
        UpdateExpression: 'SET previous_token_version = :v, previous_token_expires_at = :e',
        ExpressionAttributeValues: { ':v': 7, ':e': expiresAt },
      }),
    ),
  );
  const ring = parseKeyring(
    (await new LocalSecretStore(stack().dataDir).get(hmacRootSecretName(LOCAL_SECRETS_PREFIX)))!,
  );
  const v0 = Buffer.from(ring.versions.find((v) => v.version === 'v0')!.key, 'base64');
  const earlier = deriveToken(v0, org.id, 7);
  expect(await hmacKeyView(org.apiKey)).toMatchObject({
    previous_hmac_key: earlier,
    previous_expires_at: new Date(expiresAt).toISOString(),
  });

  const current = (await hmacKeyView(org.apiKey)).hmac_key;
  const rotated = await request<HmacKeyView>('POST', '/api/v1/webhooks/hmac_key/rotate', {
    token: org.apiKey,
    body: { overlap_seconds: 60 },
  });
  expect(rotated.body.webhook.previous_hmac_keys!.map((p) => p.hmac_key)).toEqual([current, earlier]);
  const item = await withTable(
    async (db) => (await db.send(new GetCommand({ TableName: stack().table, Key: organizationKey(org.id) }))).Item!,
  );
  expect(item).not.toHaveProperty('previous_token_version');
  expect(item).not.toHaveProperty('previous_token_expires_at');
  expect(item.previous_tokens).toEqual([
    { token_version: 1, token_root: 'v1', expires_at: expect.any(Number) },
    { token_version: 7, expires_at: expiresAt },
  ]);
});

describe("the operator's key rotations (npm run cli -- keys), end to end", () => {
  let isolated: IsolatedStack;
  const receiver = new Receiver();
  const admin = (path: string, body: unknown) => isolated.call('POST', path, isolated.local.adminToken, body);

  async function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [join(process.cwd(), 'bin/cli.ts'), 'keys', ...args], {
      env: { ...process.env, DATA_DIR: isolated.dataDir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    return { code, stdout, stderr };
  }

  async function tenant(name: string, algo: 'hmac' | 'jwt', headers?: Record<string, string>) {
    const org = await admin('/admin/v1/organizations', { name });
    const t = { id: (org.body.organization as { lago_id: string }).lago_id, key: org.body.api_key as string };
    const endpoint = await isolated.call('POST', '/api/v1/webhook_endpoints', t.key, {
      webhook_endpoint: { webhook_url: receiver.url, signature_algo: algo, ...(headers ? { headers } : {}) },
    });
    expect(endpoint.status).toBe(200);
    return { ...t, endpointId: (endpoint.body.webhook_endpoint as { lago_id: string }).lago_id };
  }

  /** Publishes one event and waits for its webhook to settle; the receiver's request too when it succeeded. */
  async function deliver(org: { id: string; key: string }, objectId: string) {
    const before = receiver.received.length;
    const published = await admin('/admin/v1/webhooks', {
      organization_id: org.id,
      webhook_type: 'invoice.created',
      object_type: 'invoice',
      object: { lago_id: objectId },
    });
    const id = (published.body.webhooks as { lago_id: string }[])[0]!.lago_id;
    const webhook = await eventually(
      async () => {
        const w = (await isolated.call('GET', `/api/v1/webhooks/${id}`, org.key)).body.webhook as {
          status: string;
          error: string | null;
        };
        return ['succeeded', 'failed'].includes(w.status) ? w : undefined;
      },
      20_000,
      `webhook ${id} to settle`,
    );
    return { webhook, request: webhook.status === 'succeeded' ? receiver.received[before] : undefined };
  }

  async function table<T>(use: (db: DynamoDBDocumentClient) => Promise<T>): Promise<T> {
    const client = new DynamoDBClient({
      endpoint: isolated.local.dynamoDbEndpoint,
      region: 'us-east-1',
      credentials: isolated.local.credentials,
    });
    try {
      return await use(DynamoDBDocumentClient.from(client));
    } finally {
      client.destroy();
    }
  }

  beforeAll(async () => {
    await receiver.start();
    isolated = await isolatedStack('keys', {
      WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8',
      WEBHOOK_ALLOW_HTTP: 'true',
      WEBHOOK_KEY_CACHE_SECONDS: '1',
    });
  });
  afterAll(async () => {
    await receiver.stop();
    await isolated?.stop();
  });

  it("rotating the HMAC root changes no organization's token; a token rotated after it derives from the new root, and the one before stays valid through its overlap", async () => {
    const org = await tenant('Root rotation', 'hmac');
    const before = (await isolated.call('GET', '/api/v1/webhooks/hmac_key', org.key)).body
      .webhook as HmacKeyView['webhook'];

    const rotated = await cli('rotate', 'hmac-root');
    expect(rotated).toMatchObject({ code: 0, stdout: 'hmac-root: v2 is current now\n' });
    const { request: got } = await deliver(org, 'inv_root_1');
    expect(got!.headers['x-lago-signature']).toBe(
      createHmac('sha256', before.hmac_key!).update(got!.body).digest('base64'),
    );

    const next = await isolated.call('POST', '/api/v1/webhooks/hmac_key/rotate', org.key, { overlap_seconds: 600 });
    const after = next.body.webhook as HmacKeyView['webhook'];
    expect(after.previous_hmac_key).toBe(before.hmac_key);
    const item = await table(
      async (db) => (await db.send(new GetCommand({ TableName: LOCAL_TABLE, Key: organizationKey(org.id) }))).Item!,
    );
    expect(item).toMatchObject({ token_version: 2, token_root: 'v2' });
    const { request: during } = await deliver(org, 'inv_root_2');
    expect(verifies(after.standard_webhooks_secret!, during!)).toBe(true);
    expect(verifies(before.standard_webhooks_secret!, during!)).toBe(true);

    const listed = JSON.parse((await cli('list', '--json')).stdout) as { rings: { kind: string; current: string }[] };
    expect(listed.rings.map((r) => [r.kind, r.current])).toEqual([
      ['signing', expect.any(String)],
      ['hmac-root', 'v2'],
      ['seal', 'v1'],
    ]);
    expect(JSON.stringify(listed)).not.toMatch(/"key"|PRIVATE/);
  });

  it('retiring an HMAC root fails the deliveries of the tokens derived from it with the reason, never again later; rotating the token recovers', async () => {
    const org = await tenant('Before roots', 'hmac');
    // As an organization created by an earlier revision: its token derives from the signing key (root v0).
    await table((db) =>
      db.send(
        new UpdateCommand({
          TableName: LOCAL_TABLE,
          Key: organizationKey(org.id),
          UpdateExpression: 'REMOVE token_root',
        }),
      ),
    );
    expect(await cli('retire', 'hmac-root', 'v9')).toMatchObject({ code: 1 });
    expect(await cli('retire', 'hmac-root', 'v0')).toMatchObject({ code: 0, stdout: 'hmac-root: v0 retired\n' });

    const { webhook } = await deliver(org, 'inv_retired_root');
    expect(webhook).toMatchObject({
      status: 'failed',
      error: "the HMAC root version v0 of this organization's token was retired",
    });
    expect(await isolated.call('GET', '/api/v1/webhooks/hmac_key', org.key)).toEqual({
      status: 409,
      body: {
        status: 409,
        error: 'Conflict',
        code: 'hmac_key_unusable',
        message:
          "the HMAC root version v0 of this organization's token was retired: rotate it (POST /api/v1/webhooks/hmac_key/rotate)",
      },
    });
    const rotated = await isolated.call('POST', '/api/v1/webhooks/hmac_key/rotate', org.key, {});
    expect(rotated.status).toBe(200);
    expect(rotated.body.webhook).not.toHaveProperty('previous_hmac_key');
    const { webhook: again, request: got } = await deliver(org, 'inv_after_rotation');
    expect(again.status).toBe('succeeded');
    const token = (rotated.body.webhook as { hmac_key: string }).hmac_key;
    expect(got!.headers['x-lago-signature']).toBe(createHmac('sha256', token).update(got!.body).digest('base64'));
  });

  it("a new signing key is published in the JWKS at once and signs from its activation; the JWT header stays Lago's and one published key verifies it", async () => {
    const org = await tenant('Signing rotation', 'jwt');
    const jwks = async () =>
      (
        (await isolated.call('GET', '/api/v1/webhooks/jwks.json', org.key)).body as {
          keys: (JsonWebKey & { kid: string })[];
        }
      ).keys;
    const publicKey = async () =>
      ((await isolated.call('GET', '/api/v1/webhooks/json_public_key', org.key)).body.webhook as { public_key: string })
        .public_key;
    const [old] = await jwks();
    const oldPublicKey = await publicKey();
    expect(old).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });

    const rotated = await cli('rotate', 'signing', '--activate-in', '4');
    expect(rotated.code).toBe(0);
    const kid = /key (\S+) published now/.exec(rotated.stdout)![1]!;
    // Published at once (within the 1 s key cache); Lago's public key is still the one signing.
    await eventually(async () => ((await jwks()).length === 2 ? true : undefined), 5000, 'the new key in the JWKS');
    expect((await jwks()).map((k) => k.kid)).toEqual([old!.kid, kid]);
    expect(await publicKey()).toBe(oldPublicKey);

    await eventually(async () => ((await publicKey()) !== oldPublicKey ? true : undefined), 10_000, 'the activation');
    const newPem = Buffer.from(await publicKey(), 'base64').toString('utf8');
    const { request: got } = await deliver(org, 'inv_new_signing_key');
    const signature = got!.headers['x-lago-signature'] as string;
    expect(Buffer.from(signature.split('.')[0]!, 'base64url').toString()).toBe('{"alg":"RS256"}');
    expect((jwt.verify(signature, newPem, { algorithms: ['RS256'] }) as { data: string }).data).toBe(got!.body);
    const verifying = (await jwks()).filter((key) => {
      try {
        jwt.verify(signature, createPublicKey({ key: key, format: 'jwk' }), { algorithms: ['RS256'] });
        return true;
      } catch {
        return false;
      }
    });
    expect(verifying.map((k) => k.kid)).toEqual([kid]);

    expect(await cli('retire', 'signing', '--', old!.kid)).toMatchObject({ code: 0 });
    await eventually(async () => ((await jwks()).length === 1 ? true : undefined), 5000, 'the old key unpublished');
    expect((await jwks()).map((k) => k.kid)).toEqual([kid]);
  });

  it('a rotated seal key seals new custom header values; values sealed before still open and are sent', async () => {
    const before = await tenant('Sealed before', 'hmac', { 'X-Secret': 'sealed-under-v1' });
    expect(await cli('rotate', 'seal')).toMatchObject({ code: 0, stdout: 'seal: v2 is current now\n' });
    // The service seals with the ring it read at most WEBHOOK_KEY_CACHE_SECONDS (1 s here) ago: the documented bound.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const after = await tenant('Sealed after', 'hmac', { 'X-Secret': 'sealed-under-v2' });
    const headersOf = (org: { id: string; endpointId: string }) =>
      table(
        async (db) =>
          (await db.send(new GetCommand({ TableName: LOCAL_TABLE, Key: endpointKey(org.id, org.endpointId) }))).Item!
            .headers as [string, string][],
      );
    expect((await headersOf(before))[0]![1]).toMatch(/^v1\./);
    expect((await headersOf(after))[0]![1]).toMatch(/^v2\./);
    expect((await deliver(before, 'inv_sealed_v1')).request!.headers['x-secret']).toBe('sealed-under-v1');
    expect((await deliver(after, 'inv_sealed_v2')).request!.headers['x-secret']).toBe('sealed-under-v2');
  });
});
