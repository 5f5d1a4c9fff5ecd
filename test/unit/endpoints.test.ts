// Covers shared/domain/endpoints/endpoints.ts and its request schemas (shared/domain/endpoints/schemas.ts): event type normalisation, page metadata, and the validation and Lago error codes of creating and updating endpoints.
import { beforeEach, describe, expect, it } from 'vitest';
import {
  createEndpoint,
  deleteEndpoint,
  listEndpoints,
  MAX_ENDPOINTS,
  serializeEndpoint,
  subscribes,
  updateEndpoint,
  type EndpointPolicy,
} from '#shared/domain/endpoints/endpoints.ts';
import { createEndpointRequest } from '#shared/domain/endpoints/schemas.ts';
import { ApiError, type ValidationDetails } from '#shared/domain/errors.ts';
import { parseWrapped } from '#shared/domain/validation.ts';
import { idTime } from '#shared/domain/ids.ts';
import { parseCidrs } from '#shared/domain/delivery/ssrf.ts';
import { FakeStore } from './support/fake-store.ts';

const ORG = '0196d7a2-0000-7000-8000-00000000000a';
const OTHER_ORG = '0196d7a2-0000-7000-8000-00000000000b';
const NOW = Date.UTC(2025, 2, 4, 5, 6, 7, 890);
const AWS: EndpointPolicy = { allow: [], allowHttp: false };
const LOCAL: EndpointPolicy = { allow: parseCidrs('127.0.0.0/8,::1/128'), allowHttp: true };

async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe('event_types', () => {
  /** The event types an endpoint gets, or the refusal's details. */
  const normalize = (raw: unknown) => {
    const body = { webhook_endpoint: { webhook_url: 'https://example.com/', event_types: raw } };
    try {
      return { value: parseWrapped('webhook_endpoint', createEndpointRequest(AWS), body).event_types, details: {} };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return { value: undefined, details: error.details ?? {} };
    }
  };

  it('keeps null as every type and turns ["*"] into null', () => {
    expect(normalize(null)).toEqual({ value: null, details: {} });
    expect(normalize(['*'])).toEqual({ value: null, details: {} });
    expect(normalize(['invoice.created', ' * '])).toEqual({ value: null, details: {} });
  });

  it('keeps [] as no type at all', () => {
    expect(normalize([])).toEqual({ value: [], details: {} });
  });

  it('trims, lowercases and de-duplicates', () => {
    expect(normalize([' Invoice.Created ', 'invoice.created', 'CUSTOMER.UPDATED'])).toEqual({
      value: ['invoice.created', 'customer.updated'],
      details: {},
    });
  });

  it('reports unknown types and non-lists as value_is_invalid', () => {
    for (const raw of [['invoice.created', 'invoice.exploded'], 'invoice.created', [42], { a: 1 }]) {
      expect(normalize(raw), JSON.stringify(raw)).toEqual({
        value: undefined,
        details: { event_types: ['value_is_invalid'] },
      });
    }
  });
});

