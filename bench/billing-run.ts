/**
 * `npm run bench:billing-run`: the billing run of issue 19 on the scale model of AWS's limits
 * (docs/aws-limits.md). One organization publishes BILLING_EVENTS events (2,000) by batch, 100 per
 * call, as fast as the API takes them. Three runs, each on a service of its own sharing one
 * DynamoDB Local: the healthy endpoint alone with WEBHOOK_SHARDS=8, the same with 1 shard, and the
 * healthy endpoint with a slow one (answers after 2 s) and a failing one (500). It prints how long
 * every healthy webhook took and the ratios, duplicate POSTs, throttles seen and absorbed, the
 * busiest key's write units per second, timers fired per second and lost webhooks; it exits 1 if a
 * webhook was lost or POSTed twice (the slow endpoint's attempts cut at the fast lane's budget aside).
 * BILLING_SCALE (0.05) is the model's factor, BILLING_TIMEOUT_MINUTES (30) each run's bound, BILLING_OTHERS=false skips the third run. BENCHMARKS.md has
 * the figures and their extrapolation to AWS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { localCredentials, startDynamoDbLocal } from '#infra/local/emulators.ts';
import { billingRun, type BillingRunOptions, type BillingRunResult } from './billing.ts';

const envNumber = (name: string, fallback: number) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
};

const events = Math.round(envNumber('BILLING_EVENTS', 2_000));
const scale = envNumber('BILLING_SCALE', 0.05);
const shards = Math.round(envNumber('BILLING_SHARDS', 8));
const timeoutMs = envNumber('BILLING_TIMEOUT_MINUTES', 30) * 60_000;
/** BILLING_OTHERS=false: the shard comparison alone, without the run beside a slow and a failing endpoint. */
const withOthers = process.env.BILLING_OTHERS !== 'false';

const figure = (label: string, value: number, unit: string, digits = 1) =>
  console.log(`  ${label}: ${value.toFixed(digits)} ${unit}`);
const started = performance.now();
const progress = (what: string) =>
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${what}\n`);

const cpu = cpus();
console.log(`lago-webhooks billing run, ${new Date().toISOString()}`);
console.log(
  `machine: ${cpu.length} cores (${cpu[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`,
);
console.log(
  `events: ${events} by batch publish (100 per call); AWS limits model at ${scale}: ${1000 * scale} WCU/s and ${3000 * scale} RCU/s per partition key`,
);

function print(title: string, result: BillingRunResult) {
  const { dynamoDb } = result.limits;
  console.log(`\n${title}`);
  figure('webhooks accepted (healthy, slow, failing)', result.accepted.healthy, 'healthy', 0);
  console.log(`    slow ${result.accepted.slow}, failing ${result.accepted.failing}`);
  figure('time for the API to take every event', result.publishMs / 1000, 's', 2);
  figure('time to deliver every healthy webhook', result.healthyMs / 1000, 's', 2);
  figure('healthy deliveries', result.healthyPerSecond, 'per s');
  figure('batch calls', result.publishCalls, 'calls', 0);
  figure('events refused (503) and published again', result.republished, 'events', 0);
  figure('duplicate POSTs', result.duplicates, 'POSTs', 0);
  const { healthy, slow, failing } = result.duplicatesByEndpoint;
  console.log(`    healthy ${healthy}, slow ${slow} (fast-lane attempts cut at their budget), failing ${failing}`);
  figure('lost webhooks', result.lost, 'webhooks', 0);
  figure('throttled requests', dynamoDb.throttledRequests, 'requests', 0);
  figure('throttles absorbed by the SDK', dynamoDb.absorbed, 'requests', 0);
  figure('throttles surfaced to the service (retried by it)', dynamoDb.surfaced, 'calls', 0);
  figure('batch items handed back', dynamoDb.unprocessed, 'items', 0);
  figure('records carried by a message', result.recordsCarried, 'records', 0);
  figure('highest write units on one key', dynamoDb.peakWrite?.unitsPerSecond ?? 0, 'WCU/s', 0);
  if (dynamoDb.peakWrite) console.log(`    on ${dynamoDb.peakWrite.index ?? 'table'} key ${dynamoDb.peakWrite.key}`);
  figure('timers fired', result.timersPerSecond, 'per s', 2);
  figure('settled after', result.settledMs / 1000, 's', 1);
  if (!result.settled)
    console.log('    not settled in the time allowed: lost and duplicates count the run as it stood');
}

const dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-billing-run-'));
const dynamo = await startDynamoDbLocal(dataDir, await localCredentials(dataDir));
const base = { events, scale, timeoutMs, dynamoDbEndpoint: dynamo.endpoint } satisfies Partial<BillingRunOptions>;
let failed: boolean;
try {
  progress(`healthy endpoint alone, ${shards} shards`);
  const alone = await billingRun({ ...base, shards, others: false });
  print(`healthy endpoint alone, ${shards} shards`, alone);
  progress('healthy endpoint alone, 1 shard');
  const single = await billingRun({ ...base, shards: 1, others: false });
  print('healthy endpoint alone, 1 shard', single);
  const runs = [alone, single];
  let all: BillingRunResult | undefined;
  if (withOthers) {
    progress(`healthy, slow and failing endpoints, ${shards} shards`);
    all = await billingRun({ ...base, shards, others: true });
    print(`healthy, slow and failing endpoints, ${shards} shards`, all);
    runs.push(all);
  }

  console.log('\nratios');
  figure(`healthy drain rate, ${shards} shards over 1`, alone.healthyPerSecond / single.healthyPerSecond, 'x', 2);
  if (all)
    figure(
      'time to deliver every healthy webhook, with the others over alone',
      all.healthyMs / alone.healthyMs,
      'x',
      2,
    );
  console.log(
    '  note: no wait in this run exceeds SQS’s 15-minute delay (retries 1 s and 2 s apart), so no timer is due;' +
      ' timers are the sweeper’s, reworked by issue 19 items 4-6.',
  );
  // The slow endpoint's duplicates are fast-lane attempts cut at their budget (docs/delivery.md#at-least-once).
  failed = runs.some((r) => r.lost > 0 || r.duplicatesByEndpoint.healthy > 0 || r.duplicatesByEndpoint.failing > 0);
} finally {
  await dynamo.stop();
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
