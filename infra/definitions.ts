/**
 * The one description of the table and the queues. The CDK stack and the local bootstrap both
 * build their resources from it, so local mode runs against the same keys, indexes and redrive
 * policy as AWS.
 */

export interface IndexDefinition {
  name: string;
  partitionKey: string;
  sortKey: string;
  /** Non-key attributes copied into the index; the rest is read from the table by key. */
  include: string[];
}

/** Attributes the log queries filter on; every log index carries them. */
const LOG_FILTER_ATTRIBUTES = ['organization_id', 'endpoint_id', 'status', 'webhook_type', 'http_status', 'attempt_count'];

export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expires_at',
  indexes: [
    { name: 'byOrganization', partitionKey: 'org_pk', sortKey: 'log_sk', include: LOG_FILTER_ATTRIBUTES },
    { name: 'byEndpoint', partitionKey: 'endpoint_pk', sortKey: 'log_sk', include: LOG_FILTER_ATTRIBUTES },
    { name: 'byStatus', partitionKey: 'status_pk', sortKey: 'log_sk', include: LOG_FILTER_ATTRIBUTES },
    { name: 'byEndpointStatus', partitionKey: 'endpoint_status_pk', sortKey: 'log_sk', include: LOG_FILTER_ATTRIBUTES },
    { name: 'byType', partitionKey: 'type_pk', sortKey: 'log_sk', include: LOG_FILTER_ATTRIBUTES },
    { name: 'byObject', partitionKey: 'object_pk', sortKey: 'log_sk', include: LOG_FILTER_ATTRIBUTES },
    { name: 'due', partitionKey: 'due_pk', sortKey: 'due_sk', include: [] },
  ] satisfies IndexDefinition[],
} as const;

export type IndexName = (typeof TABLE.indexes)[number]['name'];

/** Queue names; their settings (lanes, retention, poison count, timeouts) come from shared/delivery-policy.ts. */
export const QUEUES = {
  fast: { name: 'webhook-deliveries' },
  slow: { name: 'webhook-deliveries-slow' },
  deadLetter: { name: 'webhook-deliveries-dlq' },
} as const;
