// Local mode on emulators that are already running (DYNAMODB_ENDPOINT, SQS_ENDPOINT): the stack creates its table and queues there, delivers through them, and leaves them running when it stops.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deliveryConfigFromEnv } from '#shared/runtime/config.ts';
import { generateAdminToken, LOCAL_ALLOW_CIDRS, localSettings } from '#infra/local/env.ts';
import {
  connectDynamoDb,
  connectSqs,
  localCredentials,
  startDynamoDbLocal,
  startSqsLocal,
  type DynamoDbLocal,
  type SqsLocal,
} from '#infra/local/emulators.ts';
import { LOCAL_TABLE, startLocalService } from '#infra/local/service.ts';
import { ConfigError } from '#shared/runtime/config.ts';
import { Receiver } from '../support/receiver.ts';

let emulatorsDir: string;
let dynamo: DynamoDbLocal;
let sqs: SqsLocal;

beforeAll(async () => {
  // Started on their own, as a developer's long-running emulators would be.
  emulatorsDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-emulators-'));
  const credentials = await localCredentials(emulatorsDir);
  dynamo = await startDynamoDbLocal(emulatorsDir, credentials);
  sqs = await startSqsLocal(emulatorsDir, credentials);
}, 120_000);

afterAll(async () => {
  await sqs?.stop();
  await dynamo?.stop();
  await rm(emulatorsDir, { recursive: true, force: true });
});

it('runs on them, creating what is missing, and leaves them running', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-on-running-'));
  const receiver = await new Receiver().start();
  const stack = await startLocalService({
    port: 0,
    dataDir,
    adminToken: generateAdminToken(),
    config: deliveryConfigFromEnv({ WEBHOOK_ALLOW_CIDRS: LOCAL_ALLOW_CIDRS.join(','), WEBHOOK_ALLOW_HTTP: 'true' }),
    logLevel: 'silent',
    dynamoDbEndpoint: dynamo.endpoint,
    sqsEndpoint: sqs.endpoint,
  });
  try {
    expect([stack.dynamoDbEndpoint, stack.sqsEndpoint]).toEqual([dynamo.endpoint, sqs.endpoint]);
    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const res = await fetch(`${stack.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return (await res.json()) as Record<string, unknown>;
    };
    const org = (await call('POST', '/admin/v1/organizations', stack.adminToken, { name: 'On running emulators' })) as {
      organization: { lago_id: string };
      api_key: string;
    };
    await call('POST', '/api/v1/webhook_endpoints', org.api_key, {
      webhook_endpoint: { webhook_url: receiver.url, signature_algo: 'hmac' },
    });
    await call('POST', '/admin/v1/webhooks', stack.adminToken, {
      organization_id: org.organization.lago_id,
      webhook_type: 'invoice.created',
      object_type: 'invoice',
      object: { lago_id: 'inv_running' },
    });
    const [got] = await receiver.waitFor(1);
    expect(JSON.parse(got!.body)).toMatchObject({ invoice: { lago_id: 'inv_running' } });
  } finally {
    await stack.stop();
    await receiver.stop();
  }
  // Still running, with the stack's table (under its own credentials) and queues in them.
  const credentials = await localCredentials(dataDir);
  const db = await connectDynamoDb(dynamo.endpoint, credentials);
  const queues = await connectSqs(sqs.endpoint, credentials);
  try {
    expect((await db.client.send(new ListTablesCommand({}))).TableNames).toContain(LOCAL_TABLE);
    const urls = (await queues.client.send(new ListQueuesCommand({}))).QueueUrls ?? [];
    expect(urls.map((u) => u.split('/').pop()).sort()).toEqual([
      'webhook-deliveries',
      'webhook-deliveries-dlq',
      'webhook-deliveries-slow',
    ]);
  } finally {
    await db.stop();
    await queues.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}, 90_000);

it('reads DYNAMODB_ENDPOINT and SQS_ENDPOINT, and refuses what is not an endpoint URL', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-env-'));
  try {
    const settings = await localSettings({
      DATA_DIR: dataDir,
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
      SQS_ENDPOINT: 'http://localhost:9324/',
    });
    expect([settings.dynamoDbEndpoint, settings.sqsEndpoint]).toEqual([
      'http://127.0.0.1:8000',
      'http://localhost:9324',
    ]);
    for (const bad of ['127.0.0.1:8000', 'ftp://127.0.0.1', 'http://127.0.0.1:8000/queue']) {
      await expect(localSettings({ DATA_DIR: dataDir, DYNAMODB_ENDPOINT: bad })).rejects.toThrow(ConfigError);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
