// Covers `npm run cli -- migrate` (infra/migrate/): on DynamoDB Local, a table written by revision fecb8e2's own write path (test/integration/fixtures/fecb8e2-writes.ts) is copied into a table of the current layout through the current stores: organizations with their API keys and HMAC tokens (derived, rotated, sealed), endpoints (the count that enforces the limit included) and finished webhooks (payloads and responses inline or in their own items). The copy is interrupted and resumed from its checkpoint, then run again without changing anything; an HMAC signature made with an organization's token before verifies with its token after.
import { createHash, randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureTable } from '#infra/local/bootstrap.ts';
import { Fecb8e2Table } from '#infra/migrate/fecb8e2.ts';
import { migrate, type Checkpoint, type CheckpointStore } from '#infra/migrate/migrate.ts';
import { DynamoDbStore } from '#shared/adapters/dynamodb-store.ts';
import { generateSigningKey, signHmac } from '#shared/domain/delivery/signing.ts';
import { DeploymentKeys } from '#shared/domain/keys/deployment-keys.ts';
import { ensureKeys } from '#shared/domain/keys/provisioning.ts';
import { OrganizationTokens } from '#shared/domain/organizations/tokens.ts';
import type { SecretStore } from '#shared/domain/ports.ts';
import { CachedSecrets, signingKeySecretName } from '#shared/domain/secrets.ts';
import { createLogger } from '#shared/runtime/logger.ts';
import { createFecb8e2Table, Fecb8e2Writes, sealFecb8e2Token } from './fixtures/fecb8e2-writes.ts';
import { stack } from './helpers.ts';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const PREFIX = 'LagoWebhooks';
const signingKey = generateSigningKey().privateKeyPem;
// The deployment's secrets: the signing key fecb8e2 derived and sealed tokens from, and the key rings made from it.
const secrets = new Map([[signingKeySecretName(PREFIX), signingKey]]);
const secretStore: SecretStore = {
  get: async (name) => secrets.get(name),
  create: async (name, value) => {
    if (!secrets.has(name)) secrets.set(name, value);
    return secrets.get(name) ?? value;
  },
  delete: async (name) => void secrets.delete(name),
};
const now = Date.now();

let client: DynamoDBClient;
const oldTable = `fecb8e2-${randomUUID()}`;
const newTable = `current-${randomUUID()}`;
let target: DynamoDbStore;

const A = { id: randomUUID(), name: 'Acme', created_at: '2026-11-20T10:00:00.000Z' };
const B = { id: randomUUID(), name: 'Beta', created_at: '2026-11-21T10:00:00.000Z' };
const endpoints = [
  {
    id: randomUUID(),
    organization_id: A.id,
    webhook_url: 'https://a.example.com/1',
    signature_algo: 'hmac',
    name: null,
    event_types: null,
    created_at: '2026-11-20T10:01:00.000Z',
  },
  {
    id: randomUUID(),
    organization_id: A.id,
    webhook_url: 'https://a.example.com/2',
    signature_algo: 'jwt',
    name: 'Billing',
    event_types: ['invoice.created'],
    created_at: '2026-11-20T10:02:00.000Z',
    headers: { 'X-Tenant': 'sealed-value' },
    failing_since: now - 60_000,
  },
  {
    id: randomUUID(),
    organization_id: A.id,
    webhook_url: 'https://a.example.com/3',
    signature_algo: 'hmac',
    name: null,
    event_types: [],
    created_at: '2026-11-20T10:03:00.000Z',
    disabled_at: '2026-11-25T00:00:00.000Z',
    disabled_reason: 'disabled by request',
  },
  {
    id: randomUUID(),
    organization_id: B.id,
    webhook_url: 'https://b.example.com/hooks',
    signature_algo: 'hmac',
    name: null,
    event_types: null,
    created_at: '2026-11-21T10:01:00.000Z',
  },
];
const webhooks = {
  inline: {
    id: randomUUID(),
    payload: '{"invoice":{"lago_id":"inv_1"}}',
    response: 'ok',
    status: 'succeeded' as const,
    httpStatus: 200,
  },
  apart: {
    id: randomUUID(),
    payload: JSON.stringify({ invoice: { lago_id: 'inv_2', lines: 'x'.repeat(3000) } }),
    response: `error: ${'e'.repeat(2000)}`,
    status: 'failed' as const,
    httpStatus: 500,
  },
};