describe('createEndpoint', () => {
  let store: FakeStore;
  beforeEach(() => {
    store = new FakeStore();
  });

  const create = (endpoint: unknown, policy: EndpointPolicy = AWS) =>
    createEndpoint(store, policy, ORG, { webhook_endpoint: endpoint }, NOW);
  const failure = async (endpoint: unknown, policy: EndpointPolicy = AWS) => {
    const error = await apiError(create(endpoint, policy));
    expect(error.kind).toBe('validation');
    expect(store.endpoints.size).toBe(0);
    return error.details;
  };

  it('creates an endpoint with Lago defaults', async () => {
    const endpoint = await create({ webhook_url: 'https://example.com/hooks' });
    expect(serializeEndpoint(endpoint)).toEqual({
      lago_id: endpoint.id,
      lago_organization_id: ORG,
      webhook_url: 'https://example.com/hooks',
      signature_algo: 'jwt',
      name: null,
      event_types: null,
      created_at: '2025-03-04T05:06:07Z',
      // Beyond Lago, after its fields.
      disabled: false,
      disabled_at: null,
      disabled_reason: null,
      failing_since: null,
      headers: {},
      aws_role_arn: null,
      max_rps: null,
      circuit: { state: 'closed', opened_at: null },
    });
    expect(idTime(endpoint.id)).toBe(NOW);
    expect(store.endpoints.get(endpoint.id)).toEqual(endpoint);
  });

  it('keeps the given algorithm, name and normalised event types', async () => {
    const endpoint = await create({
      webhook_url: ' https://example.com/h ',
      signature_algo: 'hmac',
      name: 'Billing',
      event_types: ['Invoice.Created'],
    });
    expect(endpoint).toMatchObject({
      webhook_url: 'https://example.com/h',
      signature_algo: 'hmac',
      name: 'Billing',
      event_types: ['invoice.created'],
    });
  });

  it('requires webhook_url (value_is_mandatory)', async () => {
    for (const endpoint of [{}, { webhook_url: null }, { webhook_url: '' }, { webhook_url: '   ' }]) {
      expect(await failure(endpoint)).toEqual({ webhook_url: ['value_is_mandatory'] });
    }
  });

  it('rejects URLs that are not absolute http(s) URLs with a host (url_is_invalid)', async () => {
    for (const url of [
      'ftp://example.com/x',
      'file:///etc/passwd',
      'https://',
      'garbage',
      '/relative/path',
      'https://user:secret@example.com/',
      'https://token@example.com/',
      42,
      `https://example.com/${'a'.repeat(2100)}`,
    ]) {
      expect(await failure({ webhook_url: url }), String(url).slice(0, 40)).toEqual({
        webhook_url: ['url_is_invalid'],
      });
    }
  });

  it('stores the URL normalized, so spellings of one URL are one endpoint (value_already_exist)', async () => {
    const policy: EndpointPolicy = { allow: [], allowHttp: true };
    expect((await create({ webhook_url: 'HTTPS://Example.COM:443/a/./b/../c?x=1' }, policy)).webhook_url).toBe(
      'https://example.com/a/c?x=1',
    );
    expect((await create({ webhook_url: 'http://example.com' }, policy)).webhook_url).toBe('http://example.com/');
    for (const url of [
      'https://EXAMPLE.com/a/c?x=1',
      'https://example.com/a/b/../c?x=1',
      'https://example.com:443/a/c?x=1',
      'http://example.com/',
    ]) {
      expect(await apiError(create({ webhook_url: url }, policy)), url).toMatchObject({
        details: { webhook_url: ['value_already_exist'] },
      });
    }
  });

  it('refuses control characters and fragments (url_is_invalid)', async () => {
    for (const url of [
      'https://example.com/a\tb',
      'https://exa\nmple.com/',
      'https://example.com/\r\nX-Evil: 1',
      'https://example.com/\u0000',
      'https://example.com/\u007f',
      'https://example.com/\u0085',
      'https://example.com/a#frag',
      'https://example.com/a#',
    ]) {
      expect(await failure({ webhook_url: url }), JSON.stringify(url)).toEqual({ webhook_url: ['url_is_invalid'] });
    }
  });

  it('normalizes odd IPv4 spellings before the address check (0x7f.1 is 127.0.0.1)', async () => {
    expect(await failure({ webhook_url: 'http://0x7f.1/x' }, { allow: [], allowHttp: true })).toEqual({
      webhook_url: ['address_is_not_public'],
    });
    expect((await create({ webhook_url: 'http://0x7f.1/x' }, LOCAL)).webhook_url).toBe('http://127.0.0.1/x');
  });

  it('refuses control characters in names (value_is_invalid)', async () => {
    expect(await failure({ webhook_url: 'https://example.com/', name: 'a\r\nb' })).toEqual({
      name: ['value_is_invalid'],
    });
  });

  it('requires https unless http is allowed (url_must_use_https)', async () => {
    expect(await failure({ webhook_url: 'http://example.com/hooks' })).toEqual({ webhook_url: ['url_must_use_https'] });
    await expect(
      create({ webhook_url: 'http://example.com/hooks' }, { allow: [], allowHttp: true }),
    ).resolves.toMatchObject({ webhook_url: 'http://example.com/hooks' });
  });

  it('rejects non-public literal addresses and localhost (address_is_not_public)', async () => {
    const noAllowList: EndpointPolicy = { allow: [], allowHttp: true };
    for (const url of [
      'http://127.0.0.1/',
      'http://localhost:3000/hooks',
      'http://api.localhost/',
      'http://[::1]/',
      'http://169.254.169.254/latest/meta-data',
      'https://10.0.0.1/',
      'https://[::ffff:127.0.0.1]/',
      'http://2130706433/',
    ]) {
      expect(await failure({ webhook_url: url }, noAllowList), url).toEqual({ webhook_url: ['address_is_not_public'] });
    }
  });

  it('accepts loopback when the allow-list covers it', async () => {
    await expect(create({ webhook_url: 'http://127.0.0.1:4000/hooks' }, LOCAL)).resolves.toMatchObject({
      webhook_url: 'http://127.0.0.1:4000/hooks',
    });
    await expect(create({ webhook_url: 'http://localhost:4001/hooks' }, LOCAL)).resolves.toMatchObject({
      webhook_url: 'http://localhost:4001/hooks',
    });
    await expect(create({ webhook_url: 'http://[::1]:4002/hooks' }, LOCAL)).resolves.toMatchObject({
      webhook_url: 'http://[::1]:4002/hooks',
    });
  });

  it('rejects an unknown signature_algo and bad event_types (value_is_invalid)', async () => {
    expect(await failure({ webhook_url: 'https://example.com/', signature_algo: 'rsa' })).toEqual({
      signature_algo: ['value_is_invalid'],
    });
    expect(await failure({ webhook_url: 'https://example.com/', event_types: ['invoice.nope'] })).toEqual({
      event_types: ['value_is_invalid'],
    });
    expect(await failure({ webhook_url: 'https://example.com/', name: 'x'.repeat(256) })).toEqual({
      name: ['value_is_invalid'],
    });
  });

  it('takes max_rps as a whole number from 1 to 10,000, or null, and refuses anything else (value_is_invalid)', async () => {
    for (const max_rps of [0, -1, 1.5, 10_001, '5', true])
      expect(await failure({ webhook_url: 'https://example.com/', max_rps }), String(max_rps)).toEqual({
        max_rps: ['value_is_invalid'],
      });
    expect(serializeEndpoint(await create({ webhook_url: 'https://example.com/r', max_rps: 10_000 })).max_rps).toBe(
      10_000,
    );
    expect(serializeEndpoint(await create({ webhook_url: 'https://example.com/n', max_rps: null })).max_rps).toBeNull();
  });

  it('reports every invalid field at once', async () => {
    expect(await failure({ webhook_url: 'ftp://x', signature_algo: 'rsa', event_types: 'all' })).toEqual({
      webhook_url: ['url_is_invalid'],
      signature_algo: ['value_is_invalid'],
      event_types: ['value_is_invalid'],
    });
  });

  it('answers a 400 bad_request when webhook_endpoint is missing or not an object', async () => {
    for (const body of [
      {},
      { webhook_endpoint: null },
      { webhook_endpoint: 'https://example.com' },
      { webhook_endpoint: [] },
      null,
      [],
      'x',
    ]) {
      const error = await apiError(createEndpoint(store, AWS, ORG, body, NOW));
      expect(error.kind).toBe('bad_request');
    }
    const error = await apiError(createEndpoint(store, AWS, ORG, {}, NOW));
    expect(error.message).toContain('webhook_endpoint');
  });

  it('refuses a URL the organization already uses (value_already_exist)', async () => {
    await create({ webhook_url: 'https://example.com/a' });
    const error = await apiError(create({ webhook_url: 'https://example.com/a' }));
    expect(error.details).toEqual({ webhook_url: ['value_already_exist'] });
    await expect(
      createEndpoint(store, AWS, OTHER_ORG, { webhook_endpoint: { webhook_url: 'https://example.com/a' } }, NOW),
    ).resolves.toBeDefined();
  });

  it(`refuses an endpoint beyond the ${MAX_ENDPOINTS}th with Lago's message`, async () => {
    for (let i = 0; i < MAX_ENDPOINTS; i++) await create({ webhook_url: `https://example.com/${i}` });
    const error = await apiError(create({ webhook_url: 'https://example.com/extra' }));
    expect(error.kind).toBe('validation');
    expect(error.details).toEqual({ base: ['Maximum number of webhook endpoints was reached'] });
  });
});

