// Covers shared/domain/endpoints/cache.ts: the sender's endpoint reads are kept 5 s, every endpoint write made through the cache makes the next one fresh, and the API's reads are never cached.
import { beforeEach, describe, expect, it } from 'vitest';
import { EndpointCache } from '#shared/domain/endpoints/cache.ts';
import type { WebhookEndpoint } from '#shared/domain/model.ts';
import { FakeStore } from './support/fake-store.ts';

const ORG = '01900000-0000-7000-8000-0000000000a1';
const ENDPOINT = '01900000-0000-7000-8000-0000000000e1';

/** The fake store, counting the endpoint reads that reach it, failing the next `failing` of them. */
class CountingStore extends FakeStore {
  reads = 0;
  failing = 0;
  override async getEndpoint(organizationId: string, id: string): Promise<WebhookEndpoint | undefined> {
    this.reads++;
    if (this.failing > 0) {
      this.failing--;
      throw new Error('ServiceUnavailable');
    }
    return super.getEndpoint(organizationId, id);
  }
}

const endpoint = (id = ENDPOINT): WebhookEndpoint => ({
  id,
  organization_id: ORG,
  webhook_url: `https://receiver.example.com/${id}`,
  signature_algo: 'hmac',
  name: null,
  event_types: null,
  created_at_ms: Date.parse('2026-11-01T00:00:00Z'),
});

let store: CountingStore;
let now: number;
let cache: EndpointCache;

beforeEach(() => {
  store = new CountingStore();
  store.endpoints.set(ENDPOINT, endpoint());
  now = Date.UTC(2026, 10, 1);
  cache = new EndpointCache(store, () => now);
});

describe('the endpoint cache', () => {
  it("keeps the sender's read for 5 seconds, then reads the store again", async () => {
    expect(await cache.cachedEndpoint(ORG, ENDPOINT)).toMatchObject({ webhook_url: endpoint().webhook_url });
    store.endpoints.get(ENDPOINT)!.webhook_url = 'https://elsewhere.example.com/';
    now += 4_999;
    expect(await cache.cachedEndpoint(ORG, ENDPOINT)).toMatchObject({ webhook_url: endpoint().webhook_url });
    expect(store.reads).toBe(1);
    now += 1;
    expect(await cache.cachedEndpoint(ORG, ENDPOINT)).toMatchObject({ webhook_url: 'https://elsewhere.example.com/' });
    expect(store.reads).toBe(2);
  });

  it('reads an endpoint again at once after an update or a delete made through it', async () => {
    await cache.cachedEndpoint(ORG, ENDPOINT);
    const moved = { ...endpoint(), webhook_url: 'https://moved.example.com/' };
    expect(await cache.updateEndpoint(endpoint(), moved)).toBe('ok');
    expect(await cache.cachedEndpoint(ORG, ENDPOINT)).toMatchObject({ webhook_url: 'https://moved.example.com/' });
    expect(await cache.deleteEndpoint(moved)).toBe('ok');
    expect(await cache.cachedEndpoint(ORG, ENDPOINT)).toBeUndefined();
    expect(store.reads).toBe(3);
  });

  it('keeps an endpoint cached when the sender marks it slow: the sender holds that mark itself', async () => {
    const before = await cache.cachedEndpoint(ORG, ENDPOINT);
    await cache.markEndpointSlow(ORG, ENDPOINT, now + 60_000);
    expect(await cache.cachedEndpoint(ORG, ENDPOINT)).toEqual(before);
    expect(store.reads).toBe(1);
  });

  it("reads an endpoint again at once after each of the sender's other health marks", async () => {
    const marks: [string, () => Promise<unknown>][] = [
      ['failing', () => cache.markEndpointFailing(ORG, ENDPOINT, now)],
      ['disabled', () => cache.autoDisableEndpoint(ORG, ENDPOINT, now, now, 'failing')],
      ['recovered', () => cache.markEndpointRecovered(ORG, ENDPOINT)],
    ];
    for (const [mark, write] of marks) {
      const before = await cache.cachedEndpoint(ORG, ENDPOINT);
      await write();
      const after = await cache.cachedEndpoint(ORG, ENDPOINT);
      expect(after, mark).toEqual(await store.getEndpoint(ORG, ENDPOINT));
      expect(after, mark).not.toEqual(before);
    }
  });

  it('keeps the endpoint of another organization, or another endpoint, when one is written', async () => {
    const other = '01900000-0000-7000-8000-0000000000e2';
    store.endpoints.set(other, endpoint(other));
    await cache.cachedEndpoint(ORG, ENDPOINT);
    await cache.cachedEndpoint(ORG, other);
    await cache.markEndpointFailing(ORG, other, now);
    await cache.cachedEndpoint(ORG, ENDPOINT);
    expect(store.reads).toBe(2);
  });

  it("passes the API's reads through fresh, whatever the sender's reads keep", async () => {
    await cache.cachedEndpoint(ORG, ENDPOINT);
    // Changed behind the cache's back, as by another Lambda instance.
    store.endpoints.get(ENDPOINT)!.name = 'renamed elsewhere';
    expect(await cache.getEndpoint(ORG, ENDPOINT)).toMatchObject({ name: 'renamed elsewhere' });
    expect(await cache.listEndpoints(ORG)).toEqual([expect.objectContaining({ name: 'renamed elsewhere' })]);
    expect(await cache.cachedEndpoint(ORG, ENDPOINT)).toMatchObject({ name: null });
  });

  it('does not keep a failed read', async () => {
    store.failing = 1;
    await expect(cache.cachedEndpoint(ORG, ENDPOINT)).rejects.toThrow('ServiceUnavailable');
    expect(await cache.cachedEndpoint(ORG, ENDPOINT)).toMatchObject({ id: ENDPOINT });
    expect(store.reads).toBe(2);
  });

  it('keeps at most 10,000 endpoints, letting the oldest go first', async () => {
    for (let i = 0; i <= 10_000; i++) await cache.cachedEndpoint(ORG, `endpoint-${i}`);
    expect(store.reads).toBe(10_001);
    await cache.cachedEndpoint(ORG, 'endpoint-10000');
    await cache.cachedEndpoint(ORG, 'endpoint-1');
    expect(store.reads).toBe(10_001);
    await cache.cachedEndpoint(ORG, 'endpoint-0');
    expect(store.reads).toBe(10_002);
  });
});
