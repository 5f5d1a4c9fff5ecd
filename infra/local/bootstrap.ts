import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  DEAD_LETTER_RETENTION_SECONDS,
  DELIVERY_RETENTION_SECONDS,
  LANES,
  POISON_RECEIVE_COUNT,
  visibilityTimeoutSeconds,
  type Lane,
  type LaneTimeouts,
} from '#shared/domain/delivery/policy.ts';
import { QUEUES, TABLE } from '../definitions.ts';

/** Creates the table and the queues on the emulators from the definitions the CDK stack uses. */

const indexSpec = (index: (typeof TABLE.indexes)[number]): GlobalSecondaryIndex => ({
  IndexName: index.name,
  KeySchema: [
    { AttributeName: index.partitionKey, KeyType: 'HASH' },
    { AttributeName: index.sortKey, KeyType: 'RANGE' },
  ],
  Projection: index.include.length
    ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.include] }
    : { ProjectionType: 'KEYS_ONLY' },
});

/** Creates the table, or adds the indexes an existing one (a DATA_DIR from an earlier revision) lacks. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const attributes = new Set<string>([TABLE.partitionKey, TABLE.sortKey]);
  for (const index of TABLE.indexes) {
    attributes.add(index.partitionKey);
    attributes.add(index.sortKey);
  }
  const definitions = [...attributes].map((name) => ({ AttributeName: name, AttributeType: 'S' as const }));
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: definitions,
        KeySchema: [
          { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: TABLE.indexes.map(indexSpec),
      }),
    );
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const existing = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  for (const index of TABLE.indexes) {
    if (existing.has(index.name)) continue;
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: definitions,
        GlobalSecondaryIndexUpdates: [{ Create: indexSpec(index) }],
      }),
    );
  }
}

interface LocalQueue {
  url: string;
  arn: string;
}

export interface LocalQueues {
  lanes: Record<Lane, LocalQueue>;
  deadLetter: LocalQueue;
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return Attributes!.QueueArn!;
}

/** The two lanes and their dead-letter queue, with the settings the CDK stack gives them. */
export async function ensureQueues(sqs: SQSClient, timeouts: LaneTimeouts): Promise<LocalQueues> {
  // Queues kept from an earlier run get the current settings.
  const ensure = async (name: string, attributes: Record<string, string>): Promise<LocalQueue> => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
    return { url: QueueUrl!, arn: await queueArn(sqs, QueueUrl!) };
  };
  const deadLetter = await ensure(QUEUES.deadLetter.name, {
    MessageRetentionPeriod: String(DEAD_LETTER_RETENTION_SECONDS),
  });
  const lanes = {} as Record<Lane, LocalQueue>;
  for (const lane of LANES) {
    lanes[lane] = await ensure(QUEUES[lane].name, {
      VisibilityTimeout: String(visibilityTimeoutSeconds(lane, timeouts)),
      MessageRetentionPeriod: String(DELIVERY_RETENTION_SECONDS),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetter.arn, maxReceiveCount: POISON_RECEIVE_COUNT }),
    });
  }
  return { lanes, deadLetter };
}
