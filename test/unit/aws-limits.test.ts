// Covers the arithmetic of the AWS limits scale model (infra/local/aws-limits/): item sizes and capacity units as
// DynamoDB counts them, the token buckets per key, the expressions that tell which partitions a request reaches,
// the charges planned per table and index key, and the AWS_LIMITS_* settings. The emulators' side is in
// test/integration/aws-limits.test.ts.
import { describe, expect, it } from 'vitest';
import { KeyBuckets } from '#infra/local/aws-limits/buckets.ts';
import {
  batchSubset,
  chargesOf,
  requestEntries,
  withUnprocessed,
  type TableShape,
} from '#infra/local/aws-limits/dynamodb-plan.ts';
import { shapeOf } from '#infra/local/aws-limits/dynamodb-tables.ts';
import { applyUpdate, equalityValue, updateEffects } from '#infra/local/aws-limits/expressions.ts';
import { awsLimitsFromEnv } from '#infra/local/aws-limits/index.ts';
import {
  itemBytes,
  numberBytes,
  readUnits,
  valueBytes,
  writeUnits,
  type WireItem,
} from '#infra/local/aws-limits/units.ts';
import { ConfigError } from '#shared/runtime/config.ts';

const S = (value: string) => ({ S: value });

describe('item sizes and capacity units', () => {
  it('counts names and values as DynamoDB does', () => {
    expect(valueBytes(S('héllo'))).toBe(6); // UTF-8 bytes
    expect(numberBytes('123')).toBe(3); // 2 bytes for 3 digits, plus 1
    expect(numberBytes('-0.00120')).toBe(2); // leading and trailing zeroes do not count
    expect(valueBytes({ B: Buffer.from('abcd').toString('base64') })).toBe(4);
    expect(valueBytes({ B: new Uint8Array(4) })).toBe(4);
    expect(valueBytes({ BOOL: true })).toBe(1);
    expect(valueBytes({ L: [S('ab'), { NULL: true }] })).toBe(3 + (2 + 1) + (1 + 1));
    expect(valueBytes({ M: { k: S('v') } })).toBe(3 + 1 + 1 + 1);
    expect(itemBytes({ pk: S('EP#1'), n: { N: '10' } })).toBe(2 + 4 + 1 + 2);
  });

  it('rounds write units per KB and read units per 4 KB, at least one, halved when eventually consistent', () => {
    expect([writeUnits(0), writeUnits(1024), writeUnits(1025), writeUnits(3000)]).toEqual([1, 1, 2, 3]);
    expect([readUnits(0, true), readUnits(4096, true), readUnits(4097, true)]).toEqual([1, 1, 2]);
    expect([readUnits(100, false), readUnits(10_200, false)]).toEqual([0.5, 1.5]);
  });
});

describe('token buckets per key', () => {
  const clock = () => {
    let now = 10_000;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };
  const needs = (key: string, units: number) => new Map([[key, units]]);

  it('starts full, refills at its rate up to its burst, and names the key that lacks units', () => {
    const time = clock();
    const buckets = new KeyBuckets({ unitsPerSecond: 50, burstUnits: 50 }, time.now);
    expect(buckets.lacking(needs('a', 50))).toBeUndefined();
    buckets.take('a', 50);
    expect(
      buckets.lacking(
        new Map([
          ['b', 1],
          ['a', 1],
        ]),
      ),
    ).toBe('a');
    time.advance(100); // 5 units back
    expect(buckets.lacking(needs('a', 5))).toBeUndefined();
    expect(buckets.lacking(needs('a', 6))).toBe('a');
    time.advance(60_000);
    buckets.take('a', 0);
    expect(buckets.lacking(needs('a', 50))).toBeUndefined(); // never more than the burst
    expect(buckets.lacking(needs('a', 51))).toBeUndefined(); // a request larger than the burst passes a full bucket
  });

  it('goes into debt when a request consumed more than it was admitted for, and counts the busiest second', () => {
    const time = clock();
    const buckets = new KeyBuckets({ unitsPerSecond: 10, burstUnits: 10 }, time.now);
    buckets.take('a', 1);
    buckets.take('a', 19); // charged after the fact: 10 in debt
    time.advance(500);
    expect(buckets.lacking(needs('a', 1))).toBe('a'); // 5 back, still 5 in debt
    time.advance(1_000);
    expect(buckets.lacking(needs('a', 5))).toBeUndefined();
    expect(buckets.lacking(needs('a', 6))).toBe('a');
    buckets.consumed('a', 4);
    buckets.consumed('a', 3);
    buckets.consumed('b', 5);
    expect(buckets.peakPerSecond()).toEqual({ key: 'a', units: 7 });
  });
});

