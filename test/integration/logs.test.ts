// The webhook log API on the local service: every search filter and their combinations over 1,000 real deliveries, cursor pagination and its stability, one endpoint's webhooks merged from its shards in order, details, validation and tenant isolation.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, createEndpoint, createOrg, publish, request, webhook, webhookSettles, type Org } from './helpers.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver, type Received } from '../support/receiver.ts';

type Query = Record<string, string | string[]>;

interface Summary {
  lago_id: string;
  lago_organization_id: string;
  lago_webhook_endpoint_id: string;
  webhook_url: string;
  webhook_type: string;
  object_type: string;
  object_id: string | null;
  unique_key: string;
  status: string;
  http_status: number | null;
  retries: number;
  attempts_count: number;
  next_attempt_at: string | null;
  created_at: string;
}

interface Attempt {
  number: number;
  at: string;
  http_status: number | null;
  error: string | null;
  duration_ms: number;
}

interface Page {
  webhooks: Summary[];
  meta: { per_page: number; next_cursor: string | null };
}

const NOT_FOUND = { status: 404, error: 'Not Found', code: 'webhook_not_found' };

function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) for (const v of [value].flat()) params.append(name, v);
  return params.toString();
}

const listPage = (org: Org, query: Query) =>
  request<Page>('GET', `/api/v1/webhooks?${queryString(query)}`, { token: org.apiKey });

/** Reads every page of a search by following `meta.next_cursor`; only full pages may have a next one. */
async function listAll(org: Org, query: Query, perPage: number): Promise<Summary[]> {
  const seen: Summary[] = [];
  let cursor: string | null = null;
  for (let pages = 1; ; pages++) {
    const res = await listPage(org, { ...query, per_page: String(perPage), ...(cursor ? { cursor } : {}) });
    expect(res.status, `${queryString(query)}: ${res.text}`).toBe(200);
    expect(res.body.meta.per_page).toBe(perPage);
    seen.push(...res.body.webhooks);
    cursor = res.body.meta.next_cursor;
    if (cursor === null) return seen;
    expect(res.body.webhooks, `page ${pages} of ${queryString(query)}`).toHaveLength(perPage);
    if (pages > 1 + 1100 / perPage) throw new Error(`pagination of ${queryString(query)} does not end`);
  }
}

/** The moment every webhook published so far was created at or before, and every later one after. */
function clockBoundary(): number {
  const at = Date.now();
  while (Date.now() <= at) {
    // at most a millisecond: the next publish must carry a later timestamp
  }
  return at;
}

const iso = (ms: number) => new Date(ms).toISOString();
const day = (ms: number) => iso(ms).slice(0, 10);
const keyOf = (r: Received) => r.headers['x-lago-unique-key'] as string;
const typeOf = (r: Received) => (JSON.parse(r.body) as { webhook_type: string }).webhook_type;

