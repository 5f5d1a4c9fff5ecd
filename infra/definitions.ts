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

/** Default retry schedule: seconds to wait before each retry (8 attempts over about 28 hours). */
export const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];

export const QUEUES = {
  delivery: { name: 'webhook-deliveries' },
  deadLetter: { name: 'webhook-deliveries-dlq' },
  /** The delivery queue keeps messages for 4 days, longer than any schedule SQS allows (12 h per wait). */
  deliveryRetentionSeconds: 4 * 24 * 3600,
  /** The dead-letter queue keeps them for the SQS maximum, 14 days. */
  deadLetterRetentionSeconds: 14 * 24 * 3600,
};

/** One receive per attempt: the message reaches the dead-letter queue after the last one. */
export function maxReceiveCount(retrySchedule: readonly number[]): number {
  return retrySchedule.length + 1;
}

/** The visibility timeout covers six sender invocations, as AWS advises for SQS event sources. */
export function visibilityTimeoutSeconds(senderTimeoutSeconds: number): number {
  return senderTimeoutSeconds * 6;
}

/** The sender's Lambda timeout: a full batch of slow endpoints plus time for bookkeeping. */
export function senderTimeoutSeconds(webhookTimeoutMs: number): number {
  return Math.ceil(webhookTimeoutMs / 1000) + 15;
}
