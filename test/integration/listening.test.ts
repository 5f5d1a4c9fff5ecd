// Delivery that listens to the receiver (issue 22 item 3), on a local service of its own with small settings (a 1 s
// retry schedule, a breaker opening after 3 failures with a 3 s cool-down): a 429 or 503's Retry-After (seconds or an
// HTTP date) sets the next attempt instead of the schedule's step, as the receiver's arrival times show; the circuit
// breaker opens, sends no POST during its cool-down, probes, opens again on a failed probe, and closes on a successful
// one, with its operational events, and the waiting webhooks arrive; an endpoint's max_rps holds across two sender
// processes sharing the table and the queues (a second local service on the same emulators), and every webhook arrives.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalService, type LocalService } from '#infra/local/service.ts';
import type { FileOperationalEvents } from '#shared/adapters/file-events.ts';
import { deliveryConfigFromEnv } from '#shared/runtime/config.ts';
import { isolatedStack, LogCapture, type IsolatedStack, type IsolatedTenant } from './helpers.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver, type Received } from '../support/receiver.ts';

const COOLDOWN_SECONDS = 3;
const ENV = {
  WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8',
  WEBHOOK_ALLOW_HTTP: 'true',
  WEBHOOK_RETRY_SCHEDULE: '1,1,1,1,1,1,1,1,1,1',
  // Generous for a loaded machine: an attempt is not cut and made again in the slow lane.
  WEBHOOK_TIMEOUT_MS: '5000',
  WEBHOOK_FAST_LANE_MS: '5000',
  WEBHOOK_SLOW_AFTER_MS: '3000',
  // Few pollers: on a loaded machine, fewer handlers at once keep the time between a place taken and its POST short.
  WEBHOOK_FAST_LANE_CONCURRENCY: '2',
  WEBHOOK_SLOW_LANE_CONCURRENCY: '1',
  WEBHOOK_AUTO_DISABLE_AFTER: '0',
  WEBHOOK_BREAKER_FAILURES: '3',
  WEBHOOK_BREAKER_COOLDOWN_SECONDS: String(COOLDOWN_SECONDS),
};

let isolated: IsolatedStack;
const logs = new LogCapture();

type Tenant = IsolatedTenant;

interface EndpointView {
  lago_id: string;
  max_rps: number | null;
  circuit: { state: 'closed' | 'open' | 'half_open'; opened_at: string | null };
}

interface WebhookView {
  lago_id: string;
  status: string;
  attempts_count: number;
}

beforeAll(async () => {
  isolated = await isolatedStack('listening', ENV, { logLevel: 'debug', logDestination: logs });
});

afterAll(async () => {
  await isolated?.stop();
});

const tenant = (name: string): Promise<Tenant> => isolated.tenant(name);

const createEndpoint = (org: Tenant, endpoint: Record<string, unknown>) =>
  isolated.createEndpoint<EndpointView>(org, endpoint);

const endpointView = async (org: Tenant, id: string) =>
  (await isolated.call('GET', `/api/v1/webhook_endpoints/${id}`, org.key)).body.webhook_endpoint as EndpointView;

async function publish(org: Tenant, objectId: string): Promise<string> {
  const [webhook] = await isolated.publish(org, objectId);
  return webhook!.lago_id;
}

const webhookView = async (org: Tenant, id: string) =>
  (await isolated.call('GET', `/api/v1/webhooks/${id}`, org.key)).body.webhook as WebhookView;

async function settled(org: Tenant, ids: string[]): Promise<WebhookView[]> {
  return eventually(
    async () => {
      const views = await Promise.all(ids.map((id) => webhookView(org, id)));
      return views.every((w) => w.status === 'succeeded') ? views : undefined;
    },
    30_000,
    'every webhook to succeed',
  );
}

async function eventTypes(endpointId: string): Promise<string[]> {
  const file = (isolated.local.deps.events as FileOperationalEvents).file;
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { 'detail-type': string; detail: { endpoint_id: string } })
    .filter((event) => event.detail.endpoint_id === endpointId)
    .map((event) => event['detail-type']);
}

