// Hostile input on every route: malformed and non-object JSON, wrong types, missing and extra fields, huge strings,
// deep nesting, unicode, control characters and NUL, CRLF, prototype-pollution keys, odd path ids, bad pagination and
// filters, bad credentials and wrong methods. Every answer is a 4xx in Lago's shape, and the stored data (a full scan
// of the table) and the queues are exactly as before.
import { createHmac } from 'node:crypto';
import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import jwt from 'jsonwebtoken';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setResolver } from '#shared/adapters/dns.ts';
import { LOCAL_REGION } from '#infra/local/emulators.ts';
import { ROUTES } from '#shared/runtime/routes.ts';
import { LOCAL_TABLE } from '#infra/local/service.ts';
import { checkContract, isolatedStack, type IsolatedStack } from './helpers.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver } from '../support/receiver.ts';
import { withinOneWindow } from '../support/windows.ts';

let isolated: IsolatedStack;
const LIMITS = {
  RATE_LIMIT_TEST_EVENTS_PER_MINUTE: '6',
  RATE_LIMIT_ENDPOINT_TEST_EVENTS_PER_MINUTE: '4',
  RATE_LIMIT_REDELIVERIES_PER_MINUTE: '5',
  RATE_LIMIT_RECOVERIES_PER_HOUR: '3',
  RATE_LIMIT_ROTATIONS_PER_HOUR: '3',
};
const receiver = new Receiver();
let orgId: string;
let key: string;
let endpointId: string;
let webhookId: string;
const MISSING = '01900000-0000-7000-8000-00000000dead';
/** Every answer the service gave in this file, by status: the last test checks that none is a 5xx. */
const answered = new Map<number, number>();
const realFetch = globalThis.fetch;

async function snapshot() {
  const { local } = isolated;
  const dynamo = new DynamoDBClient({
    endpoint: local.dynamoDbEndpoint,
    region: LOCAL_REGION,
    credentials: local.credentials,
  });
  const sqs = new SQSClient({ endpoint: local.sqsEndpoint, region: LOCAL_REGION, credentials: local.credentials });
  try {
    const items: string[] = [];
    for await (const page of paginateScan({ client: dynamo }, { TableName: LOCAL_TABLE, ConsistentRead: true }))
      for (const item of page.Items ?? []) items.push(JSON.stringify(item));
    const depths: Record<string, string | undefined>[] = [];
    for (const QueueUrl of [local.queues.lanes.fast.url, local.queues.lanes.slow.url, local.queues.deadLetter.url]) {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      depths.push(Attributes);
    }
    return { items: items.sort(), depths };
  } finally {
    dynamo.destroy();
    sqs.destroy();
  }
}

beforeAll(async () => {
  await receiver.start();
  globalThis.fetch = async (input, init) => {
    const res = await realFetch(input, init);
    const url = input instanceof Request ? input.url : String(input);
    if (isolated && url.startsWith(isolated.local.url)) answered.set(res.status, (answered.get(res.status) ?? 0) + 1);
    return res;
  };
  isolated = await isolatedStack('hostile', {
    WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8',
    WEBHOOK_ALLOW_HTTP: 'true',
    // Small limits, so that bursts find them within a test.
    ...LIMITS,
  });
  const org = await isolated.call('POST', '/admin/v1/organizations', isolated.local.adminToken, { name: 'Target' });
  orgId = (org.body.organization as { lago_id: string }).lago_id;
  key = org.body.api_key as string;
  const endpoint = await isolated.call('POST', '/api/v1/webhook_endpoints', key, {
    webhook_endpoint: { webhook_url: receiver.url },
  });
  endpointId = (endpoint.body.webhook_endpoint as { lago_id: string }).lago_id;
  const published = await isolated.call('POST', '/admin/v1/webhooks', isolated.local.adminToken, {
    organization_id: orgId,
    webhook_type: 'invoice.created',
    object_type: 'invoice',
    object: { lago_id: 'inv_1' },
  });
  webhookId = (published.body.webhooks as { lago_id: string }[])[0]!.lago_id;
  await eventually(
    async () =>
      ((await isolated.call('GET', `/api/v1/webhooks/${webhookId}`, key)).body.webhook as { status: string }).status ===
        'succeeded' || undefined,
    20_000,
    'the delivery',
  );
  // Settled: the queue is empty before the snapshot is taken.
  await eventually(
    async () => ((await snapshot()).depths.every((d) => Object.values(d).every((v) => v === '0')) ? true : undefined),
    20_000,
    'empty queues',
  );
});

