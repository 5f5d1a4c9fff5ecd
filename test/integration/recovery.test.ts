// Getting failed webhooks delivered after all, on the local service: one retry, bulk recovery after an outage, dead-letter redrive and the sweeper.
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { DELIVERY_DEFAULTS } from '#shared/runtime/config.ts';
import { DynamoDbStore } from '#shared/adapters/dynamodb-store.ts';
import {
  admin,
  createOrg,
  publish,
  removedAfterEach,
  request,
  stack,
  webhook,
  webhookSettles,
  type Org,
} from './helpers.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver, type Received } from '../support/receiver.ts';

const WEBHOOK_NOT_FOUND = { status: 404, error: 'Not Found', code: 'webhook_not_found' };
const ENDPOINT_NOT_FOUND = { status: 404, error: 'Not Found', code: 'webhook_endpoint_not_found' };
const ATTEMPTS_PER_ROUND = () => stack().retrySchedule.length + 1;

const { receiver, endpoint } = removedAfterEach();

/** A receiver that answers 500 until it is switched back on. */
async function outage() {
  const state = { up: false };
  const r = await receiver((_req, res) => (state.up ? res.writeHead(200).end('ok') : res.writeHead(500).end('down')));
  return { receiver: r, restore: () => (state.up = true) };
}

async function publishIds(org: Org, type = 'invoice.created'): Promise<string[]> {
  const res = await publish(org, type, { lago_id: randomUUID() });
  expect(res.status, res.text).toBe(202);
  return res.body.webhooks.map((w) => w.lago_id);
}

const requestsFor = (r: Receiver, id: string) => r.received.filter((x) => x.headers['x-lago-unique-key'] === id);
const retry = (org: Org, id: string) =>
  request<{ webhook: Record<string, unknown> }>('POST', `/api/v1/webhooks/${id}/retry`, { token: org.apiKey });
const recover = (org: Org, body: unknown) => request('POST', '/api/v1/webhooks/recover', { token: org.apiKey, body });
const iso = (ms: number) => new Date(ms).toISOString();

/** The moment every webhook published so far was created at or before, and every later one after. */
function clockBoundary(): number {
  const at = Date.now();
  while (Date.now() <= at) {
    // at most a millisecond: the next publish must carry a later timestamp
  }
  return at;
}

function expectOneUniqueKey(received: Received[], id: string) {
  for (const r of received) {
    expect(r.headers['x-lago-unique-key']).toBe(id);
    expect(r.headers['webhook-id']).toBe(id);
    expect(r.body).toBe(received[0]!.body);
  }
}