describe('expressions', () => {
  it('finds the partition key a key condition asks for, by name or placeholder, either way round', () => {
    const values = { ':pk': S('EP#1'), ':from': S('W#0') };
    expect(equalityValue('pk = :pk AND sk >= :from', 'pk', undefined, values)).toEqual(S('EP#1'));
    expect(equalityValue('#k = :pk', 'pk', { '#k': 'pk' }, values)).toEqual(S('EP#1'));
    expect(equalityValue(':pk = pk', 'pk', undefined, values)).toEqual(S('EP#1'));
    expect(equalityValue('pk = :pk AND sk <= :from', 'sk', undefined, values)).toBeUndefined();
  });

  it('tells what an update sets, removes and touches', () => {
    const effects = updateEffects(
      'SET #s = :s, fo = if_not_exists(fo, :org), n = n + :one, h.code = :c REMOVE due_pk, due_sk ADD tries :one',
      { '#s': 's' },
      { ':s': S('failed'), ':org': S('org-1'), ':one': { N: '1' }, ':c': { N: '500' } },
    );
    expect(Object.fromEntries(effects.set)).toEqual({
      s: { kind: 'value', value: S('failed') },
      fo: { kind: 'if_not_exists', value: S('org-1') },
      n: { kind: 'computed' },
      h: { kind: 'computed' },
      tries: { kind: 'computed' },
    });
    expect([...effects.removed]).toEqual(['due_pk', 'due_sk']);
    expect([...effects.touched].sort()).toEqual(['due_pk', 'due_sk', 'fo', 'h', 'n', 's', 'tries']);
    const after = applyUpdate({ fo: S('org-0'), due_pk: S('TIMER#1'), n: { N: '1' } }, effects);
    expect(after.item).toEqual({ fo: S('org-0'), s: S('failed'), n: { N: '1' } });
    expect([...after.unknown].sort()).toEqual(['h', 'n', 'tries']);
  });
});

