// In-memory stores for unit tests, each with only what the domain code under test asks for: endpoints, API keys and single webhooks (writes conditional on the version, as DynamoDB's); organizations' tokens.
import type {
  Organization,
  PreviousToken,
  TokenSource,
  WebhookEndpoint,
  Webhook,
  WebhookState,
} from '#shared/domain/model.ts';
import type {
  EndpointStore,
  EndpointWriteResult,
  OrganizationStore,
  ParkedCursor,
  ParkedPage,
  WebhookPage,
  WebhookQuery,
  WebhookRef,
  WebhookStore,
} from '#shared/domain/ports.ts';

/** What delivery, endpoint health, the endpoints API and authentication use. */
export class FakeStore
  implements
    EndpointStore,
    Pick<OrganizationStore, 'findOrganizationIdByKeyHash'>,
    Pick<WebhookStore, 'getWebhook' | 'getWebhookState' | 'updateWebhook' | 'queryWebhooks' | 'findParked'>
{
  readonly endpoints = new Map<string, WebhookEndpoint>();
  readonly keyHashes = new Map<string, string>();
  readonly lookedUpHashes: string[] = [];
  readonly webhooks = new Map<string, Webhook>();

  /** Reads of webhooks that fail, as DynamoDB's do when it is unavailable. */
  failingReads = 0;
  /** Webhook writes that fail, as DynamoDB's do when it throttles a hot key. */
  failingWrites = 0;
  /** Every webhook write asked for, failed or not. */
  writes = 0;

  async getWebhook(organizationId: string, id: string): Promise<Webhook | undefined> {
    if (this.failingReads > 0) {
      this.failingReads--;
      throw new Error('ServiceUnavailable');
    }
    const found = this.webhooks.get(id);
    return found?.organization_id === organizationId ? structuredClone(found) : undefined;
  }

  /** As DynamoDB's: the state with its payload (this fake keeps every payload inline). */
  async getWebhookState(ref: WebhookRef): Promise<{ state: WebhookState; payload?: string } | undefined> {
    if (this.failingReads > 0) {
      this.failingReads--;
      throw new Error('ServiceUnavailable');
    }
    const found = this.webhooks.get(ref.id);
    if (found?.endpoint_id !== ref.endpointId) return undefined;
    const { payload, ...state } = structuredClone(found);
    return { state, payload };
  }

  /** The organization's webhooks, newest first, by endpoint, status and cursor (the filters endpoint health uses). */
  async queryWebhooks(query: WebhookQuery): Promise<WebhookPage> {
    const found = [...this.webhooks.values()]
      .filter(
        (w) => w.organization_id === query.organizationId && (!query.endpointId || w.endpoint_id === query.endpointId),
      )
      .filter(
        (w) =>
          (!query.statuses?.length || query.statuses.includes(w.status)) &&
          (query.before === undefined || w.id < query.before),
      )
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .map(({ payload: _payload, ...state }) => structuredClone(state));
    const items = found.slice(0, query.limit);
    return found.length > query.limit ? { items, last: items[items.length - 1]!.id } : { items };
  }

  /** An endpoint's parked webhooks by id, `limit` at a time (one shard: the cursor's `after` alone moves). */
  async findParked(endpointId: string, from: ParkedCursor | undefined, limit: number): Promise<ParkedPage> {
    const parked = [...this.webhooks.values()]
      .filter((w) => w.endpoint_id === endpointId && w.parked && (from?.after === undefined || w.id > from.after))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map(({ payload: _payload, ...state }) => structuredClone(state));
    const items = parked.slice(0, limit);
    return parked.length > limit ? { items, next: { shard: 0, after: items[items.length - 1]!.id } } : { items };
  }

  async updateWebhook(previous: WebhookState, next: WebhookState): Promise<WebhookState | undefined> {
    this.writes++;
    if (this.failingWrites > 0) {
      this.failingWrites--;
      throw new Error('ThrottlingException');
    }
    const current = this.webhooks.get(previous.id);
    if (current?.version !== previous.version) return undefined;
    // As in DynamoDB, the payload is written once and never replaced.
    const { payload: _payload, ...state } = next as Webhook;
    this.webhooks.set(state.id, { ...structuredClone(state), payload: current.payload, version: previous.version + 1 });
    return { ...structuredClone(state), version: previous.version + 1 };
  }

  async markEndpointSlow(organizationId: string, endpointId: string, until: number): Promise<void> {
    const found = this.endpoints.get(endpointId);
    if (found?.organization_id === organizationId) found.slow_until_ms = until;
  }

  async markEndpointFailing(organizationId: string, endpointId: string, since: number): Promise<boolean> {
    const found = this.endpoints.get(endpointId);
    if (found?.organization_id !== organizationId || found.failing_since_ms) return false;
    found.failing_since_ms = since;
    return true;
  }

  async markEndpointRecovered(organizationId: string, endpointId: string): Promise<boolean> {
    const found = this.endpoints.get(endpointId);
    if (found?.organization_id !== organizationId || !found.failing_since_ms) return false;
    found.failing_since_ms = null;
    return true;
  }

  async autoDisableEndpoint(
    organizationId: string,
    endpointId: string,
    failingSinceMs: number,
    atMs: number,
    reason: string,
  ): Promise<boolean> {
    const found = this.endpoints.get(endpointId);
    if (found?.organization_id !== organizationId || found.disabled_at_ms || found.failing_since_ms !== failingSinceMs)
      return false;
    Object.assign(found, { disabled_at_ms: atMs, disabled_reason: reason });
    return true;
  }

  async openBreaker(organizationId: string, endpointId: string, atMs: number): Promise<boolean> {
    const found = this.endpoints.get(endpointId);
    if (found?.organization_id !== organizationId || found.breaker_opened_at_ms || found.disabled_at_ms) return false;
    found.breaker_opened_at_ms = atMs;
    return true;
  }

  async claimBreakerProbe(
    organizationId: string,
    endpointId: string,
    claim: { openedAtMs: number; webhookId: string; atMs: number; staleBeforeMs: number },
  ): Promise<boolean> {
    const found = this.endpoints.get(endpointId);
    if (found?.organization_id !== organizationId || found.breaker_opened_at_ms !== claim.openedAtMs) return false;
    const probe = found.breaker_probe;
    if (probe && probe.webhook_id !== claim.webhookId && probe.at_ms >= claim.staleBeforeMs) return false;
    found.breaker_probe = { webhook_id: claim.webhookId, at_ms: claim.atMs };
    return true;
  }

  async reopenBreaker(organizationId: string, endpointId: string, openedAtMs: number, atMs: number): Promise<boolean> {
    const found = this.endpoints.get(endpointId);
    if (found?.organization_id !== organizationId || found.breaker_opened_at_ms !== openedAtMs) return false;
    Object.assign(found, { breaker_opened_at_ms: atMs, breaker_probe: null });
    return true;
  }

  async closeBreaker(organizationId: string, endpointId: string, openedAtMs: number): Promise<boolean> {
    const found = this.endpoints.get(endpointId);
    if (found?.organization_id !== organizationId || found.breaker_opened_at_ms !== openedAtMs) return false;
    Object.assign(found, { breaker_opened_at_ms: null, breaker_probe: null });
    return true;
  }

  async findOrganizationIdByKeyHash(hash: string): Promise<string | undefined> {
    this.lookedUpHashes.push(hash);
    return this.keyHashes.get(hash);
  }

  async createEndpoint(endpoint: WebhookEndpoint, limit: number): Promise<EndpointWriteResult> {
    const own = [...this.endpoints.values()].filter((e) => e.organization_id === endpoint.organization_id);
    if (own.some((e) => e.webhook_url === endpoint.webhook_url)) return 'url_taken';
    if (own.length >= limit) return 'limit_reached';
    this.endpoints.set(endpoint.id, structuredClone(endpoint));
    return 'ok';
  }

  async getEndpoint(organizationId: string, id: string): Promise<WebhookEndpoint | undefined> {
    const found = this.endpoints.get(id);
    return found?.organization_id === organizationId ? structuredClone(found) : undefined;
  }

  async listEndpoints(organizationId: string): Promise<WebhookEndpoint[]> {
    return [...this.endpoints.values()]
      .filter((e) => e.organization_id === organizationId)
      .map((e) => structuredClone(e));
  }

  async updateEndpoint(previous: WebhookEndpoint, next: WebhookEndpoint): Promise<EndpointWriteResult> {
    if (!this.endpoints.has(previous.id)) return 'not_found';
    const clash = [...this.endpoints.values()].some(
      (e) => e.id !== next.id && e.organization_id === next.organization_id && e.webhook_url === next.webhook_url,
    );
    if (clash) return 'url_taken';
    this.endpoints.set(next.id, structuredClone(next));
    return 'ok';
  }

  async deleteEndpoint(endpoint: WebhookEndpoint): Promise<EndpointWriteResult> {
    return this.endpoints.delete(endpoint.id) ? 'ok' : 'not_found';
  }
}

/** Organizations and their tokens, for the organization tokens' tests. */
export class FakeOrganizationStore implements Pick<
  OrganizationStore,
  'getOrganization' | 'rotateOrganizationToken' | 'sealOrganizationToken'
> {
  readonly organizations = new Map<string, Organization>();

  async getOrganization(id: string): Promise<Organization | undefined> {
    const found = this.organizations.get(id);
    return found && structuredClone(found);
  }

  async sealOrganizationToken(id: string, sealed: string): Promise<boolean> {
    const found = this.organizations.get(id);
    if (!found || found.token !== undefined) return false;
    found.token = { sealed_token: sealed };
    return true;
  }

  /** As DynamoDB's: conditional on the token read. */
  async rotateOrganizationToken(
    id: string,
    current: TokenSource,
    next: { token: { token_version: number; token_root: string }; previous_tokens: PreviousToken[] },
  ): Promise<boolean> {
    const found = this.organizations.get(id);
    if (!found?.token || JSON.stringify(found.token) !== JSON.stringify(current)) return false;
    found.token = { ...next.token };
    found.previous_tokens = structuredClone(next.previous_tokens);
    return true;
  }
}