describe('searching 1,000 webhook logs', () => {
  type EndpointName = 'steady' | 'picky' | 'flaky';
  interface Sent {
    id: string;
    endpoint: EndpointName;
    endpointId: string;
    type: string;
    objectId: string;
    phase: number;
    status: 'succeeded' | 'failed';
    httpStatus: number | null;
    attempts: number;
  }

  // 350 publishes fan out to 1,000 webhooks: every type reaches `steady` and `picky`, all but
  // credit_note.created reach `flaky`. 120 of them fail; each failure costs a whole round of attempts,
  // so most succeed to keep the run short.
  const PUBLISHED_TYPES: Record<string, number> = {
    'invoice.created': 30,
    'payment.succeeded': 30,
    'customer.created': 30,
    'credit_note.created': 50,
    'customer.updated': 210,
  };
  const PHASES = 4;
  const CONCURRENCY = 20;
  // The types spread evenly over the run, so every phase has some of each.
  const types = Object.entries(PUBLISHED_TYPES)
    .flatMap(([type, count]) => Array.from({ length: count }, (_, i) => ({ type, at: (i + 0.5) / count })))
    .sort((a, b) => a.at - b.at)
    .map((t) => t.type);

  const sent: Sent[] = [];
  const endpoints = {} as Record<EndpointName, string>;
  const boundaries: number[] = [];
  let org: Org;
  let other: Org;
  let otherWebhookId: string;
  let startedAt: number;
  let endedAt: number;
  const steadyAttempts = new Map<string, number>();
  // 200, except that a payment.succeeded gets a 503 the first time: it succeeds on its second attempt.
  const steady = new Receiver((_req, res, count) => {
    const request = steady.received[count - 1]!;
    const n = (steadyAttempts.get(keyOf(request)) ?? 0) + 1;
    steadyAttempts.set(keyOf(request), n);
    res.writeHead(typeOf(request) === 'payment.succeeded' && n === 1 ? 503 : 200).end('ok');
  });
  // Always refuses invoices (404) and payments (500); takes the rest.
  const picky = new Receiver((_req, res, count) => {
    const type = typeOf(picky.received[count - 1]!);
    res.writeHead(type === 'invoice.created' ? 404 : type === 'payment.succeeded' ? 500 : 200).end(type);
  });
  // Never answers for invoices and new customers (the connection is dropped); takes the rest.
  const flaky = new Receiver((req, res, count) => {
    const type = typeOf(flaky.received[count - 1]!);
    if (type === 'invoice.created' || type === 'customer.created') req.socket.destroy();
    else res.writeHead(200).end('ok');
  });
  const otherReceiver = new Receiver();
  const receivers = { steady, picky, flaky };

  const expectedOutcome = (endpoint: EndpointName, type: string): Pick<Sent, 'status' | 'httpStatus' | 'attempts'> => {
    if (endpoint === 'steady')
      return { status: 'succeeded', httpStatus: 200, attempts: type === 'payment.succeeded' ? 2 : 1 };
    if (endpoint === 'picky' && type === 'invoice.created') return { status: 'failed', httpStatus: 404, attempts: 4 };
    if (endpoint === 'picky' && type === 'payment.succeeded') return { status: 'failed', httpStatus: 500, attempts: 4 };
    if (endpoint === 'flaky' && (type === 'invoice.created' || type === 'customer.created'))
      return { status: 'failed', httpStatus: null, attempts: 4 };
    return { status: 'succeeded', httpStatus: 200, attempts: 1 };
  };
  const requestsTo = (endpoint: EndpointName) =>
    sent.filter((s) => s.endpoint === endpoint).reduce((sum, s) => sum + s.attempts, 0);

  /** The ids matching `predicate`, newest first (UUIDv7 ids sort by creation time). */
  const expected = (predicate: (s: Sent) => boolean) =>
    sent
      .filter(predicate)
      .map((s) => s.id)
      .sort()
      .reverse();

  async function expectSearch(query: Query, predicate: (s: Sent) => boolean, perPage = 100) {
    const found = await listAll(org, query, perPage);
    const ids = found.map((w) => w.lago_id);
    expect(ids, queryString(query)).toEqual(expected(predicate));
    for (let i = 1; i < found.length; i++) expect(found[i]!.created_at <= found[i - 1]!.created_at).toBe(true);
  }

  const noneLive = async (owner: Org) => {
    const live = await listPage(owner, { 'statuses[]': ['pending', 'retrying'], per_page: '1' });
    return live.status === 200 && live.body.webhooks.length === 0 ? true : undefined;
  };

  beforeAll(async () => {
    await Promise.all([steady.start(), picky.start(), flaky.start(), otherReceiver.start()]);
    org = await createOrg('Logs');
    other = await createOrg('Logs intruder');
    endpoints.steady = await createEndpoint(org, { webhook_url: steady.url, name: 'steady', signature_algo: 'hmac' });
    endpoints.picky = await createEndpoint(org, { webhook_url: picky.url, name: 'picky', signature_algo: 'hmac' });
    endpoints.flaky = await createEndpoint(org, {
      webhook_url: flaky.url,
      name: 'flaky',
      signature_algo: 'hmac',
      event_types: ['invoice.created', 'payment.succeeded', 'customer.created', 'customer.updated'],
    });
    const nameOf = new Map(Object.entries(endpoints).map(([name, id]) => [id, name as EndpointName]));
    await createEndpoint(other, { webhook_url: otherReceiver.url });
    const foreign = await publish(other, 'invoice.created', { lago_id: randomUUID() });
    otherWebhookId = foreign.body.webhooks[0]!.lago_id;

    const phaseStart = (phase: number) => Math.round((phase * types.length) / PHASES);
    const publishOne = async (n: number, phase: number) => {
      const type = types[n]!;
      const objectId = randomUUID();
      const res = await publish(org, type, { lago_id: objectId, sequence: n });
      if (res.status !== 202) throw new Error(`publish ${n}: ${res.status} ${res.text}`);
      for (const w of res.body.webhooks) {
        const endpoint = nameOf.get(w.lago_webhook_endpoint_id)!;
        sent.push({
          id: w.lago_id,
          endpoint,
          endpointId: w.lago_webhook_endpoint_id,
          type,
          objectId,
          phase,
          ...expectedOutcome(endpoint, type),
        });
      }
    };
    startedAt = Date.now();
    for (let phase = 0; phase < PHASES; phase++) {
      if (phase > 0) boundaries.push(clockBoundary());
      for (let i = phaseStart(phase); i < phaseStart(phase + 1); i += CONCURRENCY) {
        await Promise.all(
          Array.from({ length: Math.min(CONCURRENCY, phaseStart(phase + 1) - i) }, (_, n) => publishOne(i + n, phase)),
        );
      }
    }
    endedAt = Date.now();
    expect(sent).toHaveLength(1000);
    expect(sent.filter((s) => s.status === 'failed')).toHaveLength(120);

    // The receivers see every attempt first; the log records each one right after its response.
    await eventually(
      () =>
        Object.entries(receivers).every(([name, r]) => r.received.length >= requestsTo(name as EndpointName))
          ? true
          : undefined,
      200_000,
      'every attempt to reach its receiver',
    );
    await eventually(() => noneLive(org), 30_000, 'every webhook to reach a final status');
    await webhookSettles(other, otherWebhookId, ['succeeded']);
  }, 300_000);

  afterAll(async () => {
    // Without their endpoints, the failed webhooks' dead letters are dropped if another test redrives them.
    for (const id of Object.values(endpoints))
      await request('DELETE', `/api/v1/webhook_endpoints/${id}`, { token: org.apiKey });
    await Promise.all([steady.stop(), picky.stop(), flaky.stop(), otherReceiver.stop()]);
  });

  it('delivered every webhook as its receiver answered, and the log says so', async () => {
    const byKey = new Map<string, number>();
    for (const r of [...steady.received, ...picky.received, ...flaky.received])
      byKey.set(keyOf(r), (byKey.get(keyOf(r)) ?? 0) + 1);
    for (const s of sent) expect(byKey.get(s.id), `${s.endpoint} ${s.type} ${s.id}`).toBe(s.attempts);

    const all = await listAll(org, {}, 100);
    expect(all.map((w) => w.lago_id)).toEqual(expected(() => true));
    const byId = new Map(sent.map((s) => [s.id, s]));
    for (const w of all) {
      const s = byId.get(w.lago_id)!;
      expect(w).toMatchObject({
        lago_organization_id: org.id,
        lago_webhook_endpoint_id: s.endpointId,
        webhook_type: s.type,
        object_type: s.type.split('.')[0],
        object_id: s.objectId,
        unique_key: s.id,
        status: s.status,
        http_status: s.httpStatus,
        attempts_count: s.attempts,
        retries: s.attempts - 1,
        next_attempt_at: null,
      });
    }
  });

  it('filters by endpoint, status and webhook type', async () => {
    await expectSearch({ webhook_endpoint_id: endpoints.steady }, (s) => s.endpoint === 'steady');
    await expectSearch({ webhook_endpoint_id: endpoints.picky }, (s) => s.endpoint === 'picky', 73);
    await expectSearch({ webhook_endpoint_id: endpoints.flaky }, (s) => s.endpoint === 'flaky');
    await expectSearch({ 'statuses[]': 'succeeded' }, (s) => s.status === 'succeeded');
    await expectSearch({ 'statuses[]': 'failed' }, (s) => s.status === 'failed', 25);
    await expectSearch({ 'statuses[]': ['succeeded', 'failed'] }, () => true);
    await expectSearch({ statuses: 'failed,pending' }, (s) => s.status === 'failed');
    await expectSearch({ 'statuses[]': 'pending' }, () => false);
    await expectSearch({ 'statuses[]': ['retrying', 'pending'] }, () => false);
    await expectSearch({ 'webhook_types[]': 'invoice.created' }, (s) => s.type === 'invoice.created', 41);
    await expectSearch({ 'webhook_types[]': ['payment.succeeded', 'customer.created', 'credit_note.created'] }, (s) =>
      ['payment.succeeded', 'customer.created', 'credit_note.created'].includes(s.type),
    );
    await expectSearch({ 'webhook_types[]': 'invoice.voided' }, () => false);
  });

  it('filters by the HTTP status of the last attempt: exact codes, classes and timeout (no response)', async () => {
    await expectSearch({ 'http_statuses[]': '404' }, (s) => s.httpStatus === 404, 7);
    await expectSearch({ 'http_statuses[]': '500' }, (s) => s.httpStatus === 500);
    await expectSearch({ 'http_statuses[]': '5xx' }, (s) => s.httpStatus === 500, 30);
    await expectSearch({ 'http_statuses[]': '2xx' }, (s) => s.httpStatus === 200);
    await expectSearch({ 'http_statuses[]': '200' }, (s) => s.httpStatus === 200);
    // The 503 a payment got first is not its last attempt's status.
    await expectSearch({ 'http_statuses[]': '503' }, () => false);
    await expectSearch({ 'http_statuses[]': 'timeout' }, (s) => s.httpStatus === null, 11);
    await expectSearch({ 'http_statuses[]': ['4xx', 'timeout'] }, (s) => s.httpStatus === null || s.httpStatus === 404);
    await expectSearch({ 'http_statuses[]': ['404', '5xx'] }, (s) => s.endpoint === 'picky' && s.status === 'failed');
    await expectSearch({ 'http_statuses[]': '3xx' }, () => false);
  });

  it('filters by creation time with datetimes and whole days', async () => {
    const [first, second, third] = boundaries as [number, number, number];
    await expectSearch({ to_date: iso(first) }, (s) => s.phase === 0);
    await expectSearch({ from_date: iso(first + 1) }, (s) => s.phase > 0);
    await expectSearch({ from_date: iso(first + 1), to_date: iso(second) }, (s) => s.phase === 1, 90);
    await expectSearch({ from_date: iso(second + 1), to_date: iso(third) }, (s) => s.phase === 2);
    await expectSearch({ from_date: iso(third + 1) }, (s) => s.phase === 3);
    await expectSearch({ from_date: iso(second + 1), to_date: iso(first) }, () => false);
    // A date-only to_date covers its whole day.
    await expectSearch({ from_date: day(startedAt), to_date: day(endedAt) }, () => true);
    await expectSearch({ to_date: day(endedAt), webhook_endpoint_id: endpoints.flaky }, (s) => s.endpoint === 'flaky');
    await expectSearch({ to_date: day(startedAt - 86_400_000) }, () => false);
    await expectSearch({ from_date: day(endedAt + 86_400_000) }, () => false);
  });

  it('finds a webhook by its id and every webhook of an object by the object id', async () => {
    const one = sent.find((s) => s.endpoint === 'flaky' && s.phase === 1)!;
    await expectSearch({ search_term: one.id }, (s) => s.id === one.id);
    await expectSearch({ search_term: ` ${one.id} ` }, (s) => s.id === one.id);
    const invoice = sent.find((s) => s.type === 'invoice.created' && s.phase === 2)!;
    await expectSearch({ search_term: invoice.objectId }, (s) => s.objectId === invoice.objectId);
    expect(expected((s) => s.objectId === invoice.objectId)).toHaveLength(3);
    await expectSearch({ search_term: randomUUID() }, () => false);
    await expectSearch({ search_term: 'inv_unknown' }, () => false);
  });

  it('combines filters', async () => {
    const [first, second, third] = boundaries as [number, number, number];
    const invoice = sent.find((s) => s.type === 'invoice.created' && s.phase === 1)!;
    await expectSearch(
      { webhook_endpoint_id: endpoints.picky, 'statuses[]': 'failed', 'webhook_types[]': 'payment.succeeded' },
      (s) => s.endpoint === 'picky' && s.type === 'payment.succeeded',
      8,
    );
    await expectSearch(
      { webhook_endpoint_id: endpoints.picky, 'statuses[]': ['failed', 'retrying'] },
      (s) => s.endpoint === 'picky' && s.status === 'failed',
      16,
    );
    await expectSearch(
      {
        webhook_endpoint_id: endpoints.flaky,
        'statuses[]': 'succeeded',
        'webhook_types[]': ['invoice.created', 'customer.created'],
      },
      () => false,
    );
    await expectSearch(
      {
        webhook_endpoint_id: endpoints.steady,
        'statuses[]': ['succeeded', 'pending'],
        'webhook_types[]': ['customer.updated', 'payment.succeeded'],
        from_date: iso(first + 1),
        to_date: iso(third),
      },
      (s) =>
        s.endpoint === 'steady' &&
        (s.type === 'customer.updated' || s.type === 'payment.succeeded') &&
        (s.phase === 1 || s.phase === 2),
      17,
    );
    await expectSearch(
      { 'statuses[]': 'failed', 'http_statuses[]': 'timeout', from_date: iso(first + 1) },
      (s) => s.httpStatus === null && s.phase > 0,
    );
    await expectSearch(
      { 'webhook_types[]': ['invoice.created', 'payment.succeeded'], 'http_statuses[]': '4xx', to_date: iso(second) },
      (s) => s.httpStatus === 404 && s.phase < 2,
      9,
    );
    await expectSearch(
      { 'webhook_types[]': 'customer.created', 'http_statuses[]': ['2xx', 'timeout'], 'statuses[]': 'failed' },
      (s) => s.type === 'customer.created' && s.endpoint === 'flaky',
    );
    await expectSearch(
      { 'webhook_types[]': 'customer.created', 'http_statuses[]': '2xx' },
      (s) => s.type === 'customer.created' && s.endpoint !== 'flaky',
    );
    await expectSearch(
      {
        webhook_endpoint_id: endpoints.picky,
        'http_statuses[]': '5xx',
        from_date: iso(first + 1),
        to_date: iso(third),
      },
      (s) => s.httpStatus === 500 && (s.phase === 1 || s.phase === 2),
      7,
    );
    await expectSearch(
      { webhook_endpoint_id: endpoints.steady, 'http_statuses[]': '2xx', 'webhook_types[]': 'payment.succeeded' },
      (s) => s.endpoint === 'steady' && s.type === 'payment.succeeded',
      20,
    );
    await expectSearch(
      { webhook_endpoint_id: endpoints.flaky, 'http_statuses[]': '2xx' },
      (s) => s.endpoint === 'flaky' && s.status === 'succeeded',
    );
    await expectSearch(
      { search_term: invoice.objectId, webhook_endpoint_id: endpoints.flaky },
      (s) => s.objectId === invoice.objectId && s.endpoint === 'flaky',
    );
    await expectSearch(
      { search_term: invoice.objectId, 'statuses[]': 'failed' },
      (s) => s.objectId === invoice.objectId && s.status === 'failed',
    );
    await expectSearch(
      { search_term: invoice.objectId, 'http_statuses[]': '404' },
      (s) => s.objectId === invoice.objectId && s.httpStatus === 404,
    );
    await expectSearch({ search_term: invoice.objectId, to_date: iso(first) }, () => false);
    const succeeded = sent.find((s) => s.endpoint === 'steady' && s.phase === 3)!;
    await expectSearch(
      { search_term: succeeded.id, 'statuses[]': 'succeeded', webhook_endpoint_id: endpoints.steady },
      (s) => s.id === succeeded.id,
    );
    await expectSearch({ search_term: succeeded.id, 'statuses[]': 'failed' }, () => false);
    await expectSearch({ search_term: succeeded.id, webhook_endpoint_id: endpoints.flaky }, () => false);
    await expectSearch(
      {
        search_term: succeeded.id,
        from_date: iso(third + 1),
        'webhook_types[]': succeeded.type,
        'http_statuses[]': '2xx',
      },
      (s) => s.id === succeeded.id,
    );
    await expectSearch({ search_term: succeeded.id, to_date: iso(third) }, () => false);
  });

  it('shows another organization none of these webhooks', async () => {
    const mine = sent.find((s) => s.type === 'invoice.created')!;
    const theirs = await listAll(other, {}, 100);
    expect(theirs.map((w) => w.lago_id)).toEqual([otherWebhookId]);
    const searches: [Query, string[]][] = [
      [{ webhook_endpoint_id: endpoints.steady }, []],
      [{ search_term: mine.id }, []],
      [{ search_term: mine.objectId }, []],
      [{ 'statuses[]': 'failed' }, []],
      [{ 'webhook_types[]': 'invoice.created', 'http_statuses[]': ['2xx', '4xx', '5xx', 'timeout'] }, [otherWebhookId]],
    ];
    for (const [query, ids] of searches)
      expect(
        (await listAll(other, query, 50)).map((w) => w.lago_id),
        queryString(query),
      ).toEqual(ids);
    const peek = await request('GET', `/api/v1/webhooks/${mine.id}`, { token: other.apiKey });
    expect(peek.status).toBe(404);
    expect(peek.body).toEqual(NOT_FOUND);
    expect((await listAll(org, { search_term: otherWebhookId }, 10)).map((w) => w.lago_id)).toEqual([]);
    expect((await request('GET', `/api/v1/webhooks/${otherWebhookId}`, { token: org.apiKey })).body).toEqual(NOT_FOUND);
  });

  it('keeps pages stable while new webhooks are published', async () => {
    const before = expected(() => true);
    const failedBefore = expected((s) => s.status === 'failed');
    const firstAll = await listPage(org, { per_page: '100' });
    const firstFailed = await listPage(org, { 'statuses[]': 'failed', per_page: '40' });
    const fresh = await Promise.all(
      [
        'invoice.created',
        'invoice.created',
        'customer.updated',
        'customer.updated',
        'customer.updated',
        'customer.updated',
      ].map((type) => publish(org, type, { lago_id: randomUUID() })),
    );
    const freshIds = fresh.flatMap((r) => r.body.webhooks.map((w) => w.lago_id));
    expect(freshIds).toHaveLength(18);

    const readRest = async (first: Page, query: Query, perPage: number) => {
      const rest = await listAll(org, { ...query, cursor: first.meta.next_cursor! }, perPage);
      return [...first.webhooks, ...rest].map((w) => w.lago_id);
    };
    // The new webhooks are delivered, and some fail, while these pages are read: none shows up behind the cursor.
    expect(await readRest(firstAll.body, {}, 100)).toEqual(before);
    await eventually(
      () => (flaky.received.length >= requestsTo('flaky') + 2 * 4 + 4 ? true : undefined),
      60_000,
      'the new invoices to fail at `flaky`',
    );
    expect(await readRest(firstFailed.body, { 'statuses[]': 'failed' }, 40)).toEqual(failedBefore);

    // A new first page starts with them.
    await eventually(() => noneLive(org), 60_000, 'the new webhooks to settle');
    const restart = await listPage(org, { per_page: '30' });
    expect(restart.body.webhooks.map((w) => w.lago_id)).toEqual([
      ...[...freshIds].sort().reverse(),
      ...before.slice(0, 12),
    ]);
    expect(await listAll(org, { 'statuses[]': 'failed' }, 100)).toHaveLength(failedBefore.length + 4);
  });
});

