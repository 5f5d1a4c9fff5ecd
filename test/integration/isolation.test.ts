// Tenant isolation, route by route: an organization using another organization's ids gets a 404 (or the route's own
// empty answer), never the other's data, and changes nothing of it; nor can it use up the other's rate limits. The
// stack's captured logs (level debug) hold no API key, portal session token, HMAC token or admin token. The same holds
// for the attacker's portal session tokens (a manager's has its API key's rights, a viewer's reads only).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '#shared/runtime/routes.ts';
import { checkContract, isolatedStack, LogCapture, type IsolatedStack } from './helpers.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver } from '../support/receiver.ts';
import { withinOneWindow } from '../support/windows.ts';

let isolated: IsolatedStack;
const logs = new LogCapture();
const receiver = new Receiver((_req, res) => res.writeHead(500).end('down'));

interface Tenant {
  id: string;
  key: string;
  hmacKey: string;
  /** Portal session tokens, by role. */
  sessions: { manager: string; viewer: string };
}

let victim: Tenant;
let attacker: Tenant;
let victimEndpoint: string;
let victimWebhook: string;
const VICTIM_OBJECT = 'inv_victim_7f3a9c';
const victimUrl = () => `${receiver.url}?tenant=victim`;

async function tenant(name: string): Promise<Tenant> {
  const org = await isolated.call('POST', '/admin/v1/organizations', isolated.local.adminToken, { name });
  const id = (org.body.organization as { lago_id: string }).lago_id;
  const key = org.body.api_key as string;
  const hmac = await isolated.call('GET', '/api/v1/webhooks/hmac_key', key);
  const session = async (role: string) => {
    const made = await isolated.call(
      'POST',
      `/admin/v1/organizations/${id}/portal_sessions`,
      isolated.local.adminToken,
      { role },
    );
    return (made.body.portal_session as { token: string }).token;
  };
  return {
    id,
    key,
    hmacKey: (hmac.body.webhook as { hmac_key: string }).hmac_key,
    sessions: { manager: await session('manager'), viewer: await session('viewer') },
  };
}

const victimWebhookState = async () =>
  (await isolated.call('GET', `/api/v1/webhooks/${victimWebhook}`, victim.key)).body;

beforeAll(async () => {
  await receiver.start();
  isolated = await isolatedStack(
    'isolation',
    {
      WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8',
      WEBHOOK_ALLOW_HTTP: 'true',
      WEBHOOK_RETRY_SCHEDULE: '1',
      WEBHOOK_TIMEOUT_MS: '1000',
      // Small, so that the attacker reaches them.
      RATE_LIMIT_ENDPOINT_TEST_EVENTS_PER_MINUTE: '2',
      RATE_LIMIT_TEST_EVENTS_PER_MINUTE: '3',
      RATE_LIMIT_ROTATIONS_PER_HOUR: '2',
      RATE_LIMIT_REDELIVERIES_PER_MINUTE: '2',
      RATE_LIMIT_RECOVERIES_PER_HOUR: '2',
    },
    { logLevel: 'debug', logDestination: logs },
  );
  victim = await tenant('Victim Co');
  attacker = await tenant('Attacker Co');
  const endpoint = await isolated.call('POST', '/api/v1/webhook_endpoints', victim.key, {
    webhook_endpoint: { webhook_url: victimUrl(), signature_algo: 'hmac', name: 'victim-endpoint' },
  });
  victimEndpoint = (endpoint.body.webhook_endpoint as { lago_id: string }).lago_id;
  const published = await isolated.call('POST', '/admin/v1/webhooks', isolated.local.adminToken, {
    organization_id: victim.id,
    webhook_type: 'invoice.created',
    object_type: 'invoice',
    object: { lago_id: VICTIM_OBJECT },
  });
  victimWebhook = (published.body.webhooks as { lago_id: string }[])[0]!.lago_id;
  // Failed, so that retry and recover would act on it if they let the attacker through.
  await eventually(
    async () => ((await victimWebhookState()).webhook as { status: string }).status === 'failed' || undefined,
    20_000,
    'the victim webhook to fail',
  );
});

afterAll(async () => {
  await receiver.stop();
  await isolated?.stop();
});

