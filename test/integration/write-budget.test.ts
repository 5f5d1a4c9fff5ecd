// Issue #9's write budget, measured the way the bench measures it: DynamoDB's consumed capacity, table
// and indexes, summed by the accounting middleware while one webhook is published and delivered.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Accounting, type Tally } from '../../bench/accounting.ts';
import { invoiceObject } from '../../bench/payloads.ts';
import { deliveryConfigFromEnv } from '#shared/runtime/config.ts';
import { generateAdminToken, LOCAL_ALLOW_CIDRS } from '#infra/local/env.ts';
import { startLocalService, type LocalService } from '#infra/local/service.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver } from '../support/receiver.ts';

const accounting = new Accounting();
let stack: LocalService;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-budget-'));
  stack = await startLocalService({
    port: 0,
    dataDir,
    adminToken: generateAdminToken(),
    config: deliveryConfigFromEnv({
      WEBHOOK_ALLOW_CIDRS: LOCAL_ALLOW_CIDRS.join(','),
      WEBHOOK_ALLOW_HTTP: 'true',
      WEBHOOK_RETRY_SCHEDULE: '1,1,1',
    }),
    logLevel: 'warn',
    instrument: accounting.instrument(),
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function call(path: string, token: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBeLessThan(300);
  return (await res.json()) as Record<string, unknown>;
}

async function organizationWithEndpoint(url: string): Promise<string> {
  const org = (await call('/admin/v1/organizations', stack.adminToken, { name: 'Budget' })) as {
    organization: { lago_id: string };
    api_key: string;
  };
  await call('/api/v1/webhook_endpoints', org.api_key, {
    webhook_endpoint: { webhook_url: url, signature_algo: 'hmac' },
  });
  return org.organization.lago_id;
}

const units = (tally: Tally) => {
  const indexes = Object.values(tally.dynamoDb.indexes);
  return {
    write: tally.dynamoDb.table.write + indexes.reduce((n, u) => n + u.write, 0),
    read: tally.dynamoDb.table.read + indexes.reduce((n, u) => n + u.read, 0),
  };
};

/** Waits until the sender has recorded `n` attempts since the last reset (one UpdateItem each), then until the store is idle. */
async function recorded(n: number): Promise<Tally> {
  await eventually(
    () => ((accounting.snapshot().dynamoDb.requests.UpdateItem ?? 0) >= n ? true : undefined),
    20_000,
    `${n} attempts recorded`,
  );
  await accounting.idle();
  return accounting.snapshot();
}

const publish = (organizationId: string, n: number) =>
  call('/admin/v1/webhooks', stack.adminToken, {
    organization_id: organizationId,
    webhook_type: 'invoice.created',
    object_type: 'invoice',
    object: invoiceObject(n, 1024),
  });

it('publishes and delivers a webhook (1 KB payload, 1 KB response) in at most 5 write units and 2 read units', async () => {
  const response = JSON.stringify(invoiceObject(99, 1000));
  const receiver = await new Receiver((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(response),
  ).start();
  try {
    const org = await organizationWithEndpoint(receiver.url);
    // The first delivery to an endpoint warms the sender's caches (the endpoint, the organization's token).
    await publish(org, 0);
    await recorded(1);
    accounting.reset();
    await publish(org, 1);
    const { write, read } = units(await recorded(1));
    expect(receiver.received).toHaveLength(2);
    expect(write).toBeLessThanOrEqual(5);
    expect(read).toBeLessThanOrEqual(2);
  } finally {
    await receiver.stop();
  }
});

it('records a further failed attempt in at most 3 write units, and writes a 16 KB error response once', async () => {
  // Attempt 1: a 16 KB error page; attempts 2 and 3: a short error; attempt 4 succeeds.
  const page =
    `<html><body>${Array.from({ length: 800 }, (_, i) => `<p>trace ${i} ${((i * 2654435761) >>> 0).toString(36)}</p>`).join('')}</body></html>`.slice(
      0,
      16 * 1024,
    );
  const receiver = await new Receiver((_req, res, count) =>
    count === 1
      ? res.writeHead(500).end(page)
      : count < 4
        ? res.writeHead(503).end('busy')
        : res.writeHead(200).end('ok'),
  ).start();
  try {
    const org = await organizationWithEndpoint(receiver.url);
    accounting.reset();
    await publish(org, 2);
    const first = await recorded(1);
    // The large response went into an item of its own, once; the other put is the publish's intent (intents.ts).
    expect(first.dynamoDb.requests.PutItem).toBe(2);
    accounting.reset();
    const second = units(await recorded(1));
    expect(second.write).toBeLessThanOrEqual(3);
    accounting.reset();
    const third = await recorded(2);
    expect(receiver.received).toHaveLength(4);
    // Neither the retry that failed nor the one that succeeded rewrote the 16 KB response.
    expect(third.dynamoDb.requests.PutItem ?? 0).toBe(0);
    expect(units(third).write).toBeLessThanOrEqual(2 * 3);
  } finally {
    await receiver.stop();
  }
});
