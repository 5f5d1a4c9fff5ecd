/**
 * The billing run (issue 19), one run at a time: one organization publishes N events by batch
 * (100 per call, as fast as the API takes them, refused events sent again under their idempotency
 * keys) to a healthy endpoint, and optionally to a slow one (answers after 2 s) and a failing one
 * (500), on the scale model of AWS's limits (infra/local/aws-limits/). It measures how long every
 * healthy webhook takes to arrive, and counts what must not happen: duplicate POSTs (POSTs beyond
 * the attempts recorded) and lost webhooks (accepted, never settled). bench/billing-run.ts prints
 * the runs; test/integration/billing-run.test.ts makes a small one.
 */
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsLimits, type AwsLimitsReport } from '#infra/local/aws-limits/index.ts';
import { generateAdminToken, LOCAL_ALLOW_CIDRS } from '#infra/local/env.ts';
import { startLocalService, type LocalService } from '#infra/local/service.ts';
import type { WebhookState } from '#shared/domain/model.ts';
import { deliveryConfigFromEnv } from '#shared/runtime/config.ts';
import { invoiceObject } from './payloads.ts';

export interface BillingRunOptions {
  /** Events published, 100 per batch call. */
  events: number;
  /** The scale model's factor (AWS_LIMITS_SCALE). */
  scale: number;
  /** WEBHOOK_SHARDS. */
  shards: number;
  /** The slow and the failing endpoint subscribe too. */
  others: boolean;
  /** A DynamoDB Local already running; each run keeps its data apart under credentials of its own. */
  dynamoDbEndpoint: string;
  /** Batch calls in flight at once. @default 4 */
  publishers?: number;
  /** How long the run may take to settle. @default 10 minutes */
  timeoutMs?: number;
  /**
   * A backlog: every event is published while the senders wait (DynamoDB's per-key limits off), then
   * the limits are on, the senders start, and the drain is timed from their start alone: the keys'
   * rate for deliveries, without publishing's. @default false
   */
  backlog?: boolean;
}

export interface BillingRunResult {
  /** From the first publish call until the API took every event. */
  publishMs: number;
  /** From the first publish call to the last healthy webhook's arrival. */
  healthyMs: number;
  /** From the senders' start (a backlog) or the first publish call to the last healthy webhook's arrival. */
  drainMs: number;
  /** Healthy webhooks delivered per second over the drain. */
  healthyPerSecond: number;
  /** From the drain's start until half the healthy webhooks arrived: a rate even when the last ones are slow to come. */
  halfDrainMs: number;
  /** Batch calls made, and events the API refused (503) and that were published again. */
  publishCalls: number;
  republished: number;
  /** Webhooks accepted, per endpoint. */
  accepted: Record<EndpointName, number>;
  /** POSTs beyond the attempts each webhook recorded, all endpoints. */
  duplicates: number;
  /** The same, by endpoint: a fast-lane attempt cut at its budget (the slow endpoint's) is made again in full. */
  duplicatesByEndpoint: Record<EndpointName, number>;
  /** Accepted webhooks that never settled (or, for the healthy endpoint, never arrived). */
  lost: number;
  /** Every webhook settled within the time allowed; if not, `lost` and `duplicates` count the run as it stood. */
  settled: boolean;
  /** Attempts whose record the store refused after retries and a message carried (the sender's log). */
  recordsCarried: number;
  /** Timers the sweeper sent (its `sweep done` lines), and per second of the run. */
  timersFired: number;
  timersPerSecond: number;
  /** From the first publish call until every webhook settled. */
  settledMs: number;
  limits: AwsLimitsReport;
}

type EndpointName = 'healthy' | 'slow' | 'failing';
const ENDPOINTS: EndpointName[] = ['healthy', 'slow', 'failing'];
const BATCH = 100;
const SLOW_ANSWER_MS = 2_000;
/** Three attempts, a second or two apart: the failing endpoint's webhooks are exhausted within seconds. */
const RETRY_SCHEDULE = '1,2';