afterAll(async () => {
  globalThis.fetch = realFetch;
  await receiver.stop();
  await isolated?.stop();
});

const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const MB = 'x'.repeat(1024 * 1024);
const BAD_JSON = [
  '{',
  '{"a":',
  'nul',
  '\u0000',
  "{'a':1}",
  '{"a":1}}',
  '\ufeff{}x',
  '{"a":"\ud800"',
  nested(65),
  nested(5000),
  `{"a":"${MB}"}`,
];
const NOT_OBJECTS = ['[]', '"x"', '1', 'null', 'true', '[{"webhook_endpoint":{}}]'];
const POLLUTION = [
  '{"__proto__":{"webhook_endpoint":{"webhook_url":"https://example.com/"}}}',
  // Header names are data: a __proto__ or constructor name is read as a header whose value here is not text.
  '{"webhook_endpoint":{"webhook_url":"https://example.com/h1","headers":{"__proto__":{"Authorization":"x"}}}}',
  '{"webhook_endpoint":{"webhook_url":"https://example.com/h2","headers":{"constructor":{"prototype":{"a":"b"}}}}}',
  '{"constructor":{"prototype":{"name":"x"}}}',
  '{"__proto__":{"admin":true},"name":null}',
];
const ODD_IDS = [
  '..%2F..%2Fadmin',
  '%2E%2E',
  '%00',
  '%0D%0AX-Injected:%201',
  'x'.repeat(4000),
  '%E2%80%AE',
  'ünïcode',
  '%F0%9F%92%A9',
  '%25',
  MISSING.toUpperCase().replace(/0/g, 'O'),
  `${MISSING}%00`,
  MISSING,
];

interface Attempt {
  method: string;
  path: string;
  token?: string | undefined;
  body?: string;
}

const endpointBodies = [
  { webhook_endpoint: { webhook_url: 123 } },
  { webhook_endpoint: { webhook_url: ['https://example.com/'] } },
  { webhook_url: 'https://example.com/' },
  { webhook_endpoint: { webhook_url: 'https://example.com/\r\nX-Injected: 1' } },
  { webhook_endpoint: { webhook_url: 'https://exa\u0000mple.com/' } },
  { webhook_endpoint: { webhook_url: 'https://example.com/\u0000' } },
  { webhook_endpoint: { webhook_url: 'https://example.com/#frag' } },
  { webhook_endpoint: { webhook_url: `https://example.com/${'x'.repeat(100_000)}` } },
  { webhook_endpoint: { webhook_url: 'https://example.com/ok', name: 'a\r\nb' } },
  { webhook_endpoint: { webhook_url: 'https://example.com/ok', name: 'nul\u0000' } },
  { webhook_endpoint: { webhook_url: 'https://example.com/ok', name: 'ü'.repeat(300) } },
  { webhook_endpoint: { webhook_url: 'https://example.com/ok', event_types: [{}] } },
  { webhook_endpoint: { webhook_url: 'https://example.com/ok', event_types: ['invoice.created\u0000'] } },
  { webhook_endpoint: { webhook_url: 'https://example.com/ok', signature_algo: ['hmac'] } },
  { webhook_endpoint: { webhook_url: 'javascript:alert(1)', extra: true } },
  { webhook_endpoint: { webhook_url: 'http://[::1]:1/', admin: true } },
  // Reserved: a receiver would answer compressed, and the stored response would be unreadable.
  { webhook_endpoint: { webhook_url: 'https://example.com/ok', headers: { 'Accept-Encoding': 'gzip' } } },
  { webhook_endpoint: { webhook_url: 'https://example.com/ok', headers: { 'Content-Encoding': 'gzip' } } },
].map((b) => JSON.stringify(b));
/** Refused on creation (no webhook_url) but a valid, empty partial update: not sent to PUT. */
const CREATE_ONLY = [
  '{"webhook_endpoint":{"extra":"field"}}',
  '{"webhook_endpoint":{"__proto__":{"webhook_url":"https://example.com/"}}}',
];