describe('retrying one webhook', () => {
  it('delivers a failed webhook once its receiver is back, under the same unique key', async () => {
    const { receiver: r, restore } = await outage();
    const org = await createOrg('Retry');
    const intruder = await createOrg('Retry intruder');
    await endpoint(org, { webhook_url: r.url });
    const [id] = (await publishIds(org)) as [string];

    const failed = await webhookSettles(org, id, ['failed'], 30_000);
    expect(failed).toMatchObject({
      status: 'failed',
      http_status: 500,
      response: 'down',
      attempts_count: ATTEMPTS_PER_ROUND(),
      next_attempt_at: null,
    });

    // Another organization cannot retry it, and its click changes nothing.
    const foreign = await retry(intruder, id);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(WEBHOOK_NOT_FOUND);
    expect((await webhook(org, id)).status).toBe('failed');

    restore();
    const res = await retry(org, id);
    expect(res.status).toBe(200);
    expect(res.body.webhook).toMatchObject({
      lago_id: id,
      unique_key: id,
      status: 'pending',
      attempts_count: ATTEMPTS_PER_ROUND(),
    });

    const done = await webhookSettles(org, id, ['succeeded']);
    const rounds = ATTEMPTS_PER_ROUND();
    expect(done).toMatchObject({
      status: 'succeeded',
      http_status: 200,
      response: 'ok',
      error: null,
      attempts_count: rounds + 1,
      retries: rounds,
      next_attempt_at: null,
    });
    expect(done.attempts.map((a) => a.http_status)).toEqual([...Array<number>(rounds).fill(500), 200]);
    expect(r.received).toHaveLength(rounds + 1);
    expectOneUniqueKey(r.received, id);

    const again = await retry(org, id);
    expect(again.status).toBe(405);
    expect(again.body).toEqual({ status: 405, error: 'Method Not Allowed', code: 'is_succeeded' });
    // To another organization it still does not exist.
    expect((await retry(intruder, id)).body).toEqual(WEBHOOK_NOT_FOUND);
  });

  it('makes exactly one extra delivery for two concurrent retry clicks', async () => {
    const { receiver: r, restore } = await outage();
    const org = await createOrg('Double click');
    await endpoint(org, { webhook_url: r.url });
    const [id] = (await publishIds(org)) as [string];
    await webhookSettles(org, id, ['failed'], 30_000);
    restore();

    const clicks = await Promise.all([retry(org, id), retry(org, id)]);
    // Both clicks are accepted; the later one only reports the state the first one made (405 if the
    // delivery already succeeded in between).
    expect(clicks.map((c) => c.status)).toContain(200);
    for (const click of clicks) expect([200, 405]).toContain(click.status);

    const done = await webhookSettles(org, id, ['succeeded']);
    expect(done.attempts_count).toBe(ATTEMPTS_PER_ROUND() + 1);
    // A webhook published after the retry went through the same queue and arrived: a second message
    // for the retried one would have been delivered by now.
    const [later] = (await publishIds(org, 'customer.created')) as [string];
    await webhookSettles(org, later, ['succeeded']);
    expect(requestsFor(r, id)).toHaveLength(ATTEMPTS_PER_ROUND() + 1);
    expect((await webhook(org, id)).attempts_count).toBe(ATTEMPTS_PER_ROUND() + 1);
  });

  it('leaves a webhook that is still being retried alone', async () => {
    const r = await receiver((_req, res) => res.writeHead(500).end('down'));
    const org = await createOrg('Retry while retrying');
    await endpoint(org, { webhook_url: r.url });
    const [id] = (await publishIds(org)) as [string];
    await webhookSettles(org, id, ['retrying']);
    const click = await retry(org, id);
    expect(click.status).toBe(200);
    expect(click.body.webhook).toMatchObject({ lago_id: id });
    expect(['retrying', 'failed']).toContain(click.body.webhook.status);
    const failed = await webhookSettles(org, id, ['failed'], 30_000);
    // One round only: the click did not start another.
    expect(failed.attempts_count).toBe(ATTEMPTS_PER_ROUND());
    expect(requestsFor(r, id)).toHaveLength(ATTEMPTS_PER_ROUND());
  });

  it('is a 404 for an unknown or malformed id', async () => {
    const org = await createOrg('Retry unknown');
    for (const id of [randomUUID(), 'not-a-webhook']) {
      const res = await retry(org, id);
      expect(res.status, id).toBe(404);
      expect(res.body).toEqual(WEBHOOK_NOT_FOUND);
    }
  });
});

describe('resending a webhook', () => {
  const resend = (org: Org, id: string) =>
    request<{ webhook: Record<string, unknown> }>('POST', `/api/v1/webhooks/${id}/resend`, { token: org.apiKey });

  it('delivers a succeeded webhook again under the same unique key, as a new round in its attempts', async () => {
    const r = await receiver();
    const org = await createOrg('Resend');
    const intruder = await createOrg('Resend intruder');
    await endpoint(org, { webhook_url: r.url });
    const [id] = (await publishIds(org)) as [string];
    await webhookSettles(org, id, ['succeeded']);
    // Lago's retry still refuses it; resend is the way.
    expect((await retry(org, id)).status).toBe(405);
    expect((await resend(intruder, id)).body).toEqual(WEBHOOK_NOT_FOUND);

    const res = await resend(org, id);
    expect(res.status).toBe(200);
    expect(res.body.webhook).toMatchObject({ lago_id: id, unique_key: id, status: 'pending', attempts_count: 1 });
    await r.waitFor(2);
    const done = await webhookSettles(org, id, ['succeeded']);
    expect(done).toMatchObject({ attempts_count: 2, retries: 1, http_status: 200 });
    expect(done.attempts.map((a) => a.http_status)).toEqual([200, 200]);
    expect(r.received).toHaveLength(2);
    expectOneUniqueKey(r.received, id);
  });
});

