import type { CustomHeader, WebhookEndpoint } from '../../domain/model.ts';
import type { EndpointStore, EndpointWriteResult } from '../../domain/ports.ts';
import { disabledAtIso } from '../../domain/endpoints/disabling.ts';
import { isoMs, isoSeconds } from '../../domain/time.ts';
import { cancellationCodes, IF_ABSENT, IF_PRESENT, type Item, type Table } from './client.ts';
import type { EndpointLayouts } from './webhook-layouts.ts';
import {
  deletedEndpointKey,
  endpointKey,
  endpointLayoutKey,
  organizationKey,
  organizationPartition,
  PK,
  SK,
  urlClaimKey,
} from './keys.ts';

/**
 * The endpoint's stored attributes: the model's, under the names and in the formats items have
 * always had (times as ISO strings, except the sender's marks, kept in milliseconds).
 */
function endpointAttributes(endpoint: WebhookEndpoint): Item {
  const {
    created_at_ms,
    disabled_at_ms,
    slow_until_ms,
    failing_since_ms,
    headers,
    aws_role_arn,
    max_rps,
    breaker_opened_at_ms,
    breaker_probe,
    ...rest
  } = endpoint;
  return {
    ...rest,
    // Absent unless set: an endpoint's item without a role stays as it always was.
    ...(aws_role_arn ? { aws_role_arn } : {}),
    // Names are data: a list of [name, sealed value] pairs, never a map keyed by name.
    ...(headers !== undefined ? { headers: headers && headers.map(({ name, sealed }) => [name, sealed]) } : {}),
    created_at: isoSeconds(created_at_ms),
    ...(disabled_at_ms !== undefined
      ? { disabled_at: disabled_at_ms === null ? null : disabledAtIso(disabled_at_ms, endpoint.disabled_reason) }
      : {}),
    ...(slow_until_ms !== undefined ? { slow_until: slow_until_ms } : {}),
    ...(failing_since_ms !== undefined ? { failing_since: failing_since_ms } : {}),
    // Absent unless set: an endpoint without them stores (and costs) what it always has.
    ...(max_rps ? { max_rps } : {}),
    ...(breaker_opened_at_ms ? { breaker_opened_at: breaker_opened_at_ms } : {}),
    ...(breaker_probe
      ? { breaker_probe_webhook: breaker_probe.webhook_id, breaker_probe_at: breaker_probe.at_ms }
      : {}),
  };
}

const msOf = (value: unknown): number | null => (typeof value === 'string' ? Date.parse(value) : null);

/** An endpoint's item as the domain sees it. */
export function toEndpoint(item: Item): WebhookEndpoint {
  return {
    id: item.id as string,
    organization_id: item.organization_id as string,
    webhook_url: item.webhook_url as string,
    signature_algo: item.signature_algo as WebhookEndpoint['signature_algo'],
    name: (item.name as string | null | undefined) ?? null,
    event_types: (item.event_types as string[] | null | undefined) ?? null,
    created_at_ms: Date.parse(item.created_at as string),
    slow_until_ms: (item.slow_until as number | null | undefined) ?? null,
    disabled_at_ms: msOf(item.disabled_at),
    disabled_reason: (item.disabled_reason as string | null | undefined) ?? null,
    failing_since_ms: (item.failing_since as number | null | undefined) ?? null,
    headers: toCustomHeaders(item.headers),
    aws_role_arn: (item.aws_role_arn as string | null | undefined) ?? null,
    max_rps: (item.max_rps as number | undefined) ?? null,
    breaker_opened_at_ms: (item.breaker_opened_at as number | undefined) ?? null,
    breaker_probe:
      typeof item.breaker_probe_webhook === 'string'
        ? { webhook_id: item.breaker_probe_webhook, at_ms: item.breaker_probe_at as number }
        : null,
  };
}