describe('updateEndpoint', () => {
  let store: FakeStore;
  let id: string;
  beforeEach(async () => {
    store = new FakeStore();
    id = (
      await createEndpoint(
        store,
        AWS,
        ORG,
        {
          webhook_endpoint: {
            webhook_url: 'https://example.com/a',
            signature_algo: 'hmac',
            name: 'A',
            event_types: ['invoice.created'],
          },
        },
        NOW,
      )
    ).id;
  });

  const update = (endpoint: unknown, policy: EndpointPolicy = AWS, org = ORG) =>
    updateEndpoint(store, policy, org, id, { webhook_endpoint: endpoint });

  it('sets and removes max_rps, and an enable closes the circuit breaker', async () => {
    expect((await update({ max_rps: 5 })).max_rps).toBe(5);
    expect((await update({ name: 'Kept' })).max_rps).toBe(5);
    expect((await update({ max_rps: null })).max_rps).toBeNull();
    Object.assign(store.endpoints.get(id)!, { disabled_at_ms: NOW, breaker_opened_at_ms: NOW - 1000 });
    expect(serializeEndpoint(store.endpoints.get(id)!).circuit).toEqual({
      state: 'open',
      opened_at: new Date(NOW - 1000).toISOString(),
    });
    const enabled = await update({ disabled: false });
    expect(serializeEndpoint(enabled).circuit).toEqual({ state: 'closed', opened_at: null });
  });

  it('changes only the keys present', async () => {
    const updated = await update({ name: 'Renamed' });
    expect(updated).toMatchObject({
      id,
      webhook_url: 'https://example.com/a',
      signature_algo: 'hmac',
      name: 'Renamed',
      event_types: ['invoice.created'],
    });
    expect(store.endpoints.get(id)).toEqual(updated);
  });

  it('keeps an endpoint stored before URLs were normalized as it is, and can normalize it', async () => {
    const legacy = {
      ...store.endpoints.get(id)!,
      id: '0196d7a2-0000-7000-8000-0000000000ee',
      webhook_url: 'HTTPS://Example.com/./legacy',
    };
    await store.createEndpoint(legacy, MAX_ENDPOINTS);
    const renamed = await updateEndpoint(store, AWS, ORG, legacy.id, { webhook_endpoint: { name: 'Legacy' } });
    expect(renamed).toMatchObject({ webhook_url: 'HTTPS://Example.com/./legacy', name: 'Legacy' });
    const normalized = await updateEndpoint(store, AWS, ORG, legacy.id, {
      webhook_endpoint: { webhook_url: legacy.webhook_url },
    });
    expect(normalized.webhook_url).toBe('https://example.com/legacy');
  });

  it('can reset event types to every type and the name to null', async () => {
    expect(await update({ event_types: ['*'], name: '' })).toMatchObject({ event_types: null, name: null });
    expect(await update({ event_types: [] })).toMatchObject({ event_types: [] });
  });

  it('validates the keys present with the same codes, changing nothing', async () => {
    const before = structuredClone(store.endpoints.get(id));
    const cases: [unknown, ValidationDetails][] = [
      [{ webhook_url: null }, { webhook_url: ['value_is_mandatory'] }],
      [{ webhook_url: 'ftp://example.com' }, { webhook_url: ['url_is_invalid'] }],
      [{ webhook_url: 'http://example.com' }, { webhook_url: ['url_must_use_https'] }],
      [{ webhook_url: 'https://169.254.169.254/' }, { webhook_url: ['address_is_not_public'] }],
      [{ signature_algo: 'rsa' }, { signature_algo: ['value_is_invalid'] }],
      [{ event_types: ['nope'] }, { event_types: ['value_is_invalid'] }],
    ];
    for (const [endpoint, details] of cases) {
      const error = await apiError(update(endpoint));
      expect(error.kind).toBe('validation');
      expect(error.details, JSON.stringify(endpoint)).toEqual(details);
    }
    expect(store.endpoints.get(id)).toEqual(before);
  });

  it('answers 400 when webhook_endpoint is missing', async () => {
    expect((await apiError(updateEndpoint(store, AWS, ORG, id, { name: 'x' }))).kind).toBe('bad_request');
  });

  it("answers not found for another organization's endpoint", async () => {
    const error = await apiError(update({ name: 'stolen' }, AWS, OTHER_ORG));
    expect(error.kind).toBe('not_found');
    expect(error.code).toBe('webhook_endpoint_not_found');
    expect(store.endpoints.get(id)?.name).toBe('A');
  });

  it("refuses another endpoint's URL (value_already_exist)", async () => {
    await createEndpoint(store, AWS, ORG, { webhook_endpoint: { webhook_url: 'https://example.com/b' } }, NOW);
    expect((await apiError(update({ webhook_url: 'https://example.com/b' }))).details).toEqual({
      webhook_url: ['value_already_exist'],
    });
  });
});