describe("one endpoint's webhooks, spread over its shards", () => {
  it('lists them newest first, every page taking up where the last ended, by endpoint, by status and for the whole organization', async () => {
    // Every tenth invoice fails each of its attempts.
    const receiver: Receiver = new Receiver((_req, res, count) => {
      const { lago_id } = (JSON.parse(receiver.received[count - 1]!.body) as { invoice: { lago_id: string } }).invoice;
      res.writeHead(lago_id.endsWith('0') ? 500 : 200).end();
    });
    await receiver.start();
    const settled = async (owner: Org) => {
      const live = await listPage(owner, { 'statuses[]': ['pending', 'retrying'], per_page: '1' });
      return live.status === 200 && live.body.webhooks.length === 0 ? true : undefined;
    };
    try {
      const org = await createOrg('Sharded log');
      const endpointId = await createEndpoint(org, { webhook_url: receiver.url, signature_algo: 'hmac' });
      // 60 events in 2 batches of 30, the second while the first is delivered: one millisecond each.
      const ids: string[] = [];
      for (let batch = 0; batch < 2; batch++) {
        const res = await admin<{ results: { webhooks: { lago_id: string }[] }[] }>(
          'POST',
          '/admin/v1/webhooks/batch',
          {
            events: Array.from({ length: 30 }, (_, i) => ({
              organization_id: org.id,
              webhook_type: 'invoice.created',
              object_type: 'invoice',
              object: { lago_id: `inv_${batch}_${i}` },
            })),
          },
        );
        expect(res.status).toBe(200);
        ids.push(...res.body.results.flatMap((r) => r.webhooks.map((w) => w.lago_id)));
      }
      const newestFirst = [...ids].sort().reverse();
      expect(new Set(ids).size).toBe(60);

      // While they are delivered, and again once they are settled, the pages hold each exactly once, in order.
      expect((await listAll(org, { webhook_endpoint_id: endpointId }, 7)).map((w) => w.lago_id)).toEqual(newestFirst);
      await eventually(() => settled(org), 90_000, 'the webhooks to settle');
      const all = await listAll(org, {}, 11);
      expect(all.map((w) => w.lago_id)).toEqual(newestFirst);
      const failed = all.filter((w) => w.status === 'failed').map((w) => w.lago_id);
      expect(failed).toHaveLength(6);
      expect((await listAll(org, { 'statuses[]': 'failed' }, 3)).map((w) => w.lago_id)).toEqual(failed);
      expect(
        (await listAll(org, { 'statuses[]': 'succeeded', webhook_endpoint_id: endpointId }, 13)).map((w) => w.lago_id),
      ).toEqual(newestFirst.filter((id) => !failed.includes(id)));
    } finally {
      await receiver.stop();
    }
  }, 150_000);
});