function attempts(): Attempt[] {
  const admin = isolated.local.adminToken;
  const list: Attempt[] = [];
  const api = (method: string, path: string, body?: string) =>
    list.push({ method, path, token: key, ...(body !== undefined ? { body } : {}) });
  const adm = (method: string, path: string, body?: string) =>
    list.push({ method, path, token: admin, ...(body !== undefined ? { body } : {}) });

  // Bodies on every route that reads one.
  for (const body of [...BAD_JSON, ...NOT_OBJECTS, ...POLLUTION, ...endpointBodies]) {
    api('POST', '/api/v1/webhook_endpoints', body);
    api('PUT', `/api/v1/webhook_endpoints/${endpointId}`, body);
    api('POST', '/api/v1/webhooks/recover', body);
    adm('POST', '/admin/v1/webhooks', body);
  }
  for (const body of CREATE_ONLY) api('POST', '/api/v1/webhook_endpoints', body);
  for (const body of [...BAD_JSON, ...NOT_OBJECTS, ...POLLUTION]) adm('POST', '/admin/v1/organizations', body);
  for (const body of [...BAD_JSON, ...NOT_OBJECTS]) adm('POST', '/admin/v1/dead_letters/redrive', body);
  for (const name of ['', '   ', 'a\r\nb', 'nul\u0000', 'x'.repeat(256), 42, ['a'], { a: 1 }, null])
    adm('POST', '/admin/v1/organizations', JSON.stringify({ name, extra: 'field' }));
  // Publishes that must all be refused (a valid one would create webhooks).
  const publish = {
    organization_id: orgId,
    webhook_type: 'invoice.created',
    object_type: 'invoice',
    object: { lago_id: 'inv_h' },
  };
  for (const change of [
    { organization_id: MISSING },
    { organization_id: `${orgId}\u0000` },
    { organization_id: 42 },
    { organization_id: undefined },
    { webhook_type: 'invoice.created\r\n' },
    { webhook_type: '__proto__' },
    { webhook_type: 'constructor' },
    { object_type: '__proto__' },
    { object_type: 'organization_id' },
    { object_type: 'invoice\u0000' },
    { object: [] },
    { object: 'x' },
    { object: JSON.parse(nested(70)) as unknown },
    { object: { pad: 'x'.repeat(300_000) } },
    { idempotency_key: 42 },
    { idempotency_key: 'k'.repeat(300) },
  ]) {
    adm('POST', '/admin/v1/webhooks', JSON.stringify({ ...publish, ...change }));
  }
  // Recover: wrong types, missing fields, bad dates and windows, the organization's own endpoint included.
  for (const body of [
    {},
    { webhook_endpoint_id: endpointId },
    { webhook_endpoint_id: endpointId, from_date: '2026-01-01%00', to_date: '2026-01-02' },
    { webhook_endpoint_id: endpointId, from_date: '2026-01-01\u0000', to_date: '2026-01-02' },
    { webhook_endpoint_id: endpointId, from_date: '2026-01-01', to_date: '2026-03-01' },
    { webhook_endpoint_id: endpointId, from_date: '2026-01-02', to_date: '2026-01-01' },
    { webhook_endpoint_id: endpointId, from_date: 20260101, to_date: true },
    { webhook_endpoint_id: '../../etc/passwd', from_date: '2026-01-01', to_date: '2026-01-02' },
    { webhook_endpoint_id: MISSING, from_date: '2026-01-01', to_date: '2026-01-02' },
    { webhook_endpoint_id: [endpointId], from_date: '2026-01-01', to_date: '2026-01-02' },
  ]) {
    api('POST', '/api/v1/webhooks/recover', JSON.stringify(body));
  }
  // Odd path ids on every route that takes one.
  for (const id of ODD_IDS) {
    api('GET', `/api/v1/webhook_endpoints/${id}`);
    api('PUT', `/api/v1/webhook_endpoints/${id}`, JSON.stringify({ webhook_endpoint: { name: 'renamed' } }));
    api('DELETE', `/api/v1/webhook_endpoints/${id}`);
    api('GET', `/api/v1/webhooks/${id}`);
    api('POST', `/api/v1/webhooks/${id}/retry`);
  }
  // The succeeded webhook cannot be retried.
  api('POST', `/api/v1/webhooks/${webhookId}/retry`);
  // Bad pagination and filters.
  for (const query of [
    'page=0',
    'page=-1',
    'page=abc',
    'per_page=0',
    'per_page=1.5',
    'per_page=%00',
    'page=1e3',
    `page=${'9'.repeat(30)}`,
  ])
    api('GET', `/api/v1/webhook_endpoints?${query}`);
  for (const query of [
    'per_page=0',
    'per_page=abc',
    'cursor=garbage',
    'cursor=%00',
    'statuses[]=nope',
    'statuses[]=failed%00',
    `statuses[]=${Array.from({ length: 25 }, (_, i) => `s${i}`).join(',')}`,
    'webhook_types[]=%3Cscript%3E',
    'http_statuses[]=999x',
    'http_statuses[]=404%0D%0AX-Injected',
    'from_date=2026-01-01%00',
    'to_date=yesterday',
    `search_term=${'s'.repeat(300)}`,
    'webhook_endpoint_id=..%2F..%2F',
    'webhook_endpoint_id=%00',
    '__proto__[statuses]=failed&statuses[]=bogus',
  ]) {
    api('GET', `/api/v1/webhooks?${query}`);
  }
  // Bad credentials on every route but the public ones: the console's static files and the OpenAPI document.
  const NBSP = '\u00a0';
  for (const route of ROUTES.filter((r) => r.fn !== 'console' && !r.public)) {
    const path = route.path.replace('{lago_id}', route.path.includes('endpoints') ? endpointId : webhookId);
    for (const token of [
      undefined,
      '',
      'lwh_wrong',
      `lwh_${'A'.repeat(43)}`,
      'adm_wrong',
      route.fn === 'api' ? admin : key,
    ])
      list.push({ method: route.method, path, token, body: '{}' });
    list.push({ method: route.method, path, token: `${NBSP}${route.fn === 'api' ? key : admin}`, body: '{}' });
  }
  // Wrong methods on every path: each method a route template does not have.
  for (const template of new Set(ROUTES.map((r) => r.path))) {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      if (!ROUTES.some((r) => r.path === template && r.method === method))
        api(method, template.replace('{lago_id}', endpointId), '{}');
    }
  }
  return list;
}

