import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CounterWindow, RateCounters, WindowCounter } from '../domain/ports.ts';
import { rateLimitKey } from './dynamodb/keys.ts';
import { TABLE } from './dynamodb/table.ts';

/** Counters kept after their window, before DynamoDB's TTL removes them: read by no one, kept for a look. */
const KEPT_AFTER_WINDOW_SECONDS = 3600;

/**
 * Rate-limit counters on the table (shared/domain/organizations/rate-limits.ts): one item per
 * organization, action and window, one attribute per counter. One UpdateItem adds one to every
 * counter on the condition that none is at its limit, so concurrent requests never pass a limit;
 * when the condition fails nothing is counted, and the item as it was tells which counter was full.
 */
export class DynamoDbRateCounters implements RateCounters {
  private readonly db: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBClient, tableName: string) {
    this.db = DynamoDBDocumentClient.from(client);
    this.tableName = tableName;
  }

  async take(window: CounterWindow, counters: readonly WindowCounter[]): Promise<string[]> {
    const names = Object.fromEntries(counters.map((c, n) => [`#c${n}`, c.name]));
    const values = Object.fromEntries(counters.map((c, n) => [`:l${n}`, c.limit]));
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: rateLimitKey(window.organizationId, window.action, window.startMs),
          UpdateExpression: `ADD ${counters.map((_, n) => `#c${n} :one`).join(', ')} SET #ttl = :ttl`,
          ConditionExpression: counters
            .map((_, n) => `(attribute_not_exists(#c${n}) OR #c${n} < :l${n})`)
            .join(' AND '),
          ExpressionAttributeNames: { ...names, '#ttl': TABLE.ttlAttribute },
          ExpressionAttributeValues: {
            ...values,
            ':one': 1,
            ':ttl': Math.ceil(window.endMs / 1000) + KEPT_AFTER_WINDOW_SECONDS,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return [];
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // The item as it was, in DynamoDB's own format (the document client does not convert an error's item).
      const full = counters.filter((c) => Number(error.Item?.[c.name]?.N ?? 0) >= c.limit);
      // Without the item (an emulator that does not return it), every counter may be the full one.
      return (full.length > 0 ? full : counters).map((c) => c.name);
    }
  }
}
