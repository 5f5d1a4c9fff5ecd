// Retry now: `POST /api/v1/webhooks/{id}/retry` on a retrying webhook makes its next attempt at once, in its round,
// on a stack whose schedule waits 8 s, then an hour; the old schedule's message never makes a second POST.
import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedStack, LogCapture, type IsolatedStack, type IsolatedTenant } from './helpers.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver } from '../support/receiver.ts';

let isolated: IsolatedStack;
const logs = new LogCapture();

type Tenant = IsolatedTenant;

interface WebhookView {
  lago_id: string;
  unique_key: string;
  status: string;
  attempts_count: number;
  retries: number;
  next_attempt_at: string | null;
  response: string | null;
  attempts: { number: number; http_status: number | null }[];
}

const tenant = (name: string): Promise<Tenant> => isolated.tenant(name);

const webhookOf = async (org: Tenant, id: string) =>
  (await isolated.call('GET', `/api/v1/webhooks/${id}`, org.key)).body.webhook as WebhookView;
const retry = (org: Tenant, id: string) => isolated.call('POST', `/api/v1/webhooks/${id}/retry`, org.key);
const settles = (org: Tenant, id: string, check: (w: WebhookView) => boolean, what: string) =>
  eventually(
    async () => {
      const w = await webhookOf(org, id);
      return check(w) ? w : undefined;
    },
    20_000,
    what,
  );

/** The sender's debug line for a message it dropped, for this webhook. */
const dropped = (id: string) =>
  logs.lines.filter((line) => line.includes('delivery message dropped') && line.includes(id));

beforeAll(async () => {
  isolated = await isolatedStack(
    'retry-now',
    {
      WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8',
      WEBHOOK_ALLOW_HTTP: 'true',
      // The second attempt 8 s (±20 %) after the first, the third an hour after the second: a chain of hops.
      WEBHOOK_RETRY_SCHEDULE: '8,3600',
      WEBHOOK_TIMEOUT_MS: '1000',
    },
    { logLevel: 'debug', logDestination: logs },
  );
});

afterAll(async () => {
  await isolated?.stop();
});

describe('Retry now on a retrying webhook', () => {
  const state = { up: false };
  const receiver = new Receiver((_req, res) =>
    state.up ? res.writeHead(200).end('ok') : res.writeHead(500).end('down'),
  );
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  it('makes the next attempt now, in its round, and the old schedule makes no second POST', async () => {
    const org = await tenant('Retry now');
    const intruder = await tenant('Retry now intruder');
    const created = await isolated.call('POST', '/api/v1/webhook_endpoints', org.key, {
      webhook_endpoint: { webhook_url: receiver.url, signature_algo: 'hmac' },
    });
    expect(created.status).toBe(200);
    const hmacKey = (
      (await isolated.call('GET', '/api/v1/webhooks/hmac_key', org.key)).body.webhook as {
        hmac_key: string;
      }
    ).hmac_key;
    const id = (await isolated.publish(org, randomUUID()))[0]!.lago_id;
    const posts = () => receiver.received.filter((r) => r.headers['x-lago-unique-key'] === id);

    // The first attempt fails; the second is about 8 s away.
    const first = await settles(org, id, (w) => w.status === 'retrying', 'the first attempt to fail');
    expect(first).toMatchObject({ attempts_count: 1, http_status: 500, response: 'down' });
    const scheduledAt = Date.parse(first.next_attempt_at!);
    expect(scheduledAt).toBeGreaterThan(Date.now() + 3000);

    // Another organization's click is a 404 and changes nothing.
    expect((await retry(intruder, id)).status).toBe(404);

    // Retry now: the answer shows it due now; the receiver gets the second attempt well before the schedule's time.
    const clicked = Date.now();
    const click = await retry(org, id);
    expect(click.status).toBe(200);
    const view = click.body.webhook as WebhookView;
    expect(view).toMatchObject({ lago_id: id, unique_key: id, status: 'retrying', attempts_count: 1 });
    expect(Date.parse(view.next_attempt_at!)).toBeLessThan(scheduledAt);
    const [, second] = await receiver.waitFor(2, 5000);
    expect(second!.at).toBeLessThan(scheduledAt);
    expect(second!.at - clicked).toBeLessThan(5000);
    expect(second!.headers['x-lago-unique-key']).toBe(id);
    expect(second!.headers['x-lago-signature']).toBe(
      createHmac('sha256', hmacKey).update(second!.body).digest('base64'),
    );

    // It failed too, as the round's second attempt: the third follows the schedule's next step, an hour away.
    const after = await settles(org, id, (w) => w.attempts_count === 2, 'the second attempt to be recorded');
    expect(after).toMatchObject({ status: 'retrying', retries: 1 });
    expect(Date.parse(after.next_attempt_at!) - Date.now()).toBeGreaterThan(3000 * 1000);

    // The old schedule's message for the second attempt arrives about 8 s after the first, and is dropped.
    const stale = await eventually(
      () =>
        dropped(id).some((line) => line.includes('message for attempt 2, the webhook is at 3')) ? true : undefined,
      20_000,
      "the old schedule's message to be dropped",
    );
    expect(stale).toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(scheduledAt - 1000);
    expect(posts()).toHaveLength(2);
    expect((await webhookOf(org, id)).attempts_count).toBe(2);

    // Retry now again, with the next attempt an hour away (a chain of hops): this time the receiver takes it.
    state.up = true;
    const again = await retry(org, id);
    expect(again.status).toBe(200);
    const done = await settles(org, id, (w) => w.status === 'succeeded', 'the retried webhook to succeed');
    expect(done).toMatchObject({ attempts_count: 3, http_status: 200, response: 'ok', next_attempt_at: null });
    expect(done.attempts.map((a) => a.http_status)).toEqual([500, 500, 200]);
    expect(posts()).toHaveLength(3);
    for (const post of posts()) expect(post.body).toBe(posts()[0]!.body);

    // Succeeded, it is Lago's 405.
    const refused = await retry(org, id);
    expect(refused.status).toBe(405);
    expect(refused.body).toEqual({ status: 405, error: 'Method Not Allowed', code: 'is_succeeded' });
  });
});