describe('listEndpoints and deleteEndpoint', () => {
  it("pages through the organization's endpoints and deletes only its own", async () => {
    const store = new FakeStore();
    for (let i = 0; i < 3; i++)
      await createEndpoint(store, AWS, ORG, { webhook_endpoint: { webhook_url: `https://example.com/${i}` } }, NOW + i);
    await createEndpoint(
      store,
      AWS,
      OTHER_ORG,
      { webhook_endpoint: { webhook_url: 'https://example.com/other' } },
      NOW,
    );
    const second = await listEndpoints(store, ORG, { page: 2, perPage: 2 });
    expect(second.webhook_endpoints.map((e) => e.webhook_url)).toEqual(['https://example.com/2']);
    expect(second.meta).toEqual({ current_page: 2, next_page: null, prev_page: 1, total_pages: 2, total_count: 3 });

    const id = second.webhook_endpoints[0]!.lago_id;
    expect((await apiError(deleteEndpoint(store, OTHER_ORG, id))).code).toBe('webhook_endpoint_not_found');
    expect((await deleteEndpoint(store, ORG, id)).id).toBe(id);
    expect((await listEndpoints(store, ORG, { page: 1, perPage: 20 })).meta.total_count).toBe(2);
  });
});

describe('disable and enable', () => {
  let store: FakeStore;
  beforeEach(() => {
    store = new FakeStore();
  });

  it('disables on create or update with the reason shown, and a disabled endpoint subscribes to nothing', async () => {
    const created = await createEndpoint(
      store,
      AWS,
      ORG,
      { webhook_endpoint: { webhook_url: 'https://example.com/a', disabled: true } },
      NOW,
    );
    expect(serializeEndpoint(created)).toMatchObject({
      disabled: true,
      disabled_at: '2025-03-04T05:06:07Z',
      disabled_reason: 'disabled by request',
    });
    expect(subscribes(created, 'invoice.created')).toBe(false);
    const other = await createEndpoint(
      store,
      AWS,
      ORG,
      { webhook_endpoint: { webhook_url: 'https://example.com/b' } },
      NOW,
    );
    expect(subscribes(other, 'invoice.created')).toBe(true);
    const disabled = await updateEndpoint(
      store,
      AWS,
      ORG,
      other.id,
      { webhook_endpoint: { disabled: true } },
      NOW + 1000,
    );
    expect(serializeEndpoint(disabled)).toMatchObject({
      disabled: true,
      disabled_at: '2025-03-04T05:06:08Z',
      disabled_reason: 'disabled by request',
    });
    expect(subscribes(disabled, 'invoice.created')).toBe(false);
  });

  it("says when an update enabled the endpoint, and counts a failing endpoint's failures afresh from then", async () => {
    const endpoint = await createEndpoint(
      store,
      AWS,
      ORG,
      { webhook_endpoint: { webhook_url: 'https://example.com/a' } },
      NOW,
    );
    store.endpoints.set(endpoint.id, {
      ...endpoint,
      failing_since_ms: NOW - 86_400_000,
      disabled_at_ms: Date.parse('2025-03-04T05:06:07Z'),
      disabled_reason: 'every attempt failed',
    });
    const enabledNow: string[] = [];
    const onEnabled = async (e: { id: string }) => enabledNow.push(e.id);
    const enabled = await updateEndpoint(
      store,
      AWS,
      ORG,
      endpoint.id,
      { webhook_endpoint: { disabled: false } },
      NOW + 5000,
      onEnabled,
    );
    expect(enabledNow).toEqual([endpoint.id]);
    expect(serializeEndpoint(enabled)).toMatchObject({
      disabled: false,
      disabled_at: null,
      disabled_reason: null,
      failing_since: new Date(NOW + 5000).toISOString(),
    });
    // Enabling an enabled endpoint changes nothing.
    await updateEndpoint(
      store,
      AWS,
      ORG,
      endpoint.id,
      { webhook_endpoint: { disabled: false } },
      NOW + 9000,
      onEnabled,
    );
    expect(enabledNow).toHaveLength(1);
    expect(store.endpoints.get(endpoint.id)!.failing_since_ms).toBe(NOW + 5000);
  });

  it('refuses a disabled flag that is not a boolean', async () => {
    const error = await apiError(
      createEndpoint(
        store,
        AWS,
        ORG,
        { webhook_endpoint: { webhook_url: 'https://example.com/a', disabled: 'true' } },
        NOW,
      ),
    );
    expect(error.details).toEqual({ disabled: ['value_is_invalid'] });
  });
});