describe('charges per key', () => {
  const table: TableShape = shapeOf({
    TableName: 'webhooks',
    TableArn: 'arn:aws:dynamodb:ddblocal:000000000000:table/webhooks',
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
    GlobalSecondaryIndexes: [
      {
        IndexName: 'failed',
        KeySchema: [
          { AttributeName: 'fo', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['s'] },
      },
    ],
  })!;
  const charges = (operation: string, body: Record<string, unknown>, before?: WireItem) =>
    requestEntries(operation, body)!.entries.flatMap((entry) => chargesOf(entry, table, before));
  const webhook = { pk: S('EP#1'), sk: S('W#1') };

  it('reads the table from DescribeTable: keys, indexes with their ARN and projection, billing mode', () => {
    expect(table).toEqual({
      name: 'webhooks',
      arn: 'arn:aws:dynamodb:ddblocal:000000000000:table/webhooks',
      partitionKey: 'pk',
      sortKey: 'sk',
      onDemand: true,
      indexes: [
        {
          name: 'failed',
          arn: 'arn:aws:dynamodb:ddblocal:000000000000:table/webhooks/index/failed',
          partitionKey: 'fo',
          sortKey: 'sk',
          projected: ['s'],
        },
      ],
    });
  });

  it('charges a put on its partition key and on the index key it puts, by the larger of the items before and after', () => {
    const item = { ...webhook, fo: S('org-1'), d: S('x'.repeat(2000)) };
    expect(charges('PutItem', { TableName: 'webhooks', Item: item }, { ...webhook, d: S('x'.repeat(3000)) })).toEqual([
      { table: 'webhooks', key: 'EP#1', kind: 'write', units: 3 },
      { table: 'webhooks', index: 'failed', key: 'org-1', kind: 'write', units: 1 },
    ]);
  });

  it('charges an update that moves an index entry on both index keys, and one that changes nothing indexed on the table only', () => {
    const move = {
      TableName: 'webhooks',
      Key: webhook,
      UpdateExpression: 'SET fo = :o',
      ExpressionAttributeValues: { ':o': S('org-2') },
    };
    expect(charges('UpdateItem', move, { ...webhook, fo: S('org-1') }).map((c) => [c.index, c.key])).toEqual([
      [undefined, 'EP#1'],
      ['failed', 'org-1'],
      ['failed', 'org-2'],
    ]);
    const status = {
      TableName: 'webhooks',
      Key: webhook,
      UpdateExpression: 'SET s = :s',
      ExpressionAttributeValues: { ':s': S('failed') },
    };
    expect(charges('UpdateItem', status, { ...webhook, fo: S('org-1') }).map((c) => c.key)).toEqual(['EP#1', 'org-1']);
    const other = {
      TableName: 'webhooks',
      Key: webhook,
      UpdateExpression: 'SET z = :s',
      ExpressionAttributeValues: { ':s': S('x') },
    };
    expect(charges('UpdateItem', other, { ...webhook, fo: S('org-1') }).map((c) => c.key)).toEqual(['EP#1']);
  });

  it('charges transactional writes twice, and reads on the key of the table or index they read', () => {
    const transaction = {
      TransactItems: [
        { Put: { TableName: 'webhooks', Item: webhook } },
        { ConditionCheck: { TableName: 'webhooks', Key: { pk: S('ORG#1'), sk: S('ORG') } } },
      ],
    };
    expect(charges('TransactWriteItems', transaction).map((c) => [c.key, c.units])).toEqual([
      ['EP#1', 2],
      ['ORG#1', 2],
    ]);
    const query = {
      TableName: 'webhooks',
      IndexName: 'failed',
      KeyConditionExpression: 'fo = :o',
      ExpressionAttributeValues: { ':o': S('org-1') },
    };
    expect(charges('Query', query)).toEqual([
      { table: 'webhooks', index: 'failed', key: 'org-1', kind: 'read', units: 0.5 },
    ]);
    expect(charges('GetItem', { TableName: 'webhooks', Key: webhook, ConsistentRead: true })).toEqual([
      { table: 'webhooks', key: 'EP#1', kind: 'read', units: 1 },
    ]);
    expect(requestEntries('Scan', { TableName: 'webhooks' })).toBeUndefined();
  });

  it('sends the admitted items of a batch and hands the others back as unprocessed', () => {
    const request = (sk: string) => ({ PutRequest: { Item: { pk: S('EP#1'), sk: S(sk) } } });
    const body = { RequestItems: { webhooks: [request('W#1'), request('W#2'), request('W#3')] } };
    expect(batchSubset('BatchWriteItem', body, new Set([0, 2]))).toEqual({
      RequestItems: { webhooks: [request('W#1'), request('W#3')] },
    });
    const response = { UnprocessedItems: { webhooks: [request('W#3')] } };
    expect(withUnprocessed('BatchWriteItem', body, new Set([1]), response)).toEqual({
      UnprocessedItems: { webhooks: [request('W#3'), request('W#2')] },
    });
    const gets = {
      RequestItems: { webhooks: { Keys: [webhook, { pk: S('EP#2'), sk: S('W#1') }], ConsistentRead: true } },
    };
    expect(withUnprocessed('BatchGetItem', gets, new Set([1]), {})).toEqual({
      UnprocessedKeys: { webhooks: { Keys: [{ pk: S('EP#2'), sk: S('W#1') }], ConsistentRead: true } },
    });
  });
});

describe('AWS_LIMITS_SCALE and AWS_LIMITS_RETENTION_SECONDS', () => {
  it('leave the model off when unset, and scale AWS per key and per queue when set', () => {
    expect(awsLimitsFromEnv({})).toBeUndefined();
    const report = awsLimitsFromEnv({ AWS_LIMITS_SCALE: '0.05', AWS_LIMITS_RETENTION_SECONDS: '30' })!.report();
    expect(report).toMatchObject({
      scale: 0.05,
      dynamoDb: { writeUnitsPerSecond: 50, readUnitsPerSecond: 150, burstSeconds: 1, throttles: [] },
      sqs: { inFlightCap: 6000, retentionSeconds: 30 },
    });
  });

  it('refuses what is not a factor or a whole number of seconds', () => {
    for (const env of [
      { AWS_LIMITS_SCALE: '0' },
      { AWS_LIMITS_SCALE: '2' },
      { AWS_LIMITS_SCALE: 'fast' },
      { AWS_LIMITS_SCALE: '0.05', AWS_LIMITS_RETENTION_SECONDS: '1.5' },
      { AWS_LIMITS_RETENTION_SECONDS: '30' },
    ])
      expect(() => awsLimitsFromEnv(env), JSON.stringify(env)).toThrow(ConfigError);
  });
});