describe('recovering an endpoint after an outage', () => {
  it('re-delivers every failed webhook of the window and says how many', async () => {
    const { receiver: flaky, restore } = await outage();
    const steady = await receiver();
    const org = await createOrg('Recover');
    const flakyId = await endpoint(org, { webhook_url: flaky.url });
    await endpoint(org, { webhook_url: steady.url, event_types: ['customer.created'] });

    const startedAt = Date.now();
    const before = [...(await publishIds(org)), ...(await publishIds(org))];
    const from = clockBoundary() + 1;
    const inWindow: string[] = [];
    const elsewhere: string[] = [];
    for (const type of [
      'invoice.created',
      'customer.created',
      'invoice.created',
      'customer.created',
      'invoice.created',
      'invoice.created',
    ]) {
      const res = await publish(org, type, { lago_id: randomUUID() });
      for (const w of res.body.webhooks)
        (w.lago_webhook_endpoint_id === flakyId ? inWindow : elsewhere).push(w.lago_id);
    }
    const to = clockBoundary();
    const after = await publishIds(org);
    expect([before.length, inWindow.length, elsewhere.length, after.length]).toEqual([2, 6, 2, 1]);

    for (const id of [...before, ...inWindow, ...after]) await webhookSettles(org, id, ['failed'], 40_000);
    for (const id of elsewhere) await webhookSettles(org, id, ['succeeded']);
    const failedOnFlaky = await request<{ webhooks: { lago_id: string }[] }>(
      'GET',
      `/api/v1/webhooks?webhook_endpoint_id=${flakyId}&statuses[]=failed&per_page=100`,
      { token: org.apiKey },
    );
    expect(failedOnFlaky.body.webhooks).toHaveLength(9);

    restore();
    const res = await recover(org, { webhook_endpoint_id: flakyId, from_date: iso(from), to_date: iso(to) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ recovered: 6, has_more: false });
    for (const id of inWindow) {
      const done = await webhookSettles(org, id, ['succeeded']);
      expect(done).toMatchObject({ http_status: 200, attempts_count: ATTEMPTS_PER_ROUND() + 1, unique_key: id });
      expectOneUniqueKey(requestsFor(flaky, id), id);
      expect(requestsFor(flaky, id)).toHaveLength(ATTEMPTS_PER_ROUND() + 1);
    }
    // Outside the window, and on the other endpoint, nothing was touched.
    for (const id of [...before, ...after]) {
      expect(await webhook(org, id)).toMatchObject({ status: 'failed', attempts_count: ATTEMPTS_PER_ROUND() });
      expect(requestsFor(flaky, id)).toHaveLength(ATTEMPTS_PER_ROUND());
    }
    for (const id of elsewhere) expect(requestsFor(steady, id)).toHaveLength(1);
    const stillFailed = await request<{ webhooks: { lago_id: string }[] }>(
      'GET',
      `/api/v1/webhooks?webhook_endpoint_id=${flakyId}&statuses[]=failed`,
      { token: org.apiKey },
    );
    expect(stillFailed.body.webhooks.map((w) => w.lago_id)).toEqual([...before, ...after].sort().reverse());

    // Nothing left to recover in that window; whole days take in the rest.
    expect((await recover(org, { webhook_endpoint_id: flakyId, from_date: iso(from), to_date: iso(to) })).body).toEqual(
      { recovered: 0, has_more: false },
    );
    const days = await recover(org, {
      webhook_endpoint_id: flakyId,
      from_date: iso(startedAt).slice(0, 10),
      to_date: iso(Date.now()).slice(0, 10),
    });
    expect(days.body).toEqual({ recovered: 3, has_more: false });
    for (const id of [...before, ...after]) await webhookSettles(org, id, ['succeeded']);
  });

  it("refuses windows over 14 days or ending before they start, and other organizations' endpoints", async () => {
    const org = await createOrg('Recover validation');
    const intruder = await createOrg('Recover intruder');
    const id = await endpoint(org, { webhook_url: 'https://example.com/recover' });
    const invalid = (details: Record<string, string[]>) => ({
      status: 422,
      error: 'Unprocessable Entity',
      code: 'validation_errors',
      error_details: details,
    });
    const cases: [Record<string, unknown>, unknown][] = [
      [
        { webhook_endpoint_id: id, from_date: '2026-01-01T00:00:00Z', to_date: '2026-01-15T00:00:01Z' },
        invalid({ to_date: ['window_exceeds_14_days'] }),
      ],
      // A date-only to_date takes in its whole day: the 1st to the 15th is 15 days.
      [
        { webhook_endpoint_id: id, from_date: '2026-01-01', to_date: '2026-01-15' },
        invalid({ to_date: ['window_exceeds_14_days'] }),
      ],
      [
        { webhook_endpoint_id: id, from_date: '2025-01-01', to_date: '2026-01-01' },
        invalid({ to_date: ['window_exceeds_14_days'] }),
      ],
      [
        { webhook_endpoint_id: id, from_date: '2026-01-10', to_date: '2026-01-09' },
        invalid({ to_date: ['must_be_after_from_date'] }),
      ],
      [
        { webhook_endpoint_id: id, from_date: '2026-01-10T10:00:00Z', to_date: '2026-01-10T09:59:59Z' },
        invalid({ to_date: ['must_be_after_from_date'] }),
      ],
      [
        {},
        invalid({
          webhook_endpoint_id: ['value_is_mandatory'],
          from_date: ['value_is_mandatory'],
          to_date: ['value_is_mandatory'],
        }),
      ],
      // An empty date is no date: before, it was read as none and the window had no bound on that side.
      [
        { webhook_endpoint_id: id, from_date: '', to_date: '2026-01-09' },
        invalid({ from_date: ['value_is_mandatory'] }),
      ],
      [{ webhook_endpoint_id: id, from_date: '2026-01-09', to_date: '' }, invalid({ to_date: ['value_is_mandatory'] })],
      [
        { webhook_endpoint_id: 'nope', from_date: 'soon', to_date: 20260101 },
        invalid({ webhook_endpoint_id: ['value_is_invalid'], from_date: ['invalid_date'], to_date: ['invalid_date'] }),
      ],
    ];
    for (const [body, expected] of cases) {
      const res = await recover(org, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body, JSON.stringify(body)).toEqual(expected);
    }
    for (const [from, to] of [
      ['2026-01-01T00:00:00Z', '2026-01-15T00:00:00Z'],
      ['2026-01-01', '2026-01-14'],
      ['2026-01-10', '2026-01-10'],
    ]) {
      const res = await recover(org, { webhook_endpoint_id: id, from_date: from, to_date: to });
      expect(res.status, `${from} ${to}`).toBe(200);
      expect(res.body).toEqual({ recovered: 0, has_more: false });
    }
    const window = { from_date: '2026-01-01', to_date: '2026-01-02' };
    for (const [who, endpointId] of [
      [intruder, id],
      [org, randomUUID()],
    ] as const) {
      const res = await recover(who, { webhook_endpoint_id: endpointId, ...window });
      expect(res.status).toBe(404);
      expect(res.body).toEqual(ENDPOINT_NOT_FOUND);
    }
    const notJson = await request('POST', '/api/v1/webhooks/recover', {
      token: org.apiKey,
      raw: '{"webhook_endpoint_id":',
    });
    expect(notJson.status).toBe(400);
    expect((await recover(org, [id])).status).toBe(400);
  });
});

