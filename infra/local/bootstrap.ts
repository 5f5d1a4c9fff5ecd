import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { maxReceiveCount, QUEUES, senderTimeoutSeconds, TABLE, visibilityTimeoutSeconds } from '../definitions.ts';

/** Creates the table and the queues on the emulators from the definitions the CDK stack uses. */

export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const attributes = new Set<string>([TABLE.partitionKey, TABLE.sortKey]);
  for (const index of TABLE.indexes) {
    attributes.add(index.partitionKey);
    attributes.add(index.sortKey);
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
        KeySchema: [
          { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: TABLE.indexes.map((index) => ({
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
          Projection: index.include.length ? { ProjectionType: 'INCLUDE', NonKeyAttributes: index.include } : { ProjectionType: 'KEYS_ONLY' },
        })),
      }),
    );
    await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true } }));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await client.send(new DescribeTableCommand({ TableName: tableName }));
}

export interface LocalQueues {
  queueUrl: string;
  queueArn: string;
  deadLetterUrl: string;
  deadLetterArn: string;
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return Attributes!.QueueArn!;
}

export async function ensureQueues(sqs: SQSClient, retrySchedule: readonly number[], webhookTimeoutMs: number): Promise<LocalQueues> {
  // Queues kept from an earlier run get the current settings (a changed schedule changes maxReceiveCount).
  const ensure = async (name: string, attributes: Record<string, string>) => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
    return QueueUrl!;
  };
  const deadLetterUrl = await ensure(QUEUES.deadLetter.name, { MessageRetentionPeriod: String(QUEUES.deadLetterRetentionSeconds) });
  const deadLetterArn = await queueArn(sqs, deadLetterUrl);
  const queueUrl = await ensure(QUEUES.delivery.name, {
    VisibilityTimeout: String(visibilityTimeoutSeconds(senderTimeoutSeconds(webhookTimeoutMs))),
    MessageRetentionPeriod: String(QUEUES.deliveryRetentionSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterArn, maxReceiveCount: maxReceiveCount(retrySchedule) }),
  });
  return { queueUrl, queueArn: await queueArn(sqs, queueUrl), deadLetterUrl, deadLetterArn };
}
