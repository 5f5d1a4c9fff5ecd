// Disable, enable and auto-disable of webhook endpoints, their operational events, and custom headers, on a local service of
// their own (a 3-second auto-disable period, logs captured at level debug): a disabled endpoint receives nothing and gets
// its queued webhook after enable; an endpoint failing for the period is disabled with its reason shown and a line in
// DATA_DIR/operational-events.jsonl; its first success after enable is a recovery event; custom headers arrive, are
// masked on read except to their owner's reveal, reserved names are a 422, names are data (constructor, __proto__ and
// prototype included), values sealed by an earlier revision still open and are sealed anew on the next update, a value
// moved to another organization's endpoint does not open, and no log line carries a value.
import { createCipheriv, createPrivateKey, hkdfSync, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_REGION } from '#infra/local/emulators.ts';
import { LOCAL_TABLE } from '#infra/local/service.ts';
import { endpointKey } from '#shared/adapters/dynamodb/keys.ts';
import type { FileOperationalEvents } from '#shared/adapters/file-events.ts';
import { LocalSecretStore } from '#shared/adapters/local-secrets.ts';
import { signingKeySecretName } from '#shared/domain/secrets.ts';
import { LOCAL_SECRETS_PREFIX } from '#shared/runtime/local-deps.ts';
import { isolatedStack, LogCapture, type IsolatedStack, type IsolatedTenant } from './helpers.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver } from '../support/receiver.ts';

let isolated: IsolatedStack;
const logs = new LogCapture();
const SECRET = 'Bearer it-s3cret-7d41c9e2';
const AUTO_DISABLE_SECONDS = 3;

type Tenant = IsolatedTenant;

interface EndpointView {
  lago_id: string;
  disabled: boolean;
  disabled_at: string | null;
  disabled_reason: string | null;
  failing_since: string | null;
  headers: Record<string, string>;
}

interface OperationalLine {
  source: string;
  'detail-type': string;
  time: string;
  detail: {
    organization_id: string;
    endpoint_id: string;
    webhook_url: string;
    reason: string | null;
    failing_since: string | null;
    at: string;
  };
}

const tenant = (name: string): Promise<Tenant> => isolated.tenant(name);

const createEndpoint = (org: Tenant, endpoint: Record<string, unknown>) =>
  isolated.createEndpoint<EndpointView>(org, endpoint);

/**
 * An object with these entries, made by JSON.parse: a literal's or a spread's `__proto__` would set its prototype,
 * while JSON.parse makes it a key like any (as for a request body).
 */
