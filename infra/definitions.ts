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

export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expires_at',
  /**
   * Webhooks are read from their endpoint's partition, so publishing or delivering one writes no
   * index entry (shared/adapters/webhook-items.ts). Both indexes are sparse: `failed` holds failed
   * webhooks by organization, with what the log filters read (type, status, response code, attempt
   * count); `due` holds webhooks whose next attempt waits in the store or whose message was not sent.
   */
  indexes: [
    { name: 'failed', partitionKey: 'fo', sortKey: 'sk', include: ['o', 't', 's', 'h', 'n', 'oi', 'c'] },
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
