/**
 * The one description of the table and the queues. The CDK stack and the local bootstrap both
 * build their resources from it, so local mode runs against the same keys, indexes and redrive
 * policy as AWS. The table is declared beside the key scheme that uses it (the adapters do not
 * import infra).
 */

export { TABLE } from '#shared/adapters/dynamodb/table.ts';

/** Queue names; their settings (lanes, retention, poison count, timeouts) come from shared/domain/delivery/policy.ts. */
export const QUEUES = {
  fast: { name: 'webhook-deliveries' },
  slow: { name: 'webhook-deliveries-slow' },
  deadLetter: { name: 'webhook-deliveries-dlq' },
} as const;