/** The pairs, or the map of name to sealed value earlier revisions wrote (read as its entries). */
export function toCustomHeaders(stored: unknown): CustomHeader[] | null {
  if (Array.isArray(stored)) return (stored as [string, string][]).map(([name, sealed]) => ({ name, sealed }));
  if (typeof stored === 'object' && stored !== null)
    return Object.entries(stored as Record<string, string>).map(([name, sealed]) => ({ name, sealed }));
  return null;
}

/** What the API changes on an endpoint; the sender's own marks (slow_until, failing_since, an automatic disable) are written only when the API changed them. */
const ENDPOINT_FIELDS = [
  'signature_algo',
  'name',
  'event_types',
  'headers',
  'disabled_at',
  'disabled_reason',
  'failing_since',
  'aws_role_arn',
  'max_rps',
  // An enable closes the breaker.
  'breaker_opened_at',
  'breaker_probe_webhook',
  'breaker_probe_at',
] as const;

/** SET and REMOVE clauses for the fields that differ between two versions of an endpoint. */
function endpointChanges(previous: WebhookEndpoint, next: WebhookEndpoint) {
  const set = ['#webhook_url = :webhook_url'];
  const remove: string[] = [];
  const names: Record<string, string> = { '#webhook_url': 'webhook_url' };
  const values: Record<string, unknown> = { ':webhook_url': next.webhook_url };
  const [before, after] = [endpointAttributes(previous), endpointAttributes(next)];
  for (const field of ENDPOINT_FIELDS) {
    const value = after[field] ?? null;
    if (JSON.stringify(value) === JSON.stringify(before[field] ?? null)) continue;
    names[`#${field}`] = field;
    // Lago keeps name and event_types as null; the rest is absent when unset.
    if (value === null && field !== 'name' && field !== 'event_types') {
      remove.push(`#${field}`);
    } else {
      set.push(`#${field} = :${field}`);
      values[`:${field}`] = value;
    }
  }
  return {
    expression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
    names,
    values,
  };
}

/**
 * Endpoints live in their organization's partition, beside the URL claims that keep each URL
 * unique per organization; the organization's endpoint count changes with them, in one transaction,
 * and so does the endpoint's layout (how its webhooks are spread: webhook-layouts.ts).
 */
export class DynamoDbEndpointStore implements EndpointStore {
  private readonly table: Table;
  private readonly retentionDays: number;
  private readonly layouts: EndpointLayouts;

  /** `retentionDays`: how long webhooks are kept, so a deleted endpoint's webhooks stay listed as long. */
  constructor(table: Table, retentionDays: number, layouts: EndpointLayouts) {
    this.table = table;
    this.retentionDays = retentionDays;
    this.layouts = layouts;
  }

