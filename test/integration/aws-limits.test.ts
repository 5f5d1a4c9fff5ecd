// The scale model of AWS's limits (infra/local/aws-limits/, docs/aws-limits.md) on the real emulators: a hot
// partition key of the table or of an index is throttled as DynamoDB throttles it, before the write is applied,
// and the SDK retries the throttle; batches hand back what they could not write; SQS answers OverLimit at its
// in-flight cap and drops messages past their retention; the local service runs on it. Clients of their own, on
// the suite's emulators.
import {
  BatchWriteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryConfigFromEnv } from '#shared/runtime/config.ts';
import { generateAdminToken, LOCAL_ALLOW_CIDRS } from '#infra/local/env.ts';
import { startLocalService } from '#infra/local/service.ts';
import { AwsLimits, type AwsLimitsOptions } from '#infra/local/aws-limits/index.ts';
import { ensureTable } from '#infra/local/bootstrap.ts';
import { LOCAL_REGION, localCredentials, startSqsLocal } from '#infra/local/emulators.ts';
import { itemBytes, writeUnits } from '#infra/local/aws-limits/units.ts';
import { stack } from './helpers.ts';
import { Receiver } from '../support/receiver.ts';

const TABLE = 'aws-limits';
const stops: (() => Promise<void>)[] = [];
let plain: DynamoDBClient;

const connection = () => ({ region: LOCAL_REGION, credentials: stack().credentials });

/** Clients of their own (fresh SDK retry quotas) with the model on them, and the model to read. */
function onModel(options: AwsLimitsOptions, maxAttempts?: number) {
  const limits = new AwsLimits(options);
  const dynamoDb = new DynamoDBClient({ ...connection(), endpoint: stack().dynamoDbEndpoint, maxAttempts });
  const sqs = new SQSClient({ ...connection(), endpoint: stack().sqsEndpoint, maxAttempts });
  const stop = limits.apply(dynamoDb, sqs);
  stops.push(async () => {
    await stop();
    dynamoDb.destroy();
    sqs.destroy();
  });
  return { limits, dynamoDb, sqs };
}

