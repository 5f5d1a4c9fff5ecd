// Replay of a window into one endpoint, on the local service: each event the endpoint listens to arrives again, succeeded
// ones included, under the same unique key and signed; an event it never had gets a webhook of its own; filters,
// refusals and another organization's ids.
import { createHmac, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createOrg, publish, removedAfterEach, request, webhookSettles, type Org } from './helpers.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver, type Received } from '../support/receiver.ts';

const { receiver, endpoint } = removedAfterEach();

interface ReplayAnswer {
  replayed: number;
  has_more: boolean;
  next_to_date: string | null;
}

const replay = (org: Org, endpointId: string, body: unknown) =>
  request<ReplayAnswer>('POST', `/api/v1/webhook_endpoints/${endpointId}/replay`, { token: org.apiKey, body });

/** The event's object id, as the receiver read it from the body. */
const objectOf = (r: Received) =>
  JSON.parse(r.body) as { invoice?: { lago_id: string }; customer?: { lago_id: string } };
const objectIdOf = (r: Received) => {
  const body = objectOf(r);
  return (body.invoice ?? body.customer)!.lago_id;
};

function expectSigned(received: Received[], hmacKey: string) {
  for (const r of received)
    expect(r.headers['x-lago-signature']).toBe(createHmac('sha256', hmacKey).update(r.body).digest('base64'));
}

/** The moment every webhook published so far was created at or before. */
function clockBoundary(): number {
  const at = Date.now();
  while (Date.now() <= at) {
    // at most a millisecond: the next publish carries a later timestamp
  }
  return at;
}

