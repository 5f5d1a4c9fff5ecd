import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Store } from '../domain/ports.ts';
import { Table } from './dynamodb/client.ts';
import { DynamoDbEndpointStore } from './dynamodb/endpoint-store.ts';
import { DynamoDbOrganizationStore } from './dynamodb/organization-store.ts';
import { DEFAULT_WEBHOOK_SHARDS, EndpointLayouts } from './dynamodb/webhook-layouts.ts';
import { DynamoDbWebhookStore } from './dynamodb/webhook-store.ts';

/**
 * The whole store on one DynamoDB table: a store per aggregate (shared/adapters/dynamodb/), on the
 * key scheme of dynamodb/keys.ts, composed into the `Store` the handlers and the local service take.
 */
export class DynamoDbStore implements Store {
  private readonly organizations: DynamoDbOrganizationStore;
  private readonly endpoints: DynamoDbEndpointStore;
  private readonly webhooks: DynamoDbWebhookStore;

  /**
   * `retentionDays`: how long webhooks are kept (webhookRetentionDays), so a deleted endpoint's
   * webhooks stay listed as long; `webhookShards`: the shards a new endpoint's webhooks are spread
   * over (webhookShards, fixed per endpoint: dynamodb/webhook-layouts.ts).
   */
  constructor(client: DynamoDBClient, tableName: string, options: { retentionDays: number; webhookShards?: number }) {
    const table = new Table(client, tableName);
    const layouts = new EndpointLayouts(table, options.webhookShards ?? DEFAULT_WEBHOOK_SHARDS);
    this.organizations = new DynamoDbOrganizationStore(table);
    this.endpoints = new DynamoDbEndpointStore(table, options.retentionDays, layouts);
    this.webhooks = new DynamoDbWebhookStore(table, options.retentionDays, layouts);
  }

  createOrganization: Store['createOrganization'] = (...args) => this.organizations.createOrganization(...args);
  getOrganization: Store['getOrganization'] = (...args) => this.organizations.getOrganization(...args);
  getOrganizationWithEndpoints: Store['getOrganizationWithEndpoints'] = (...args) =>
    this.organizations.getOrganizationWithEndpoints(...args);
  findOrganizationIdByKeyHash: Store['findOrganizationIdByKeyHash'] = (...args) =>
    this.organizations.findOrganizationIdByKeyHash(...args);
  sealOrganizationToken: Store['sealOrganizationToken'] = (...args) =>
    this.organizations.sealOrganizationToken(...args);
  rotateOrganizationToken: Store['rotateOrganizationToken'] = (...args) =>
    this.organizations.rotateOrganizationToken(...args);
  bumpPortalSessionVersion: Store['bumpPortalSessionVersion'] = (...args) =>
    this.organizations.bumpPortalSessionVersion(...args);

  createEndpoint: Store['createEndpoint'] = (...args) => this.endpoints.createEndpoint(...args);
  getEndpoint: Store['getEndpoint'] = (...args) => this.endpoints.getEndpoint(...args);
  listEndpoints: Store['listEndpoints'] = (...args) => this.endpoints.listEndpoints(...args);
  updateEndpoint: Store['updateEndpoint'] = (...args) => this.endpoints.updateEndpoint(...args);
  deleteEndpoint: Store['deleteEndpoint'] = (...args) => this.endpoints.deleteEndpoint(...args);
  markEndpointSlow: Store['markEndpointSlow'] = (...args) => this.endpoints.markEndpointSlow(...args);
  markEndpointFailing: Store['markEndpointFailing'] = (...args) => this.endpoints.markEndpointFailing(...args);
  markEndpointRecovered: Store['markEndpointRecovered'] = (...args) => this.endpoints.markEndpointRecovered(...args);
  autoDisableEndpoint: Store['autoDisableEndpoint'] = (...args) => this.endpoints.autoDisableEndpoint(...args);
  openBreaker: Store['openBreaker'] = (...args) => this.endpoints.openBreaker(...args);
  claimBreakerProbe: Store['claimBreakerProbe'] = (...args) => this.endpoints.claimBreakerProbe(...args);
  reopenBreaker: Store['reopenBreaker'] = (...args) => this.endpoints.reopenBreaker(...args);
  closeBreaker: Store['closeBreaker'] = (...args) => this.endpoints.closeBreaker(...args);

  createWebhookSets: Store['createWebhookSets'] = (...args) => this.webhooks.createWebhookSets(...args);
  getWebhook: Store['getWebhook'] = (...args) => this.webhooks.getWebhook(...args);
  getWebhookState: Store['getWebhookState'] = (...args) => this.webhooks.getWebhookState(...args);
  getWebhooks: Store['getWebhooks'] = (...args) => this.webhooks.getWebhooks(...args);
  queryWebhooks: Store['queryWebhooks'] = (...args) => this.webhooks.queryWebhooks(...args);
  findOverdue: Store['findOverdue'] = (...args) => this.webhooks.findOverdue(...args);
  findDueTimers: Store['findDueTimers'] = (...args) => this.webhooks.findDueTimers(...args);
  findParked: Store['findParked'] = (...args) => this.webhooks.findParked(...args);
  listIntents: Store['listIntents'] = (...args) => this.webhooks.listIntents(...args);
  readSweepMark: Store['readSweepMark'] = (...args) => this.webhooks.readSweepMark(...args);
  moveSweepMark: Store['moveSweepMark'] = (...args) => this.webhooks.moveSweepMark(...args);
  updateWebhook: Store['updateWebhook'] = (...args) => this.webhooks.updateWebhook(...args);
}
