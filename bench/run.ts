/**
 * `npm run bench`: cost and speed of delivery, measured on the local service in one run (issue #9).
 * Prints the machine, the ceilings (receiver and emulator alone), a backlog drain, latency at a
 * steady rate, the isolation ratio with a hanging endpoint, request units and cost per delivery,
 * connections per delivery, and the sender bundle. BENCH_SCALE=small is the short run
 * `npm test` makes. Local emulators are not AWS: rates compare versions of this code on one
 * machine; request units, SQS requests and invocations per delivery carry over to AWS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { deliveryConfigFromEnv } from '#shared/runtime/config.ts';
import { LANE_MAPPINGS } from '#shared/domain/delivery/policy.ts';
import { generateAdminToken, LOCAL_ALLOW_CIDRS } from '#infra/local/env.ts';
import { startLocalService } from '#infra/local/service.ts';
import { Accounting, type Tally } from './accounting.ts';
import { measureSenderBundle } from './bundle.ts';
import { rawPostsPerSecond, rawPutsPerSecond } from './ceilings.ts';
import { deployedCounts, emfDocumentBytes } from './deployed.ts';
import {
  attemptPerDelivery,
  costPerMillion,
  ingestedLogBytes,
  mappingSqsRequests,
  MODEL,
  monthlyFloor,
  PRICES,
  PRICES_CHECKED_ON,
  storedBytes,
  tracedShare,
  type CostPerMillion,
  type PerDelivery,
} from './pricing.ts';
import { invoiceObject } from './payloads.ts';
import { startReceiver, type Receiver } from './receiver.ts';
import { envNumber } from './env.ts';

interface Sizes {
  /** Webhooks queued before the sender starts (half HMAC, half JWT; half 1 KB, half 32 KB payloads). */
  drainWebhooks: number;
  steadyRate: number;
  steadySeconds: number;
  isolationRate: number;
  isolationSeconds: number;
  ceilingSeconds: number;
  /** Events published 100 per batch call to one endpoint, for the batch publish's cost. */
  batchEvents: number;
}

const SCALES: Record<'full' | 'small', Sizes> = {
  full: {
    drainWebhooks: 5000,
    steadyRate: 50,
    steadySeconds: 60,
    isolationRate: 10,
    isolationSeconds: 30,
    ceilingSeconds: 5,
    batchEvents: 1000,
  },
  small: {
    drainWebhooks: 20,
    steadyRate: 10,
    steadySeconds: 2,
    isolationRate: 5,
    isolationSeconds: 1,
    ceilingSeconds: 0.3,
    batchEvents: 20,
  },
};

const scale = process.env.BENCH_SCALE === 'small' ? 'small' : 'full';
const base = SCALES[scale];
const sizes: Sizes = {
  drainWebhooks: Math.max(4, Math.round(envNumber('BENCH_DRAIN_WEBHOOKS', base.drainWebhooks) / 4) * 4),
  steadyRate: envNumber('BENCH_STEADY_RATE', base.steadyRate),
  steadySeconds: envNumber('BENCH_STEADY_SECONDS', base.steadySeconds),
  isolationRate: envNumber('BENCH_ISOLATION_RATE', base.isolationRate),
  isolationSeconds: envNumber('BENCH_ISOLATION_SECONDS', base.isolationSeconds),
  ceilingSeconds: envNumber('BENCH_CEILING_SECONDS', base.ceilingSeconds),
  batchEvents: envNumber('BENCH_BATCH_EVENTS', base.batchEvents),
};
/** The sender's concurrent POSTs: the fast lane's invocations times the records each delivers side by side. */
const SENDER_CONCURRENCY = LANE_MAPPINGS.fast.maxConcurrency * LANE_MAPPINGS.fast.batchSize;
const PUBLISHERS = 10;
const DRAIN_BATCH = 20;
const HANG_TIMEOUT_MS = 5_000;
const FUNCTION_MEMORY_MB = 512;

/** Every figure goes through here: `label: value unit`, the format the bench test reads back. */
const figure = (label: string, value: number, unit: string, digits = 1) =>
  console.log(`  ${label}: ${value.toFixed(digits)} ${unit}`);