describe('hostile input', () => {
  it('gets a 4xx in Lago shape on every route and changes nothing', async () => {
    const before = await snapshot();
    expect(before.items.length).toBeGreaterThan(0);
    const tried = attempts();
    const seen = new Map<number, number>();
    const one = async ({ method, path, token, body }: Attempt) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      // A token starting with a no-break space stands for "Bearer<NBSP>token".
      if (token !== undefined)
        headers.authorization = token.startsWith('\u00a0') ? `Bearer${token}` : `Bearer ${token}`;
      const res = await fetch(`${isolated.local.url}${path}`, {
        method,
        headers,
        ...(body !== undefined && method !== 'GET' ? { body } : {}),
      });
      const text = await res.text();
      const what = `${method} ${path.slice(0, 120)} ${body?.slice(0, 120) ?? ''} -> ${res.status} ${text.slice(0, 200)}`;
      expect(res.status, what).toBeGreaterThanOrEqual(400);
      expect(res.status, what).toBeLessThan(500);
      const parsed = JSON.parse(text) as { status?: unknown; error?: unknown };
      expect(parsed.status, what).toBe(res.status);
      await checkContract(method, path, res, text);
      expect(typeof parsed.error, what).toBe('string');
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
    };
    // A few at a time, to keep the suite short; order does not matter, as none may change anything.
    const queue = [...tried];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await one(next);
      }),
    );
    expect(tried.length).toBeGreaterThan(300);
    // Each kind of refusal occurs: 400, 401, 404, 405, 413 and 422.
    expect([...seen.keys()].sort()).toEqual(expect.arrayContaining([400, 401, 404, 405, 413, 422]));
    expect(await snapshot()).toEqual(before);
  });
});