/** The receivers of the three endpoints on one loopback server: POSTs per unique key, and the healthy one's arrivals. */
async function startReceivers() {
  const posts = new Map<string, number>();
  const healthyArrivals = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = req.headers['x-lago-unique-key'];
      if (typeof key === 'string') posts.set(key, (posts.get(key) ?? 0) + 1);
      if (req.url === '/healthy' && typeof key === 'string' && !healthyArrivals.has(key))
        healthyArrivals.set(key, performance.now());
      if (req.url === '/slow') setTimeout(() => res.writeHead(200).end(), SLOW_ANSWER_MS);
      else res.writeHead(req.url === '/failing' ? 500 : 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    url: (name: EndpointName) => `http://127.0.0.1:${port}/${name}`,
    posts,
    healthyArrivals,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What the run's log says, counted as it is written: carried records and the sweeper's timers. */
function logCounter(file = process.env.BILLING_LOG) {
  const counts = { recordsCarried: 0, timersFired: 0 };
  return {
    counts,
    write(line: string) {
      if (file) appendFileSync(file, line.endsWith('\n') ? line : `${line}\n`);
      if (line.includes('its record is carried')) counts.recordsCarried++;
      if (line.includes('"sweep done"'))
        counts.timersFired += (JSON.parse(line) as { scheduled?: number }).scheduled ?? 0;
    },
  };
}

async function call(stack: LocalService, path: string, token: string, body: unknown) {
  const res = await fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A setup call, made again while the API answers 503 (its store throttled on the model). */
async function setup(stack: LocalService, path: string, token: string, body: unknown) {
  for (let tried = 1; ; tried++) {
    const res = await call(stack, path, token, body);
    if (res.status !== 503 || tried >= 20) return res;
    await pause(500);
  }
}

/** One organization and its endpoints; returns the organization's id and each endpoint's id by name. */
async function organization(stack: LocalService, names: EndpointName[], url: (name: EndpointName) => string) {
  const created = await setup(stack, '/admin/v1/organizations', stack.adminToken, { name: 'Billing run' });
  if (created.status !== 201) throw new Error(`organization not created: ${created.status}`);
  const org = created.body as { organization: { lago_id: string }; api_key: string };
  const endpoints = new Map<string, EndpointName>();
  for (const name of names) {
    const res = await setup(stack, '/api/v1/webhook_endpoints', org.api_key, {
      webhook_endpoint: { webhook_url: url(name), signature_algo: 'hmac', name },
    });
    if (res.status !== 200) throw new Error(`endpoint not created: ${res.status} ${JSON.stringify(res.body)}`);
    endpoints.set((res.body.webhook_endpoint as { lago_id: string }).lago_id, name);
  }
  return { organizationId: org.organization.lago_id, endpoints };
}

type BatchResult = { webhooks: { lago_id: string; lago_webhook_endpoint_id: string }[] } | { error: unknown };

/**
 * Publishes the events 100 per call, `publishers` calls at a time, each event under an idempotency
 * key; the events a call refuses (503: not stored, or not all queued) go into a later call.
 */
async function publishAll(stack: LocalService, organizationId: string, events: number, publishers: number) {
  const webhooks = new Map<string, string>();
  const pending = Array.from({ length: events }, (_, n) => n);
  let calls = 0;
  let republished = 0;
  const publisher = async () => {
    while (pending.length > 0) {
      const numbers = pending.splice(0, BATCH);
      calls++;
      const res = await call(stack, '/admin/v1/webhooks/batch', stack.adminToken, {
        events: numbers.map((n) => ({
          organization_id: organizationId,
          webhook_type: 'invoice.created',
          object_type: 'invoice',
          object: invoiceObject(n, 1024),
          idempotency_key: `billing-${n}`,
        })),
      });
      const results = res.status === 200 ? (res.body.results as BatchResult[]) : numbers.map(() => ({ error: res }));
      results.forEach((result, i) => {
        if ('webhooks' in result) for (const w of result.webhooks) webhooks.set(w.lago_id, w.lago_webhook_endpoint_id);
        else {
          republished++;
          pending.push(numbers[i]!);
        }
      });
    }
  };
  await Promise.all(Array.from({ length: publishers }, publisher));
  return { webhooks, calls, republished };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The bench's own reads go through the model too: a read it throttles is made again, with backoff, for up to 5 minutes. */
async function unthrottled<T>(read: () => Promise<T>): Promise<T> {
  const giveUpAt = Date.now() + 300_000;
  for (let tried = 1; ; tried++) {
    try {
      return await read();
    } catch (error) {
      if (Date.now() > giveUpAt) throw error;
      await pause(Math.min(250 * tried, 2_000));
    }
  }
}

/** Every webhook of the organization, read from the store page by page. */
async function everyWebhook(stack: LocalService, organizationId: string): Promise<WebhookState[]> {
  const all: WebhookState[] = [];
  let before: string | undefined;
  do {
    const query = { organizationId, limit: 100, ...(before ? { before } : {}) };
    const page = await unthrottled(() => stack.deps.store.queryWebhooks(query));
    all.push(...page.items);
    before = page.last;
  } while (before);
  return all;
}

/** Waits for `condition` until `deadline`; false if it never held. */
async function until(condition: () => boolean | Promise<boolean>, deadline: number): Promise<boolean> {
  while (!(await unthrottled(async () => condition()))) {
    if (Date.now() > deadline) return false;
    await pause(250);
  }
  return true;
}

/** One billing run on a local service of its own, on the scale model; the service is stopped before it returns. */
export async function billingRun(options: BillingRunOptions): Promise<BillingRunResult> {
  const limits = new AwsLimits({ scale: options.scale });
  const log = logCounter();
  const dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-billing-'));
  const receivers = await startReceivers();
  const stack = await startLocalService({
    port: 0,
    dataDir,
    adminToken: generateAdminToken(),
    config: deliveryConfigFromEnv({
      WEBHOOK_ALLOW_CIDRS: LOCAL_ALLOW_CIDRS.join(','),
      WEBHOOK_ALLOW_HTTP: 'true',
      WEBHOOK_RETRY_SCHEDULE: RETRY_SCHEDULE,
      WEBHOOK_SHARDS: String(options.shards),
    }),
    logLevel: 'info',
    logDestination: log,
    dynamoDbEndpoint: options.dynamoDbEndpoint,
    awsLimits: limits,
    sweepIntervalMs: 1_000,
    sendersPaused: options.backlog ?? false,
  });
  try {
    return await measure(stack, options, receivers, limits, log.counts);
  } finally {
    await stack.stop();
    await receivers.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function measure(
  stack: LocalService,
  options: BillingRunOptions,
  receivers: Awaited<ReturnType<typeof startReceivers>>,
  limits: AwsLimits,
  counts: ReturnType<typeof logCounter>['counts'],
): Promise<BillingRunResult> {
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  const names = options.others ? ENDPOINTS : (['healthy'] as EndpointName[]);
  const { organizationId, endpoints } = await organization(stack, names, receivers.url);
  // A backlog is stored with the per-key limits off (a setup: storing it on one shard at a small factor would take
  // longer than the run), and drained with them on.
  if (options.backlog) limits.enforceDynamoDb(false);
  const started = performance.now();
  const published = await publishAll(stack, organizationId, options.events, options.publishers ?? 4);
  const publishMs = performance.now() - started;
  const drainStarted = options.backlog ? performance.now() : started;
  limits.enforceDynamoDb(true);
  stack.resumeSenders();
  const healthy = [...published.webhooks].filter(([, endpoint]) => endpoints.get(endpoint) === 'healthy');
  const ticker = setInterval(
    () => process.stderr.write(`  ${receivers.healthyArrivals.size} of ${healthy.length} healthy webhooks arrived\n`),
    30_000,
  );
  const arrived = await until(() => healthy.every(([id]) => receivers.healthyArrivals.has(id)), deadline).finally(() =>
    clearInterval(ticker),
  );
  // A backlog's measure is taken: what follows only checks the outcome, read without the model's limits (at its small
  // factor, the checks' queries would wait behind the senders' throttled reads for minutes).
  if (options.backlog) limits.enforceDynamoDb(false);
  const lastArrival = arrived
    ? Math.max(...healthy.map(([id]) => receivers.healthyArrivals.get(id)!))
    : Number.POSITIVE_INFINITY;
  const healthyMs = lastArrival - started;
  const arrivals = [...receivers.healthyArrivals.values()].sort((a, b) => a - b);
  const half = arrivals[Math.ceil(healthy.length / 2) - 1];
  const halfDrainMs = half === undefined ? Number.POSITIVE_INFINITY : half - drainStarted;
  const drainMs = lastArrival - drainStarted;
  const settled = async () =>
    (await stack.deps.store.queryWebhooks({ organizationId, statuses: ['pending', 'retrying'], limit: 1 })).items
      .length === 0;
  const allSettled = await until(settled, deadline);
  const settledMs = performance.now() - started;
  const stored = new Map((await everyWebhook(stack, organizationId)).map((w) => [w.id, w]));
  const duplicatesByEndpoint: Record<EndpointName, number> = { healthy: 0, slow: 0, failing: 0 };
  let lost = 0;
  for (const [id, endpointId] of published.webhooks) {
    const webhook = stored.get(id);
    if (!webhook || webhook.status === 'pending' || webhook.status === 'retrying') lost++;
    const name = endpoints.get(endpointId) ?? 'healthy';
    duplicatesByEndpoint[name] += Math.max(0, (receivers.posts.get(id) ?? 0) - (webhook?.attempt_count ?? 0));
  }
  const duplicates = ENDPOINTS.reduce((sum, name) => sum + duplicatesByEndpoint[name], 0);
  lost += healthy.filter(([id]) => !receivers.healthyArrivals.has(id)).length;
  const accepted = Object.fromEntries(
    ENDPOINTS.map((name) => [name, [...published.webhooks.values()].filter((e) => endpoints.get(e) === name).length]),
  ) as Record<EndpointName, number>;
  return {
    publishMs,
    healthyMs,
    drainMs,
    healthyPerSecond: healthy.length / (drainMs / 1000),
    halfDrainMs,
    publishCalls: published.calls,
    republished: published.republished,
    accepted,
    duplicates,
    duplicatesByEndpoint,
    lost,
    settled: allSettled,
    recordsCarried: counts.recordsCarried,
    timersFired: counts.timersFired,
    timersPerSecond: counts.timersFired / (settledMs / 1000),
    settledMs,
    limits: limits.report(),
  };
}