describe("another organization's ids", () => {
  it('get a 404 or an empty answer on every organization route, never the data, and change nothing', async () => {
    const before = await victimWebhookState();
    const receivedBefore = receiver.received.length;
    const window = { from_date: '2020-01-01', to_date: '2020-01-10' };
    const today = new Date().toISOString().slice(0, 10);
    const tries: [string, string, unknown, number[]][] = [
      ['GET', `/api/v1/webhook_endpoints/${victimEndpoint}`, undefined, [404]],
      ['PUT', `/api/v1/webhook_endpoints/${victimEndpoint}`, { webhook_endpoint: { name: 'pwned' } }, [404]],
      ['DELETE', `/api/v1/webhook_endpoints/${victimEndpoint}`, undefined, [404]],
      ['GET', `/api/v1/webhooks/${victimWebhook}`, undefined, [404]],
      ['POST', `/api/v1/webhooks/${victimWebhook}/retry`, undefined, [404]],
      ['POST', `/api/v1/webhooks/${victimWebhook}/resend`, undefined, [404]],
      ['POST', `/api/v1/webhook_endpoints/${victimEndpoint}/test`, { webhook_type: 'invoice.created' }, [404]],
      [
        'POST',
        '/api/v1/webhooks/recover',
        { webhook_endpoint_id: victimEndpoint, from_date: today, to_date: today },
        [404],
      ],
      ['POST', '/api/v1/webhooks/recover', { webhook_endpoint_id: victimEndpoint, ...window }, [404]],
      ['POST', `/api/v1/webhook_endpoints/${victimEndpoint}/replay`, { from_date: today, to_date: today }, [404]],
      ['GET', `/api/v1/webhooks?webhook_endpoint_id=${victimEndpoint}`, undefined, [200]],
      ['GET', `/api/v1/webhooks?search_term=${victimWebhook}`, undefined, [200]],
      ['GET', `/api/v1/webhooks?search_term=${VICTIM_OBJECT}`, undefined, [200]],
      ['GET', `/api/v1/webhooks?webhook_endpoint_id=${victimEndpoint}&statuses[]=failed`, undefined, [200]],
      ['GET', '/api/v1/webhooks', undefined, [200]],
      ['GET', '/api/v1/webhook_endpoints', undefined, [200]],
      ['GET', '/api/v1/webhooks/hmac_key', undefined, [200]],
      // Rotates the attacker's own token, never the victim's.
      ['POST', '/api/v1/webhooks/hmac_key/rotate', {}, [200]],
      ['GET', '/api/v1/webhook_event_types', undefined, [200]],
      ['GET', '/api/v1/webhooks/json_public_key', undefined, [200]],
      ['GET', '/api/v1/webhooks/public_key', undefined, [200]],
      ['GET', '/api/v1/webhooks/jwks.json', undefined, [200]],
      ['GET', '/api/v1/openapi.json', undefined, [200]],
    ];
    // Every organization route is tried, but creating an endpoint, which takes no id of anyone's.
    const tried = new Set(
      tries.map(
        ([method, path]) =>
          `${method} ${path.split('?')[0]!.replace(victimEndpoint, '{lago_id}').replace(victimWebhook, '{lago_id}')}`,
      ),
    );
    for (const route of ROUTES.filter(
      (r) => r.fn === 'api' && !(r.method === 'POST' && r.path === '/api/v1/webhook_endpoints'),
    )) {
      expect(tried, `${route.method} ${route.path}`).toContain(`${route.method} ${route.path}`);
    }
    const secrets = [
      victim.id,
      victimEndpoint,
      victimWebhook,
      VICTIM_OBJECT,
      victimUrl(),
      'victim-endpoint',
      victim.key,
      victim.hmacKey,
      victim.sessions.manager,
      victim.sessions.viewer,
    ];
    // The API key, and portal session tokens: a manager's has the key's rights, a viewer's only reads, never a secret.
    const credentials = [
      ['API key', attacker.key, false],
      ['manager session', attacker.sessions.manager, false],
      ['viewer session', attacker.sessions.viewer, true],
    ] as const;
    for (const [who, credential, viewer] of credentials)
      for (const [method, path, body, statuses] of tries) {
        const res = await fetch(`${isolated.local.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        const text = await res.text();
        const refusedToViewer = viewer && (method !== 'GET' || path === '/api/v1/webhooks/hmac_key');
        const expected = refusedToViewer ? [403] : statuses;
        expect(expected, `${who}: ${method} ${path}: ${res.status} ${text}`).toContain(res.status);
        await checkContract(method, path, res, text);
        for (const secret of secrets) expect(text, `${who}: ${method} ${path} shows ${secret}`).not.toContain(secret);
        if (res.status === 404) expect((JSON.parse(text) as { status: number }).status).toBe(404);
        if (path.startsWith('/api/v1/webhooks?')) expect(JSON.parse(text)).toMatchObject({ webhooks: [] });
      }
    // The victim's endpoint and webhook are as they were, and no delivery was made.
    const endpoint = await isolated.call('GET', `/api/v1/webhook_endpoints/${victimEndpoint}`, victim.key);
    expect(endpoint.body.webhook_endpoint).toMatchObject({ name: 'victim-endpoint', webhook_url: victimUrl() });
    expect(await victimWebhookState()).toEqual(before);
    expect(receiver.received.length).toBe(receivedBefore);
  });
});

describe("an organization's rate limits", () => {
  it('are its own: another organization reaching its limits, or aiming at its ids, leaves them whole', async () => {
    const call = (tenant: Tenant, method: string, path: string, body?: unknown) =>
      isolated.call(method, path, tenant.key, body);
    const today = new Date().toISOString().slice(0, 10);
    // At the victim's endpoint and webhook: 404s, which count against no one.
    for (let i = 0; i < 6; i++) {
      expect(
        (
          await call(attacker, 'POST', `/api/v1/webhook_endpoints/${victimEndpoint}/test`, {
            webhook_type: 'invoice.created',
          })
        ).status,
      ).toBe(404);
      expect((await call(attacker, 'POST', `/api/v1/webhooks/${victimWebhook}/retry`)).status).toBe(404);
      expect(
        (
          await call(attacker, 'POST', '/api/v1/webhooks/recover', {
            webhook_endpoint_id: victimEndpoint,
            from_date: today,
            to_date: today,
          })
        ).status,
      ).toBe(404);
    }
    // Its own limits, reached: rotations (two were made above, by its key and its manager session) and test events to an endpoint of its own.
    const own = await call(attacker, 'POST', '/api/v1/webhook_endpoints', {
      webhook_endpoint: { webhook_url: `${receiver.url}?tenant=attacker` },
    });
    const ownEndpoint = (own.body.webhook_endpoint as { lago_id: string }).lago_id;
    // Each burst within one window of its limit, so that a window's end cannot reset a count midway.
    await withinOneWindow(3_600_000);
    await withinOneWindow(60_000);
    const rotations = [];
    for (let i = 0; i < 3; i++)
      rotations.push((await call(attacker, 'POST', '/api/v1/webhooks/hmac_key/rotate', {})).status);
    expect(rotations).toContain(429);
    const tests = [];
    for (let i = 0; i < 4; i++)
      tests.push(
        (
          await call(attacker, 'POST', `/api/v1/webhook_endpoints/${ownEndpoint}/test`, {
            webhook_type: 'invoice.created',
          })
        ).status,
      );
    expect(tests).toContain(429);
    // The victim's own limits are whole: its test events, retry, recover and rotations go through.
    expect(
      (
        await call(victim, 'POST', `/api/v1/webhook_endpoints/${victimEndpoint}/test`, {
          webhook_type: 'invoice.created',
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await call(victim, 'POST', `/api/v1/webhook_endpoints/${victimEndpoint}/test`, {
          webhook_type: 'invoice.created',
        })
      ).status,
    ).toBe(200);
    expect((await call(victim, 'POST', `/api/v1/webhooks/${victimWebhook}/retry`)).status).toBe(200);
    expect(
      (
        await call(victim, 'POST', '/api/v1/webhooks/recover', {
          webhook_endpoint_id: victimEndpoint,
          from_date: today,
          to_date: today,
        })
      ).status,
    ).toBe(200);
    expect((await call(victim, 'POST', '/api/v1/webhooks/hmac_key/rotate', {})).status).toBe(200);
  });
});

describe('captured logs', () => {
  it('hold no API key, portal session token, HMAC token or admin token, at level debug', async () => {
    expect(logs.lines.length).toBeGreaterThan(0);
    const text = logs.text;
    for (const [what, secret] of [
      ['victim API key', victim.key],
      ['attacker API key', attacker.key],
      ['victim HMAC token', victim.hmacKey],
      ['attacker HMAC token', attacker.hmacKey],
      ['admin token', isolated.local.adminToken],
      ['victim manager session', victim.sessions.manager],
      ['attacker viewer session', attacker.sessions.viewer],
    ] as const) {
      expect(text.includes(secret), what).toBe(false);
    }
    expect(text).not.toMatch(/lwh_[A-Za-z0-9_-]{20,}/);
    expect(text).not.toMatch(/adm_[A-Za-z0-9_-]{20,}/);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });
});
