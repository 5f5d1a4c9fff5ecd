// Test events on the local service: POST /api/v1/webhook_endpoints/{lago_id}/test sends a signed example of a type to that endpoint
// only (even a type it does not listen to), the receiver verifies both signatures, and the log shows the webhook as a test.
// Unknown endpoints and types are refused in Lago's shape.
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEndpoint, createOrg, request, webhookSettles, type Org } from './helpers.ts';
import { Receiver } from '../support/receiver.ts';
import { withinOneWindow } from '../support/windows.ts';

const target = new Receiver();
const bystander = new Receiver();
let org: Org;
let endpointId: string;

beforeAll(async () => {
  await Promise.all([target.start(), bystander.start()]);
  org = await createOrg('Test events');
  endpointId = await createEndpoint(org, {
    webhook_url: target.url,
    signature_algo: 'hmac',
    event_types: ['invoice.created'],
  });
  await createEndpoint(org, { webhook_url: bystander.url, signature_algo: 'hmac' });
});

afterAll(async () => {
  await Promise.all([target.stop(), bystander.stop()]);
});

type Sent = {
  webhook: {
    lago_id: string;
    lago_webhook_endpoint_id: string;
    webhook_type: string;
    test: boolean;
    status: string;
    payload: Record<string, unknown>;
  };
};

it('sends a signed example of the type to that endpoint only, which verifies, and logs it as a test', async () => {
  const keys = (
    await request<{ webhook: { hmac_key: string; standard_webhooks_secret: string } }>(
      'GET',
      '/api/v1/webhooks/hmac_key',
      { token: org.apiKey },
    )
  ).body.webhook;
  // The endpoint listens to invoice.created only: a test of another type is sent all the same.
  const sent = await request<Sent>('POST', `/api/v1/webhook_endpoints/${endpointId}/test`, {
    token: org.apiKey,
    body: { webhook_type: 'customer.created' },
  });
  expect(sent.status).toBe(200);
  expect(sent.body.webhook).toMatchObject({
    lago_webhook_endpoint_id: endpointId,
    webhook_type: 'customer.created',
    test: true,
  });

  const [got] = await target.waitFor(1);
  expect(got!.headers['x-lago-signature']).toBe(createHmac('sha256', keys.hmac_key).update(got!.body).digest('base64'));
  expect(() =>
    new Webhook(keys.standard_webhooks_secret).verify(got!.body, got!.headers as Record<string, string>),
  ).not.toThrow();
  const payload = JSON.parse(got!.body) as Record<string, unknown>;
  expect(payload).toMatchObject({ webhook_type: 'customer.created', object_type: 'customer', organization_id: org.id });
  expect(payload.customer).toMatchObject({ external_id: 'cus_test_001' });
  expect(payload).toEqual(sent.body.webhook.payload);

  const settled = await webhookSettles(org, sent.body.webhook.lago_id, ['succeeded']);
  expect(settled.test).toBe(true);
  const listed = await request<{ webhooks: { lago_id: string; test: boolean }[] }>(
    'GET',
    `/api/v1/webhooks?webhook_endpoint_id=${endpointId}`,
    { token: org.apiKey },
  );
  expect(listed.body.webhooks.find((w) => w.lago_id === sent.body.webhook.lago_id)?.test).toBe(true);
  // The other endpoint, which listens to every type, received nothing.
  expect(bystander.received).toHaveLength(0);
});

it("can send every category's example: a type with its category's object, in Lago's envelope", async () => {
  const sent = await request<Sent>('POST', `/api/v1/webhook_endpoints/${endpointId}/test`, {
    token: org.apiKey,
    body: { webhook_type: 'invoice.payment_failure' },
  });
  expect(sent.status).toBe(200);
  expect(sent.body.webhook.payload).toMatchObject({
    webhook_type: 'invoice.payment_failure',
    object_type: 'invoice',
    invoice: { number: 'TEST-001' },
  });
  const done = await webhookSettles(org, sent.body.webhook.lago_id, ['succeeded']);
  expect(done.attempts).toHaveLength(1);
});

