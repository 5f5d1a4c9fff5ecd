// The contract on the local service: GET /api/v1/openapi.json is served without an API key and describes the routes the
// gateway serves; the checker the integration helpers run on every response refuses what the document does not allow.
import { expect, it } from 'vitest';
import { ROUTES } from '#shared/runtime/routes.ts';
import { ContractError, contractOf, type Document } from './contract.ts';
import { createOrg, request, stack } from './helpers.ts';

it('serves the OpenAPI 3.1 document without an API key, describing every organization and operator route', async () => {
  const res = await request<Document & { openapi: string }>('GET', '/api/v1/openapi.json');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(res.body.openapi).toBe('3.1.0');
  const served = Object.entries(res.body.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
  );
  expect(served.sort()).toEqual(
    ROUTES.filter((r) => r.fn !== 'console')
      .map((r) => `${r.method} ${r.path}`)
      .sort(),
  );
  // A wrong key does not matter either: the document is public.
  const withBadKey = await fetch(`${stack().url}/api/v1/openapi.json`, {
    headers: { authorization: 'Bearer nonsense' },
  });
  expect(withBadKey.status).toBe(200);
});

it('refuses, with what is wrong, a body that does not match, a status it does not list and a body where none is documented', async () => {
  const contract = await contractOf(stack().url);
  const org = await createOrg('Contract');
  const good = await request<{ webhook_endpoints: unknown[] }>('GET', '/api/v1/webhook_endpoints', {
    token: org.apiKey,
  });
  expect(() => contract.check('GET', '/api/v1/webhook_endpoints', 200, 'application/json', good.text)).not.toThrow();

  const extra = JSON.stringify({ ...good.body, surprise: true });
  expect(() => contract.check('GET', '/api/v1/webhook_endpoints', 200, 'application/json', extra)).toThrow(
    ContractError,
  );
  expect(() => contract.check('GET', '/api/v1/webhook_endpoints?page=2', 200, 'application/json', extra)).toThrow(
    /GET \/api\/v1\/webhook_endpoints → 200: the body does not match the OpenAPI document: \(body\) must NOT have additional properties/,
  );
  expect(() =>
    contract.check(
      'GET',
      '/api/v1/webhooks/0190a0a0-0000-7000-8000-000000000000',
      404,
      'application/json',
      '{"status":404,"error":"Not Found","code":7}',
    ),
  ).toThrow(/\/code must be string/);
  expect(() => contract.check('POST', '/api/v1/webhook_endpoints', 201, 'application/json', '{}')).toThrow(
    /does not list status 201/,
  );
  expect(() => contract.check('GET', '/api/v1/webhooks/public_key', 200, 'application/json', '{}')).toThrow(
    /content type application\/json is not documented/,
  );
  // The most specific path wins: hmac_key is not a webhook id.
  expect(() =>
    contract.check(
      'GET',
      '/api/v1/webhooks/hmac_key',
      200,
      'application/json',
      JSON.stringify({ webhook: { hmac_key: 'a', standard_webhooks_secret: 'b' } }),
    ),
  ).not.toThrow();
  // Paths no route serves answer Lago's 404.
  expect(() =>
    contract.check(
      'GET',
      '/api/v2/nothing',
      404,
      'application/json',
      '{"status":404,"error":"Not Found","code":"route_not_found"}',
    ),
  ).not.toThrow();
  expect(() => contract.check('GET', '/api/v2/nothing', 404, 'text/html', '<h1>nope</h1>')).toThrow(/not JSON/);
});