describe('AWS destinations', () => {
  const ROLE = 'arn:aws:iam::210987654321:role/lago-deliveries';
  const QUEUE = 'arn:aws:sqs:eu-west-1:210987654321:billing-events';
  const ENABLED: EndpointPolicy = { ...AWS, aws: { roles: ['arn:aws:iam::210987654321:role/lago-*'] } };
  let store: FakeStore;
  beforeEach(() => {
    store = new FakeStore();
  });
  const create = (endpoint: unknown, policy: EndpointPolicy = ENABLED) =>
    createEndpoint(store, policy, ORG, { webhook_endpoint: endpoint }, NOW);
  const update = (id: string, endpoint: unknown, policy: EndpointPolicy = ENABLED) =>
    updateEndpoint(store, policy, ORG, id, { webhook_endpoint: endpoint }, NOW);

  it("stores a queue ARN with its role, shown after Lago's fields", async () => {
    const endpoint = await create({ webhook_url: ` ${QUEUE} `, aws_role_arn: ROLE });
    expect(endpoint).toMatchObject({ webhook_url: QUEUE, aws_role_arn: ROLE });
    const fields = Object.entries(serializeEndpoint(endpoint));
    expect(fields.slice(-3, -2)).toEqual([['aws_role_arn', ROLE]]);
  });

  it('keeps the role while the URL stays an ARN, drops it for an https URL, and checks the allow-list on updates', async () => {
    const { id } = await create({ webhook_url: QUEUE, aws_role_arn: ROLE });
    expect(await update(id, { name: 'Billing' })).toMatchObject({ webhook_url: QUEUE, aws_role_arn: ROLE });
    const bus = 'arn:aws:events:eu-west-1:210987654321:event-bus/billing';
    expect(await update(id, { webhook_url: bus })).toMatchObject({ webhook_url: bus, aws_role_arn: ROLE });
    expect((await apiError(update(id, { aws_role_arn: 'arn:aws:iam::210987654321:role/admin' }))).details).toEqual({
      aws_role_arn: ['role_is_not_allowed'],
    });
    expect((await apiError(update(id, { aws_role_arn: null }))).details).toEqual({
      aws_role_arn: ['value_is_mandatory'],
    });
    const moved = await update(id, { webhook_url: 'https://example.com/hooks' });
    expect(moved).toMatchObject({ webhook_url: 'https://example.com/hooks', aws_role_arn: null });
    expect(store.endpoints.get(id)).toMatchObject({ aws_role_arn: null });
  });

  it('refuses every ARN where the allow-list is empty, saying AWS destinations are not enabled', async () => {
    expect((await apiError(create({ webhook_url: QUEUE, aws_role_arn: ROLE }, AWS))).details).toEqual({
      webhook_url: ['aws_destinations_are_not_enabled'],
    });
    expect(store.endpoints.size).toBe(0);
  });
});