const objectOf = (entries: [string, string][]) =>
  JSON.parse(
    `{${entries.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`).join(',')}}`,
  ) as Record<string, string>;

/** The stack's table, as a document client: to store what an earlier revision stored, or move what a thief would. */
async function table<T>(use: (db: DynamoDBDocumentClient) => Promise<T>): Promise<T> {
  const client = new DynamoDBClient({
    endpoint: isolated.local.dynamoDbEndpoint,
    region: LOCAL_REGION,
    credentials: isolated.local.credentials,
  });
  try {
    return await use(DynamoDBDocumentClient.from(client));
  } finally {
    client.destroy();
  }
}

const endpointView = async (org: Tenant, id: string, query = '') =>
  (await isolated.call('GET', `/api/v1/webhook_endpoints/${id}${query}`, org.key)).body
    .webhook_endpoint as EndpointView;
const setDisabled = (org: Tenant, id: string, disabled: boolean) =>
  isolated.call('PUT', `/api/v1/webhook_endpoints/${id}`, org.key, { webhook_endpoint: { disabled } });

const publish = (org: Tenant, objectId: string) => isolated.publish(org, objectId);

const webhookState = async (org: Tenant, id: string) =>
  (await isolated.call('GET', `/api/v1/webhooks/${id}`, org.key)).body.webhook as {
    status: string;
    next_attempt_at: string | null;
    attempts_count: number;
  };

/** Parked: live, waiting for the enable with no next attempt time (the test schedule always has one otherwise). */
const parked = async (org: Tenant, id: string) => {
  const w = await webhookState(org, id);
  return (w.status === 'pending' || w.status === 'retrying') && w.next_attempt_at === null ? w : undefined;
};

const eventsFile = () => (isolated.local.deps.events as FileOperationalEvents).file;
async function operationalEvents(): Promise<OperationalLine[]> {
  const text = await readFile(eventsFile(), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as OperationalLine);
}

beforeAll(async () => {
  isolated = await isolatedStack(
    'endpoint-controls',
    {
      WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8',
      WEBHOOK_ALLOW_HTTP: 'true',
      WEBHOOK_RETRY_SCHEDULE: '2,1,1,1,1,1,1,1,1,1',
      WEBHOOK_TIMEOUT_MS: '1000',
      WEBHOOK_AUTO_DISABLE_AFTER: String(AUTO_DISABLE_SECONDS),
    },
    { logLevel: 'debug', logDestination: logs },
  );
});

afterAll(async () => {
  await isolated?.stop();
});

describe('disable and enable', () => {
  const receiver = new Receiver((_req, res, count) => res.writeHead(count === 1 ? 500 : 200).end());
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  it('a disabled endpoint gets no new webhook and no attempt; its queued webhook waits and arrives after enable, as a recovery', async () => {
    const org = await tenant('Pause Co');
    const endpoint = await createEndpoint(org, { webhook_url: receiver.url });
    expect(endpoint).toMatchObject({
      disabled: false,
      disabled_at: null,
      disabled_reason: null,
      failing_since: null,
      headers: {},
    });
    const [queued] = await publish(org, 'inv_queued');
    // The first attempt fails; its retry comes 2 s later and finds the endpoint disabled.
    await receiver.waitFor(1);
    const disabled = await setDisabled(org, endpoint.lago_id, true);
    expect(disabled.status).toBe(200);
    expect(disabled.body.webhook_endpoint).toMatchObject({ disabled: true, disabled_reason: 'disabled by request' });
    expect((disabled.body.webhook_endpoint as EndpointView).disabled_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await eventually(() => parked(org, queued!.lago_id), 15_000, 'the queued webhook to wait for the enable');

    // Publishing skips it.
    expect(await publish(org, 'inv_while_disabled')).toEqual([]);
    expect(receiver.received).toHaveLength(1);
    expect((await webhookState(org, queued!.lago_id)).attempts_count).toBe(1);
    expect(await endpointView(org, endpoint.lago_id)).toMatchObject({
      disabled: true,
      disabled_reason: 'disabled by request',
    });

    const enabled = await setDisabled(org, endpoint.lago_id, false);
    expect(enabled.status).toBe(200);
    expect(enabled.body.webhook_endpoint).toMatchObject({ disabled: false, disabled_at: null, disabled_reason: null });
    const [, second] = await receiver.waitFor(2);
    expect(second!.headers['x-lago-unique-key']).toBe(queued!.lago_id);
    await eventually(
      async () => ((await webhookState(org, queued!.lago_id)).status === 'succeeded' ? true : undefined),
      15_000,
      'the webhook to succeed',
    );
    expect(receiver.received).toHaveLength(2);

    const recovered = await eventually(
      async () =>
        (await operationalEvents()).find(
          (e) => e.detail.endpoint_id === endpoint.lago_id && e['detail-type'] === 'Webhook Endpoint Recovered',
        ),
      10_000,
      'the recovery event',
    );
    expect(recovered).toMatchObject({
      source: 'lago-webhooks-aws',
      detail: { organization_id: org.id, webhook_url: receiver.url, reason: null },
    });
    expect((await endpointView(org, endpoint.lago_id)).failing_since).toBeNull();
  });

  it("refuses a disabled flag that is not a boolean, in Lago's shape", async () => {
    const org = await tenant('Flag Co');
    const endpoint = await createEndpoint(org, { webhook_url: 'https://example.com/flag' });
    const res = await isolated.call('PUT', `/api/v1/webhook_endpoints/${endpoint.lago_id}`, org.key, {
      webhook_endpoint: { disabled: 'yes' },
    });
    expect(res).toEqual({
      status: 422,
      body: {
        status: 422,
        error: 'Unprocessable Entity',
        code: 'validation_errors',
        error_details: { disabled: ['value_is_invalid'] },
      },
    });
  });
});

describe('the endpoint record', () => {
  it("keeps a sender's marks written between an update's read and its write (only changed fields are written)", async () => {
    const org = await tenant('Marks Co');
    const created = await createEndpoint(org, { webhook_url: 'https://example.com/marks' });
    const { store } = isolated.local.deps;
    const previous = (await store.getEndpoint(org.id, created.lago_id))!;
    expect(await store.markEndpointFailing(org.id, created.lago_id, 1_700_000_000_000)).toBe(true);
    await store.markEndpointSlow(org.id, created.lago_id, 1_800_000_000_000);
    expect(await store.updateEndpoint(previous, { ...previous, name: 'renamed' })).toBe('ok');
    expect(await store.getEndpoint(org.id, created.lago_id)).toMatchObject({
      name: 'renamed',
      failing_since_ms: 1_700_000_000_000,
      slow_until_ms: 1_800_000_000_000,
    });
    // Cleared once, by whoever clears it first; disabled automatically only while still failing since then.
    expect(
      await store.autoDisableEndpoint(
        org.id,
        created.lago_id,
        1_600_000_000_000,
        Date.parse('2026-01-01T00:00:00.000Z'),
        'r',
      ),
    ).toBe(false);
    expect(await store.markEndpointRecovered(org.id, created.lago_id)).toBe(true);
    expect(await store.markEndpointRecovered(org.id, created.lago_id)).toBe(false);
  });
});

describe('auto-disable', () => {
  const receiver = new Receiver((_req, res) => res.writeHead(503).end('down'));
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  it(`disables an endpoint whose every attempt failed for ${AUTO_DISABLE_SECONDS} s, shows why, writes the operational event, and stops attempting`, async () => {
    const org = await tenant('Outage Co');
    const endpoint = await createEndpoint(org, { webhook_url: receiver.url });
    const [webhook] = await publish(org, 'inv_outage');
    const view = await eventually(
      async () => {
        const e = await endpointView(org, endpoint.lago_id);
        return e.disabled ? e : undefined;
      },
      30_000,
      'the endpoint to be disabled',
    );
    expect(view.failing_since).toMatch(/Z$/);
    expect(view.disabled_reason).toBe(
      `every attempt failed since ${view.failing_since} (automatically disabled after ${AUTO_DISABLE_SECONDS} s of failures)`,
    );

    // The event is written just after the endpoint: the file may lag the endpoint's read by a moment.
    const disabled = await eventually(
      async () => {
        const mine = (await operationalEvents()).filter((e) => e.detail.endpoint_id === endpoint.lago_id);
        return mine.length > 0 ? mine : undefined;
      },
      10_000,
      'the disabled event',
    );
    expect(disabled).toHaveLength(1);
    expect(disabled[0]).toEqual({
      source: 'lago-webhooks-aws',
      'detail-type': 'Webhook Endpoint Disabled',
      time: view.disabled_at,
      detail: {
        organization_id: org.id,
        endpoint_id: endpoint.lago_id,
        webhook_url: receiver.url,
        reason: view.disabled_reason,
        failing_since: view.failing_since,
        at: view.disabled_at,
      },
    });
    expect(Date.parse(disabled[0]!.detail.at) - Date.parse(disabled[0]!.detail.failing_since!)).toBeGreaterThanOrEqual(
      AUTO_DISABLE_SECONDS * 1000,
    );
    expect((await stat(eventsFile())).mode & 0o777).toBe(0o600);
    expect(
      logs.lines.filter(
        (line) => line.includes('webhook endpoint disabled automatically') && line.includes(endpoint.lago_id),
      ),
    ).toHaveLength(1);

    // Its webhook now waits instead of using up its retries.
    const waiting = await eventually(() => parked(org, webhook!.lago_id), 15_000, 'the webhook to wait');
    expect(receiver.received).toHaveLength(waiting.attempts_count);
    expect(waiting.status).toBe('retrying');

    // Fixed and enabled: the first success is a recovery.
    receiver.reply = (_req, res) => res.writeHead(200).end();
    expect((await setDisabled(org, endpoint.lago_id, false)).status).toBe(200);
    await eventually(
      async () => ((await webhookState(org, webhook!.lago_id)).status === 'succeeded' ? true : undefined),
      15_000,
      'the webhook to succeed',
    );
    const kinds = await eventually(
      async () => {
        const mine = (await operationalEvents())
          .filter((e) => e.detail.endpoint_id === endpoint.lago_id)
          .map((e) => e['detail-type']);
        return mine.length === 2 ? mine : undefined;
      },
      10_000,
      'the recovery event',
    );
    expect(kinds).toEqual(['Webhook Endpoint Disabled', 'Webhook Endpoint Recovered']);
  });
});

describe('custom headers', () => {
  const receiver = new Receiver();
  let owner: Tenant;
  let endpoint: EndpointView;
  beforeAll(async () => {
    await receiver.start();
    owner = await tenant('Headers Co');
    endpoint = await createEndpoint(owner, {
      webhook_url: receiver.url,
      headers: { Authorization: SECRET, 'X-Tenant': 'acme' },
    });
  });
  afterAll(() => receiver.stop());

  it('arrive on the attempt beside the signature headers', async () => {
    expect(endpoint.headers).toEqual({ Authorization: '••••', 'X-Tenant': '••••' });
    const [webhook] = await publish(owner, 'inv_headers');
    const [request] = await receiver.waitFor(1);
    expect(request!.headers.authorization).toBe(SECRET);
    expect(request!.headers['x-tenant']).toBe('acme');
    expect(request!.headers['x-lago-unique-key']).toBe(webhook!.lago_id);
    expect(request!.headers['x-lago-signature-algorithm']).toBe('hmac');
  });

  it('are masked on read, revealed to their owner only, and a masked value sent back keeps the stored one', async () => {
    expect((await endpointView(owner, endpoint.lago_id)).headers).toEqual({
      Authorization: '••••',
      'X-Tenant': '••••',
    });
    const list = await isolated.call('GET', '/api/v1/webhook_endpoints', owner.key);
    expect(JSON.stringify(list.body)).not.toContain('s3cret');
    expect((await endpointView(owner, endpoint.lago_id, '?reveal_headers=true')).headers).toEqual({
      Authorization: SECRET,
      'X-Tenant': 'acme',
    });
    const other = await tenant('Curious Co');
    expect(
      await isolated.call('GET', `/api/v1/webhook_endpoints/${endpoint.lago_id}?reveal_headers=true`, other.key),
    ).toEqual({ status: 404, body: { status: 404, error: 'Not Found', code: 'webhook_endpoint_not_found' } });

    const updated = await isolated.call('PUT', `/api/v1/webhook_endpoints/${endpoint.lago_id}`, owner.key, {
      webhook_endpoint: { headers: { Authorization: '••••', 'X-Tenant': 'globex' } },
    });
    expect(updated.status).toBe(200);
    expect((await endpointView(owner, endpoint.lago_id, '?reveal_headers=true')).headers).toEqual({
      Authorization: SECRET,
      'X-Tenant': 'globex',
    });
  });

  it("refuse reserved names, bad names, bad values and more than 10 with a 422 in Lago's shape, and store nothing", async () => {
    const cases: [unknown, string][] = [
      [{ 'X-Lago-Signature': 'forged' }, 'header_name_is_reserved'],
      [{ 'webhook-signature': 'v1,forged' }, 'header_name_is_reserved'],
      [{ 'content-type': 'text/plain' }, 'header_name_is_reserved'],
      [{ Host: 'evil.example' }, 'header_name_is_reserved'],
      [{ 'User-Agent': 'x' }, 'header_name_is_reserved'],
      [{ 'Transfer-Encoding': 'chunked' }, 'header_name_is_reserved'],
      // A receiver would answer compressed, and the stored response would be unreadable.
      [{ 'Accept-Encoding': 'gzip' }, 'header_name_is_reserved'],
      [{ 'Content-Encoding': 'gzip' }, 'header_name_is_reserved'],
      [{ 'Bad Name': 'x' }, 'header_name_is_invalid'],
      [{ 'X-Key': 'a\r\nX-Injected: 1' }, 'header_value_is_invalid'],
      [{ 'X-Key': 'x'.repeat(1025) }, 'header_value_is_too_long'],
      [Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`X-H${i}`, 'v'])), 'too_many_headers'],
    ];
    for (const [headers, code] of cases) {
      const res = await isolated.call('POST', '/api/v1/webhook_endpoints', owner.key, {
        webhook_endpoint: { webhook_url: 'https://example.com/refused', headers },
      });
      expect(res, JSON.stringify(headers).slice(0, 60)).toEqual({
        status: 422,
        body: {
          status: 422,
          error: 'Unprocessable Entity',
          code: 'validation_errors',
          error_details: { headers: [code] },
        },
      });
    }
    const put = await isolated.call('PUT', `/api/v1/webhook_endpoints/${endpoint.lago_id}`, owner.key, {
      webhook_endpoint: { headers: { 'X-Lago-Unique-Key': 'forged' } },
    });
    expect(put.body).toEqual({
      status: 422,
      error: 'Unprocessable Entity',
      code: 'validation_errors',
      error_details: { headers: ['header_name_is_reserved'] },
    });
    const list = await isolated.call('GET', '/api/v1/webhook_endpoints', owner.key);
    expect((list.body.webhook_endpoints as EndpointView[]).map((e) => e.lago_id)).toEqual([endpoint.lago_id]);
  });

  it('take any RFC 7230 token as a name, constructor, __proto__ and prototype included (no 500), and no update replaces them but with what it sends', async () => {
    const entries: [string, string][] = [
      ['constructor', 'c-value'],
      ['__proto__', 'p-value'],
      ['prototype', 't-value'],
      ...Array.from({ length: 7 }, (_, i): [string, string] => [`X-Keep-${i}`, `k${i}`]),
    ];
    const headers = objectOf(entries);
    expect(Object.keys(headers)).toHaveLength(10);
    const created = await isolated.call('POST', '/api/v1/webhook_endpoints', owner.key, {
      webhook_endpoint: { webhook_url: `${receiver.url}?names`, signature_algo: 'hmac', headers },
    });
    expect(created.status).toBe(200);
    const id = (created.body.webhook_endpoint as EndpointView).lago_id;
    expect(Object.entries((created.body.webhook_endpoint as EndpointView).headers)).toEqual(
      entries.map(([name]) => [name, '••••']),
    );
    const revealed = async () => Object.entries((await endpointView(owner, id, '?reveal_headers=true')).headers);
    expect(await revealed()).toEqual(entries);

    // Updates that send no headers keep all ten; a __proto__ key in the endpoint object is a field name, nothing more.
    for (const raw of [
      '{"webhook_endpoint":{"name":"renamed"}}',
      '{"webhook_endpoint":{"__proto__":{"headers":null}}}',
      '{"webhook_endpoint":{"constructor":{"prototype":{"headers":null}}}}',
    ]) {
      const res = await fetch(`${isolated.local.url}/api/v1/webhook_endpoints/${id}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' },
        body: raw,
      });
      expect(res.status, raw).toBe(200);
      expect(await revealed(), raw).toEqual(entries);
    }
    // What a request sends is what it gets: a new __proto__ value, every other name kept by its masked value.
    const resent = objectOf(entries.map(([name]) => [name, name === '__proto__' ? 'p-new' : '••••']));
    const put = await isolated.call('PUT', `/api/v1/webhook_endpoints/${id}`, owner.key, {
      webhook_endpoint: { headers: resent },
    });
    expect(put.status).toBe(200);
    expect(await revealed()).toEqual(entries.map(([name, value]) => [name, name === '__proto__' ? 'p-new' : value]));

    const webhook = (await publish(owner, 'inv_header_names')).find((w) => w.lago_webhook_endpoint_id === id);
    const got = await eventually(
      () => receiver.received.find((r) => r.headers['x-lago-unique-key'] === webhook!.lago_id),
      10_000,
      'the delivery with header names',
    );
    expect(got.headers.constructor).toBe('c-value');
    expect(got.headers.prototype).toBe('t-value');
    // Node's parsed headers drop __proto__; the raw headers show it arrived.
    const raw = got.rawHeaders;
    expect(raw[raw.indexOf('__proto__') + 1]).toBe('p-new');
  });

  it('open values sealed by an earlier revision (a map of names, under a key derived from the signing key), send them, and seal them anew as pairs on the next update', async () => {
    const endpoint = await createEndpoint(owner, { webhook_url: `${receiver.url}?legacy` });
    const pem = (await new LocalSecretStore(isolated.dataDir).get(signingKeySecretName(LOCAL_SECRETS_PREFIX)))!;
    const material = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
    const key = Buffer.from(hkdfSync('sha256', material, 'lago-webhooks', 'endpoint-custom-headers', 32));
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(`${endpoint.lago_id}\nx-legacy`));
    const body = Buffer.concat([cipher.update('sealed-long-ago', 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
    await table((db) =>
      db.send(
        new UpdateCommand({
          TableName: LOCAL_TABLE,
          Key: endpointKey(owner.id, endpoint.lago_id),
          UpdateExpression: 'SET headers = :map',
          ExpressionAttributeValues: { ':map': { 'X-Legacy': sealed } },
        }),
      ),
    );
    expect((await endpointView(owner, endpoint.lago_id, '?reveal_headers=true')).headers).toEqual({
      'X-Legacy': 'sealed-long-ago',
    });
    const webhook = (await publish(owner, 'inv_legacy_header')).find(
      (w) => w.lago_webhook_endpoint_id === endpoint.lago_id,
    );
    const got = await eventually(
      () => receiver.received.find((r) => r.headers['x-lago-unique-key'] === webhook!.lago_id),
      10_000,
      'the delivery with the legacy header',
    );
    expect(got.headers['x-legacy']).toBe('sealed-long-ago');

    await isolated.call('PUT', `/api/v1/webhook_endpoints/${endpoint.lago_id}`, owner.key, {
      webhook_endpoint: { headers: { 'X-Legacy': '••••' } },
    });
    const item = await table(
      async (db) =>
        (await db.send(new GetCommand({ TableName: LOCAL_TABLE, Key: endpointKey(owner.id, endpoint.lago_id) }))).Item!,
    );
    expect(item.headers).toEqual([['X-Legacy', expect.stringMatching(/^v1\./)]]);
    expect((await endpointView(owner, endpoint.lago_id, '?reveal_headers=true')).headers).toEqual({
      'X-Legacy': 'sealed-long-ago',
    });
  });

  it("do not open once moved to another organization's endpoint: a 409 on reveal, and its deliveries fail saying why", async () => {
    const thief = await tenant('Thief Co');
    const stolen = await createEndpoint(thief, { webhook_url: `${receiver.url}?stolen` });
    const original = await table(
      async (db) =>
        (await db.send(new GetCommand({ TableName: LOCAL_TABLE, Key: endpointKey(owner.id, endpoint.lago_id) }))).Item!,
    );
    await table((db) =>
      db.send(
        new UpdateCommand({
          TableName: LOCAL_TABLE,
          Key: endpointKey(thief.id, stolen.lago_id),
          UpdateExpression: 'SET headers = :headers',
          ExpressionAttributeValues: {
            ':headers': (original.headers as [string, string][]).filter(([name]) => name === 'Authorization'),
          },
        }),
      ),
    );
    const reveal = await isolated.call(
      'GET',
      `/api/v1/webhook_endpoints/${stolen.lago_id}?reveal_headers=true`,
      thief.key,
    );
    expect(reveal).toEqual({
      status: 409,
      body: {
        status: 409,
        error: 'Conflict',
        code: 'custom_header_unusable',
        message:
          "the sealed value of this endpoint's custom header Authorization does not open: it was sealed for another record, or altered: send its value again",
      },
    });
    const before = receiver.received.length;
    const [webhook] = await publish(thief, 'inv_stolen');
    const failed = await eventually(
      async () => {
        const w = (await isolated.call('GET', `/api/v1/webhooks/${webhook!.lago_id}`, thief.key)).body.webhook as {
          status: string;
          error: string | null;
        };
        return w.status === 'failed' ? w : undefined;
      },
      10_000,
      'the stolen header delivery to fail',
    );
    expect(failed.error).toBe(
      "the sealed value of this endpoint's custom header Authorization does not open: it was sealed for another record, or altered",
    );
    expect(receiver.received.slice(before).some((r) => r.headers['x-lago-unique-key'] === webhook!.lago_id)).toBe(
      false,
    );
  });

  it('never appear in the logs', () => {
    expect(logs.lines.length).toBeGreaterThan(0);
    expect(logs.text).toContain('webhook delivered');
    expect(logs.text).not.toContain('it-s3cret');
  });
});
