/**
 * `npm run bench:billing-run`: the billing run of issue 19 on the scale model of AWS's limits
 * (docs/aws-limits.md). One organization publishes BILLING_EVENTS events (2,000) by batch, 100 per
 * call, as fast as the API takes them. The runs, each on a service of its own sharing one DynamoDB
 * Local (BILLING_RUNS picks them, all by default):
 * - `publish`: the healthy endpoint alone with WEBHOOK_SHARDS=BILLING_SHARDS (8), then with 1 shard;
 * - `others`: the healthy endpoint beside a slow one (answers after 2 s) and a failing one (500);
 * - `backlog`: BILLING_BACKLOG_EVENTS (200) stored while the senders wait, then drained, with 8
 *   shards and with 1, at BILLING_BACKLOG_SCALE (0.002), where the model bounds one shard's drain
 *   well below this machine's rate, so the ratio is the keys', not the machine's (stored with the
 *   per-key limits off, drained with them on);
 * - `drain`: the healthy endpoint's drain ratio on a stored backlog of BILLING_DRAIN_EVENTS (600): alone,
 *   then beside the slow and the failing endpoints, at BILLING_DRAIN_SCALE (0.005), where the model
 *   bounds the healthy endpoint's drain (its keys throttle) and this machine still has room, so the
 *   ratio is the service's isolation rather than two cores shared three ways.
 * It prints how long every healthy webhook took and the ratios, duplicate POSTs, throttles seen and
 * absorbed, the busiest key's write units per second, timers fired per second and lost webhooks; it
 * exits 1 if a webhook was lost or POSTed twice (the slow endpoint's attempts cut at the fast lane's
 * budget aside). BILLING_SCALE (0.05) is the model's factor, BILLING_TIMEOUT_MINUTES (30) each run's
 * bound; BILLING_LOG=<file> appends every run's service log to that file. BENCHMARKS.md has the
 * figures and their extrapolation to AWS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { localCredentials, startDynamoDbLocal } from '#infra/local/emulators.ts';
import { billingRun, type BillingRunOptions, type BillingRunResult } from './billing.ts';
import { envNumber } from './env.ts';

const events = Math.round(envNumber('BILLING_EVENTS', 2_000));
const scale = envNumber('BILLING_SCALE', 0.05);
const shards = Math.round(envNumber('BILLING_SHARDS', 8));
const timeoutMs = envNumber('BILLING_TIMEOUT_MINUTES', 30) * 60_000;
/** BILLING_RUNS: which runs, of `publish` (alone, 8 and 1 shards), `others` (beside a slow and a failing endpoint), `backlog`, `drain`. */
const parts = new Set((process.env.BILLING_RUNS ?? 'publish,others,backlog,drain').split(','));
/** The backlog runs: events stored first, then drained, at a factor where the model, not this machine, bounds one shard. */
const backlogEvents = Math.round(envNumber('BILLING_BACKLOG_EVENTS', 200));
const backlogScale = envNumber('BILLING_BACKLOG_SCALE', 0.002);
/** The drain ratio's backlog and factor: the healthy endpoint's keys bound its drain, and this machine is not the bound. */
const drainEvents = Math.round(envNumber('BILLING_DRAIN_EVENTS', 600));
const drainScale = envNumber('BILLING_DRAIN_SCALE', 0.005);

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
  figure('of which the drain (from the senders\u2019 start, for a backlog)', result.drainMs / 1000, 's', 2);
  figure('healthy deliveries', result.healthyPerSecond, 'per s');
  figure('until half of them arrived', result.halfDrainMs / 1000, 's', 2);
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
const runs: BillingRunResult[] = [];
async function run(title: string, options: BillingRunOptions) {
  progress(title);
  const result = await billingRun(options);
  print(title, result);
  runs.push(result);
  return result;
}
try {
  // A first run on a fresh DynamoDB Local is slower (its JIT, the table's creation): a small one, not measured, goes first.
  progress('warm-up (not measured)');
  await billingRun({ ...base, events: 100, shards, others: false });
  const ratios: [string, number][] = [];
  if (parts.has('publish')) {
    const alone = await run(`healthy endpoint alone, ${shards} shards`, { ...base, shards, others: false });
    const single = await run('healthy endpoint alone, 1 shard', { ...base, shards: 1, others: false });
    ratios.push([
      `healthy drain rate while publishing, ${shards} shards over 1`,
      alone.healthyPerSecond / single.healthyPerSecond,
    ]);
    if (parts.has('others')) {
      const all = await run(`healthy, slow and failing endpoints, ${shards} shards`, { ...base, shards, others: true });
      ratios.push([
        'time to deliver every healthy webhook, with the others over alone',
        all.healthyMs / alone.healthyMs,
      ]);
    }
  }
  if (parts.has('backlog')) {
    const backlog = { ...base, events: backlogEvents, scale: backlogScale, others: false, backlog: true };
    const many = await run(`a stored backlog of ${backlogEvents}, ${shards} shards (factor ${backlogScale})`, {
      ...backlog,
      shards,
    });
    const one = await run(`a stored backlog of ${backlogEvents}, 1 shard (factor ${backlogScale})`, {
      ...backlog,
      shards: 1,
    });
    ratios.push([
      `drain rate of a stored backlog, ${shards} shards over 1`,
      many.healthyPerSecond / one.healthyPerSecond,
    ]);
    ratios.push(['the same, until half the backlog arrived', one.halfDrainMs / many.halfDrainMs]);
  }
  if (parts.has('drain')) {
    const backlog = { ...base, events: drainEvents, scale: drainScale, shards, backlog: true };
    const alone = await run(`a stored backlog of ${drainEvents}, healthy endpoint alone (factor ${drainScale})`, {
      ...backlog,
      others: false,
    });
    const beside = await run(
      `a stored backlog of ${drainEvents} for each endpoint, healthy, slow and failing (factor ${drainScale})`,
      { ...backlog, others: true },
    );
    ratios.push([
      'drain of a stored backlog, healthy endpoint with the others over alone',
      beside.drainMs / alone.drainMs,
    ]);
  }
  console.log('\nratios');
  for (const [label, value] of ratios) figure(label, value, 'x', 2);
} finally {
  await dynamo.stop();
  await rm(dataDir, { recursive: true, force: true });
}
// The slow endpoint's duplicates are fast-lane attempts cut at their budget (docs/delivery.md#at-least-once).
const failed = runs.some((r) => r.lost > 0 || r.duplicatesByEndpoint.healthy > 0 || r.duplicatesByEndpoint.failing > 0);
process.exit(failed ? 1 : 0);
