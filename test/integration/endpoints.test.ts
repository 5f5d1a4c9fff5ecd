// The organization API for webhook endpoints over real HTTP on the local service: Lago's shapes, rules and errors, and tenant isolation.
import { describe, expect, it } from 'vitest';
import { admin, createEndpoint, createOrg, request, type Org } from './helpers.ts';

const post = (org: Org, endpoint: unknown) =>
  request('POST', '/api/v1/webhook_endpoints', { token: org.apiKey, body: { webhook_endpoint: endpoint } });

describe('organizations (operator route)', () => {
  it('creates an organization and shows its API key once', async () => {
    const res = await admin('POST', '/admin/v1/organizations', { name: 'Acme' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      organization: { name: 'Acme', lago_id: expect.any(String), created_at: expect.any(String) },
      api_key: expect.stringMatching(/^lwh_/),
    });
  });

  it('refuses a missing name, a wrong admin token and no token', async () => {
    expect((await admin('POST', '/admin/v1/organizations', {})).body).toEqual({
      status: 422,
      error: 'Unprocessable Entity',
      code: 'validation_errors',
      error_details: { name: ['value_is_mandatory'] },
    });
    const wrong = await request('POST', '/admin/v1/organizations', { token: 'adm_wrong', body: { name: 'x' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ status: 401, error: 'Unauthorized' });
    expect((await request('POST', '/admin/v1/organizations', { body: { name: 'x' } })).status).toBe(401);
  });

  it('does not accept an organization API key on operator routes', async () => {
    const org = await createOrg();
    expect((await request('POST', '/admin/v1/organizations', { token: org.apiKey, body: { name: 'x' } })).status).toBe(
      401,
    );
  });
});

describe('webhook endpoints', () => {
  it('creates, reads, lists, updates partially and deletes an endpoint in Lago shapes', async () => {
    const org = await createOrg();
    const created = await post(org, {
      webhook_url: 'https://example.com/hooks',
      signature_algo: 'hmac',
      name: 'prod',
      event_types: [' Invoice.Created', 'invoice.created', 'customer.created'],
    });
    expect(created.status).toBe(200);
    const endpoint = (created.body as { webhook_endpoint: Record<string, unknown> }).webhook_endpoint;
    // Lago's fields in Lago's order, then ours (disable, health, custom headers, an AWS destination's role, max_rps,
    // circuit breaker).
    expect(Object.keys(endpoint)).toEqual([
      'lago_id',
      'lago_organization_id',
      'webhook_url',
      'signature_algo',
      'name',
      'event_types',
      'created_at',
      'disabled',
      'disabled_at',
      'disabled_reason',
      'failing_since',
      'headers',
      'aws_role_arn',
      'max_rps',
      'circuit',
    ]);
    expect(endpoint).toMatchObject({
      lago_organization_id: org.id,
      webhook_url: 'https://example.com/hooks',
      signature_algo: 'hmac',
      name: 'prod',
      event_types: ['invoice.created', 'customer.created'],
      aws_role_arn: null,
    });
    expect(endpoint.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const id = endpoint.lago_id as string;

    expect((await request('GET', `/api/v1/webhook_endpoints/${id}`, { token: org.apiKey })).body).toEqual({
      webhook_endpoint: endpoint,
    });

    const updated = await request('PUT', `/api/v1/webhook_endpoints/${id}`, {
      token: org.apiKey,
      body: { webhook_endpoint: { event_types: ['*'] } },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual({ webhook_endpoint: { ...endpoint, event_types: null } });

    const renamed = await request('PUT', `/api/v1/webhook_endpoints/${id}`, {
      token: org.apiKey,
      body: { webhook_endpoint: { webhook_url: 'https://example.com/v2', signature_algo: 'jwt' } },
    });
    expect(renamed.body).toEqual({
      webhook_endpoint: {
        ...endpoint,
        event_types: null,
        webhook_url: 'https://example.com/v2',
        signature_algo: 'jwt',
      },
    });

    const list = await request('GET', '/api/v1/webhook_endpoints', { token: org.apiKey });
    expect(list.body).toEqual({
      webhook_endpoints: [
        { ...endpoint, event_types: null, webhook_url: 'https://example.com/v2', signature_algo: 'jwt' },
      ],
      meta: { current_page: 1, next_page: null, prev_page: null, total_pages: 1, total_count: 1 },
    });

    const deleted = await request('DELETE', `/api/v1/webhook_endpoints/${id}`, { token: org.apiKey });
    expect(deleted.status).toBe(200);
    expect((deleted.body as { webhook_endpoint: { lago_id: string } }).webhook_endpoint.lago_id).toBe(id);
    expect((await request('GET', `/api/v1/webhook_endpoints/${id}`, { token: org.apiKey })).body).toEqual({
      status: 404,
      error: 'Not Found',
      code: 'webhook_endpoint_not_found',
    });
    // The URL is free again once its endpoint is gone.
    expect((await post(org, { webhook_url: 'https://example.com/v2' })).status).toBe(200);
  });

  it('defaults to jwt and every event type; [] subscribes to none', async () => {
    const org = await createOrg();
    const a = await post(org, { webhook_url: 'https://example.com/a' });
    expect(a.body).toMatchObject({ webhook_endpoint: { signature_algo: 'jwt', event_types: null, name: null } });
    const b = await post(org, { webhook_url: 'https://example.com/b', event_types: [] });
    expect(b.body).toMatchObject({ webhook_endpoint: { event_types: [] } });
  });

  it('paginates with page and per_page and Lago meta', async () => {
    const org = await createOrg();
    for (let i = 0; i < 5; i++) await createEndpoint(org, { webhook_url: `https://example.com/${i}` });
    const page2 = await request<{ webhook_endpoints: { webhook_url: string }[]; meta: unknown }>(
      'GET',
      '/api/v1/webhook_endpoints?page=2&per_page=2',
      { token: org.apiKey },
    );
    expect(page2.body.webhook_endpoints.map((e) => e.webhook_url)).toEqual([
      'https://example.com/2',
      'https://example.com/3',
    ]);
    expect(page2.body.meta).toEqual({ current_page: 2, next_page: 3, prev_page: 1, total_pages: 3, total_count: 5 });
  });

  it('rejects invalid input with Lago validation errors and creates nothing', async () => {
    const org = await createOrg();
    const cases: [unknown, Record<string, string[]>][] = [
      [{}, { webhook_url: ['value_is_mandatory'] }],
      [{ webhook_url: 'not a url' }, { webhook_url: ['url_is_invalid'] }],
      [{ webhook_url: 'ftp://example.com/x' }, { webhook_url: ['url_is_invalid'] }],
      [{ webhook_url: 42 }, { webhook_url: ['url_is_invalid'] }],
      [{ webhook_url: 'https://example.com/x', signature_algo: 'rsa' }, { signature_algo: ['value_is_invalid'] }],
      [
        { webhook_url: 'https://example.com/x', event_types: ['invoice.exploded'] },
        { event_types: ['value_is_invalid'] },
      ],
      [{ webhook_url: 'https://example.com/x', event_types: 'invoice.created' }, { event_types: ['value_is_invalid'] }],
      [{ webhook_url: 'http://169.254.169.254/latest' }, { webhook_url: ['address_is_not_public'] }],
      [{ webhook_url: 'http://10.0.0.8/hook' }, { webhook_url: ['address_is_not_public'] }],
    ];
    for (const [endpoint, details] of cases) {
      const res = await post(org, endpoint);
      expect(res.status, JSON.stringify(endpoint)).toBe(422);
      expect(res.body).toEqual({
        status: 422,
        error: 'Unprocessable Entity',
        code: 'validation_errors',
        error_details: details,
      });
    }
    const list = await request<{ meta: { total_count: number } }>('GET', '/api/v1/webhook_endpoints', {
      token: org.apiKey,
    });
    expect(list.body.meta.total_count).toBe(0);
  });

  it('answers bad JSON, a missing wrapper and huge bodies with a 4xx, never a 500', async () => {
    const org = await createOrg();
    const badJson = await request('POST', '/api/v1/webhook_endpoints', {
      token: org.apiKey,
      raw: '{"webhook_endpoint":',
    });
    expect(badJson.status).toBe(400);
    expect(badJson.body).toEqual({ status: 400, error: 'BadRequest: the request body is not valid JSON' });
    const noWrapper = await request('POST', '/api/v1/webhook_endpoints', {
      token: org.apiKey,
      body: { webhook_url: 'https://example.com' },
    });
    expect(noWrapper.status).toBe(400);
    expect(noWrapper.body).toEqual({
      status: 400,
      error: 'BadRequest: param is missing or the value is empty: webhook_endpoint',
    });
    const array = await request('POST', '/api/v1/webhook_endpoints', { token: org.apiKey, raw: '[1,2]' });
    expect(array.status).toBe(400);
    const huge = await request('POST', '/api/v1/webhook_endpoints', {
      token: org.apiKey,
      body: { webhook_endpoint: { webhook_url: 'https://example.com', name: 'x'.repeat(600_000) } },
    });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ status: 413, error: 'Payload Too Large' });
    const longName = await post(org, { webhook_url: 'https://example.com/n', name: 'x'.repeat(300) });
    expect(longName.status).toBe(422);
  });

  it('keeps URLs unique per organization but not across organizations', async () => {
    const a = await createOrg();
    const b = await createOrg();
    await createEndpoint(a, { webhook_url: 'https://example.com/same' });
    const dup = await post(a, { webhook_url: 'https://example.com/same' });
    expect(dup.status).toBe(422);
    expect(dup.body).toEqual({
      status: 422,
      error: 'Unprocessable Entity',
      code: 'validation_errors',
      error_details: { webhook_url: ['value_already_exist'] },
    });
    expect((await post(b, { webhook_url: 'https://example.com/same' })).status).toBe(200);
    const other = await createEndpoint(a, { webhook_url: 'https://example.com/other' });
    const clash = await request('PUT', `/api/v1/webhook_endpoints/${other}`, {
      token: a.apiKey,
      body: { webhook_endpoint: { webhook_url: 'https://example.com/same' } },
    });
    expect(clash.status).toBe(422);
  });

  it("never shows or changes another organization's endpoint", async () => {
    const owner = await createOrg();
    const intruder = await createOrg();
    const id = await createEndpoint(owner, { webhook_url: 'https://example.com/private' });
    const notFound = { status: 404, error: 'Not Found', code: 'webhook_endpoint_not_found' };
    expect((await request('GET', `/api/v1/webhook_endpoints/${id}`, { token: intruder.apiKey })).body).toEqual(
      notFound,
    );
    expect(
      (
        await request('PUT', `/api/v1/webhook_endpoints/${id}`, {
          token: intruder.apiKey,
          body: { webhook_endpoint: { name: 'x' } },
        })
      ).body,
    ).toEqual(notFound);
    expect((await request('DELETE', `/api/v1/webhook_endpoints/${id}`, { token: intruder.apiKey })).body).toEqual(
      notFound,
    );
    expect(
      (await request<{ webhook_endpoints: unknown[] }>('GET', '/api/v1/webhook_endpoints', { token: intruder.apiKey }))
        .body.webhook_endpoints,
    ).toEqual([]);
    expect(
      (
        await request<{ webhook_endpoint: { name: string | null } }>('GET', `/api/v1/webhook_endpoints/${id}`, {
          token: owner.apiKey,
        })
      ).body.webhook_endpoint.name,
    ).toBeNull();
  });

  it('requires a valid API key on every organization route', async () => {
    const paths: [string, string][] = [
      ['GET', '/api/v1/webhook_endpoints'],
      ['POST', '/api/v1/webhook_endpoints'],
      ['GET', '/api/v1/webhook_endpoints/x'],
      ['PUT', '/api/v1/webhook_endpoints/x'],
      ['DELETE', '/api/v1/webhook_endpoints/x'],
      ['GET', '/api/v1/webhooks'],
      ['GET', '/api/v1/webhooks/x'],
      ['POST', '/api/v1/webhooks/x/retry'],
      ['POST', '/api/v1/webhooks/recover'],
      ['GET', '/api/v1/webhooks/public_key'],
      ['GET', '/api/v1/webhooks/json_public_key'],
      ['GET', '/api/v1/webhooks/hmac_key'],
    ];
    for (const [method, path] of paths) {
      for (const token of [undefined, 'lwh_not-a-real-key', 'garbage']) {
        const res = await request(method, path, token ? { token } : {});
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.body).toEqual({ status: 401, error: 'Unauthorized' });
      }
    }
  });

  it('answers an unknown route or method with a Lago-shaped 404', async () => {
    const org = await createOrg();
    const notFound = { status: 404, error: 'Not Found', code: 'route_not_found' };
    for (const [method, path] of [
      ['GET', '/api/v1/nothing'],
      ['PATCH', '/api/v1/webhook_endpoints'],
      ['GET', '/'],
      ['POST', '/api/v1/webhooks/public_key'],
    ]) {
      const res = await request(method!, path!, { token: org.apiKey });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body).toEqual(notFound);
    }
  });

  it('never lets 20 concurrent creates pass the limit of 10', async () => {
    const org = await createOrg();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(org, { webhook_url: `https://example.com/concurrent/${i}` })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    const refused = results.filter((r) => r.status !== 200);
    expect(refused).toHaveLength(10);
    for (const r of refused) {
      expect(r.body).toEqual({
        status: 422,
        error: 'Unprocessable Entity',
        code: 'validation_errors',
        error_details: { base: ['Maximum number of webhook endpoints was reached'] },
      });
    }
    const list = await request<{ meta: { total_count: number } }>('GET', '/api/v1/webhook_endpoints?per_page=100', {
      token: org.apiKey,
    });
    expect(list.body.meta.total_count).toBe(10);
    // A deletion frees a slot.
    const first = await request<{ webhook_endpoints: { lago_id: string }[] }>('GET', '/api/v1/webhook_endpoints', {
      token: org.apiKey,
    });
    await request('DELETE', `/api/v1/webhook_endpoints/${first.body.webhook_endpoints[0]!.lago_id}`, {
      token: org.apiKey,
    });
    expect((await post(org, { webhook_url: 'https://example.com/after-delete' })).status).toBe(200);
  });
});