describe('webhook details', () => {
  const receivers: Receiver[] = [];
  const start = async (receiver: Receiver) => {
    receivers.push(receiver);
    return receiver.start();
  };
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.stop()));
  });

  it('shows every field of a delivery that failed, retried and succeeded', async () => {
    let failing = true;
    const receiver = await start(
      new Receiver((_req, res) =>
        failing ? res.writeHead(500).end('boom') : res.writeHead(201).end('{"received":true}'),
      ),
    );
    const org = await createOrg('Details');
    const endpointId = await createEndpoint(org, {
      webhook_url: receiver.url,
      name: 'billing',
      signature_algo: 'hmac',
    });
    const object = { lago_id: randomUUID(), number: 'INV-0001', amount_cents: 1234, currency: 'EUR' };
    const published = await publish(org, 'invoice.created', object);
    expect(published.status).toBe(202);
    const id = published.body.webhooks[0]!.lago_id;

    const retrying = await eventually(
      async () => {
        const w = await webhook(org, id);
        return w.status === 'retrying' ? w : undefined;
      },
      10_000,
      'the webhook to be retrying',
    );
    const lastFailure = (retrying.attempts as Attempt[]).at(-1)!;
    expect(retrying).toMatchObject({
      status: 'retrying',
      http_status: 500,
      response: 'boom',
      error: 'unexpected http status 500',
      retries: retrying.attempts.length - 1,
    });
    // The next attempt is one schedule step (1 s ±20%) after the failed one ended.
    const wait = Date.parse(retrying.next_attempt_at as string) - Date.parse(lastFailure.at) - lastFailure.duration_ms;
    expect(wait).toBeGreaterThanOrEqual(800);
    expect(wait).toBeLessThanOrEqual(1200);

    failing = false;
    const done = await webhookSettles(org, id, ['succeeded']);
    const received = receiver.received.slice();
    const n = received.length;
    expect(n).toBeGreaterThanOrEqual(2);
    expect(n).toBeLessThanOrEqual(4);
    const attempts = done.attempts as Attempt[];
    expect(done).toEqual({
      lago_id: id,
      lago_organization_id: org.id,
      lago_webhook_endpoint_id: endpointId,
      webhook_url: receiver.url,
      webhook_type: 'invoice.created',
      object_type: 'invoice',
      object_id: object.lago_id,
      unique_key: id,
      status: 'succeeded',
      http_status: 201,
      retries: n - 1,
      attempts_count: n,
      last_retried_at: attempts[n - 1]!.at,
      next_attempt_at: null,
      test: false,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      payload: { webhook_type: 'invoice.created', object_type: 'invoice', organization_id: org.id, invoice: object },
      response: '{"received":true}',
      error: null,
      attempts: received.map((_, i) => ({
        number: i + 1,
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        http_status: i === n - 1 ? 201 : 500,
        error: i === n - 1 ? null : 'unexpected http status 500',
        duration_ms: expect.any(Number),
      })),
    });
    // The payload is exactly the envelope the receiver got, on every attempt, under one unique key.
    for (const r of received) {
      expect(JSON.parse(r.body)).toEqual(done.payload);
      expect(r.headers['x-lago-unique-key']).toBe(id);
      expect(r.headers['webhook-id']).toBe(id);
    }
    const times = [done.created_at as string, ...attempts.map((a) => a.at), done.updated_at as string].map((t) =>
      Date.parse(t),
    );
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!);
    for (const a of attempts) expect(a.duration_ms).toBeGreaterThanOrEqual(0);

    const listed = await listPage(org, { search_term: id });
    const summary = Object.fromEntries(
      Object.entries(done).filter(([key]) => !['payload', 'response', 'error', 'attempts'].includes(key)),
    );
    expect(listed.body.webhooks).toEqual([summary]);
  });

  it('records a receiver that never answers as a timeout and waits at least a minute before the next attempt', async () => {
    const receiver = await start(new Receiver(() => undefined));
    const org = await createOrg('Details timeout');
    const endpointId = await createEndpoint(org, { webhook_url: receiver.url });
    const id = (await publish(org, 'customer.created', { lago_id: randomUUID() })).body.webhooks[0]!.lago_id;
    // A fast-lane attempt handed off to the slow lane (cut, not counted) may come first: the first counted one is checked.
    const counted = (found: Awaited<ReturnType<typeof webhook>>) =>
      (found.attempts as Attempt[]).filter((a) => !/in the fast lane; moved to the slow lane$/.test(a.error ?? ''));
    const w = await eventually(
      async () => {
        const found = await webhook(org, id);
        return counted(found).length === 1 ? found : undefined;
      },
      15_000,
      'the first attempt to time out',
    );
    const attempt = counted(w)[0]!;
    // The hand-off, if there was one, is a POST made: the counts show it.
    const handedOff = w.attempts.length - counted(w).length;
    expect(handedOff).toBeLessThanOrEqual(1);
    expect(w).toMatchObject({
      status: 'retrying',
      http_status: null,
      response: null,
      error: 'timed out after 1500 ms',
      retries: handedOff,
      attempts_count: 1 + handedOff,
    });
    expect(attempt).toMatchObject({ number: 1 + handedOff, http_status: null, error: 'timed out after 1500 ms' });
    expect(attempt.duration_ms).toBeGreaterThanOrEqual(1400);
    const wait = Date.parse(w.next_attempt_at as string) - Date.parse(attempt.at) - attempt.duration_ms;
    expect(wait).toBeGreaterThanOrEqual(60_000);
    expect(wait).toBeLessThanOrEqual(72_000);

    const listed = await listPage(org, {
      'statuses[]': 'retrying',
      'http_statuses[]': 'timeout',
      webhook_endpoint_id: endpointId,
    });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.webhooks.map((x) => x.lago_id)).toEqual([id]);
    expect(listed.body.webhooks[0]!.next_attempt_at).toBe(w.next_attempt_at);
    // Without its endpoint, the next attempt fails the webhook instead of leaving a message behind.
    expect((await request('DELETE', `/api/v1/webhook_endpoints/${endpointId}`, { token: org.apiKey })).status).toBe(
      200,
    );
  });

  it('is a 404 for another organization, an unknown id and a malformed id', async () => {
    const receiver = await start(new Receiver());
    const owner = await createOrg('Details owner');
    const intruder = await createOrg('Details intruder');
    await createEndpoint(owner, { webhook_url: receiver.url });
    const id = (await publish(owner)).body.webhooks[0]!.lago_id;
    await webhookSettles(owner, id, ['succeeded']);
    for (const [org, path] of [
      [intruder, id],
      [owner, randomUUID()],
      [owner, 'not-a-webhook-id'],
      [owner, id.toUpperCase()],
    ] as const) {
      const res = await request('GET', `/api/v1/webhooks/${path}`, { token: org.apiKey });
      expect(res.status, path).toBe(404);
      expect(res.body).toEqual(NOT_FOUND);
    }
  });
});