/** A clock that stands still unless moved: no bucket refills behind a test's back. */
function frozenClock() {
  let now = Date.now();
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const S = (value: string): AttributeValue => ({ S: value });
const put = (pk: string, sk: string, extra: Record<string, AttributeValue> = {}) =>
  new PutItemCommand({ TableName: TABLE, Item: { pk: S(pk), sk: S(sk), ...extra } });

/** The sort keys stored under a partition key, read without the model. */
async function storedSortKeys(pk: string): Promise<string[]> {
  const { Items = [] } = await plain.send(
    new QueryCommand({
      TableName: TABLE,
      ConsistentRead: true,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': S(pk) },
    }),
  );
  return Items.map((item) => item.sk?.S ?? '').sort();
}

const errorOf = (result: PromiseSettledResult<unknown>) =>
  (result as PromiseRejectedResult).reason as Error & {
    $metadata: { httpStatusCode?: number; attempts?: number };
    throttlingReasons?: { reason?: string; resource?: string }[];
    CancellationReasons?: { Code?: string; Message?: string }[];
  };

beforeAll(async () => {
  plain = new DynamoDBClient({ ...connection(), endpoint: stack().dynamoDbEndpoint });
  await ensureTable(plain, TABLE);
});

afterAll(async () => {
  for (const stop of stops) await stop();
  plain?.destroy();
});

describe('DynamoDB, per partition key', () => {
  it('throttles a burst on one key before applying it, and the SDK retries absorb some of it', async () => {
    // 5 WCU/s a key: 40 writes at once overrun it on any machine.
    const { limits, dynamoDb } = onModel({ scale: 0.005 });
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => dynamoDb.send(put('EP#burst', `W#${i}`))),
    );
    const written = results.flatMap((r, i) => (r.status === 'fulfilled' ? [`W#${i}`] : []));
    const refused = results.filter((r) => r.status === 'rejected').map(errorOf);

    expect(refused.length).toBeGreaterThan(0);
    const attempts = await dynamoDb.config.maxAttempts();
    for (const error of refused) {
      expect(error.name).toBe('ThrottlingException');
      expect(error.$metadata).toMatchObject({ httpStatusCode: 400, attempts }); // retried by the SDK as a throttle
      expect(error.message).toMatch(/^Throughput exceeds the current capacity of your table or index\./);
      expect(error.throttlingReasons).toEqual([
        { reason: 'TableWriteKeyRangeThroughputExceeded', resource: expect.stringMatching(/:table\/aws-limits$/) },
      ]);
    }
    // Refused means not applied: the table holds exactly the writes that succeeded.
    expect(await storedSortKeys('EP#burst')).toEqual(written.sort());
    const report = limits.report().dynamoDb;
    expect(report.absorbed).toBeGreaterThan(0);
    expect(report.surfaced).toBe(refused.length);
    expect(report.throttles).toEqual([
      { table: TABLE, key: 'EP#burst', operation: 'PutItem', kind: 'write', count: report.throttledRequests },
    ]);
  });

  it('lets a setup through unthrottled while its limits are off, and throttles the same burst once on again', async () => {
    const { limits, dynamoDb } = onModel({ scale: 0.005 });
    const burst = (round: string) =>
      Promise.allSettled(Array.from({ length: 40 }, (_, i) => dynamoDb.send(put('EP#setup', `${round}#${i}`))));

    limits.enforceDynamoDb(false);
    const setup = await burst('setup');
    expect(setup.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(limits.report().dynamoDb.throttledRequests).toBe(0);

    limits.enforceDynamoDb(true);
    const measured = await burst('measured');
    expect(measured.filter((r) => r.status === 'rejected').length).toBeGreaterThan(0);
    expect(limits.report().dynamoDb.throttledRequests).toBeGreaterThan(0);
  });

  it('does not throttle the same writes spread over several keys', async () => {
    const { limits, dynamoDb } = onModel({ scale: 0.005 });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => dynamoDb.send(put(`EP#spread-${i % 8}`, `W#${i}`))),
    );

    expect(results.map((r) => r.$metadata.attempts)).toEqual(Array(40).fill(1));
    expect(limits.report().dynamoDb).toMatchObject({ throttledRequests: 0, throttles: [] });
  });

  it('sustains its scaled rate on one key, and no more (measured at 0.05)', async () => {
    // 4 KB items (4 WCU each), so even a busy machine offers the key more than 50 WCU/s. The caller retries
    // what the SDK gives up on, as a store would; the model bounds the rate, the machine only slows it.
    const { limits, dynamoDb } = onModel({ scale: 0.05 });
    const writes = 120;
    const payload = { d: S('x'.repeat(4000)) };
    const units = writes * writeUnits(itemBytes({ pk: S('EP#sustained'), sk: S('W#000'), ...payload }));
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < writes; i = next++) {
          for (;;) {
            try {
              await dynamoDb.send(put('EP#sustained', `W#${String(i).padStart(3, '0')}`, payload));
              break;
            } catch (error) {
              if ((error as Error).name !== 'ThrottlingException') throw error;
            }
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const report = limits.report().dynamoDb;
    console.log(
      `AWS limits at 0.05: one key sustained ${(units / seconds).toFixed(1)} WCU/s (${units} WCU in ${seconds.toFixed(1)} s; ` +
        `limit ${report.writeUnitsPerSecond}/s, burst ${report.writeUnitsPerSecond * report.burstSeconds}); ` +
        `${report.throttledRequests} throttles, ${report.absorbed} absorbed by SDK retries, ${report.surfaced} surfaced ` +
        `to the caller; peak ${report.peakWrite?.unitsPerSecond} WCU in one second`,
    );

    expect(await storedSortKeys('EP#sustained')).toHaveLength(writes);
    // Never more than the rate plus one burst: a faster machine cannot beat it, a slower one only goes slower.
    expect(units).toBeLessThanOrEqual(report.writeUnitsPerSecond * (seconds + report.burstSeconds) + 4);
    expect(report.peakWrite).toMatchObject({ key: 'EP#sustained' });
    expect(report.peakWrite!.unitsPerSecond).toBeLessThanOrEqual(2 * report.writeUnitsPerSecond + 4);
  }, 120_000);

  it("throttles a hot key of a global secondary index: the table's writes wait for the index", async () => {
    const clock = frozenClock();
    const { limits, dynamoDb } = onModel({ scale: 0.01, now: clock.now }, 1);
    // 25 webhooks of one organization, each in its own partition, all failing at once: one `failed` index key.
    await plain.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [TABLE]: Array.from({ length: 25 }, (_, i) => ({
            PutRequest: { Item: { pk: S(`EP#gsi-${i}`), sk: S('W#1') } },
          })),
        },
      }),
    );
    const fail = (i: number) =>
      dynamoDb.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: { pk: S(`EP#gsi-${i}`), sk: S('W#1') },
          UpdateExpression: 'SET #s = :failed, fo = :org',
          ExpressionAttributeNames: { '#s': 's' },
          ExpressionAttributeValues: { ':failed': S('failed'), ':org': S('org-hot') },
        }),
      );
    const results = await Promise.allSettled(Array.from({ length: 25 }, (_, i) => fail(i)));
    const refused = results.filter((r) => r.status === 'rejected').map(errorOf);

    // 10 WCU/s on the index key, a clock standing still: exactly 10 pass.
    expect(refused).toHaveLength(15);
    expect(refused[0]!.message).toBe(
      'Throughput exceeds the current capacity for one or more global secondary indexes. DynamoDB is automatically scaling your index so please try again shortly.',
    );
    expect(refused[0]!.throttlingReasons).toEqual([
      {
        reason: 'IndexWriteKeyRangeThroughputExceeded',
        resource: expect.stringMatching(/:table\/aws-limits\/index\/failed$/),
      },
    ]);
    const { Count } = await plain.send(
      new QueryCommand({
        TableName: TABLE,
        IndexName: 'failed',
        KeyConditionExpression: 'fo = :org',
        ExpressionAttributeValues: { ':org': S('org-hot') },
      }),
    );
    expect(Count).toBe(10);
    expect(limits.report().dynamoDb.throttles).toEqual([
      { table: TABLE, index: 'failed', key: 'org-hot', operation: 'UpdateItem', kind: 'write', count: 15 },
    ]);
  });

  it('hands back the items of a batch it could not write in UnprocessedItems, and refuses a batch it can write none of', async () => {
    const clock = frozenClock();
    const { limits, dynamoDb } = onModel({ scale: 0.01, now: clock.now }, 1);
    const batch = (from: number) =>
      new BatchWriteItemCommand({
        RequestItems: {
          [TABLE]: Array.from({ length: 25 }, (_, i) => ({
            PutRequest: { Item: { pk: S('EP#batch'), sk: S(`W#${String(from + i).padStart(2, '0')}`) } },
          })),
        },
      });

    const { UnprocessedItems } = await dynamoDb.send(batch(0));
    const unprocessed = (UnprocessedItems?.[TABLE] ?? []).map((r) => r.PutRequest?.Item?.sk?.S);
    expect(unprocessed).toEqual(Array.from({ length: 15 }, (_, i) => `W#${String(10 + i).padStart(2, '0')}`));
    expect(await storedSortKeys('EP#batch')).toEqual(Array.from({ length: 10 }, (_, i) => `W#0${i}`));

    const [second] = await Promise.allSettled([dynamoDb.send(batch(25))]);
    expect(errorOf(second!)).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    expect(limits.report().dynamoDb).toMatchObject({ unprocessed: 15, throttledRequests: 1 });

    clock.advance(1_000); // a second later the key has 10 units again
    const { UnprocessedItems: later } = await dynamoDb.send(batch(50));
    expect(later?.[TABLE]).toHaveLength(15);
  });

  it('cancels a transaction with a throttled item, with ThrottlingError as its reason, and applies none of it', async () => {
    const clock = frozenClock();
    const { dynamoDb } = onModel({ scale: 0.01, now: clock.now }, 1);
    await Promise.all(Array.from({ length: 10 }, (_, i) => dynamoDb.send(put('ORG#hot', `EP#${i}`))));
    const [result] = await Promise.allSettled([
      dynamoDb.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: TABLE, Item: { pk: S('ORG#cold'), sk: S('ORG') } } },
            { Put: { TableName: TABLE, Item: { pk: S('ORG#hot'), sk: S('EP#new') } } },
          ],
        }),
      ),
    ]);

    const error = errorOf(result!);
    expect(error.name).toBe('TransactionCanceledException');
    expect(error.message).toBe(
      'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ThrottlingError]',
    );
    expect(error.CancellationReasons?.map((r) => r.Code)).toEqual(['None', 'ThrottlingError']);
    expect(await storedSortKeys('ORG#cold')).toEqual([]);
  });
});