/** A checkpoint in memory whose `failOn`-th save throws, as an interrupted run would stop. */
function memoryCheckpoint(failOn?: number): CheckpointStore & { saved?: Checkpoint } {
  let saves = 0;
  const store: CheckpointStore & { saved?: Checkpoint } = {
    load: async () => store.saved,
    save: async (checkpoint) => {
      if (++saves === failOn) throw new Error('interrupted');
      store.saved = checkpoint;
    },
  };
  return store;
}

const run = (checkpoint: CheckpointStore) =>
  migrate({ source: new Fecb8e2Table(client, oldTable, { pageSize: 2 }), target, checkpoint, webhooks: true });

const tokensOn = (tableName: string) =>
  new OrganizationTokens({
    store: new DynamoDbStore(client, tableName, { retentionDays: 90 }),
    keys: new DeploymentKeys({ secrets: new CachedSecrets(secretStore), prefix: PREFIX, now: () => Date.now() }),
    secretStore,
    secretsPrefix: PREFIX,
    logger: createLogger('silent', 'migrate-test'),
    now: () => Date.now(),
  });

async function scan(table: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await DynamoDBDocumentClient.from(client).send(
    new ScanCommand({ TableName: table, ConsistentRead: true }),
  );
  return Items.sort((a, b) => `${String(a.pk)}|${String(a.sk)}`.localeCompare(`${String(b.pk)}|${String(b.sk)}`));
}

let firstRun: Checkpoint;

beforeAll(async () => {
  const { dynamoDbEndpoint, credentials } = stack();
  client = new DynamoDBClient({ endpoint: dynamoDbEndpoint, region: 'us-east-1', credentials });
  await ensureKeys(secretStore, PREFIX);
  await createFecb8e2Table(client, oldTable);
  await ensureTable(client, newTable);
  target = new DynamoDbStore(client, newTable, { retentionDays: 90 });
  const old = new Fecb8e2Writes(client, oldTable);
  // A: a derived token, rotated a minute ago (the previous one valid for an hour); B: a random token from before derived tokens, sealed.
  await old.organization(
    { ...A, token_version: 2, previous_token_version: 1, previous_token_expires_at: now + 3_600_000 },
    'key-a',
    3,
  );
  await old.organization({ ...B, sealed_token: sealFecb8e2Token(signingKey, 'legacy-token-of-b') }, 'key-b', 1);
  for (const endpoint of endpoints) await old.endpoint(endpoint);
  for (const [name, w] of Object.entries(webhooks))
    await old.finishedWebhook({
      id: w.id,
      organizationId: A.id,
      endpointId: endpoints[0]!.id,
      endpointUrl: endpoints[0]!.webhook_url,
      status: w.status,
      payload: w.payload,
      payloadElsewhere: name === 'apart',
      attempts:
        w.status === 'succeeded'
          ? [[1, now - 5000, 200, 80, null]]
          : [
              [1, now - 9000, 500, 70, null],
              [2, now - 4000, null, 15000, 'timeout'],
            ],
      httpStatus: w.httpStatus,
      response: w.response,
      responseElsewhere: name === 'apart',
      createdAtMs: now - 10_000,
      expiresAt: Math.floor(now / 1000) + 90 * 86400,
    });
  // Interrupted after its first page, then resumed from the checkpoint.
  const checkpoint = memoryCheckpoint(2);
  await expect(run(checkpoint)).rejects.toThrow('interrupted');
  expect(checkpoint.saved?.phase).toBe('organizations');
  expect(checkpoint.saved?.position).toBeDefined();
  firstRun = await run(checkpoint);
});