describe('invalid log searches', () => {
  it("answers 422 in Lago's shape, never a 500", async () => {
    const org = await createOrg('Invalid searches');
    const invalid = (field: string, code = 'value_is_invalid') => ({
      status: 422,
      error: 'Unprocessable Entity',
      code: 'validation_errors',
      error_details: { [field]: [code] },
    });
    const cases: [Query, unknown][] = [
      [{ 'statuses[]': 'done' }, invalid('statuses')],
      [{ 'statuses[]': ['failed', 'delivered'] }, invalid('statuses')],
      [{ 'webhook_types[]': 'invoice.exploded' }, invalid('webhook_types')],
      [{ 'http_statuses[]': '600' }, invalid('http_statuses')],
      [{ 'http_statuses[]': 'abc' }, invalid('http_statuses')],
      [{ 'http_statuses[]': '6xx' }, invalid('http_statuses')],
      [{ 'http_statuses[]': '40' }, invalid('http_statuses')],
      [{ webhook_endpoint_id: 'not-a-uuid' }, invalid('webhook_endpoint_id')],
      [{ from_date: 'yesterday' }, invalid('from_date', 'invalid_date')],
      [{ to_date: '2024-13-45' }, invalid('to_date', 'invalid_date')],
      [{ to_date: '2024-01-01T25:00:00Z' }, invalid('to_date', 'invalid_date')],
      [{ from_date: '01/02/2024' }, invalid('from_date', 'invalid_date')],
      [{ per_page: '0' }, invalid('per_page')],
      [{ per_page: 'ten' }, invalid('per_page')],
      [{ cursor: 'garbage' }, invalid('cursor')],
      [{ search_term: 'x'.repeat(256) }, invalid('search_term')],
    ];
    for (const [query, body] of cases) {
      const res = await listPage(org, query);
      expect(res.status, queryString(query)).toBe(422);
      expect(res.body, queryString(query)).toEqual(body);
    }
    const several = await listPage(org, { 'statuses[]': 'done', from_date: 'soon', per_page: '-1' });
    expect(several.status).toBe(422);
    expect(several.body).toEqual({
      status: 422,
      error: 'Unprocessable Entity',
      code: 'validation_errors',
      error_details: { statuses: ['value_is_invalid'], from_date: ['invalid_date'], per_page: ['value_is_invalid'] },
    });
    // A page size above 100 is served at 100, as the endpoints list does (docs/api.md, Webhook logs).
    const capped = await listPage(org, { per_page: '101' });
    expect(capped.status).toBe(200);
    expect(capped.body.meta.per_page).toBe(100);
    // Valid but empty searches are not errors.
    for (const query of [
      { webhook_endpoint_id: randomUUID() },
      { search_term: '%' },
      { from_date: '2030-01-01', to_date: '2020-01-01' },
    ] as Query[]) {
      const res = await listPage(org, query);
      expect(res.status, queryString(query)).toBe(200);
      expect(res.body).toEqual({ webhooks: [], meta: { per_page: 20, next_cursor: null } });
    }
  });

  it('refuses dates that do not exist on the calendar', async () => {
    const org = await createOrg('Impossible dates');
    const impossible: [string, string][] = [
      ['from_date', '2024-02-30'],
      ['to_date', '2023-02-29'],
      ['to_date', '2024-04-31T10:00:00Z'],
    ];
    for (const [field, value] of impossible) {
      const res = await listPage(org, { [field]: value });
      expect(res.status, `${field}=${value}`).toBe(422);
      expect(res.body).toEqual({
        status: 422,
        error: 'Unprocessable Entity',
        code: 'validation_errors',
        error_details: { [field]: ['invalid_date'] },
      });
    }
  });
});