describe('replaying a window into an endpoint', () => {
  it('sends each matching event again under its unique key, an event the endpoint never had under a key of its own', async () => {
    const org = await createOrg('Replay');
    const hmacKey = (
      await request<{ webhook: { hmac_key: string } }>('GET', '/api/v1/webhooks/hmac_key', { token: org.apiKey })
    ).body.webhook.hmac_key;
    const down = { on: true };
    // A fails the event `inv_fail` while `down.on`.
    const a: Receiver = await receiver((_req, res, count) =>
      res.writeHead(down.on && a.received[count - 1]!.body.includes('inv_fail') ? 500 : 200).end(),
    );
    const b = await receiver();
    const endpointA = await endpoint(org, { webhook_url: a.url });
    const endpointB = await endpoint(org, { webhook_url: b.url, event_types: ['invoice.created'] });

    const from = new Date(clockBoundary()).toISOString();
    const ids: Record<string, Record<string, string>> = {};
    for (const [type, object] of [
      ['invoice.created', 'inv_ok'],
      ['customer.created', 'cus_ok'],
      ['invoice.created', 'inv_fail'],
    ] as const) {
      const res = await publish(org, type, { lago_id: object });
      expect(res.status).toBe(202);
      ids[object] = Object.fromEntries(res.body.webhooks.map((w) => [w.lago_webhook_endpoint_id, w.lago_id]));
    }
    const failedId = ids.inv_fail![endpointA]!;
    await webhookSettles(org, failedId, ['failed'], 30_000);
    for (const [object, byEndpoint] of Object.entries(ids))
      for (const id of Object.values(byEndpoint))
        if (id !== failedId)
          await webhookSettles(org, id, ['succeeded']).then((w) => expect(w.status, object).toBe('succeeded'));
    const to = new Date(clockBoundary()).toISOString();
    const window = { from_date: from, to_date: to };

    // C is created after the events: it never had them. It listens to invoices only.
    const c = await receiver();
    const endpointC = await endpoint(org, { webhook_url: c.url, event_types: ['invoice.created'] });
    const first = await replay(org, endpointC, window);
    expect(first.status, first.text).toBe(202);
    expect(first.body).toEqual({ replayed: 2, has_more: false, next_to_date: null });
    const arrived = await c.waitFor(2);
    // Each invoice once, though A and B both had it; the customer event C does not listen to never comes.
    expect(arrived.map(objectIdOf).sort()).toEqual(['inv_fail', 'inv_ok']);
    expectSigned(arrived, hmacKey);
    for (const r of arrived) expect(r.body).toBe(b.received.find((x) => objectIdOf(x) === objectIdOf(r))!.body);
    const keysOfC = Object.fromEntries(arrived.map((r) => [objectIdOf(r), r.headers['x-lago-unique-key'] as string]));
    // Its webhooks are in its log, at the events' time, and succeed.
    for (const key of Object.values(keysOfC)) {
      const w = await webhookSettles(org, key, ['succeeded']);
      expect(w).toMatchObject({ lago_id: key, unique_key: key, lago_webhook_endpoint_id: endpointC });
    }

    // Again: the same events, under the same keys as the first replay (resent, not made again).
    const second = await replay(org, endpointC, window);
    expect(second.body).toEqual({ replayed: 2, has_more: false, next_to_date: null });
    const again = (await c.waitFor(4)).slice(2);
    expect(Object.fromEntries(again.map((r) => [objectIdOf(r), r.headers['x-lago-unique-key']]))).toEqual(keysOfC);
    expect(c.received).toHaveLength(4);

    // Into A, only the failed one: it arrives again under A's own key, and succeeds now.
    down.on = false;
    const receivedByA = a.received.length;
    const failedOnly = await replay(org, endpointA, { ...window, statuses: ['failed'] });
    expect(failedOnly.body).toEqual({ replayed: 1, has_more: false, next_to_date: null });
    const [retried] = (await a.waitFor(receivedByA + 1)).slice(receivedByA);
    expect(retried!.headers['x-lago-unique-key']).toBe(failedId);
    expect(objectIdOf(retried!)).toBe('inv_fail');
    expectSigned([retried!], hmacKey);
    await webhookSettles(org, failedId, ['succeeded']);

    // Into A, one type only: the customer event, under A's key.
    const customers = await replay(org, endpointA, { ...window, webhook_types: ['customer.created'] });
    expect(customers.body).toEqual({ replayed: 1, has_more: false, next_to_date: null });
    const [customer] = (await a.waitFor(receivedByA + 2)).slice(receivedByA + 1);
    expect(customer!.headers['x-lago-unique-key']).toBe(ids.cus_ok![endpointA]);

    // Into A, everything in the window: its three events, each under its own key; nothing else arrives.
    await eventually(
      async () => {
        const list = await request<{ webhooks: { status: string }[] }>(
          'GET',
          `/api/v1/webhooks?webhook_endpoint_id=${endpointA}`,
          { token: org.apiKey },
        );
        return list.body.webhooks.every((w) => w.status === 'succeeded') || undefined;
      },
      20_000,
      "A's webhooks to be delivered",
    );
    const all = await replay(org, endpointA, window);
    expect(all.body).toEqual({ replayed: 3, has_more: false, next_to_date: null });
    const replayedToA = (await a.waitFor(receivedByA + 5)).slice(receivedByA + 2);
    expect(Object.fromEntries(replayedToA.map((r) => [objectIdOf(r), r.headers['x-lago-unique-key']]))).toEqual({
      inv_ok: ids.inv_ok![endpointA],
      cus_ok: ids.cus_ok![endpointA],
      inv_fail: failedId,
    });
    expectSigned(replayedToA, hmacKey);

    // A window before the events replays nothing.
    const before = await replay(org, endpointB, { from_date: '2020-01-01', to_date: '2020-01-02' });
    expect(before.body).toEqual({ replayed: 0, has_more: false, next_to_date: null });
    // Another organization's replay into its own endpoint finds none of these.
    const other = await createOrg('Replay neighbour');
    const d = await receiver();
    const endpointD = await endpoint(other, { webhook_url: d.url });
    expect((await replay(other, endpointD, window)).body).toEqual({ replayed: 0, has_more: false, next_to_date: null });
    // And another organization's endpoint is a 404.
    expect((await replay(other, endpointC, window)).body).toEqual({
      status: 404,
      error: 'Not Found',
      code: 'webhook_endpoint_not_found',
    });
    expect(c.received).toHaveLength(4);
    expect(d.received).toHaveLength(0);
  });

  it('refuses bad input with a 422, an unknown endpoint with a 404 and a disabled one with a 409, replaying nothing', async () => {
    const org = await createOrg('Replay refusals');
    const r = await receiver();
    const id = await endpoint(org, { webhook_url: r.url });
    const today = new Date().toISOString().slice(0, 10);
    const cases: [unknown, Record<string, string[]>][] = [
      [{}, { from_date: ['value_is_mandatory'], to_date: ['value_is_mandatory'] }],
      [{ from_date: today }, { to_date: ['value_is_mandatory'] }],
      [{ from_date: '2026-02-01', to_date: '2026-01-01' }, { to_date: ['must_be_after_from_date'] }],
      [{ from_date: '2026-01-01', to_date: '2026-01-16' }, { to_date: ['window_exceeds_14_days'] }],
      [{ from_date: 'yesterday', to_date: today }, { from_date: ['invalid_date'] }],
      [{ from_date: today, to_date: today, statuses: ['lost'] }, { statuses: ['value_is_invalid'] }],
      [{ from_date: today, to_date: today, webhook_types: ['invoice.eaten'] }, { webhook_types: ['value_is_invalid'] }],
      [{ from_date: today, to_date: today, statuses: [] }, { statuses: ['value_is_invalid'] }],
    ];
    for (const [body, details] of cases) {
      const res = await replay(org, id, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body, JSON.stringify(body)).toMatchObject({
        status: 422,
        error: 'Unprocessable Entity',
        code: 'validation_errors',
        error_details: details,
      });
    }
    const unknown = await replay(org, randomUUID(), { from_date: today, to_date: today });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ status: 404, error: 'Not Found', code: 'webhook_endpoint_not_found' });

    const disabled = await request('PUT', `/api/v1/webhook_endpoints/${id}`, {
      token: org.apiKey,
      body: { webhook_endpoint: { disabled: true } },
    });
    expect(disabled.status).toBe(200);
    const refused = await replay(org, id, { from_date: today, to_date: today });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ status: 409, code: 'webhook_endpoint_disabled' });
    expect(r.received).toHaveLength(0);
  });
});
