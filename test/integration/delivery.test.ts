// Publishing and delivery on the local service: fan-out, the three signatures as a receiver verifies them, retries, failures and the DLQ.
import { createHmac } from 'node:crypto';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import jwt from 'jsonwebtoken';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '#infra/local/emulators.ts';
import {
  admin,
  createEndpoint,
  createOrg,
  publish,
  request,
  stack,
  webhook,
  verificationKeys,
  webhookSettles,
  type Org,
} from './helpers.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver } from '../support/receiver.ts';

const receivers: Receiver[] = [];
async function receiver(reply?: ConstructorParameters<typeof Receiver>[0]) {
  const r = await new Receiver(reply).start();
  receivers.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

const maxAttempts = () => stack().retrySchedule.length + 1;

async function publishedIds(
  org: Org,
  type = 'invoice.created',
  object: Record<string, unknown> = { lago_id: 'inv_1' },
  extra: Record<string, unknown> = {},
) {
  const res = await publish(org, type, object, extra);
  expect(res.status, res.text).toBe(202);
  return res.body.webhooks;
}

describe('publishing', () => {
  it('reaches every subscribed endpoint and no other, with the Lago envelope', async () => {
    const org = await createOrg();
    const all = await receiver();
    const invoices = await receiver();
    const customers = await receiver();
    const none = await receiver();
    await createEndpoint(org, { webhook_url: all.url });
    await createEndpoint(org, { webhook_url: invoices.url, event_types: ['invoice.created'] });
    await createEndpoint(org, { webhook_url: customers.url, event_types: ['customer.created'] });
    await createEndpoint(org, { webhook_url: none.url, event_types: [] });

    const webhooks = await publishedIds(org, 'invoice.created', { lago_id: 'inv_42', total_amount_cents: 1200 });
    expect(webhooks).toHaveLength(2);
    const [fromAll] = await all.waitFor(1);
    const [fromInvoices] = await invoices.waitFor(1);
    const expected = {
      webhook_type: 'invoice.created',
      object_type: 'invoice',
      organization_id: org.id,
      invoice: { lago_id: 'inv_42', total_amount_cents: 1200 },
    };
    expect(fromAll!.body).toBe(JSON.stringify(expected));
    expect(fromInvoices!.body).toBe(JSON.stringify(expected));
    for (const w of webhooks) await webhookSettles(org, w.lago_id, ['succeeded']);
    expect(customers.received).toHaveLength(0);
    expect(none.received).toHaveLength(0);
  });

  it('signs so that a receiver verifies HMAC, JWT (another JWT library) and Standard Webhooks', async () => {
    const org = await createOrg();
    const hmacReceiver = await receiver();
    const jwtReceiver = await receiver();
    await createEndpoint(org, { webhook_url: hmacReceiver.url, signature_algo: 'hmac' });
    await createEndpoint(org, { webhook_url: jwtReceiver.url, signature_algo: 'jwt' });
    const { hmacKey, swSecret, publicKeyPem } = await verificationKeys(org);

    const [published] = await publishedIds(org, 'customer.created', { lago_id: 'cus_1', name: 'Zoë ✓' });
    const [h] = await hmacReceiver.waitFor(1);
    const [j] = await jwtReceiver.waitFor(1);

    expect(h!.headers['x-lago-signature-algorithm']).toBe('hmac');
    expect(h!.headers['x-lago-signature']).toBe(createHmac('sha256', hmacKey).update(h!.body).digest('base64'));
    expect(h!.headers['content-type']).toBe('application/json');
    expect(h!.headers['user-agent']).toMatch(/^lago-webhooks-aws\//);

    expect(j!.headers['x-lago-signature-algorithm']).toBe('jwt');
    const claims = jwt.verify(j!.headers['x-lago-signature'] as string, publicKeyPem, { algorithms: ['RS256'] }) as {
      data: string;
      iss: string;
    };
    expect(claims.data).toBe(j!.body);
    expect(claims.iss).toBe('http://localhost:3000');
    expect(
      JSON.parse(Buffer.from((j!.headers['x-lago-signature'] as string).split('.')[0]!, 'base64url').toString()),
    ).toEqual({ alg: 'RS256' });
    // A tampered body fails verification.
    expect(() => new Webhook(swSecret).verify(`${h!.body} `, h!.headers as Record<string, string>)).toThrow();

    for (const r of [h!, j!]) {
      expect(new Webhook(swSecret).verify(r.body, r.headers as Record<string, string>)).toEqual(JSON.parse(r.body));
      expect(r.headers['webhook-id']).toBe(r.headers['x-lago-unique-key']);
      expect(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    }
    expect(h!.headers['x-lago-unique-key']).toBe(published!.lago_id);
  });

  it("gives each organization its own HMAC token and everyone the deployment's public key", async () => {
    const a = await createOrg();
    const b = await createOrg();
    const key = async (org: Org, path: string) =>
      (await request<{ webhook: Record<string, string> }>('GET', path, { token: org.apiKey })).body.webhook;
    const [hmacA, hmacB] = [await key(a, '/api/v1/webhooks/hmac_key'), await key(b, '/api/v1/webhooks/hmac_key')];
    expect(hmacA.hmac_key).toMatch(/^[\w-]{43}$/);
    expect(hmacA.hmac_key).not.toBe(hmacB.hmac_key);
    expect(hmacA.standard_webhooks_secret).toBe(`whsec_${Buffer.from(hmacA.hmac_key!).toString('base64')}`);
    // Stable: the token is created once, with the organization.
    expect((await key(a, '/api/v1/webhooks/hmac_key')).hmac_key).toBe(hmacA.hmac_key);
    expect((await key(a, '/api/v1/webhooks/json_public_key')).public_key).toBe(
      (await key(b, '/api/v1/webhooks/json_public_key')).public_key,
    );
  });

  it('is idempotent per key: a replay returns the same ids and delivers nothing new', async () => {
    const org = await createOrg();
    const r = await receiver();
    await createEndpoint(org, { webhook_url: r.url });
    const first = await publishedIds(
      org,
      'invoice.created',
      { lago_id: 'inv_idem' },
      { idempotency_key: 'invoice-inv_idem-created' },
    );
    const again = await publishedIds(
      org,
      'invoice.created',
      { lago_id: 'inv_idem' },
      { idempotency_key: 'invoice-inv_idem-created' },
    );
    expect(again.map((w) => w.lago_id)).toEqual(first.map((w) => w.lago_id));
    await webhookSettles(org, first[0]!.lago_id, ['succeeded']);
    const list = await request<{ webhooks: unknown[] }>('GET', '/api/v1/webhooks?search_term=inv_idem', {
      token: org.apiKey,
    });
    expect(list.body.webhooks).toHaveLength(1);
    expect(r.received).toHaveLength(1);
  });

  it('rejects bad publishes with a clear 4xx and creates nothing', async () => {
    const org = await createOrg();
    const r = await receiver();
    await createEndpoint(org, { webhook_url: r.url });
    const cases: [Record<string, unknown>, number, unknown][] = [
      [
        { organization_id: org.id, webhook_type: 'invoice.exploded', object_type: 'invoice', object: {} },
        422,
        { webhook_type: ['value_is_invalid'] },
      ],
      [{ organization_id: org.id, object_type: 'invoice', object: {} }, 422, { webhook_type: ['value_is_mandatory'] }],
      [
        { organization_id: org.id, webhook_type: 'invoice.created', object_type: 'Invoice!', object: {} },
        422,
        { object_type: ['value_is_invalid'] },
      ],
      [
        { organization_id: org.id, webhook_type: 'invoice.created', object_type: 'invoice', object: [1] },
        422,
        { object: ['value_is_invalid'] },
      ],
    ];
    for (const [body, status, details] of cases) {
      const res = await admin('POST', '/admin/v1/webhooks', body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body).toEqual({
        status: 422,
        error: 'Unprocessable Entity',
        code: 'validation_errors',
        error_details: details,
      });
    }
    const unknownOrg = await admin('POST', '/admin/v1/webhooks', {
      organization_id: '01900000-0000-7000-8000-000000000000',
      webhook_type: 'invoice.created',
      object_type: 'invoice',
      object: {},
    });
    expect(unknownOrg.body).toEqual({ status: 404, error: 'Not Found', code: 'organization_not_found' });
    const big = await admin('POST', '/admin/v1/webhooks', {
      organization_id: org.id,
      webhook_type: 'invoice.created',
      object_type: 'invoice',
      object: { blob: 'x'.repeat(300 * 1024) },
    });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ status: 413, error: 'Payload Too Large' });
    const list = await request<{ webhooks: unknown[] }>('GET', '/api/v1/webhooks', { token: org.apiKey });
    expect(list.body.webhooks).toEqual([]);
    expect(r.received).toHaveLength(0);
  });
});

describe('retries', () => {
  it('retries with the same unique key until the receiver answers 200', async () => {
    const org = await createOrg();
    const r = await receiver((_req, res, n) => res.writeHead(n <= 2 ? 500 : 200).end(n <= 2 ? 'boom' : 'ok'));
    await createEndpoint(org, { webhook_url: r.url, signature_algo: 'hmac' });
    const [w] = await publishedIds(org);
    const got = await r.waitFor(3);
    expect(new Set(got.map((g) => g.headers['x-lago-unique-key']))).toEqual(new Set([w!.lago_id]));
    expect(new Set(got.map((g) => g.headers['webhook-id']))).toEqual(new Set([w!.lago_id]));
    expect(new Set(got.map((g) => g.body)).size).toBe(1);
    const done = await webhookSettles(org, w!.lago_id, ['succeeded']);
    expect(done).toMatchObject({
      status: 'succeeded',
      http_status: 200,
      retries: 2,
      attempts_count: 3,
      response: 'ok',
      next_attempt_at: null,
    });
    expect(done.attempts.map((a) => a.http_status)).toEqual([500, 500, 200]);
    expect(r.received).toHaveLength(3);
  });

  it('ends failed after the configured attempts, with the message in the dead-letter queue', async () => {
    const org = await createOrg();
    const r = await receiver((_req, res) => res.writeHead(500).end('still down'));
    await createEndpoint(org, { webhook_url: r.url });
    const [w] = await publishedIds(org);
    const failed = await webhookSettles(org, w!.lago_id, ['failed'], 30_000);
    expect(failed.attempts).toHaveLength(maxAttempts());
    expect(failed).toMatchObject({ http_status: 500, response: 'still down', next_attempt_at: null });
    expect(r.received).toHaveLength(maxAttempts());
    const sqs = new SQSClient({ endpoint: stack().sqsEndpoint, region: 'us-east-1', credentials: stack().credentials });
    // Peeking with visibility 0 leaves the messages where they are.
    await eventually(
      async () => {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: stack().deadLetterUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
        );
        return Messages.some((m) => JSON.parse(m.Body ?? '{}').webhook_id === w!.lago_id) ? true : undefined;
      },
      20_000,
      'the message in the DLQ',
    );
    sqs.destroy();
  });

  it('counts redirects, 203, 500, timeouts, resets and refused connections as failures', async () => {
    const org = await createOrg();
    const target = await receiver();
    const redirect301 = await receiver((_req, res) => res.writeHead(301, { location: target.url }).end());
    const redirect302 = await receiver((_req, res) => res.writeHead(302, { location: target.url }).end());
    const nonAuthoritative = await receiver((_req, res) => res.writeHead(203).end('not quite'));
    const serverError = await receiver((_req, res) => res.writeHead(500).end());
    const silent = await receiver(() => undefined);
    const reset = await receiver((req) => req.socket.destroy());
    const refusedUrl = `http://127.0.0.1:${await freePort()}/nobody-home`;
    const cases: [string, number | null, RegExp][] = [
      [redirect301.url, 301, /unexpected http status 301/],
      [redirect302.url, 302, /unexpected http status 302/],
      [nonAuthoritative.url, 203, /unexpected http status 203/],
      [serverError.url, 500, /unexpected http status 500/],
      [silent.url, null, /timed out after \d+ ms/],
      [reset.url, null, /ECONNRESET|socket hang up/],
      [refusedUrl, null, /ECONNREFUSED/],
    ];
    const endpointIds = new Map<string, string>();
    for (const [url] of cases) endpointIds.set(await createEndpoint(org, { webhook_url: url }), url);
    const published = await publishedIds(org);
    for (const w of published) {
      const url = endpointIds.get(w.lago_webhook_endpoint_id)!;
      const [, status, error] = cases.find(([u]) => u === url)!;
      // A fast-lane attempt handed off to the slow lane (cut, not counted) is made again there in full: the first counted one is checked.
      const counted = (details: Awaited<ReturnType<typeof webhook>>) =>
        details.attempts.filter((a) => !/in the fast lane; moved to the slow lane$/.test(a.error ?? ''));
      const seen = await eventually(
        async () => {
          const details = await webhook(org, w.lago_id);
          return counted(details).length > 0 ? details : undefined;
        },
        20_000,
        `first attempt to ${url}`,
      );
      expect(seen.status, url).not.toBe('succeeded');
      expect(counted(seen)[0]!.http_status, url).toBe(status);
      expect(counted(seen)[0]!.error, url).toMatch(error);
    }
    // Redirects are not followed.
    expect(target.received).toHaveLength(0);
    // Stop the slow retries (the timeout waits at least 60 s): a deleted endpoint ends its webhooks.
    for (const id of endpointIds.keys())
      await request('DELETE', `/api/v1/webhook_endpoints/${id}`, { token: org.apiKey });
  });

  it('ends a webhook whose endpoint was deleted as failed without posting', async () => {
    const org = await createOrg();
    const r = await receiver((_req, res) => res.writeHead(500).end());
    const endpoint = await createEndpoint(org, { webhook_url: r.url });
    const [w] = await publishedIds(org);
    await r.waitFor(1);
    await request('DELETE', `/api/v1/webhook_endpoints/${endpoint}`, { token: org.apiKey });
    const failed = await webhookSettles(org, w!.lago_id, ['failed']);
    expect(failed.error).toBe('the webhook endpoint was deleted');
    expect(r.received).toHaveLength(1);
  });
});