/** A request whose body is sent exactly as written (JSON escapes included), its answer checked against the OpenAPI document. */
async function rawCall(method: string, path: string, token: string, body: string) {
  const res = await fetch(`${isolated.local.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  const text = await res.text();
  await checkContract(method, path, res, text);
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> };
}

describe('any Unicode a JSON payload can hold', () => {
  // Astral-plane characters (which the SQS emulator refuses), the noncharacters U+FFFE and U+FFFF (which SQS itself
  // refuses), raw and as escapes, lone surrogates (only expressible as JSON escapes), bidirectional controls, the line
  // and paragraph separators, C0 controls and DEL, and non-ASCII keys.
  const OBJECT =
    '{"lago_id":"inv_unicode","emoji":"😀 🏳️‍🌈 𝄞 👩🏽‍💻","nonchars":"\ufffe\uffff","escaped_nonchars":"\\ufffe\\uffff",' +
    '"lone":["\\ud800","\\udfff","\\udc00\\ud800","a\\udbffz"],"rtl":"\u200f\u202eabc\u202c\u200e\u061c\u2067x\u2069",' +
    '"separators":"\u2028\u2029","controls":"\\u0000\\u001f\u007f","ключ 🔑":"ü","bom":"\ufeff"}';
  const expectedBody = (orgId: string, object: string) =>
    JSON.stringify({
      webhook_type: 'invoice.created',
      object_type: 'invoice',
      organization_id: orgId,
      invoice: JSON.parse(object) as unknown,
    });
  const unicodeReceiver = new Receiver();

  afterAll(async () => {
    await unicodeReceiver.stop();
  });

  it('is delivered byte-exact, valid UTF-8, signed over those bytes, and read back as published', async () => {
    await unicodeReceiver.start();
    const created = await isolated.call('POST', '/api/v1/webhook_endpoints', key, {
      webhook_endpoint: { webhook_url: unicodeReceiver.url, signature_algo: 'hmac' },
    });
    expect(created.status).toBe(200);
    const keys = (await isolated.call('GET', '/api/v1/webhooks/hmac_key', key)).body.webhook as {
      hmac_key: string;
      standard_webhooks_secret: string;
    };
    const publicKeyPem = Buffer.from(
      ((await isolated.call('GET', '/api/v1/webhooks/json_public_key', key)).body.webhook as { public_key: string })
        .public_key,
      'base64',
    ).toString('utf8');
    const before = receiver.received.length;

    const admin = isolated.local.adminToken;
    const event = `{"organization_id":"${orgId}","webhook_type":"invoice.created","object_type":"invoice","object":${OBJECT}}`;
    const single = await rawCall('POST', '/admin/v1/webhooks', admin, event);
    expect(single.status, JSON.stringify(single.body)).toBe(202);
    const batch = await rawCall('POST', '/admin/v1/webhooks/batch', admin, `{"events":[${event},${event}]}`);
    expect(batch.status).toBe(200);
    const results = batch.body.results as { status: number; webhooks?: { lago_id: string }[] }[];
    expect(results.map((r) => r.status)).toEqual([202, 202]);

    const expected = Buffer.from(expectedBody(orgId, OBJECT), 'utf8');
    const hmacDeliveries = await unicodeReceiver.waitFor(3);
    const jwtDeliveries = (await receiver.waitFor(before + 3)).slice(before);
    for (const got of [...hmacDeliveries, ...jwtDeliveries]) {
      expect(got.raw.equals(expected), got.body).toBe(true);
      // Valid UTF-8: a strict decoder accepts it, and the astral and noncharacter code points are there as themselves.
      expect(() => new TextDecoder('utf-8', { fatal: true }).decode(got.raw)).not.toThrow();
      expect(got.raw.includes(Buffer.from('😀', 'utf8'))).toBe(true);
      expect(got.raw.includes(Buffer.from([0xef, 0xbf, 0xbe, 0xef, 0xbf, 0xbf]))).toBe(true);
      // A lone surrogate, which UTF-8 cannot encode, arrives as the JSON escape it was published as.
      expect(got.body).toContain('"lone":["\\ud800","\\udfff","\\udc00\\ud800","a\\udbffz"]');
      const parsed = JSON.parse(got.body) as { invoice: { lone: string[]; emoji: string } };
      expect(parsed.invoice.lone).toEqual(['\ud800', '\udfff', '\udc00\ud800', 'a\udbffz']);
      expect(
        new Webhook(keys.standard_webhooks_secret).verify(
          got.raw.toString('utf8'),
          got.headers as Record<string, string>,
        ),
      ).toEqual(JSON.parse(got.body));
    }
    for (const got of hmacDeliveries)
      expect(got.headers['x-lago-signature']).toBe(
        createHmac('sha256', keys.hmac_key).update(got.raw).digest('base64'),
      );
    for (const got of jwtDeliveries) {
      const claims = jwt.verify(got.headers['x-lago-signature'] as string, publicKeyPem, { algorithms: ['RS256'] });
      expect((claims as { data: string }).data).toBe(got.body);
    }

    // The payload stored in DynamoDB reads back as published, on every webhook the three events made.
    const ids = [...(single.body.webhooks as { lago_id: string }[]), ...results.flatMap((r) => r.webhooks ?? [])].map(
      (w) => w.lago_id,
    );
    expect(ids).toHaveLength(6);
    for (const id of ids) {
      const read = await isolated.call('GET', `/api/v1/webhooks/${id}`, key);
      expect(read.status).toBe(200);
      expect((read.body.webhook as { payload: unknown }).payload).toEqual(JSON.parse(expected.toString('utf8')));
    }
  });
});

describe("local mode's own ports, with loopback allowed", () => {
  const ownPorts = () =>
    [
      ['the API', isolated.local.port],
      ['DynamoDB Local', Number(new URL(isolated.local.dynamoDbEndpoint).port)],
      ['the SQS emulator', Number(new URL(isolated.local.sqsEndpoint).port)],
    ] as const;

  it('are refused as endpoint URLs with a 422 address_is_this_service, however the address is spelled', async () => {
    let tried = 0;
    for (const [what, port] of ownPorts()) {
      for (const host of [
        '127.0.0.1',
        'localhost',
        'LOCALHOST.',
        '127.0.0.2',
        '127.1',
        '[::ffff:127.0.0.1]',
        '2130706433',
      ]) {
        const url = `http://${host}:${port}/`;
        const res = await isolated.call('POST', '/api/v1/webhook_endpoints', key, {
          webhook_endpoint: { webhook_url: url },
        });
        expect(res, `${what}: ${url}`).toEqual({
          status: 422,
          body: {
            status: 422,
            error: 'Unprocessable Entity',
            code: 'validation_errors',
            error_details: { webhook_url: ['address_is_this_service'] },
          },
        });
        tried++;
      }
      // Nor can an endpoint be moved there.
      const moved = await isolated.call('PUT', `/api/v1/webhook_endpoints/${endpointId}`, key, {
        webhook_endpoint: { webhook_url: `http://127.0.0.1:${port}/` },
      });
      expect(moved.status, what).toBe(422);
    }
    expect(tried).toBe(21);
    // Another port on loopback is still a receiver.
    const fine = await isolated.call('POST', '/api/v1/webhook_endpoints', key, {
      webhook_endpoint: { webhook_url: 'http://127.0.0.1:9/' },
    });
    expect(fine.status).toBe(200);
    const deleted = await isolated.call(
      'DELETE',
      `/api/v1/webhook_endpoints/${(fine.body.webhook_endpoint as { lago_id: string }).lago_id}`,
      key,
    );
    expect(deleted.status).toBe(200);
  });

  it('are refused at delivery for a name that resolves to them: the attempt is blocked and names why', async () => {
    setResolver(async (host) => {
      if (host.toLowerCase() !== 'own.test') throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return [{ address: '127.0.0.1', family: 4 }];
    });
    try {
      const admin = isolated.local.adminToken;
      const org = await isolated.call('POST', '/admin/v1/organizations', admin, { name: 'Own ports' });
      const orgKey = org.body.api_key as string;
      const orgId = (org.body.organization as { lago_id: string }).lago_id;
      const named = new Map<string, string>();
      for (const [what, port] of ownPorts()) {
        const created = await isolated.call('POST', '/api/v1/webhook_endpoints', orgKey, {
          webhook_endpoint: {
            webhook_url: `http://own.test:${port}/`,
            // What made DynamoDB Local answer `{"TableNames":[]}` into the delivery log.
            headers: { 'X-Amz-Target': 'DynamoDB_20120810.ListTables' },
          },
        });
        expect(created.status, what).toBe(200);
        named.set((created.body.webhook_endpoint as { lago_id: string }).lago_id, `${what}|${port}`);
      }
      const published = await isolated.call('POST', '/admin/v1/webhooks', admin, {
        organization_id: orgId,
        webhook_type: 'invoice.created',
        object_type: 'invoice',
        object: { lago_id: 'inv_own_ports' },
      });
      expect(published.status).toBe(202);
      const webhooks = published.body.webhooks as { lago_id: string; lago_webhook_endpoint_id: string }[];
      expect(webhooks).toHaveLength(3);
      for (const w of webhooks) {
        const [what, port] = named.get(w.lago_webhook_endpoint_id)!.split('|');
        const attempt = await eventually(
          async () => {
            const res = await isolated.call('GET', `/api/v1/webhooks/${w.lago_id}`, orgKey);
            const hook = res.body.webhook as {
              response: string | null;
              attempts: { error: string | null; http_status: number | null }[];
            };
            return hook.attempts[0] ? { ...hook.attempts[0], response: hook.response } : undefined;
          },
          20_000,
          `the attempt at ${what}`,
        );
        expect(attempt).toEqual({
          ...attempt,
          http_status: null,
          response: null,
          error: `address 127.0.0.1 is not allowed (port ${port} is ${what} of this service)`,
        });
      }
    } finally {
      setResolver();
    }
  });
});