const section = (title: string) => console.log(`\n${title}`);
const benchStarted = performance.now();
/** Where the run is, on stderr: a full run takes minutes. */
const progress = (what: string) =>
  process.stderr.write(`[${((performance.now() - benchStarted) / 1000).toFixed(0)} s] ${what}\n`);

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const latencies = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
};

const cpu = cpus();
console.log(`lago-webhooks bench (${scale}), ${new Date().toISOString()}`);
console.log(
  `machine: ${cpu.length} cores (${cpu[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`,
);
console.log(`sizes: ${JSON.stringify(sizes)}`);

section('sender bundle (esbuild: ESM, minified, node24, AWS SDK from the runtime)');
const bundle = await measureSenderBundle();
figure('bundle size', bundle.bytes / 1024, 'KiB');
figure('cold import', bundle.coldImportMs, 'ms');

const accounting = new Accounting();
const dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-bench-'));
const stack = await startLocalService({
  port: 0,
  dataDir,
  adminToken: generateAdminToken(),
  config: deliveryConfigFromEnv({
    WEBHOOK_ALLOW_CIDRS: LOCAL_ALLOW_CIDRS.join(','),
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_TIMEOUT_MS: String(HANG_TIMEOUT_MS),
  }),
  // Info is the deployed level: the log lines are counted (and dropped) to price their ingestion.
  logLevel: 'info',
  instrument: accounting.instrument(),
  sendersPaused: true,
});
const receiver: Receiver = await startReceiver();
// Stopped on Ctrl-C too: DynamoDB Local is a child process that would outlive the bench.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.allSettled([receiver.close(), stack.stop(), rm(dataDir, { recursive: true, force: true })]).then(() =>
      process.exit(130),
    );
  });
}

