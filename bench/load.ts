/**
 * `npm run load`: drives the local API from this second process with autocannon, for a bounded time,
 * with a mix per route group (each its own autocannon instance and connections, side by side):
 * endpoint reads and writes, webhook log queries with filters, single publish and batch publish.
 * Prints requests/s, p50 and p99 latency, errors and 5xx per group and in total; exits 1 on any 5xx.
 *
 * It starts the local service itself (`node bin/local.ts`, a temporary DATA_DIR, free ports), or
 * drives one already running: LOAD_URL (e.g. http://127.0.0.1:3000) with LOAD_ADMIN_TOKEN.
 * LOAD_SECONDS (default 30) and LOAD_CONNECTIONS (per group, default 4) change the size.
 */
import { rm } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import autocannon from 'autocannon';
import { Service } from './chaos.ts';
import { startReceiver } from './receiver.ts';
import { envNumber } from './env.ts';

const SECONDS = envNumber('LOAD_SECONDS', 30);
const CONNECTIONS = Math.round(envNumber('LOAD_CONNECTIONS', 4));
/** Endpoints the publish organization's events fan out to (a receiver that answers 200 at once). */
const PUBLISH_ENDPOINTS = 2;
const TYPES = ['invoice.created', 'invoice.generated', 'customer.created', 'subscription.started'];

interface Org {
  id: string;
  apiKey: string;
}

type Requester = <T>(
  method: string,
  path: string,
  token: string,
  body?: unknown,
) => Promise<{ status: number; body: T }>;

function requester(url: string): Requester {
  return async <T>(method: string, path: string, token: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as T };
  };
}

async function createOrg(request: Requester, adminToken: string, name: string): Promise<Org> {
  const res = await request<{ organization: { lago_id: string }; api_key: string }>(
    'POST',
    '/admin/v1/organizations',
    adminToken,
    { name },
  );
  if (res.status !== 201) throw new Error(`organization not created: ${res.status}`);
  return { id: res.body.organization.lago_id, apiKey: res.body.api_key };
}

/** What a connection remembers between the requests of its sequence. */
interface Ctx {
  id?: string | undefined;
}

/** A request about the endpoint the sequence created; none (autocannon restarts the sequence) if the create failed. */
const withEndpoint =
  (make: (id: string) => Partial<autocannon.Request>) =>
  (req: autocannon.Request, context: object): autocannon.Request => {
    const id = (context as Ctx).id;
    return id ? { ...req, ...make(id) } : (undefined as unknown as autocannon.Request);
  };

interface GroupStats {
  name: string;
  /** One per response. */
  latencies: number[];
  /** Requests that got no response (connection errors, timeouts). */
  noResponse: number;
  /** Non-2xx responses plus requests without a response. */
  errors: number;
  serverErrors: number;
  seconds: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : 0;

/** One autocannon instance for a route group; latencies and statuses are taken from each response. */
async function runGroup(name: string, options: autocannon.Options): Promise<GroupStats> {
  const stats: GroupStats = { name, latencies: [], noResponse: 0, errors: 0, serverErrors: 0, seconds: 0 };
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const instance = autocannon({ connections: CONNECTIONS, duration: SECONDS, timeout: 30, ...options }, (error) =>
      error ? reject(error) : resolve(),
    );
    // autocannon emits (client, statusCode, bytes, responseTime); its type declaration omits the client.
    (instance as unknown as NodeJS.EventEmitter).on(
      'response',
      (_client: unknown, status: number, _bytes: number, ms: number) => {
        stats.latencies.push(ms);
        if (status >= 500) stats.serverErrors++;
        if (status < 200 || status >= 300) stats.errors++;
      },
    );
    instance.on('reqError', () => {
      stats.noResponse++;
      stats.errors++;
    });
  });
  stats.seconds = (Date.now() - started) / 1000;
  return stats;
}