it("refuses an unknown endpoint (or another organization's) with a 404 and an unknown type with a 422, in Lago's shape", async () => {
  const other = await createOrg('Not the owner');
  for (const [token, id] of [
    [org.apiKey, '0190a0a0-0000-7000-8000-000000000000'],
    [org.apiKey, 'not-a-uuid'],
    [other.apiKey, endpointId],
  ] as const) {
    const res = await request('POST', `/api/v1/webhook_endpoints/${id}/test`, {
      token,
      body: { webhook_type: 'customer.created' },
    });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ status: 404, error: 'Not Found', code: 'webhook_endpoint_not_found' });
  }
  const unknown = await request('POST', `/api/v1/webhook_endpoints/${endpointId}/test`, {
    token: org.apiKey,
    body: { webhook_type: 'invoice.exploded' },
  });
  expect(unknown.status).toBe(422);
  expect(unknown.body).toEqual({
    status: 422,
    error: 'Unprocessable Entity',
    code: 'validation_errors',
    error_details: { webhook_type: ['value_is_invalid'] },
  });
  const missing = await request('POST', `/api/v1/webhook_endpoints/${endpointId}/test`, {
    token: org.apiKey,
    body: {},
  });
  expect(missing.status).toBe(422);
  expect(missing.body).toEqual({
    status: 422,
    error: 'Unprocessable Entity',
    code: 'validation_errors',
    error_details: { webhook_type: ['value_is_mandatory'] },
  });
  const notObject = await request('POST', `/api/v1/webhook_endpoints/${endpointId}/test`, {
    token: org.apiKey,
    body: ['customer.created'],
  });
  expect(notObject.status).toBe(400);
  expect(notObject.body).toEqual({ status: 400, error: 'BadRequest: body must be a JSON object' });
  const anonymous = await request('POST', `/api/v1/webhook_endpoints/${endpointId}/test`, {
    body: { webhook_type: 'customer.created' },
  });
  expect(anonymous.status).toBe(401);
  // None of these sent or logged anything.
  expect(target.received).toHaveLength(2);
  const logged = await request<{ webhooks: { test: boolean }[] }>(
    'GET',
    `/api/v1/webhooks?webhook_endpoint_id=${endpointId}`,
    { token: org.apiKey },
  );
  expect(logged.body.webhooks.map((w) => w.test)).toEqual([true, true]);
});

it('answers a burst of 60 concurrent test events to one endpoint with 10 sent and 50 refused 429, with Retry-After', async () => {
  const burst = await createOrg('Test event burst');
  const burstTarget = await new Receiver().start();
  try {
    const endpoint = await createEndpoint(burst, { webhook_url: burstTarget.url });
    await withinOneWindow(60_000);
    const answers = await Promise.all(
      Array.from({ length: 60 }, () =>
        request<Sent & Record<string, unknown>>('POST', `/api/v1/webhook_endpoints/${endpoint}/test`, {
          token: burst.apiKey,
          body: { webhook_type: 'customer.created' },
        }),
      ),
    );
    const sent = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    // The default: 10 test events a minute to one endpoint.
    expect(sent).toHaveLength(10);
    expect(refused).toHaveLength(50);
    for (const answer of refused) {
      const wait = Number(answer.headers.get('retry-after'));
      expect(Number.isInteger(wait) && wait >= 1 && wait <= 60, `Retry-After: ${wait}`).toBe(true);
      expect(answer.headers.get('x-ratelimit-limit')).toBe('10');
      expect(answer.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(answer.headers.get('x-ratelimit-reset')).toBe(String(wait));
      expect(answer.body).toEqual({
        status: 429,
        error: 'Too Many Requests',
        code: 'rate_limited',
        message: `at most 10 test events a minute to one endpoint; retry in ${wait} s`,
      });
    }
    // Exactly the ten accepted were sent, and only they are in the log.
    await burstTarget.waitFor(10);
    for (const answer of sent) await webhookSettles(burst, answer.body.webhook.lago_id, ['succeeded']);
    expect(burstTarget.received.map((r) => r.headers['x-lago-unique-key']).sort()).toEqual(
      sent.map((a) => a.body.webhook.lago_id).sort(),
    );
    const logged = await request<{ webhooks: unknown[] }>(
      'GET',
      `/api/v1/webhooks?webhook_endpoint_id=${endpoint}&per_page=100`,
      { token: burst.apiKey },
    );
    expect(logged.body.webhooks).toHaveLength(10);
  } finally {
    await burstTarget.stop();
  }
});