const call = async (
  path: string,
  token: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res = await fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

async function organization(name: string, endpoints: { path: string; algo: 'hmac' | 'jwt' }[]): Promise<string> {
  const org = (await call('/admin/v1/organizations', stack.adminToken, { name })).body as {
    organization: { lago_id: string };
    api_key: string;
  };
  for (const endpoint of endpoints) {
    const res = await call('/api/v1/webhook_endpoints', org.api_key, {
      webhook_endpoint: { webhook_url: `${receiver.url}${endpoint.path}`, signature_algo: endpoint.algo },
    });
    if (res.status !== 200) throw new Error(`endpoint not created: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return org.organization.lago_id;
}

const event = (organizationId: string, n: number, payloadBytes: number) => ({
  organization_id: organizationId,
  webhook_type: 'invoice.created',
  object_type: 'invoice',
  object: invoiceObject(n, payloadBytes),
});

/** Publishes one event; resolves to its webhooks' ids, each with the time the publish was sent. */
async function publish(
  organizationId: string,
  n: number,
  payloadBytes: number,
): Promise<{ ids: string[]; sentAt: number }> {
  const sentAt = performance.now();
  const res = await call('/admin/v1/webhooks', stack.adminToken, event(organizationId, n, payloadBytes));
  if (res.status !== 202) throw new Error(`publish refused: ${res.status} ${JSON.stringify(res.body)}`);
  return { ids: (res.body as { webhooks: { lago_id: string }[] }).webhooks.map((w) => w.lago_id), sentAt };
}

/** Publishes events through the batch route, up to 100 per call; resolves to their webhooks' ids. */
async function publishBatch(
  organizationId: string,
  numbers: number[],
  bytesOf: (n: number) => number,
): Promise<string[]> {
  const res = await call('/admin/v1/webhooks/batch', stack.adminToken, {
    events: numbers.map((n) => event(organizationId, n, bytesOf(n))),
  });
  if (res.status >= 300) throw new Error(`batch publish refused: ${res.status} ${JSON.stringify(res.body)}`);
  const results = (res.body as { results: ({ webhooks: { lago_id: string }[] } | { error: unknown })[] }).results;
  const refused = results.filter((r) => !('webhooks' in r));
  if (refused.length > 0)
    throw new Error(`batch publish refused ${refused.length} events: ${JSON.stringify(refused[0])}`);
  return results.flatMap((r) => ('webhooks' in r ? r.webhooks.map((w) => w.lago_id) : []));
}

/**
 * Offers `rate` events/s for `seconds` without waiting for earlier publishes (an open loop). An
 * event due while PUBLISHERS publishes are still open is skipped and counted, so a rate the stack
 * cannot take ends on time instead of queueing publishes for minutes.
 */
async function steady(organizationId: string, rate: number, seconds: number, payloadBytes: number) {
  const total = Math.max(1, Math.round(rate * seconds));
  const sent = new Map<string, number>();
  const started = performance.now();
  const publishes: Promise<void>[] = [];
  let open = 0;
  let skipped = 0;
  for (let n = 0; n < total; n++) {
    const wait = started + (n * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (open >= PUBLISHERS) {
      skipped++;
      continue;
    }
    open++;
    publishes.push(
      publish(organizationId, n, payloadBytes).then(({ ids, sentAt }) => {
        open--;
        for (const id of ids) sent.set(id, sentAt);
      }),
    );
  }
  await Promise.all(publishes);
  const publishedRate = (total - skipped) / ((performance.now() - started) / 1000);
  return { sent, publishedRate, skipped };
}

/** Latency of each expected webhook from its publish to its first receipt, over the receiver's `paths`. */
function publishToReceipt(sent: Map<string, number>, paths: Set<string>): number[] {
  const out: number[] = [];
  for (const [id, sentAt] of sent) {
    const receipt = receiver.received.get(id);
    if (receipt && paths.has(receipt.path)) out.push(receipt.at - sentAt);
  }
  return out;
}

/** A phase of the bench, as the cost model needs it. */
interface Phase {
  label: string;
  tally: Tally;
  deliveries: number;
  publishRequests: number;
  /** How long the phase's deliveries took: their rate sets the share X-Ray traces. */
  seconds: number;
  /** The payloads' average size, stored for the webhook retention. */
  payloadBytes: number;
}

/** EMF bytes per delivery: one document per publish invocation, and one per sender invocation with its batch's values. */
function emfPerDelivery(publishInvocations: number, senderInvocations: number): number {
  const batch = Math.max(1, Math.round(1 / Math.max(senderInvocations, 1e-9)));
  const sender = emfDocumentBytes(
    Array.from({ length: Math.min(batch, LANE_MAPPINGS.fast.batchSize) }, () => [
      ['DeliveriesSucceeded', 1] as const,
      ['EndpointResponseTime', 80, 'Milliseconds'] as const,
    ]).flat(),
  );
  return publishInvocations * emfDocumentBytes([['WebhooksPublished', 1]]) + senderInvocations * sender;
}

/** Per delivery, from a phase's tally: SQS as Lambda's event source mapping would call it, not the local pollers. */
function perDelivery({ tally, deliveries, publishRequests, seconds, payloadBytes }: Phase): PerDelivery & {
  tableWrite: number;
  tableRead: number;
  indexWrite: number;
  indexRead: number;
  senderInvocations: number;
  sqsSends: number;
  localPollerSqsRequests: number;
} {
  const indexes = Object.values(tally.dynamoDb.indexes);
  const indexWrite = indexes.reduce((sum, u) => sum + u.write, 0);
  const indexRead = indexes.reduce((sum, u) => sum + u.read, 0);
  const count = (names: string[]) => names.reduce((sum, name) => sum + (tally.invocations[name]?.count ?? 0), 0);
  const senderInvocations = count(['sender-fast', 'sender-slow']) / deliveries;
  const functions = Object.values(tally.invocations);
  const invocations = functions.reduce((sum, s) => sum + s.count, 0) / deliveries;
  const sqsSends = tally.sqs.billedSends / deliveries;
  return {
    tableWrite: tally.dynamoDb.table.write / deliveries,
    tableRead: tally.dynamoDb.table.read / deliveries,
    indexWrite: indexWrite / deliveries,
    indexRead: indexRead / deliveries,
    writeUnits: (tally.dynamoDb.table.write + indexWrite) / deliveries,
    readUnits: (tally.dynamoDb.table.read + indexRead) / deliveries,
    sqsRequests: mappingSqsRequests(sqsSends, senderInvocations),
    localPollerSqsRequests: tally.sqs.billed / deliveries,
    sqsSends,
    senderInvocations,
    invocations,
    invocationMs: functions.reduce((sum, s) => sum + s.ms, 0) / deliveries,
    memoryMb: FUNCTION_MEMORY_MB,
    httpApiRequests: publishRequests / deliveries,
    logBytes: tally.log.bytes / deliveries,
    emfBytes: emfPerDelivery(count(['admin']) / deliveries, senderInvocations),
    secretsManagerCalls: tally.secretStoreCalls / deliveries,
    storedBytes: storedBytes(payloadBytes),
    tracedShare: tracedShare((invocations * deliveries) / Math.max(seconds, 1e-3)),
  };
}

function printAccounting(phase: Phase): CostPerMillion {
  const d = perDelivery(phase);
  const { label, tally, deliveries, publishRequests } = phase;
  section(
    `${label}: per first-attempt delivery, publish included (${deliveries} deliveries, ${publishRequests} publish requests)`,
  );
  figure('write units', d.writeUnits, 'WRU', 2);
  figure('write units, table', d.tableWrite, 'WRU', 2);
  figure('write units, indexes', d.indexWrite, 'WRU', 2);
  figure('read units', d.readUnits, 'RRU', 2);
  figure('read units, table', d.tableRead, 'RRU', 2);
  figure('read units, indexes', d.indexRead, 'RRU', 2);
  figure(
    'SQS requests (sends, and a receive and a delete per sender invocation, as the event source mapping makes them)',
    d.sqsRequests,
    'requests',
    2,
  );
  figure('SQS requests, sends only', d.sqsSends, 'requests', 2);
  figure('SQS requests of the local pollers (not how AWS polls)', d.localPollerSqsRequests, 'requests', 2);
  figure('sender invocations', d.senderInvocations, 'invocations', 3);
  figure('function invocations (publish and sender)', d.invocations, 'invocations', 3);
  // Wall-clock time on this machine, most of it waiting on the emulators: it overstates Lambda's duration on AWS.
  figure('function duration (local wall-clock)', d.invocationMs, 'ms', 1);
  figure('log bytes (our JSON lines)', d.logBytes, 'bytes', 0);
  figure('EMF bytes', d.emfBytes, 'bytes', 0);
  figure('log bytes ingested (ours, Lambda platform, EMF, API access log)', ingestedLogBytes(d), 'bytes', 0);
  figure('bytes stored per webhook', d.storedBytes, 'bytes', 0);
  figure('share of invocations traced (X-Ray, at this phase’s rate)', d.tracedShare, 'share', 3);
  figure('secret store calls', d.secretsManagerCalls, 'calls', 3);
  const byIndex = Object.entries(tally.dynamoDb.indexes).map(
    ([name, u]) => `${name} ${(u.write / deliveries).toFixed(2)}W/${(u.read / deliveries).toFixed(2)}R`,
  );
  console.log(
    `  units by index: ${byIndex.join(', ') || 'none'}; DynamoDB requests: ${JSON.stringify(tally.dynamoDb.requests)}, failed ${tally.dynamoDb.failed}`,
  );
  console.log(`  SQS calls: ${JSON.stringify(tally.sqs.calls)}`);
  const cost = costPerMillion(d);
  console.log(
    `  cost per million deliveries (us-east-1 list prices of ${PRICES_CHECKED_ON}, ${FUNCTION_MEMORY_MB} MB arm64 functions, ${MODEL.webhookRetentionDays}-day retention):`,
  );
  for (const [service, usd] of Object.entries(cost)) figure(`cost ${service}`, usd, 'USD per million', 3);
  // Below one invocation a second, the sampling rule's reservoir traces every one.
  figure(
    'cost xray at low rates (every invocation traced)',
    costPerMillion({ ...d, tracedShare: 1 }).xray,
    'USD per million',
    3,
  );
  return cost;
}

/** Further attempts to failing and hanging endpoints, per million attempts, and the monthly floor. */
function printModelledCosts(attemptLogBytes: number): void {
  const emf = emfDocumentBytes([
    ['DeliveryAttemptsFailed', 1],
    ['EndpointResponseTime', 80, 'Milliseconds'],
  ]);
  section('further attempts (model: alone in an invocation, at a low rate), per million attempts');
  for (const kind of ['failing', 'hanging'] as const) {
    const cost = costPerMillion(attemptPerDelivery(kind, attemptLogBytes, emf));
    for (const [service, usd] of Object.entries(cost))
      figure(`${kind} endpoint attempt cost ${service}`, usd, 'USD per million', 3);
  }
  section('monthly floor with no traffic (the default stack, synthesized)');
  const floor = monthlyFloor(deployedCounts());
  for (const [part, usd] of Object.entries(floor)) figure(`floor ${part}`, usd, 'USD per month', 2);
}

try {
  section(`ceilings (${SENDER_CONCURRENCY} concurrent, the fast lane's invocations × batch size)`);
  const rawPosts = await rawPostsPerSecond(
    `${receiver.url}/ceiling`,
    JSON.stringify(invoiceObject(0, 1024)),
    sizes.ceilingSeconds,
    SENDER_CONCURRENCY,
  );
  figure('raw POSTs to the loopback receiver', rawPosts, 'requests/s');
  const rawPuts = await rawPutsPerSecond(stack.dynamoDbEndpoint, sizes.ceilingSeconds, SENDER_CONCURRENCY);
  figure('raw PutItem of 1 KB on DynamoDB Local', rawPuts, 'puts/s');

  // Backlog drain: everything is queued while the pollers are paused, then timed from their start.
  const drainOrg = await organization('Bench drain', [
    { path: '/drain/hmac', algo: 'hmac' },
    { path: '/drain/jwt', algo: 'jwt' },
  ]);
  receiver.reset();
  accounting.reset();
  // The batch route takes 512 KB: with half the payloads at 32 KB, 20 events per call.
  progress(`drain: publishing (batch route, ${DRAIN_BATCH} events per call)`);
  const drainEvents = sizes.drainWebhooks / 2;
  const calls = Array.from({ length: Math.ceil(drainEvents / DRAIN_BATCH) }, (_, c) =>
    Array.from({ length: Math.min(DRAIN_BATCH, drainEvents - c * DRAIN_BATCH) }, (_, i) => c * DRAIN_BATCH + i),
  );
  await Promise.all(
    Array.from({ length: PUBLISHERS }, async () => {
      for (let numbers = calls.shift(); numbers; numbers = calls.shift())
        await publishBatch(drainOrg, numbers, (n) => (n % 2 ? 32 * 1024 : 1024));
    }),
  );
  const drainStarted = performance.now();
  progress('drain: sender started');
  stack.resumeSenders();
  const ticker = setInterval(() => {
    const t = accounting.snapshot();
    progress(
      `drain: ${receiver.received.size} of ${sizes.drainWebhooks} received; invocations ${JSON.stringify(t.invocations)}; SQS ${JSON.stringify(t.sqs.calls)}`,
    );
  }, 10_000);
  await receiver.waitFor(sizes.drainWebhooks).finally(() => clearInterval(ticker));
  const drainSeconds = (performance.now() - drainStarted) / 1000;
  await accounting.idle();
  const drainTally = accounting.snapshot();
  const drainConnections = receiver.connections;
  section(
    `backlog drain: ${sizes.drainWebhooks} webhooks queued, then the sender started (HMAC and JWT; 1 KB and 32 KB payloads)`,
  );
  const drainRate = sizes.drainWebhooks / drainSeconds;
  figure('drain time', drainSeconds, 's');
  figure('drain rate', drainRate, 'deliveries/s');
  figure('drain rate per emulator put/s', drainRate / rawPuts, 'deliveries per put');
  figure('connections opened per delivery (drain)', drainConnections / sizes.drainWebhooks, 'connections', 3);
  const drainCost = printAccounting({
    label: `drain (2 endpoints per event, batch publish of ${DRAIN_BATCH})`,
    tally: drainTally,
    deliveries: sizes.drainWebhooks,
    publishRequests: Math.ceil(drainEvents / DRAIN_BATCH),
    seconds: drainSeconds,
    payloadBytes: (1024 + 32 * 1024) / 2,
  });

  // Steady rate to one warm endpoint: latency from publish to receipt, and what it costs per delivery.
  const steadyOrg = await organization('Bench steady', [{ path: '/steady', algo: 'hmac' }]);
  await publish(steadyOrg, -1, 1024); // warms the endpoint's connection and the caches
  await receiver.waitFor(1);
  await accounting.idle();
  receiver.reset();
  accounting.reset();
  progress('steady');
  const run = await steady(steadyOrg, sizes.steadyRate, sizes.steadySeconds, 1024);
  await receiver.waitFor(run.sent.size);
  await accounting.idle();
  const steadyTally = accounting.snapshot();
  const steadyLatency = latencies(publishToReceipt(run.sent, new Set(['/steady'])));
  section(`steady: ${sizes.steadyRate} events/s for ${sizes.steadySeconds} s to one warm HMAC endpoint, 1 KB payloads`);
  figure('publish rate achieved', run.publishedRate, 'events/s');
  figure('events skipped (publishers all busy)', run.skipped, 'events', 0);
  figure('publish-to-receipt p50', steadyLatency.p50, 'ms');
  figure('publish-to-receipt p95', steadyLatency.p95, 'ms');
  figure('publish-to-receipt p99', steadyLatency.p99, 'ms');
  figure('connections opened per delivery (warm endpoint)', receiver.connections / run.sent.size, 'connections', 3);
  const steadyCost = printAccounting({
    label: 'steady (1 endpoint per event)',
    tally: steadyTally,
    deliveries: run.sent.size,
    publishRequests: run.sent.size,
    seconds: sizes.steadySeconds,
    payloadBytes: 1024,
  });

  // Batch publish to one warm endpoint: the same delivery as the steady phase, published 100 events per call. Before
  // the isolation phase, whose hanging endpoint's webhooks go on retrying in the background and would be counted here.
  receiver.reset();
  accounting.reset();
  progress('batch publish');
  const batchStarted = performance.now();
  const batchNumbers = Array.from({ length: sizes.batchEvents }, (_, i) => 100_000 + i);
  const batchIds: string[] = [];
  for (let i = 0; i < batchNumbers.length; i += 100)
    batchIds.push(...(await publishBatch(steadyOrg, batchNumbers.slice(i, i + 100), () => 1024)));
  await receiver.waitFor(batchIds.length);
  await accounting.idle();
  const batchCost = printAccounting({
    label: 'batch publish (1 endpoint per event, 100 events per call)',
    tally: accounting.snapshot(),
    deliveries: batchIds.length,
    publishRequests: Math.ceil(batchIds.length / 100),
    seconds: (performance.now() - batchStarted) / 1000,
    payloadBytes: 1024,
  });

  // Isolation: the same load to two healthy endpoints, without and then with a third that never answers.
  const healthy = [
    { path: '/healthy/a', algo: 'hmac' as const },
    { path: '/healthy/b', algo: 'jwt' as const },
  ];
  const healthyPaths = new Set(healthy.map((e) => e.path));
  const calmOrg = await organization('Bench calm', healthy);
  const hungOrg = await organization('Bench hung', [...healthy, { path: '/hang', algo: 'hmac' }]);
  receiver.reset();
  progress('isolation');
  const calm = await steady(calmOrg, sizes.isolationRate, sizes.isolationSeconds, 1024);
  await receiver.waitFor(calm.sent.size);
  const calmP99 = latencies(publishToReceipt(calm.sent, healthyPaths)).p99;
  receiver.reset();
  const hung = await steady(hungOrg, sizes.isolationRate, sizes.isolationSeconds, 1024);
  const hungHealthy = [...hung.sent.keys()].length * (2 / 3);
  await receiver.waitFor(Math.round(hungHealthy));
  const hungP99 = latencies(publishToReceipt(hung.sent, healthyPaths)).p99;
  section(
    `isolation: ${sizes.isolationRate} events/s for ${sizes.isolationSeconds} s to two healthy endpoints, without and with a third hanging one (timeout ${HANG_TIMEOUT_MS / 1000} s)`,
  );
  figure('healthy p99 without the hanging endpoint', calmP99, 'ms');
  figure('healthy p99 with the hanging endpoint', hungP99, 'ms');
  figure('isolation ratio', hungP99 / calmP99, 'x', 2);

  printModelledCosts(steadyTally.log.bytes / run.sent.size);

  section('publish modes');
  figure('cost per million, single publish, 1 endpoint per event', steadyCost.total, 'USD', 3);
  figure('cost per million, batch publish, 1 endpoint per event', batchCost.total, 'USD', 3);
  figure('cost per million, batch publish, 2 endpoints per event (drain)', drainCost.total, 'USD', 3);
  figure(
    'EventBridge API destinations, for comparison',
    PRICES.eventBridgeApiDestination.usd * 1e6,
    'USD per million',
    3,
  );
} finally {
  await receiver.close();
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