describe('a batch whose events carry every odd character', () => {
  it('answers 202 for each of its ten events (one SendMessageBatch call), each delivered exactly once', async () => {
    const target = await new Receiver().start();
    try {
      const admin = isolated.local.adminToken;
      const org = await isolated.call('POST', '/admin/v1/organizations', admin, { name: 'Odd batch' });
      const orgId = (org.body.organization as { lago_id: string }).lago_id;
      const orgKey = org.body.api_key as string;
      expect(
        (
          await isolated.call('POST', '/api/v1/webhook_endpoints', orgKey, {
            webhook_endpoint: { webhook_url: target.url },
          })
        ).status,
      ).toBe(200);
      // Ordinary events beside odd ones: one character SQS or its emulator refuses used to fail the whole call.
      // As JSON text: raw characters, and escapes for what JSON or JavaScript cannot hold raw.
      const odd = ['😀', '\ufffe', '\uffff', '\\ud800', '\u202e', '\\u0000', '\u2028'];
      const events = Array.from(
        { length: 10 },
        (_, i) =>
          `{"organization_id":"${orgId}","webhook_type":"invoice.created","object_type":"invoice","object":{"lago_id":"inv_batch_${i}","note":"${odd[i] ?? 'plain'}"}}`,
      );
      const res = await rawCall('POST', '/admin/v1/webhooks/batch', admin, `{"events":[${events.join(',')}]}`);
      expect(res.status).toBe(200);
      const results = res.body.results as { status: number; webhooks: { lago_id: string }[] }[];
      expect(results.map((r) => r.status)).toEqual(Array(10).fill(202));
      const ids = results.flatMap((r) => r.webhooks.map((w) => w.lago_id)).sort();
      await target.waitFor(10);
      for (const id of ids)
        await eventually(
          async () =>
            ((await isolated.call('GET', `/api/v1/webhooks/${id}`, orgKey)).body.webhook as { status: string })
              .status === 'succeeded' || undefined,
          20_000,
          `webhook ${id}`,
        );
      expect(target.received.map((r) => r.headers['x-lago-unique-key']).sort()).toEqual(ids);
    } finally {
      await target.stop();
    }
  });
});