describe('SQS', () => {
  it('answers OverLimit to a short poll at the in-flight cap, and no messages to a long poll', async () => {
    // 120,000 × 0.0001: 12 messages in flight.
    const { limits, sqs } = onModel({ scale: 0.0001 });
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'aws-limits-in-flight' }));
    for (const from of [0, 10])
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl,
          Entries: Array.from({ length: 10 }, (_, i) => ({ Id: String(i), MessageBody: `m${from + i}` })),
        }),
      );
    const receive = (wait = 0) =>
      sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: wait }));

    expect((await receive()).Messages).toHaveLength(10);
    const second = (await receive()).Messages ?? [];
    expect(second).toHaveLength(2); // only the room left under the cap
    const [overLimit] = await Promise.allSettled([receive()]);
    expect(errorOf(overLimit!)).toMatchObject({ name: 'OverLimit', $metadata: { httpStatusCode: 403 } });
    expect((await receive(1)).Messages).toBeUndefined();

    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: second[0]!.ReceiptHandle }));
    expect((await receive()).Messages).toHaveLength(1);
    expect(limits.report().sqs).toMatchObject({ inFlightCap: 12, overLimit: 1, heldAtCap: 1 });
  });

  it("drops a message older than its queue's retention instead of delivering it", async () => {
    let offset = 0;
    const { limits, sqs } = onModel({ scale: 0.05, now: () => Date.now() + offset });
    const queue = async (name: string, retention: number) =>
      (
        await sqs.send(
          new CreateQueueCommand({ QueueName: name, Attributes: { MessageRetentionPeriod: String(retention) } }),
        )
      ).QueueUrl!;
    const short = await queue('aws-limits-retention-60', 60);
    const long = await queue('aws-limits-retention-300', 300);
    await sqs.send(new SendMessageCommand({ QueueUrl: short, MessageBody: 'expires' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: long, MessageBody: 'stays' }));

    offset = 120_000; // two minutes later
    const receive = (QueueUrl: string) => sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 0 }));
    expect((await receive(short)).Messages).toBeUndefined();
    const [kept] = (await receive(long)).Messages ?? [];
    expect(kept).toMatchObject({ Body: 'stays' });
    expect(kept!.Attributes).toBeUndefined(); // the send time the model asked for is not handed to the caller
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: short,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(Attributes).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
    expect(limits.report().sqs.expired).toBe(1);
  });
});

