// Covers bench/accounting.ts and bench/pricing.ts: capacity units summed by table and index, SQS requests billed per 64 KB chunk, counted secret calls and invocations, and the cost model.
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  Accounting,
  dynamoDbOperation,
  sqsBilledRequests,
  sqsPayloadBytes,
  SQS_CHUNK_BYTES,
} from '../../bench/accounting.ts';
import { costPerMillion } from '../../bench/pricing.ts';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Requests never leave the process: a serialize-step middleware answers with `output` and records the input. */
function offline<C extends DynamoDBClient | SQSClient>(
  client: C,
  output: Record<string, unknown>,
): { client: C; inputs: Record<string, unknown>[] } {
  const inputs: Record<string, unknown>[] = [];
  const stack = client.middlewareStack as DynamoDBClient['middlewareStack'];
  stack.add(
    () => async (args) => {
      inputs.push({ ...(args.input as Record<string, unknown>) });
      return { output: { $metadata: {}, ...output }, response: {} } as never;
    },
    { step: 'serialize', name: 'offline', priority: 'high' },
  );
  return { client, inputs };
}

describe('DynamoDB capacity', () => {
  it('asks for index-level capacity and sums table and index units by kind', async () => {
    const accounting = new Accounting();
    const { client, inputs } = offline(new DynamoDBClient({ region: 'us-east-1', credentials }), {
      ConsumedCapacity: {
        TableName: 't',
        CapacityUnits: 5,
        Table: { CapacityUnits: 2 },
        GlobalSecondaryIndexes: { byStatus: { CapacityUnits: 2 }, due: { CapacityUnits: 1 } },
      },
    });
    accounting.instrumentDynamoDb(client);
    await client.send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'a' } } }));
    await client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } }));
    expect(inputs.map((i) => i.ReturnConsumedCapacity)).toEqual(['INDEXES', 'INDEXES']);
    const tally = accounting.snapshot();
    expect(tally.dynamoDb.requests).toEqual({ PutItem: 1, GetItem: 1 });
    expect(tally.dynamoDb.table).toEqual({ read: 2, write: 2 });
    expect(tally.dynamoDb.indexes).toEqual({ byStatus: { read: 2, write: 2 }, due: { read: 1, write: 1 } });
  });

  it('takes the table share as the total less the indexes when no breakdown is given, and reads batch lists', () => {
    const accounting = new Accounting();
    accounting.addCapacity('TransactWriteItems', [
      { CapacityUnits: 10, GlobalSecondaryIndexes: { due: { WriteCapacityUnits: 4 } } },
      { CapacityUnits: 1 },
    ]);
    expect(accounting.snapshot().dynamoDb.table).toEqual({ read: 0, write: 7 });
    expect(accounting.snapshot().dynamoDb.indexes).toEqual({ due: { read: 0, write: 4 } });
  });

  it('names document client commands by their DynamoDB operation', () => {
    expect(dynamoDbOperation('PutCommand')).toBe('PutItem');
    expect(dynamoDbOperation('TransactWriteCommand')).toBe('TransactWriteItems');
    expect(dynamoDbOperation('QueryCommand')).toBe('Query');
    expect(dynamoDbOperation('GetItemCommand')).toBe('GetItem');
  });
});

describe('SQS requests', () => {
  it('bills a batch per 64 KB of its total payload, attributes included', async () => {
    const accounting = new Accounting();
    const { client } = offline(new SQSClient({ region: 'us-east-1', credentials }), { Successful: [], Failed: [] });
    accounting.instrumentSqs(client);
    const body = 'x'.repeat(40 * 1024);
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: 'http://q',
        Entries: [
          { Id: '1', MessageBody: body },
          { Id: '2', MessageBody: body },
        ],
      }),
    );
    expect(accounting.snapshot().sqs).toEqual({ calls: { SendMessageBatch: 1 }, billed: 2, billedSends: 2 });
  });

  it('counts each attribute name, type and value, and at least one request per call', () => {
    expect(
      sqsPayloadBytes({ MessageBody: 'ab', MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } } }),
    ).toBe(2 + 1 + 6 + 1);
    expect(sqsBilledRequests(0)).toBe(1);
    expect(sqsBilledRequests(SQS_CHUNK_BYTES)).toBe(1);
    expect(sqsBilledRequests(SQS_CHUNK_BYTES + 1)).toBe(2);
  });
});

describe('calls, invocations and logs', () => {
  it('counts secret store calls, handler invocations and log bytes', async () => {
    const accounting = new Accounting();
    const store = accounting.countSecretStore({
      get: async () => 'v',
      create: async (_name, value) => value,
      delete: async () => undefined,
    });
    await store.get('a');
    await store.create('b', 'c');
    const handler = accounting.timeHandler('sender-fast', async (event: { n: number }) => event.n * 2);
    expect(await handler({ n: 2 })).toBe(4);
    await accounting.idle();
    accounting.logDestination.write('{"level":30}\n');
    const tally = accounting.snapshot();
    expect(tally.secretStoreCalls).toBe(2);
    expect(tally.invocations['sender-fast']?.count).toBe(1);
    expect(tally.invocations['sender-fast']?.ms).toBeGreaterThanOrEqual(0);
    expect(tally.log).toEqual({ lines: 1, bytes: 13 });
    accounting.reset();
    expect(accounting.snapshot().secretStoreCalls).toBe(0);
  });
});

describe('cost model', () => {
  it('prices each service and sums them', () => {
    const cost = costPerMillion({
      writeUnits: 4,
      readUnits: 2,
      sqsRequests: 1,
      invocations: 0,
      invocationMs: 0,
      memoryMb: 512,
      httpApiRequests: 1,
      logBytes: 0,
      secretsManagerCalls: 0,
    });
    expect(cost.dynamoDb).toBeCloseTo(4 * 0.625 + 2 * 0.125);
    expect(cost.sqs).toBeCloseTo(0.4);
    expect(cost.apiGateway).toBeCloseTo(1);
    expect(cost.total).toBeCloseTo(cost.dynamoDb + cost.sqs + cost.apiGateway);
  });
});