describe('Retry-After', () => {
  it("a 429 with Retry-After: 5 gets its next attempt 5 s later, not the schedule's 1 s nor the 60 s floor", async () => {
    const receiver = await new Receiver((_req, res, count) =>
      count === 1 ? res.writeHead(429, { 'retry-after': '5' }).end() : res.writeHead(200).end(),
    ).start();
    try {
      const org = await tenant('Retry After Co');
      await createEndpoint(org, { webhook_url: receiver.url });
      const id = await publish(org, 'inv_429');
      const [first, second] = await receiver.waitFor(2, 20_000);
      console.log(`Retry-After: 5 → second POST ${second!.at - first!.at} ms after the first`);
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(5000);
      expect(second!.at - first!.at).toBeLessThan(15_000);
      expect(await settled(org, [id])).toMatchObject([{ status: 'succeeded', attempts_count: 2 }]);
    } finally {
      await receiver.stop();
    }
  });

  it('a 503 with Retry-After as an HTTP date gets its next attempt no sooner than that date', async () => {
    let asked = 0;
    const receiver = await new Receiver((_req, res, count) => {
      if (count > 1) return res.writeHead(200).end();
      const date = new Date(Date.now() + 6000).toUTCString();
      asked = Date.parse(date);
      res.writeHead(503, { 'retry-after': date }).end();
    }).start();
    try {
      const org = await tenant('Retry Date Co');
      await createEndpoint(org, { webhook_url: receiver.url });
      const id = await publish(org, 'inv_503');
      const [first, second] = await receiver.waitFor(2, 20_000);
      // The date has whole seconds: at least 5 s after the first POST, and not before the date itself.
      expect(second!.at).toBeGreaterThanOrEqual(asked);
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(5000);
      expect(second!.at - first!.at).toBeLessThan(15_000);
      expect(await settled(org, [id])).toMatchObject([{ status: 'succeeded', attempts_count: 2 }]);
    } finally {
      await receiver.stop();
    }
  });
});

describe('circuit breaker', () => {
  it('opens after 3 failures, posts nothing during its cool-down, opens again on a failed probe, closes on a good one, and the waiting webhooks arrive', async () => {
    // Three failed attempts open it; the first probe fails too; then the receiver is healthy.
    const receiver = await new Receiver((_req, res, count) => res.writeHead(count <= 4 ? 500 : 200).end()).start();
    try {
      const org = await tenant('Breaker Co');
      const endpoint = await createEndpoint(org, { webhook_url: receiver.url });
      expect(endpoint.circuit).toEqual({ state: 'closed', opened_at: null });
      const first = await publish(org, 'inv_first');
      await receiver.waitFor(3, 20_000);
      const open = await eventually(
        async () => {
          const view = await endpointView(org, endpoint.lago_id);
          return view.circuit.state === 'open' ? view : undefined;
        },
        10_000,
        'the breaker to open',
      );
      expect(open.circuit.opened_at).toMatch(/Z$/);
      expect(await eventTypes(endpoint.lago_id)).toEqual(['Webhook Endpoint Circuit Opened']);
      // Published while it is open: they wait, with no attempt.
      const waiting = [await publish(org, 'inv_second'), await publish(org, 'inv_third')];
      await eventually(
        async () => {
          const views = await Promise.all(waiting.map((id) => webhookView(org, id)));
          return views.every((w) => w.attempts_count === 0) &&
            logs.lines.filter((l) => l.includes('circuit breaker open: webhook waits')).length >= 2
            ? true
            : undefined;
        },
        10_000,
        'the new webhooks to wait',
      );
      expect((await webhookView(org, first)).attempts_count).toBe(3);

      // The probe after the cool-down fails; the next one, a cool-down later, succeeds; then the rest arrive.
      const all = await receiver.waitFor(7, 30_000);
      const gap = (a: Received, b: Received) => b.at - a.at;
      expect(gap(all[2]!, all[3]!)).toBeGreaterThanOrEqual(COOLDOWN_SECONDS * 1000);
      expect(gap(all[3]!, all[4]!)).toBeGreaterThanOrEqual(COOLDOWN_SECONDS * 1000);
      const views = await settled(org, [first, ...waiting]);
      // Four failed attempts and three successes: no attempt was spent while the breaker was open.
      expect(views.reduce((sum, w) => sum + w.attempts_count, 0)).toBe(7);
      expect(receiver.received).toHaveLength(7);
      expect((await endpointView(org, endpoint.lago_id)).circuit).toEqual({ state: 'closed', opened_at: null });
      await eventually(
        async () => ((await eventTypes(endpoint.lago_id)).length === 3 ? true : undefined),
        10_000,
        'the closed event',
      );
      // Its first success after failing is a recovery as well.
      expect(await eventTypes(endpoint.lago_id)).toEqual([
        'Webhook Endpoint Circuit Opened',
        'Webhook Endpoint Recovered',
        'Webhook Endpoint Circuit Closed',
      ]);
      expect(logs.lines.filter((l) => l.includes('circuit breaker probe failed: open again'))).toHaveLength(1);
    } finally {
      await receiver.stop();
    }
  }, 60_000);
});

