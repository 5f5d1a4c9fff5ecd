/**
 * The one table: its keys, indexes and TTL. The CDK stack and the local bootstrap build it from
 * this description (re-exported by infra/definitions.ts), and the key scheme (keys.ts) takes its
 * attribute names from it, so local mode and AWS read and write the same layout.
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
   * index entry (webhook-items.ts). Both indexes are sparse: `failed` holds failed webhooks by
   * organization, with what the search filters read (type, status, response code, attempt count);
   * `due` holds webhooks whose next attempt waits in the store or whose message was not sent.
   */
  indexes: [
    { name: 'failed', partitionKey: 'fo', sortKey: 'sk', include: ['o', 't', 's', 'h', 'n', 'oi', 'c'] },
    { name: 'due', partitionKey: 'due_pk', sortKey: 'due_sk', include: [] },
  ] satisfies IndexDefinition[],
} as const;