function row(stats: GroupStats): string {
  const sorted = [...stats.latencies].sort((a, b) => a - b);
  const requests = sorted.length + stats.noResponse;
  const cells = [
    stats.name.padEnd(10),
    String(requests).padStart(8),
    (requests / stats.seconds).toFixed(1).padStart(10),
    `${percentile(sorted, 50).toFixed(1)} ms`.padStart(11),
    `${percentile(sorted, 99).toFixed(1)} ms`.padStart(11),
    String(stats.errors).padStart(7),
    String(stats.serverErrors).padStart(5),
  ];
  return cells.join('  ');
}

async function main(): Promise<number> {
  const external = process.env.LOAD_URL;
  let service: Service | undefined;
  let dataDir: string | undefined;
  const receiver = await startReceiver();
  try {
    let url: string;
    let adminToken: string;
    if (external) {
      if (!process.env.LOAD_ADMIN_TOKEN)
        throw new Error("LOAD_URL needs LOAD_ADMIN_TOKEN, the running service's admin token");
      url = external.replace(/\/$/, '');
      adminToken = process.env.LOAD_ADMIN_TOKEN;
    } else {
      ({ service, dataDir } = await Service.create());
      console.error('starting the local service (node bin/local.ts)…');
      await service.start();
      url = service.url;
      adminToken = service.adminToken;
    }
    const request = requester(url);

    // Publish organization: endpoints that receive every event; the log queries read its webhooks.
    const pub = await createOrg(request, adminToken, 'Load publish');
    const endpointIds: string[] = [];
    for (let i = 0; i < PUBLISH_ENDPOINTS; i++) {
      const res = await request<{ webhook_endpoint: { lago_id: string } }>(
        'POST',
        '/api/v1/webhook_endpoints',
        pub.apiKey,
        {
          webhook_endpoint: { webhook_url: `${receiver.url}/load-${i}`, signature_algo: i % 2 ? 'jwt' : 'hmac' },
        },
      );
      if (res.status !== 200) throw new Error(`endpoint not created: ${res.status}`);
      endpointIds.push(res.body.webhook_endpoint.lago_id);
    }
    // Endpoint CRUD runs in an organization of its own, so its creates stay under the 10-endpoint limit.
    const crud = await createOrg(request, adminToken, 'Load endpoints');
    const seed = await request<{ webhooks: { lago_id: string }[] }>('POST', '/admin/v1/webhooks', adminToken, {
      organization_id: pub.id,
      webhook_type: 'invoice.created',
      object_type: 'invoice',
      object: { lago_id: 'inv_load_seed' },
    });
    const knownWebhook = seed.body.webhooks[0]?.lago_id;
    if (!knownWebhook) throw new Error(`seed publish answered ${seed.status}`);

    const auth = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
    let counter = 0;
    let published = 0;
    /** Events answered 202, by either route. */
    let accepted = 0;
    const event = () => {
      const n = published++;
      return {
        organization_id: pub.id,
        webhook_type: TYPES[n % TYPES.length],
        object_type: TYPES[n % TYPES.length]!.split('.')[0],
        object: { lago_id: `inv_load_${n}`, total_amount_cents: n },
      };
    };
    const today = new Date().toISOString().slice(0, 10);
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const logQueries = [
      '',
      '?statuses=succeeded',
      '?statuses=pending,retrying',
      `?webhook_endpoint_id=${endpointIds[0]}`,
      `?webhook_endpoint_id=${endpointIds[1]}&statuses=succeeded`,
      '?webhook_types=invoice.created',
      `?from_date=${hourAgo}&to_date=${today}`,
      '?search_term=inv_load_seed',
      `?search_term=${knownWebhook}`,
      '?http_statuses=2xx&per_page=50',
    ].map((q) => `/api/v1/webhooks${q}`);
    logQueries.push(`/api/v1/webhooks/${knownWebhook}`);
    let query = 0;

    const base = { url, headers: auth(pub.apiKey) };
    console.error(`driving ${url} for ${SECONDS} s: 4 route groups, ${CONNECTIONS} connections each`);
    const groups = await Promise.all([
      runGroup('endpoints', {
        ...base,
        headers: auth(crud.apiKey),
        // One endpoint's life per sequence: create, get, update, list, delete. A failed create restarts the sequence.
        requests: [
          {
            method: 'POST',
            path: '/api/v1/webhook_endpoints',
            setupRequest: (req) => ({
              ...req,
              body: JSON.stringify({
                webhook_endpoint: {
                  webhook_url: `${receiver.url}/crud-${counter++}`,
                  signature_algo: 'hmac',
                  event_types: ['invoice.created'],
                },
              }),
            }),
            onResponse: (status, body, context) => {
              (context as Ctx).id =
                status === 200
                  ? (JSON.parse(body) as { webhook_endpoint: { lago_id: string } }).webhook_endpoint.lago_id
                  : undefined;
            },
          },
          { method: 'GET', setupRequest: withEndpoint((id) => ({ path: `/api/v1/webhook_endpoints/${id}` })) },
          {
            method: 'PUT',
            setupRequest: withEndpoint((id) => ({
              path: `/api/v1/webhook_endpoints/${id}`,
              body: JSON.stringify({
                webhook_endpoint: {
                  name: `renamed ${counter++}`,
                  event_types: ['invoice.created', 'invoice.generated'],
                },
              }),
            })),
          },
          { method: 'GET', path: '/api/v1/webhook_endpoints?per_page=20' },
          { method: 'DELETE', setupRequest: withEndpoint((id) => ({ path: `/api/v1/webhook_endpoints/${id}` })) },
        ],
      }),
      runGroup('logs', {
        ...base,
        requests: [
          { method: 'GET', setupRequest: (req) => ({ ...req, path: logQueries[query++ % logQueries.length]! }) },
        ],
      }),
      runGroup('publish', {
        ...base,
        headers: auth(adminToken),
        requests: [
          {
            method: 'POST',
            path: '/admin/v1/webhooks',
            setupRequest: (req) => ({ ...req, body: JSON.stringify(event()) }),
            onResponse: (status) => {
              if (status === 202) accepted++;
            },
          },
        ],
      }),
      runGroup('batch', {
        ...base,
        headers: auth(adminToken),
        requests: [
          {
            method: 'POST',
            path: '/admin/v1/webhooks/batch',
            setupRequest: (req) => ({ ...req, body: JSON.stringify({ events: Array.from({ length: 10 }, event) }) }),
            onResponse: (status, body) => {
              if (status === 200)
                accepted += (JSON.parse(body) as { results: { status: number }[] }).results.filter(
                  (r) => r.status === 202,
                ).length;
            },
          },
        ],
      }),
    ]);

    const total: GroupStats = {
      name: 'total',
      latencies: groups.flatMap((g) => g.latencies),
      noResponse: groups.reduce((sum, g) => sum + g.noResponse, 0),
      errors: groups.reduce((sum, g) => sum + g.errors, 0),
      serverErrors: groups.reduce((sum, g) => sum + g.serverErrors, 0),
      seconds: Math.max(...groups.map((g) => g.seconds)),
    };
    console.log(
      `load: ${SECONDS} s, ${CONNECTIONS} connections per group, ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`,
    );
    console.log(
      [
        'group'.padEnd(10),
        'requests'.padStart(8),
        'requests/s'.padStart(10),
        'p50'.padStart(11),
        'p99'.padStart(11),
        'errors'.padStart(7),
        '5xx'.padStart(5),
      ].join('  '),
    );
    for (const stats of [...groups, total]) console.log(row(stats));
    console.log(
      `events accepted (202): ${accepted}, each to ${PUBLISH_ENDPOINTS} endpoints; the receiver got ${receiver.received.size} distinct webhooks meanwhile`,
    );
    if (total.serverErrors > 0) console.error(`FAILED: ${total.serverErrors} responses were 5xx`);
    return total.serverErrors > 0 ? 1 : 0;
  } finally {
    await service?.stop();
    await receiver.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}

process.exit(await main());