describe('max_rps', () => {
  let second: LocalService;
  const secondLogs = new LogCapture();

  beforeAll(async () => {
    // A second sender process on the same table and queues (and the same keys, from the same data directory).
    second = await startLocalService({
      port: 0,
      dataDir: isolated.dataDir,
      adminToken: isolated.local.adminToken,
      config: deliveryConfigFromEnv(ENV),
      dynamoDbEndpoint: isolated.local.dynamoDbEndpoint,
      sqsEndpoint: isolated.local.sqsEndpoint,
      logLevel: 'info',
      logDestination: secondLogs,
    });
  }, 120_000);

  afterAll(async () => {
    await second?.stop();
  });

  it('holds an endpoint to 5 attempts a second across two sender processes, and delivers every webhook', async () => {
    const receiver = await new Receiver().start();
    try {
      const org = await tenant('Rate Co');
      const endpoint = await createEndpoint(org, { webhook_url: receiver.url, max_rps: 5 });
      expect(endpoint.max_rps).toBe(5);
      const ids = await Promise.all(Array.from({ length: 40 }, (_, n) => publish(org, `inv_rps_${n}`)));
      // Every webhook arrives (one whose answer came too late for the fast lane is posted again by the slow lane).
      const unique = () => new Set(receiver.received.map((r) => r.headers['x-lago-unique-key']));
      await eventually(() => (unique().size >= 40 ? true : undefined), 30_000, 'every webhook to arrive');
      expect(unique()).toEqual(new Set(ids));
      const received = receiver.received.slice();
      // Every full second of the receiver's clock gets at most 6 (5 within 20 %).
      const times = received.map((r) => r.at).sort((a, b) => a - b);
      const perSecond = new Map<number, number>();
      for (const t of times) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
      const sliding = Math.max(...times.map((start) => times.filter((t) => t >= start && t < start + 1000).length));
      console.log(`max_rps 5: busiest second ${Math.max(...perSecond.values())}, busiest sliding second ${sliding}`);
      expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(6);
      // 40 at 5 a second take about 8 s.
      expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(6000);
      // Both processes delivered some, every webhook once (each one's log line follows its record: wait for those).
      await settled(org, ids);
      const mine = (lines: string[]) =>
        lines.filter((l) => l.includes('webhook delivered') && l.includes(endpoint.lago_id)).length;
      const logged = () => mine(logs.lines) + mine(secondLogs.lines);
      await eventually(() => (logged() >= 40 ? true : undefined), 10_000, 'every delivery logged');
      expect(mine(logs.lines)).toBeGreaterThan(0);
      expect(mine(secondLogs.lines)).toBeGreaterThan(0);
      expect(mine(logs.lines) + mine(secondLogs.lines)).toBe(40);
      expect(logs.lines.some((l) => l.includes('rate limited by max_rps: message sent again later'))).toBe(true);
    } finally {
      await receiver.stop();
    }
  }, 60_000);
});
