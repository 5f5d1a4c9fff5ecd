/**
 * `npm run bench`: publish and delivery on the local stack, measured.
 * Boots a stack in a temporary folder, registers endpoints that answer 200 on loopback, publishes
 * BENCH_EVENTS events (BENCH_CONCURRENCY at a time) and reports publish latency, publish throughput
 * and end-to-end delivery latency (publish accepted → receiver got it). Local emulators are not AWS:
 * the figures compare versions of this code on one machine, they do not predict Lambda's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { deliveryConfigFromEnv } from '#shared/config.ts';
import { generateAdminToken, LOCAL_ALLOW_CIDRS } from '#infra/local/env.ts';
import { startLocalStack } from '#infra/local/stack.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 500);
const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(1)} ms, p95 ${percentile(sorted, 95).toFixed(1)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms`;
};

const dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-bench-'));
const stack = await startLocalStack({
  port: 0,
  dataDir,
  adminToken: generateAdminToken(),
  config: deliveryConfigFromEnv({ WEBHOOK_ALLOW_CIDRS: LOCAL_ALLOW_CIDRS.join(','), WEBHOOK_ALLOW_HTTP: 'true' }),
  logLevel: 'silent',
});

const publishedAt = new Map<string, number>();
const deliveryLatency: number[] = [];
let delivered = 0;
let allDelivered: () => void = () => undefined;
const done = new Promise<void>((resolve) => (allDelivered = resolve));
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const id = req.headers['x-lago-unique-key'] as string;
    const start = publishedAt.get(id);
    if (start !== undefined) deliveryLatency.push(performance.now() - start);
    res.writeHead(200).end();
    if (++delivered === EVENTS * ENDPOINTS) allDelivered();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
const receiverPort = (receiver.address() as { port: number }).port;

const call = async (path: string, token: string, body: unknown) => {
  const res = await fetch(`${stack.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await res.json()) as Record<string, unknown>;
};

try {
  const org = (await call('/admin/v1/organizations', stack.adminToken, { name: 'Bench' })) as { organization: { lago_id: string }; api_key: string };
  for (let i = 0; i < ENDPOINTS; i++) {
    await call('/api/v1/webhook_endpoints', org.api_key, { webhook_endpoint: { webhook_url: `http://127.0.0.1:${receiverPort}/hook/${i}`, signature_algo: i % 2 ? 'hmac' : 'jwt' } });
  }
  const publishLatency: number[] = [];
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < EVENTS) {
        const n = next++;
        const t0 = performance.now();
        const res = (await call('/admin/v1/webhooks', stack.adminToken, {
          organization_id: org.organization.lago_id,
          webhook_type: 'invoice.created',
          object_type: 'invoice',
          object: { lago_id: `inv_${n}`, total_amount_cents: n },
        })) as { webhooks: { lago_id: string }[] };
        for (const w of res.webhooks) if (!publishedAt.has(w.lago_id)) publishedAt.set(w.lago_id, performance.now());
        publishLatency.push(performance.now() - t0);
      }
    }),
  );
  const publishSeconds = (performance.now() - started) / 1000;
  await done;
  const totalSeconds = (performance.now() - started) / 1000;
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
  console.log(`events: ${EVENTS} to ${ENDPOINTS} endpoints (${EVENTS * ENDPOINTS} deliveries), ${CONCURRENCY} publishers`);
  console.log(`publish:  ${(EVENTS / publishSeconds).toFixed(1)} events/s; latency ${summary(publishLatency)}`);
  console.log(`delivery: ${((EVENTS * ENDPOINTS) / totalSeconds).toFixed(1)} deliveries/s; publish-to-receiver ${summary(deliveryLatency)}`);
} finally {
  receiver.close();
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