describe('custom headers that would make the stored response unreadable', () => {
  it('Accept-Encoding and Content-Encoding, in any case, are reserved names: a 422 on create and update', async () => {
    const refusal = {
      status: 422,
      body: {
        status: 422,
        error: 'Unprocessable Entity',
        code: 'validation_errors',
        error_details: { headers: ['header_name_is_reserved'] },
      },
    };
    for (const name of ['Accept-Encoding', 'accept-encoding', 'ACCEPT-ENCODING', 'Content-Encoding']) {
      const headers = { [name]: 'gzip, deflate, br' };
      expect(
        await isolated.call('POST', '/api/v1/webhook_endpoints', key, {
          webhook_endpoint: { webhook_url: 'http://127.0.0.1:9/compressed', headers },
        }),
        name,
      ).toEqual(refusal);
      expect(
        await isolated.call('PUT', `/api/v1/webhook_endpoints/${endpointId}`, key, { webhook_endpoint: { headers } }),
        name,
      ).toEqual(refusal);
    }
  });
});

describe('bursts on the rate-limited routes', () => {
  /** `count` concurrent calls: their statuses, every 429 checked for Lago's shape, Retry-After and the limit it names. */
  async function burst(count: number, method: string, path: string, body: unknown, limits: string[]) {
    const answers = await Promise.all(
      Array.from({ length: count }, async () => {
        const res = await fetch(`${isolated.local.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        await checkContract(method, path, res, text);
        return { status: res.status, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> };
      }),
    );
    for (const answer of answers.filter((a) => a.status === 429)) {
      const wait = Number(answer.headers.get('retry-after'));
      expect(Number.isInteger(wait) && wait >= 1, `${path}: Retry-After ${wait}`).toBe(true);
      const limit = answer.headers.get('x-ratelimit-limit') ?? '';
      expect(limits, path).toContain(limit);
      expect(answer.body, path).toMatchObject({ status: 429, error: 'Too Many Requests', code: 'rate_limited' });
      expect(answer.body.message, path).toMatch(new RegExp(`^at most ${limit} .*; retry in ${wait} s$`));
    }
    return answers.map((a) => a.status);
  }
  const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

  it('get exactly their limit of 200s and 429s with Retry-After for the rest, never a 5xx', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const second = await isolated.call('POST', '/api/v1/webhook_endpoints', key, {
      webhook_endpoint: { webhook_url: `${receiver.url}?second` },
    });
    const secondId = (second.body.webhook_endpoint as { lago_id: string }).lago_id;
    await withinOneWindow(60_000);
    await withinOneWindow(3_600_000);
    const [resends, recovers, rotations, testsA, testsB] = await Promise.all([
      burst(30, 'POST', `/api/v1/webhooks/${webhookId}/resend`, {}, [LIMITS.RATE_LIMIT_REDELIVERIES_PER_MINUTE]),
      burst(
        30,
        'POST',
        '/api/v1/webhooks/recover',
        { webhook_endpoint_id: endpointId, from_date: today, to_date: today },
        [LIMITS.RATE_LIMIT_RECOVERIES_PER_HOUR],
      ),
      burst(30, 'POST', '/api/v1/webhooks/hmac_key/rotate', {}, [LIMITS.RATE_LIMIT_ROTATIONS_PER_HOUR]),
      burst(10, 'POST', `/api/v1/webhook_endpoints/${endpointId}/test`, { webhook_type: 'customer.created' }, [
        '4',
        '6',
      ]),
      burst(10, 'POST', `/api/v1/webhook_endpoints/${secondId}/test`, { webhook_type: 'customer.created' }, ['4', '6']),
    ]);
    expect([...resends, ...recovers, ...testsA, ...testsB].every((s) => s === 200 || s === 429)).toBe(true);
    expect(count(resends, 200)).toBe(5);
    expect(count(recovers, 200)).toBe(3);
    // The 3 rotations the limit lets through race each other: one wins, the others may be a 409 (org-tokens.test.ts).
    expect(rotations.every((s) => s === 200 || s === 409 || s === 429)).toBe(true);
    expect(count(rotations, 429)).toBe(27);
    expect(count(rotations, 200)).toBeGreaterThanOrEqual(1);
    // At most 4 to either endpoint, 6 for the organization.
    expect(count(testsA, 200)).toBeLessThanOrEqual(4);
    expect(count(testsB, 200)).toBeLessThanOrEqual(4);
    expect(count(testsA, 200) + count(testsB, 200)).toBe(6);
  });
});

describe('the whole file', () => {
  it('got no 5xx from the service, in any of its requests', async () => {
    const total = [...answered.values()].reduce((a, b) => a + b, 0);
    const byStatus = Object.fromEntries([...answered].sort(([a], [b]) => a - b));
    // The figures docs/security.md quotes.
    console.info(`hostile-input: ${total} requests answered, by status ${JSON.stringify(byStatus)}`);
    expect(total).toBeGreaterThan(500);
    expect([...answered.keys()].filter((status) => status >= 500)).toEqual([]);
  });
});