describe('dead-letter redrive', () => {
  const deadLetters = async () => {
    const res = await admin<{ dead_letters: { count: number; oldest_age_seconds: number | null } }>(
      'GET',
      '/admin/v1/dead_letters',
    );
    expect(res.status).toBe(200);
    return res.body.dead_letters;
  };

  it('holds each exhausted webhook once, empties on redrive and delivers its webhooks with a fresh round of attempts', async () => {
    const rounds = ATTEMPTS_PER_ROUND();
    // Fails a whole round and the first attempt after the redrive, then takes the webhook.
    const seen = new Map<string, number>();
    const r = await receiver((req, res) => {
      const key = req.headers['x-lago-unique-key'] as string;
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      res.writeHead(n <= rounds + 1 ? 500 : 200).end(n <= rounds + 1 ? 'down' : 'ok');
    });
    const org = await createOrg('Redrive');
    await endpoint(org, { webhook_url: r.url });
    const ids = [
      ...(await publishIds(org, 'invoice.created')),
      ...(await publishIds(org, 'customer.created')),
      ...(await publishIds(org, 'payment.succeeded')),
    ];
    for (const id of ids) await webhookSettles(org, id, ['failed'], 40_000);

    // Other test files share this queue: count what this test added and look for its own messages.
    const sqs = new SQSClient({ endpoint: stack().sqsEndpoint, region: 'us-east-1', credentials: stack().credentials });
    try {
      await eventually(
        async () => {
          // Every message of the queue, each counted once by its id (received hidden, then shown again a second later).
          const copies = new Map<string, Set<string>>();
          const handles: string[] = [];
          for (;;) {
            const { Messages = [] } = await sqs.send(
              new ReceiveMessageCommand({
                QueueUrl: stack().deadLetterUrl,
                MaxNumberOfMessages: 10,
                VisibilityTimeout: 120,
              }),
            );
            if (Messages.length === 0) break;
            for (const m of Messages) {
              handles.push(m.ReceiptHandle!);
              const id = (JSON.parse(m.Body ?? '{}') as { webhook_id?: string }).webhook_id ?? '';
              copies.set(id, (copies.get(id) ?? new Set()).add(m.MessageId!));
            }
          }
          for (const handle of handles) {
            // One second, not zero: the emulator's persistent mode loses messages released with 0.
            await sqs.send(
              new ChangeMessageVisibilityCommand({
                QueueUrl: stack().deadLetterUrl,
                ReceiptHandle: handle,
                VisibilityTimeout: 1,
              }),
            );
          }
          if (!ids.every((id) => copies.has(id))) return undefined;
          // Each exhausted webhook is in the dead-letter queue exactly once.
          expect(ids.map((id) => copies.get(id)?.size)).toEqual(ids.map(() => 1));
          return true;
        },
        30_000,
        'the failed webhooks in the dead-letter queue',
      );
    } finally {
      sqs.destroy();
    }
    const full = await eventually(
      async () => {
        const status = await deadLetters();
        // The peeked messages show again a second later; the oldest age needs a visible one.
        if (status.count < ids.length || status.oldest_age_seconds === null)
          throw new Error(`the status says ${JSON.stringify(status)}`);
        return status;
      },
      10_000,
      'the dead-letter count to grow',
    );
    expect(full.oldest_age_seconds).toEqual(expect.any(Number));

    const redrive = await admin<{ redrive: { moved: number } }>('POST', '/admin/v1/dead_letters/redrive');
    expect(redrive.status).toBe(200);
    expect(redrive.body.redrive.moved).toBeGreaterThanOrEqual(ids.length);
    expect(
      await eventually(
        async () => ((await deadLetters()).count === 0 ? true : undefined),
        10_000,
        'an empty dead-letter queue',
      ),
    ).toBe(true);

    for (const id of ids) {
      const done = await webhookSettles(org, id, ['succeeded'], 40_000);
      // Attempt 5 failed and was retried: the redrive gave the webhook a new round, not just one try.
      expect(done.attempts.map((a) => a.http_status)).toEqual([...Array<number>(rounds + 1).fill(500), 200]);
      expect(requestsFor(r, id)).toHaveLength(rounds + 2);
      expectOneUniqueKey(requestsFor(r, id), id);
    }
  });
});

