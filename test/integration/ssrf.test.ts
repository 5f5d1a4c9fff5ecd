// The SSRF guard with an empty allow-list, on a second local service: loopback endpoints are refused at creation and at delivery.
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedStack, type IsolatedStack } from './helpers.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver } from '../support/receiver.ts';

let strict: IsolatedStack;
const receiver = new Receiver();
const call: IsolatedStack['call'] = (...args) => strict.call(...args);

beforeAll(async () => {
  // No WEBHOOK_ALLOW_CIDRS: only public addresses may be reached.
  strict = await isolatedStack('ssrf', {
    WEBHOOK_RETRY_SCHEDULE: '1',
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_TIMEOUT_MS: '1000',
  });
  await receiver.start();
});

afterAll(async () => {
  await receiver.stop();
  await strict?.stop();
});

describe('with an empty allow-list', () => {
  it('refuses loopback and other non-public endpoints at creation', async () => {
    const org = await call('POST', '/admin/v1/organizations', strict.local.adminToken, { name: 'Strict' });
    const key = org.body.api_key as string;
    for (const url of [
      receiver.url,
      'http://localhost:8080/x',
      'http://[::1]/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://127.1/x',
      'http://0.0.0.0/x',
      'http://192.168.1.10/x',
      'http://100.64.0.1/x',
    ]) {
      const res = await call('POST', '/api/v1/webhook_endpoints', key, { webhook_endpoint: { webhook_url: url } });
      expect(res.status, url).toBe(422);
      expect(res.body).toEqual({
        status: 422,
        error: 'Unprocessable Entity',
        code: 'validation_errors',
        error_details: { webhook_url: ['address_is_not_public'] },
      });
    }
  });

  it('refuses to deliver to a loopback address, even for an endpoint stored before the allow-list changed', async () => {
    const org = await call('POST', '/admin/v1/organizations', strict.local.adminToken, { name: 'Strict delivery' });
    const orgId = (org.body.organization as { lago_id: string }).lago_id;
    const key = org.body.api_key as string;
    // Written straight to the store, as an endpoint created while loopback was still allowed.
    const endpointId = '01900000-0000-7000-8000-00000000aaaa';
    await strict.local.deps.store.createEndpoint(
      {
        id: endpointId,
        organization_id: orgId,
        webhook_url: receiver.url,
        signature_algo: 'hmac',
        name: null,
        event_types: null,
        created_at_ms: Date.parse('2026-01-01T00:00:00Z'),
      },
      10,
    );
    // A name that resolves to loopback on this machine is caught when it is resolved, at delivery.
    const local = (await lookup(hostname(), { all: true }).catch(() => [])).some((a) => a.address.startsWith('127.'));
    if (local) {
      const named = await call('POST', '/api/v1/webhook_endpoints', key, {
        webhook_endpoint: { webhook_url: receiver.url.replace('127.0.0.1', hostname()) },
      });
      expect(named.status).toBe(200);
    }
    const published = await call('POST', '/admin/v1/webhooks', strict.local.adminToken, {
      organization_id: orgId,
      webhook_type: 'invoice.created',
      object_type: 'invoice',
      object: { lago_id: 'inv_ssrf' },
    });
    expect(published.status).toBe(202);
    const ids = (published.body.webhooks as { lago_id: string }[]).map((w) => w.lago_id);
    expect(ids).toHaveLength(local ? 2 : 1);
    for (const id of ids) {
      const failed = await eventually(
        async () => {
          const res = await call('GET', `/api/v1/webhooks/${id}`, key);
          const w = res.body.webhook as { status: string; attempts: { error: string; http_status: number | null }[] };
          return w.status === 'failed' ? w : undefined;
        },
        20_000,
        'the webhook to fail',
      );
      expect(failed.attempts).toHaveLength(2);
      for (const attempt of failed.attempts) {
        expect(attempt.http_status).toBeNull();
        expect(attempt.error).toMatch(/address 127\.0\.0\.1 is not allowed \(loopback\)/);
      }
    }
    expect(receiver.received).toHaveLength(0);
  });
});
