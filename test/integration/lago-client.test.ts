// The official lago-javascript-client, unchanged, manages endpoints and reads the signing keys against the local API.
import { Client, getLagoError } from 'lago-javascript-client';
import { describe, expect, it } from 'vitest';
import { createOrg, stack } from './helpers.ts';

describe('lago-javascript-client compatibility', () => {
  it('creates, lists, reads, updates and deletes webhook endpoints', async () => {
    const org = await createOrg('Lago client');
    const lago = Client(org.apiKey, { baseUrl: `${stack().url}/api/v1` });

    const { data: created } = await lago.webhookEndpoints.createWebhookEndpoint({
      webhook_endpoint: {
        webhook_url: 'https://example.com/lago',
        signature_algo: 'hmac',
        name: 'from the client',
        event_types: ['invoice.created'],
      },
    });
    expect(created.webhook_endpoint).toMatchObject({
      lago_organization_id: org.id,
      webhook_url: 'https://example.com/lago',
      signature_algo: 'hmac',
      name: 'from the client',
      event_types: ['invoice.created'],
    });
    const id = created.webhook_endpoint.lago_id;

    const { data: list } = await lago.webhookEndpoints.findAllWebhookEndpoints({ page: 1, per_page: 10 });
    expect(list.webhook_endpoints.map((e) => e.lago_id)).toEqual([id]);
    expect(list.meta).toEqual({ current_page: 1, next_page: null, prev_page: null, total_pages: 1, total_count: 1 });

    const { data: found } = await lago.webhookEndpoints.findWebhookEndpoint(id);
    expect(found.webhook_endpoint).toEqual(created.webhook_endpoint);

    const { data: updated } = await lago.webhookEndpoints.updateWebhookEndpoint(id, {
      webhook_endpoint: { webhook_url: 'https://example.com/lago-v2', signature_algo: 'jwt' },
    });
    expect(updated.webhook_endpoint).toMatchObject({
      lago_id: id,
      webhook_url: 'https://example.com/lago-v2',
      signature_algo: 'jwt',
      name: 'from the client',
    });

    const { data: deleted } = await lago.webhookEndpoints.destroyWebhookEndpoint(id);
    expect(deleted.webhook_endpoint.lago_id).toBe(id);

    const missing = await lago.webhookEndpoints.findWebhookEndpoint(id).catch((error: unknown) => error);
    const lagoError = await getLagoError<typeof lago.webhookEndpoints.findWebhookEndpoint>(missing);
    expect(lagoError).toEqual({ status: 404, error: 'Not Found', code: 'webhook_endpoint_not_found' });
  });

  it('reads the public key in both formats', async () => {
    const org = await createOrg('Lago client keys');
    const lago = Client(org.apiKey, { baseUrl: `${stack().url}/api/v1` });
    const { data: json } = await lago.webhooks.fetchJsonPublicKey();
    const plain = await fetch(`${stack().url}/api/v1/webhooks/public_key`, {
      headers: { authorization: `Bearer ${org.apiKey}` },
    });
    expect(plain.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await plain.text();
    expect(json.webhook.public_key).toBe(text);
    expect(Buffer.from(text, 'base64').toString('utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    // Ruby's Base64.encode64: lines of 60 characters, each ending in a newline.
    expect(
      text
        .split('\n')
        .slice(0, -2)
        .every((line) => line.length === 60),
    ).toBe(true);
    expect(text.endsWith('\n')).toBe(true);
  });
});