describe('the sweeper', () => {
  /** Overwrites a webhook in the table, as if its message could not be sent while it was live. */
  async function loseMessage(org: Org, id: string, roundAttempts: number) {
    const client = new DynamoDBClient({
      endpoint: stack().dynamoDbEndpoint,
      region: 'us-east-1',
      credentials: stack().credentials,
    });
    try {
      const store = new DynamoDbStore(client, stack().table, { retentionDays: DELIVERY_DEFAULTS.webhookRetentionDays });
      const previous = (await store.getWebhook(org.id, id))!;
      const lost = await store.updateWebhook(previous, {
        ...previous,
        status: 'retrying',
        round_attempts: roundAttempts,
        unqueued: true,
        next_attempt_at_ms: Date.now() - 3_600_000,
      });
      expect(lost).toBeDefined();
    } finally {
      client.destroy();
    }
  }

  it('sends again a webhook left retrying whose message could not be sent', async () => {
    const r = await receiver();
    const org = await createOrg('Sweeper');
    await endpoint(org, { webhook_url: r.url });
    const [id] = (await publishIds(org)) as [string];
    await webhookSettles(org, id, ['succeeded']);
    expect(r.received).toHaveLength(1);

    await loseMessage(org, id, 1);
    await r.waitFor(2, 20_000);
    const done = await webhookSettles(org, id, ['succeeded']);
    expect(done).toMatchObject({ status: 'succeeded', http_status: 200, attempts_count: 2, next_attempt_at: null });
    expectOneUniqueKey(r.received, id);
  });

  it('fails a webhook left retrying after the last attempt of its round, without sending it', async () => {
    const r = await receiver();
    const org = await createOrg('Sweeper exhausted');
    await endpoint(org, { webhook_url: r.url });
    const [id] = (await publishIds(org)) as [string];
    await webhookSettles(org, id, ['succeeded']);

    await loseMessage(org, id, ATTEMPTS_PER_ROUND());
    const failed = await webhookSettles(org, id, ['failed']);
    expect(failed).toMatchObject({
      status: 'failed',
      error: 'retry schedule exhausted',
      attempts_count: 1,
      next_attempt_at: null,
    });
    expect(r.received).toHaveLength(1);
  });
});