describe('migrate from a table of revision fecb8e2', () => {
  it('copies every organization and endpoint once across the interruption, and the finished webhooks', () => {
    // The page whose checkpoint was lost is read again on resume: what it had copied counts as present then,
    // and which items it held depends on the scan's order (random ids), so the split varies; the sum does not.
    const { organizations, endpoints: copiedEndpoints, webhooks: copiedWebhooks } = firstRun.counts;
    expect(firstRun.phase).toBe('done');
    expect(organizations.copied + organizations.present).toBe(2);
    expect(copiedEndpoints.copied + copiedEndpoints.present).toBe(4);
    expect(copiedWebhooks).toEqual({ copied: 2, present: 0 });
  });

  it('keeps each organization, reachable by its API key, with its endpoints as they were', async () => {
    expect(await target.findOrganizationIdByKeyHash(sha256('key-a'))).toBe(A.id);
    expect(await target.findOrganizationIdByKeyHash(sha256('key-b'))).toBe(B.id);
    expect(await target.getOrganization(A.id)).toMatchObject({
      id: A.id,
      name: A.name,
      created_at_ms: Date.parse(A.created_at),
    });
    const copied = await target.listEndpoints(A.id);
    expect(copied.map((e) => e.id).sort()).toEqual(
      endpoints
        .filter((e) => e.organization_id === A.id)
        .map((e) => e.id)
        .sort(),
    );
    expect(copied.find((e) => e.id === endpoints[1]!.id)).toMatchObject({
      webhook_url: 'https://a.example.com/2',
      signature_algo: 'jwt',
      name: 'Billing',
      event_types: ['invoice.created'],
      headers: [{ name: 'X-Tenant', sealed: 'sealed-value' }],
      failing_since_ms: now - 60_000,
    });
    expect(copied.find((e) => e.id === endpoints[2]!.id)).toMatchObject({
      disabled_at_ms: Date.parse('2026-11-25T00:00:00.000Z'),
      disabled_reason: 'disabled by request',
      event_types: [],
    });
  });

  it('keeps the endpoint count the limit of 10 is enforced on: 7 more endpoints, not 8', async () => {
    const first = (await target.getEndpoint(A.id, endpoints[0]!.id))!;
    const more = (n: number) => ({ ...first, id: randomUUID(), webhook_url: `https://a.example.com/more/${n}` });
    for (let n = 0; n < 7; n++) expect(await target.createEndpoint(more(n), 10)).toBe('ok');
    expect(await target.createEndpoint(more(7), 10)).toBe('limit_reached');
  });

  it('keeps every HMAC token: a signature made with a token before verifies with the token after', async () => {
    const body = '{"webhook_type":"invoice.created"}';
    for (const id of [A.id, B.id]) {
      const before = await tokensOn(oldTable).get(id);
      const after = await tokensOn(newTable).get(id);
      expect(before?.current).toBeDefined();
      expect(after).toEqual(before);
      expect(signHmac(after!.current, body)).toBe(signHmac(before!.current, body));
    }
    expect((await tokensOn(newTable).get(B.id))?.current).toBe('legacy-token-of-b');
    expect((await tokensOn(newTable).get(A.id))?.previous).toHaveLength(1);
  });

  it('copies finished webhooks with their payload, attempts and last response, inline or apart', async () => {
    for (const w of Object.values(webhooks)) {
      const copied = await target.getWebhook(A.id, w.id, endpoints[0]!.id);
      expect(copied).toMatchObject({
        payload: w.payload,
        status: w.status,
        http_status: w.httpStatus,
        response_body: w.response,
      });
    }
    const failed = await target.getWebhook(A.id, webhooks.apart.id, endpoints[0]!.id);
    expect(failed?.attempts).toEqual([
      {
        number: 1,
        at_ms: now - 9000,
        http_status: 500,
        error: 'unexpected http status 500',
        duration_ms: 70,
      },
      { number: 2, at_ms: now - 4000, http_status: null, error: 'timeout', duration_ms: 15000 },
    ]);
    // The failed one is listed through the `failed` index, as the log's status filter reads it.
    const page = await target.queryWebhooks({ organizationId: A.id, statuses: ['failed'], limit: 10 });
    expect(page.items.map((w) => w.id)).toEqual([webhooks.apart.id]);
  });

  it('run again from the start, changes nothing and finds everything already there', async () => {
    const before = await scan(newTable);
    const again = await run(memoryCheckpoint());
    expect(again.counts.organizations).toEqual({ copied: 0, present: 2 });
    expect(again.counts.endpoints).toEqual({ copied: 0, present: 4 });
    expect(await scan(newTable)).toEqual(before);
  });
});
