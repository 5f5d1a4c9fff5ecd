import type { WebhookEndpoint } from '../model.ts';
import type { EndpointStore, EndpointWriteResult } from '../ports.ts';

/**
 * The sender's endpoints, kept for a few seconds: at a steady rate an endpoint is read once per
 * window rather than once per delivery. A change to an endpoint (its URL, algorithm, deletion)
 * reaches deliveries within `ENDPOINT_CACHE_MS`, and at once when it is written through this
 * store, as every write of the process that wired it is (in local mode the API and the sender
 * share one); docs/limits.md states this bound.
 */
const ENDPOINT_CACHE_MS = 5_000;
/** Endpoints kept at most (the oldest go first). */
const MAX_ENTRIES = 10_000;

interface Entry {
  at: number;
  value: Promise<WebhookEndpoint | undefined>;
}

/**
 * An EndpointStore around another that keeps the sender's reads (`cachedEndpoint`) for a while and
 * forgets an endpoint whenever it is written through it. Every other read passes through fresh: the
 * API must never answer from a cache (a change made on another instance would look undone).
 */
export class EndpointCache implements EndpointStore {
  private readonly entries = new Map<string, Entry>();
  private readonly inner: EndpointStore;
  private readonly now: () => number;
  private readonly ttlMs: number;

  constructor(inner: EndpointStore, now: () => number, ttlMs = ENDPOINT_CACHE_MS) {
    this.inner = inner;
    this.now = now;
    this.ttlMs = ttlMs;
  }

  /** The endpoint as read at most `ttlMs` ago, for the sender; a failed read is not kept. */
  cachedEndpoint(organizationId: string, endpointId: string): Promise<WebhookEndpoint | undefined> {
    const key = cacheKey(organizationId, endpointId);
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.inner.getEndpoint(organizationId, endpointId);
    this.entries.delete(key);
    this.entries.set(key, { at: this.now(), value });
    value.catch(() => this.entries.get(key)?.value === value && this.entries.delete(key));
    const oldest = this.entries.keys().next();
    if (this.entries.size > MAX_ENTRIES && !oldest.done) this.entries.delete(oldest.value);
    return value;
  }

  getEndpoint(organizationId: string, id: string): Promise<WebhookEndpoint | undefined> {
    return this.inner.getEndpoint(organizationId, id);
  }

  listEndpoints(organizationId: string): Promise<WebhookEndpoint[]> {
    return this.inner.listEndpoints(organizationId);
  }

  createEndpoint(endpoint: WebhookEndpoint, limit: number): Promise<EndpointWriteResult> {
    return this.forgetting(endpoint.organization_id, endpoint.id, this.inner.createEndpoint(endpoint, limit));
  }

  updateEndpoint(previous: WebhookEndpoint, next: WebhookEndpoint): Promise<EndpointWriteResult> {
    return this.forgetting(previous.organization_id, previous.id, this.inner.updateEndpoint(previous, next));
  }

  deleteEndpoint(endpoint: WebhookEndpoint): Promise<EndpointWriteResult> {
    return this.forgetting(endpoint.organization_id, endpoint.id, this.inner.deleteEndpoint(endpoint));
  }

  /**
   * Kept cached: the sender that marks an endpoint slow holds the mark in its own memory (`SenderMemory`), and
   * forgetting would cost a read per mark while an endpoint hangs; other processes learn it on their next read.
   */
  markEndpointSlow(organizationId: string, endpointId: string, untilMs: number): Promise<void> {
    return this.inner.markEndpointSlow(organizationId, endpointId, untilMs);
  }

  markEndpointFailing(organizationId: string, endpointId: string, since: number): Promise<boolean> {
    return this.forgetting(
      organizationId,
      endpointId,
      this.inner.markEndpointFailing(organizationId, endpointId, since),
    );
  }

  markEndpointRecovered(organizationId: string, endpointId: string): Promise<boolean> {
    return this.forgetting(organizationId, endpointId, this.inner.markEndpointRecovered(organizationId, endpointId));
  }

  autoDisableEndpoint(
    organizationId: string,
    endpointId: string,
    failingSinceMs: number,
    atMs: number,
    reason: string,
  ): Promise<boolean> {
    return this.forgetting(
      organizationId,
      endpointId,
      this.inner.autoDisableEndpoint(organizationId, endpointId, failingSinceMs, atMs, reason),
    );
  }

  openBreaker(organizationId: string, endpointId: string, atMs: number): Promise<boolean> {
    return this.forgetting(organizationId, endpointId, this.inner.openBreaker(organizationId, endpointId, atMs));
  }

  claimBreakerProbe(
    organizationId: string,
    endpointId: string,
    claim: Parameters<EndpointStore['claimBreakerProbe']>[2],
  ): Promise<boolean> {
    return this.forgetting(organizationId, endpointId, this.inner.claimBreakerProbe(organizationId, endpointId, claim));
  }

  reopenBreaker(organizationId: string, endpointId: string, openedAtMs: number, atMs: number): Promise<boolean> {
    return this.forgetting(
      organizationId,
      endpointId,
      this.inner.reopenBreaker(organizationId, endpointId, openedAtMs, atMs),
    );
  }

  closeBreaker(organizationId: string, endpointId: string, openedAtMs: number): Promise<boolean> {
    return this.forgetting(organizationId, endpointId, this.inner.closeBreaker(organizationId, endpointId, openedAtMs));
  }

  /** Once the write is over, whether it worked or not, the next sender read goes to the store. */
  private forgetting<T>(organizationId: string, endpointId: string, write: Promise<T>): Promise<T> {
    return write.finally(() => this.entries.delete(cacheKey(organizationId, endpointId)));
  }
}

const cacheKey = (organizationId: string, endpointId: string) => `${organizationId}#${endpointId}`;
