// An in-memory Store for unit tests: endpoints, API keys and single webhooks work (writes conditional on the version, as DynamoDB's); every other method throws.
import type { Organization, WebhookEndpoint, Webhook, WebhookState } from '#shared/model.ts';
import type { EndpointWriteResult, Store, WebhookRef } from '#shared/ports.ts';

const unsupported = (name: string) => () => Promise.reject(new Error(`FakeStore.${name} is not implemented`));

export class FakeStore implements Store {
  readonly endpoints = new Map<string, WebhookEndpoint>();
  readonly keyHashes = new Map<string, string>();
  readonly lookedUpHashes: string[] = [];

  createOrganization = unsupported('createOrganization');
  sealOrganizationToken: (organizationId: string, sealed: string) => Promise<boolean> = unsupported('sealOrganizationToken');
  rotateOrganizationToken: Store['rotateOrganizationToken'] = unsupported('rotateOrganizationToken');
  getOrganization: (id: string) => Promise<Organization | undefined> = unsupported('getOrganization');
  getOrganizationWithEndpoints = unsupported('getOrganizationWithEndpoints');
  createWebhookSets = unsupported('createWebhookSets');
  getWebhooks = unsupported('getWebhooks');
  queryWebhooks = unsupported('queryWebhooks');
  findOverdue = unsupported('findOverdue');
  findDueTimers = unsupported('findDueTimers');
  readonly webhooks = new Map<string, Webhook>();

  /** Reads of webhooks that fail, as DynamoDB's do when it is unavailable. */
  failingReads = 0;

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

  async updateWebhook(previous: WebhookState, next: WebhookState): Promise<WebhookState | undefined> {
    const current = this.webhooks.get(previous.id);
    if (current?.version !== previous.version) return undefined;
    // As in DynamoDB, the payload is written once and never replaced.
    const { payload: _payload, ...state } = next as Webhook;
    this.webhooks.set(state.id, { ...structuredClone(state), payload: current.payload, version: previous.version + 1 });
    return { ...structuredClone(state), version: previous.version + 1 };
  }

  async markEndpointSlow(organizationId: string, endpointId: string, until: number): Promise<void> {
    const found = this.endpoints.get(endpointId);
    if (found?.organization_id === organizationId) found.slow_until = until;
  }

  async markEndpointFailing(organizationId: string, endpointId: string, since: number): Promise<boolean> {
    const found = this.endpoints.get(endpointId);
    if (found?.organization_id !== organizationId || found.failing_since) return false;
    found.failing_since = since;
    return true;
  }

  async markEndpointRecovered(organizationId: string, endpointId: string): Promise<boolean> {
    const found = this.endpoints.get(endpointId);
    if (found?.organization_id !== organizationId || !found.failing_since) return false;
    found.failing_since = null;
    return true;
  }

  async autoDisableEndpoint(organizationId: string, endpointId: string, failingSince: number, at: string, reason: string): Promise<boolean> {
    const found = this.endpoints.get(endpointId);
    if (found?.organization_id !== organizationId || found.disabled_at || found.failing_since !== failingSince) return false;
    Object.assign(found, { disabled_at: at, disabled_reason: reason });
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
    return [...this.endpoints.values()].filter((e) => e.organization_id === organizationId).map((e) => structuredClone(e));
  }

  async updateEndpoint(previous: WebhookEndpoint, next: WebhookEndpoint): Promise<EndpointWriteResult> {
    if (!this.endpoints.has(previous.id)) return 'not_found';
    const clash = [...this.endpoints.values()].some((e) => e.id !== next.id && e.organization_id === next.organization_id && e.webhook_url === next.webhook_url);
    if (clash) return 'url_taken';
    this.endpoints.set(next.id, structuredClone(next));
    return 'ok';
  }

  async deleteEndpoint(endpoint: WebhookEndpoint): Promise<EndpointWriteResult> {
    return this.endpoints.delete(endpoint.id) ? 'ok' : 'not_found';
  }
}
