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
import {
  attemptPerDelivery,
  costPerMillion,
  mappingSqsRequests,
  monthlyFloor,
  storedBytes,
  tracedShare,
  type PerDelivery,
} from '../../bench/pricing.ts';

/** A delivery that costs nothing, to change one figure at a time. */
const NOTHING: PerDelivery = {
  writeUnits: 0,
  readUnits: 0,
  sqsRequests: 0,
  invocations: 0,
  invocationMs: 0,
  memoryMb: 512,
  httpApiRequests: 0,
  logBytes: 0,
  emfBytes: 0,
  secretsManagerCalls: 0,
  storedBytes: 0,
  tracedShare: 0,
};

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
      emfBytes: 0,
      secretsManagerCalls: 0,
      storedBytes: 0,
      tracedShare: 1,
    });
    expect(cost.dynamoDb).toBeCloseTo(4 * 0.625 + 2 * 0.125);
    expect(cost.sqs).toBeCloseTo(0.4);
    expect(cost.apiGateway).toBeCloseTo(1);
    // The API's access log line: 330 bytes a request, ingested ($0.50/GB) and kept 90 days ($0.03/GB-month).
    expect(cost.logs).toBeCloseTo(((1e6 * 330) / 2 ** 30) * 0.5);
    expect(cost.logStorage).toBeCloseTo(((1e6 * 330) / 2 ** 30) * 3 * 0.03);
    expect(cost.total).toBeCloseTo(cost.dynamoDb + cost.sqs + cost.apiGateway + cost.logs + cost.logStorage);
  });

  it('stores a webhook for the retention, in the table and its point-in-time recovery: about $1.5 per million 1 KB webhooks at 90 days', () => {
    const base = costPerMillion({ ...NOTHING, storedBytes: storedBytes(1024) });
    expect(storedBytes(1024)).toBe(100 + 250 + 1024 + 100);
    expect(base.dynamoDbStorage).toBeCloseTo(((1e6 * 1474) / 2 ** 30) * 3 * (0.25 + 0.2));
    expect(base.dynamoDbStorage).toBeGreaterThan(1.5);
    expect(base.dynamoDbStorage).toBeLessThan(2);
  });

  it('traces every invocation under one a second, then 1% of the rest: $5 per million traced', () => {
    expect(tracedShare(0.5)).toBe(1);
    expect(tracedShare(1)).toBe(1);
    expect(tracedShare(101)).toBeCloseTo((1 + 0.01 * 100) / 101);
    expect(costPerMillion({ ...NOTHING, invocations: 2, tracedShare: 1 }).xray).toBeCloseTo(10);
  });

  it('counts SQS as the event source mapping polls: a receive and a delete per sender invocation, plus the sends', () => {
    expect(mappingSqsRequests(1, 0.1)).toBeCloseTo(1.2);
    expect(mappingSqsRequests(1, 1)).toBe(3);
  });

  it("prices a hanging endpoint's attempt by the timeout it holds the sender for", () => {
    const failing = costPerMillion(attemptPerDelivery('failing', 700, 250));
    const hanging = costPerMillion(attemptPerDelivery('hanging', 700, 250));
    expect(hanging.lambda - failing.lambda).toBeCloseTo(1e6 * (15 - 0.15) * 0.5 * 0.0000133334, 1);
    expect(hanging.total).toBeGreaterThan(100);
  });

  it('sums the monthly floor: keys, secrets, alarms, dashboard, metrics, idle polling, the sweeper', () => {
    const floor = monthlyFloor({ kmsKeys: 1, secrets: 1, alarmMetrics: 21, dashboards: 1, customMetrics: 8 });
    expect(floor.kms).toBe(1);
    expect(floor.alarms).toBeCloseTo(2.1);
    // 2 lanes × 5 pollers × one 20 s long poll after another, for 30 days.
    expect(floor.idlePolling).toBeCloseTo(2 * 5 * 129_600 * 0.4e-6);
    expect(floor.total).toBeCloseTo(
      Object.entries(floor)
        .filter(([part]) => part !== 'total')
        .reduce((sum, [, usd]) => sum + usd, 0),
    );
  });
});