  async createEndpoint(endpoint: WebhookEndpoint, limit: number): Promise<EndpointWriteResult> {
    const TableName = this.table.name;
    const layout = this.layouts.forNewEndpoint(endpoint.id);
    try {
      await this.table.transact([
        {
          // The count and the endpoint change together, so concurrent creates can never pass the limit.
          Update: {
            TableName,
            Key: organizationKey(endpoint.organization_id),
            UpdateExpression: 'SET endpoint_count = endpoint_count + :one',
            ConditionExpression: `${IF_PRESENT} AND endpoint_count < :limit`,
            ExpressionAttributeValues: { ':one': 1, ':limit': limit },
          },
        },
        {
          Put: {
            TableName,
            Item: { ...urlClaimKey(endpoint.organization_id, endpoint.webhook_url), endpoint_id: endpoint.id },
            ConditionExpression: IF_ABSENT,
          },
        },
        {
          Put: {
            TableName,
            Item: { ...endpointKey(endpoint.organization_id, endpoint.id), ...endpointAttributes(endpoint) },
            ConditionExpression: IF_ABSENT,
          },
        },
        // Its webhooks' shards, fixed for its life.
        { Put: { TableName, Item: layout.item } },
      ]);
      layout.written();
      return 'ok';
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes?.[1] === 'ConditionalCheckFailed') return 'url_taken';
      if (codes?.[0] === 'ConditionalCheckFailed') return 'limit_reached';
      throw error;
    }
  }

  async getEndpoint(organizationId: string, id: string): Promise<WebhookEndpoint | undefined> {
    const item = await this.table.get(endpointKey(organizationId, id));
    return item ? toEndpoint(item) : undefined;
  }

  async listEndpoints(organizationId: string): Promise<WebhookEndpoint[]> {
    const { Items = [] } = await this.table.query({
      KeyConditionExpression: `${PK} = :pk AND begins_with(${SK}, :ep)`,
      ExpressionAttributeValues: {
        ':pk': organizationPartition.key(organizationId),
        ':ep': organizationPartition.endpointPrefix,
      },
      ConsistentRead: true,
    });
    return Items.map(toEndpoint);
  }

  /** After a failed guard on the endpoint: gone, or changed by someone else meanwhile. */
  private async missingOrChanged(endpoint: WebhookEndpoint): Promise<EndpointWriteResult> {
    const item = await this.table.get(endpointKey(endpoint.organization_id, endpoint.id), { consistent: true });
    return item ? 'conflict' : 'not_found';
  }

  async updateEndpoint(previous: WebhookEndpoint, next: WebhookEndpoint): Promise<EndpointWriteResult> {
    const TableName = this.table.name;
    const urlChanged = previous.webhook_url !== next.webhook_url;
    const changes = endpointChanges(previous, next);
    try {
      await this.table.transact([
        // Guarded by the URL it had when read, so the URL claims always match the endpoints; only the
        // fields that changed are written, so a sender's mark written meanwhile stays.
        {
          Update: {
            TableName,
            Key: endpointKey(previous.organization_id, previous.id),
            UpdateExpression: changes.expression,
            ConditionExpression: `${IF_PRESENT} AND #webhook_url = :previous`,
            ExpressionAttributeNames: changes.names,
            ExpressionAttributeValues: { ...changes.values, ':previous': previous.webhook_url },
          },
        },
        ...(urlChanged
          ? [
              {
                Put: {
                  TableName,
                  Item: { ...urlClaimKey(next.organization_id, next.webhook_url), endpoint_id: next.id },
                  ConditionExpression: IF_ABSENT,
                },
              },
              { Delete: { TableName, Key: urlClaimKey(previous.organization_id, previous.webhook_url) } },
            ]
          : []),
      ]);
      return 'ok';
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes?.[0] === 'ConditionalCheckFailed') return this.missingOrChanged(previous);
      if (codes?.[1] === 'ConditionalCheckFailed') return 'url_taken';
      throw error;
    }
  }

  async deleteEndpoint(endpoint: WebhookEndpoint): Promise<EndpointWriteResult> {
    const TableName = this.table.name;
    const expiresAt = Math.floor(Date.now() / 1000) + this.retentionDays * 86400;
    try {
      await this.table.transact([
        {
          Delete: {
            TableName,
            Key: endpointKey(endpoint.organization_id, endpoint.id),
            ConditionExpression: `${IF_PRESENT} AND webhook_url = :url`,
            ExpressionAttributeValues: { ':url': endpoint.webhook_url },
          },
        },
        { Delete: { TableName, Key: urlClaimKey(endpoint.organization_id, endpoint.webhook_url) } },
        {
          Update: {
            TableName,
            Key: organizationKey(endpoint.organization_id),
            UpdateExpression: 'SET endpoint_count = endpoint_count - :one',
            ExpressionAttributeValues: { ':one': 1 },
          },
        },
        // Its webhooks stay in their partitions until they expire: the organization's log still lists them.
        {
          Put: {
            TableName,
            Item: { ...deletedEndpointKey(endpoint.organization_id, endpoint.id), expires_at: expiresAt },
          },
        },
        // Its layout, which says where they are, expires with them.
        {
          Update: {
            TableName,
            Key: endpointLayoutKey(endpoint.id),
            UpdateExpression: 'SET expires_at = :expires',
            ExpressionAttributeValues: { ':expires': expiresAt },
          },
        },
      ]);
      return 'ok';
    } catch (error) {
      if (cancellationCodes(error)?.[0] === 'ConditionalCheckFailed') return this.missingOrChanged(endpoint);
      throw error;
    }
  }

  /** Nothing if the endpoint is gone meanwhile. */
  async markEndpointSlow(organizationId: string, endpointId: string, untilMs: number): Promise<void> {
    await this.table.updateIf({
      Key: endpointKey(organizationId, endpointId),
      UpdateExpression: 'SET slow_until = :until',
      ConditionExpression: IF_PRESENT,
      ExpressionAttributeValues: { ':until': untilMs },
    });
  }

  markEndpointFailing(organizationId: string, endpointId: string, sinceMs: number): Promise<boolean> {
    return this.table.updateIf({
      Key: endpointKey(organizationId, endpointId),
      UpdateExpression: 'SET failing_since = :since',
      ConditionExpression: `${IF_PRESENT} AND attribute_not_exists(failing_since)`,
      ExpressionAttributeValues: { ':since': sinceMs },
    });
  }

  markEndpointRecovered(organizationId: string, endpointId: string): Promise<boolean> {
    return this.table.updateIf({
      Key: endpointKey(organizationId, endpointId),
      UpdateExpression: 'REMOVE failing_since',
      ConditionExpression: 'attribute_exists(failing_since)',
    });
  }

  autoDisableEndpoint(
    organizationId: string,
    endpointId: string,
    failingSinceMs: number,
    atMs: number,
    reason: string,
  ): Promise<boolean> {
    return this.table.updateIf({
      Key: endpointKey(organizationId, endpointId),
      UpdateExpression: 'SET disabled_at = :at, disabled_reason = :reason',
      ConditionExpression: 'attribute_not_exists(disabled_at) AND failing_since = :since',
      ExpressionAttributeValues: { ':at': isoMs(atMs), ':reason': reason, ':since': failingSinceMs },
    });
  }

  openBreaker(organizationId: string, endpointId: string, atMs: number): Promise<boolean> {
    return this.table.updateIf({
      Key: endpointKey(organizationId, endpointId),
      UpdateExpression: 'SET breaker_opened_at = :at',
      ConditionExpression: `${IF_PRESENT} AND attribute_not_exists(breaker_opened_at) AND attribute_not_exists(disabled_at)`,
      ExpressionAttributeValues: { ':at': atMs },
    });
  }

  claimBreakerProbe(
    organizationId: string,
    endpointId: string,
    {
      openedAtMs,
      webhookId,
      atMs,
      staleBeforeMs,
    }: { openedAtMs: number; webhookId: string; atMs: number; staleBeforeMs: number },
  ): Promise<boolean> {
    return this.table.updateIf({
      Key: endpointKey(organizationId, endpointId),
      UpdateExpression: 'SET breaker_probe_webhook = :webhook, breaker_probe_at = :at',
      ConditionExpression:
        'breaker_opened_at = :opened AND (attribute_not_exists(breaker_probe_webhook) OR breaker_probe_webhook = :webhook OR breaker_probe_at < :stale)',
      ExpressionAttributeValues: { ':webhook': webhookId, ':at': atMs, ':opened': openedAtMs, ':stale': staleBeforeMs },
    });
  }

  reopenBreaker(organizationId: string, endpointId: string, openedAtMs: number, atMs: number): Promise<boolean> {
    return this.table.updateIf({
      Key: endpointKey(organizationId, endpointId),
      UpdateExpression: 'SET breaker_opened_at = :at REMOVE breaker_probe_webhook, breaker_probe_at',
      ConditionExpression: 'breaker_opened_at = :opened',
      ExpressionAttributeValues: { ':at': atMs, ':opened': openedAtMs },
    });
  }

  closeBreaker(organizationId: string, endpointId: string, openedAtMs: number): Promise<boolean> {
    return this.table.updateIf({
      Key: endpointKey(organizationId, endpointId),
      UpdateExpression: 'REMOVE breaker_opened_at, breaker_probe_webhook, breaker_probe_at',
      ConditionExpression: 'breaker_opened_at = :opened',
      ExpressionAttributeValues: { ':opened': openedAtMs },
    });
  }
}