describe('the local service', () => {
  it('runs on the model (AWS_LIMITS_SCALE): an organization, an endpoint and a delivery go through it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-aws-limits-'));
    // Queues of its own: the suite's service polls queues of the same names on the suite's fauxqs.
    const queues = await startSqsLocal(join(dataDir, 'queues'), await localCredentials(dataDir));
    const receiver = await new Receiver().start();
    const awsLimits = new AwsLimits({ scale: 0.05 });
    const local = await startLocalService({
      port: 0,
      dataDir,
      adminToken: generateAdminToken(),
      config: deliveryConfigFromEnv({ WEBHOOK_ALLOW_CIDRS: LOCAL_ALLOW_CIDRS.join(','), WEBHOOK_ALLOW_HTTP: 'true' }),
      logLevel: 'silent',
      dynamoDbEndpoint: stack().dynamoDbEndpoint,
      sqsEndpoint: queues.endpoint,
      awsLimits,
    });
    try {
      const call = async (path: string, token: string, body: unknown) => {
        const res = await fetch(`${local.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      const org = await call('/admin/v1/organizations', local.adminToken, { name: 'On the model' });
      const { organization, api_key } = org.body as { organization: { lago_id: string }; api_key: string };
      const endpoint = await call('/api/v1/webhook_endpoints', api_key, {
        webhook_endpoint: { webhook_url: receiver.url, signature_algo: 'hmac' },
      });
      const published = await call('/admin/v1/webhooks', local.adminToken, {
        organization_id: organization.lago_id,
        webhook_type: 'invoice.created',
        object_type: 'invoice',
        object: { lago_id: 'inv_on_the_model' },
      });

      expect([org.status, endpoint.status, published.status]).toEqual([201, 200, 202]);
      const [got] = await receiver.waitFor(1);
      expect(JSON.parse(got!.body)).toMatchObject({ invoice: { lago_id: 'inv_on_the_model' } });
      // The model charged the service's writes, and none needed throttling at this pace.
      const report = awsLimits.report().dynamoDb;
      expect(report).toMatchObject({ writeUnitsPerSecond: 50, throttledRequests: 0 });
      expect(report.peakWrite?.unitsPerSecond).toBeGreaterThan(0);
    } finally {
      await local.stop();
      await receiver.stop();
      await queues.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
