import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KeyBuckets } from './buckets.ts';
import {
  batchSubset,
  chargesOf,
  isModelled,
  requestEntries,
  withUnprocessed,
  type Charge,
  type Kind,
  type Mode,
  type TableShape,
} from './dynamodb-plan.ts';
import { DynamoDbReader } from './dynamodb-tables.ts';
import { answer, type CallOutcome, type Json, type Verdict, type WireAnswer, type WireModel } from './wire.ts';

/**
 * DynamoDB's per-partition-key throughput, scaled: every key of the table and of each global
 * secondary index has a write bucket and a read bucket. A request is admitted or refused before
 * DynamoDB Local applies it, from its estimated units (dynamodb-plan.ts); the units DynamoDB Local
 * reports consumed are then charged. Refusals are worded as DynamoDB words them.
 */

/** Per partition key, per second: DynamoDB developer guide, "partition key throughput limits". */
const AWS_WRITE_UNITS_PER_KEY = 1000;
const AWS_READ_UNITS_PER_KEY = 3000;
/** A key may run ahead of its rate by one second's worth (docs/aws-limits.md). */
const BURST_SECONDS = 1;

const NAMESPACE = 'com.amazonaws.dynamodb.v20120810#';
const TABLE_THROTTLE =
  'Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly. If exceptions persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html';
const INDEX_THROTTLE =
  'Throughput exceeds the current capacity for one or more global secondary indexes. DynamoDB is automatically scaling your index so please try again shortly.';
const PROVISIONED_TABLE =
  'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.';
const PROVISIONED_INDEX =
  'The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API.';
const TABLE_CHANGES = new Set(['CreateTable', 'UpdateTable', 'DeleteTable']);

export interface ThrottleCount {
  table: string;
  index?: string;
  key: string;
  operation: string;
  kind: Kind;
  count: number;
}

export interface DynamoDbReport {
  writeUnitsPerSecond: number;
  readUnitsPerSecond: number;
  burstSeconds: number;
  /** Items refused (a batch's items each), by key, index and operation; most first. */
  throttles: ThrottleCount[];
  /** Attempts answered with a throttle (ThrottlingException, or a cancelled transaction). */
  throttledRequests: number;
  /** Of those, attempts the SDK retried until the call succeeded: the caller never saw them. */
  absorbed: number;
  /** Calls that failed with a throttle after the SDK's last attempt. */
  surfaced: number;
  /** Batch items handed back in UnprocessedItems or UnprocessedKeys. */
  unprocessed: number;
  /** The most write units one key (of the table or an index) took in one wall-clock second. */
  peakWrite?: { table: string; index?: string; key: string; unitsPerSecond: number };
}

const bucketKey = (charge: Charge) => JSON.stringify([charge.table, charge.index ?? '', charge.key]);
const groupKey = (table: string, index?: string) => `${table}\n${index ?? ''}`;

interface Capacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}
interface ConsumedCapacity extends Capacity {
  TableName?: string;
  Table?: Capacity;
  GlobalSecondaryIndexes?: Record<string, Capacity>;
  LocalSecondaryIndexes?: Record<string, Capacity>;
}
const unitsOf = (c: Capacity | undefined) => c?.CapacityUnits ?? c?.ReadCapacityUnits ?? c?.WriteCapacityUnits ?? 0;

/**
 * Units consumed by table and by index; an index of a reported table that is not listed consumed
 * nothing. A local secondary index lives on its table's partitions, so counts there.
 */
function consumedByGroup(consumed: unknown): Map<string, number> {
  const totals = new Map<string, number>();
  const entries = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) as ConsumedCapacity[];
  for (const entry of entries) {
    if (!entry.TableName) continue;
    const global = Object.entries(entry.GlobalSecondaryIndexes ?? {});
    for (const [index, capacity] of global) totals.set(groupKey(entry.TableName, index), unitsOf(capacity));
    const sum = (capacities: Capacity[]) => capacities.reduce((total, capacity) => total + unitsOf(capacity), 0);
    const local = sum(Object.values(entry.LocalSecondaryIndexes ?? {}));
    const table = entry.Table ? unitsOf(entry.Table) + local : unitsOf(entry) - sum(global.map(([, c]) => c));
    totals.set(groupKey(entry.TableName), table);
  }
  return totals;
}

/** ConsumedCapacity as the caller asked for it: the model always asks for INDEXES. */
function capacityAsAsked(body: Json, asked: unknown): Json {
  if (asked === 'INDEXES' || body.ConsumedCapacity === undefined) return body;
  const { ConsumedCapacity, ...rest } = body;
  if (asked !== 'TOTAL') return rest;
  const total = ({ TableName, CapacityUnits }: ConsumedCapacity) => ({ TableName, CapacityUnits });
  return {
    ...rest,
    ConsumedCapacity: Array.isArray(ConsumedCapacity)
      ? (ConsumedCapacity as ConsumedCapacity[]).map(total)
      : total(ConsumedCapacity as ConsumedCapacity),
  };
}

/** The exception DynamoDB answers a throttled request with: ThrottlingException on an on-demand table. */
function throttled(shape: TableShape, charge: Charge): WireAnswer {
  const index = shape.indexes.find((i) => i.name === charge.index);
  const reason = {
    reason: `${index ? 'Index' : 'Table'}${charge.kind === 'read' ? 'Read' : 'Write'}KeyRangeThroughputExceeded`,
    resource: index?.arn ?? shape.arn,
  };
  if (shape.onDemand)
    return answer(400, {
      __type: `${NAMESPACE}ThrottlingException`,
      message: index ? INDEX_THROTTLE : TABLE_THROTTLE,
      throttlingReasons: [reason],
    });
  return answer(400, {
    __type: `${NAMESPACE}ProvisionedThroughputExceededException`,
    message: index ? PROVISIONED_INDEX : PROVISIONED_TABLE,
    ThrottlingReasons: [reason],
  });
}

/** A transaction with a throttled item is cancelled, with a reason per item. */
function cancelled(count: number, refused: ReadonlyMap<number, Charge>): WireAnswer {
  const reasons = Array.from({ length: count }, (_, i) => {
    const charge = refused.get(i);
    return charge
      ? { Code: 'ThrottlingError', Message: charge.index ? INDEX_THROTTLE : TABLE_THROTTLE }
      : { Code: 'None' };
  });
  return answer(400, {
    __type: `${NAMESPACE}TransactionCanceledException`,
    Message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
    CancellationReasons: reasons,
  });
}

interface Decision {
  plan: Charge[][];
  admitted: Set<number>;
  refused: Map<number, Charge>;
}

export class DynamoDbLimits implements WireModel {
  private readonly reader: DynamoDbReader;
  private readonly writes: KeyBuckets;
  private readonly reads: KeyBuckets;
  private readonly throttles = new Map<string, ThrottleCount>();
  private readonly totals = { throttledRequests: 0, absorbed: 0, surfaced: 0, unprocessed: 0 };
  /** Off: every request passes, charged nothing (a bench's setup, AwsLimits.enforce). */
  enforcing = true;

  /** `client`: the model's own client to DynamoDB Local, for table descriptions and items before writes. */
  constructor(scale: number, client: () => DynamoDBClient, now: () => number) {
    this.reader = new DynamoDbReader(client);
    const rate = (perKey: number) => ({ unitsPerSecond: perKey * scale, burstUnits: perKey * scale * BURST_SECONDS });
    this.writes = new KeyBuckets(rate(AWS_WRITE_UNITS_PER_KEY), now);
    this.reads = new KeyBuckets(rate(AWS_READ_UNITS_PER_KEY), now);
  }

  handles(operation: string): boolean {
    return TABLE_CHANGES.has(operation) || isModelled(operation);
  }

  async admit(operation: string, body: Json): Promise<Verdict | undefined> {
    if (TABLE_CHANGES.has(operation)) this.reader.forget(body.TableName);
    if (!this.enforcing) return undefined;
    const request = requestEntries(operation, body);
    if (!request || request.entries.length === 0) return undefined;
    const shapes = await this.reader.shapes(request.entries.map((entry) => entry.table));
    if (!shapes) return undefined;
    const before = await this.reader.itemsBefore(request.entries, shapes);
    const plan = request.entries.map((entry, i) => chargesOf(entry, shapes.get(entry.table)!, before[i]));
    const decision = this.decide(request.mode, plan);
    for (const charge of decision.refused.values()) this.count(operation, charge);
    return this.verdict(operation, body, request.mode, decision, shapes);
  }

  ended(outcome: CallOutcome): void {
    if (!outcome.failed) this.totals.absorbed += outcome.refused;
    else if (outcome.lastRefused) this.totals.surfaced++;
  }

  report(): DynamoDbReport {
    const peak = this.writes.peakPerSecond();
    const [table = '', index = '', key = ''] = peak ? (JSON.parse(peak.key) as string[]) : [];
    return {
      writeUnitsPerSecond: this.writes.rate.unitsPerSecond,
      readUnitsPerSecond: this.reads.rate.unitsPerSecond,
      burstSeconds: BURST_SECONDS,
      throttles: [...this.throttles.values()].map((t) => ({ ...t })).sort((a, b) => b.count - a.count),
      ...this.totals,
      ...(peak ? { peakWrite: { table, ...(index ? { index } : {}), key, unitsPerSecond: peak.units } } : {}),
    };
  }

  private buckets(kind: Kind): KeyBuckets {
    return kind === 'write' ? this.writes : this.reads;
  }

  /** The first charge whose key lacks the units (a key's charges in one item are summed). */
  private blocked(charges: Charge[]): Charge | undefined {
    for (const kind of ['write', 'read'] as const) {
      const needs = new Map<string, number>();
      const byKey = new Map<string, Charge>();
      for (const charge of charges.filter((c) => c.kind === kind)) {
        needs.set(bucketKey(charge), (needs.get(bucketKey(charge)) ?? 0) + charge.units);
        byKey.set(bucketKey(charge), charge);
      }
      const lacking = this.buckets(kind).lacking(needs);
      if (lacking !== undefined) return byKey.get(lacking);
    }
    return undefined;
  }

  private take(charges: Charge[], sign: 1 | -1): void {
    for (const charge of charges) this.buckets(charge.kind).take(bucketKey(charge), sign * charge.units);
  }

  /**
   * A batch item by item, each admitted item's units taken before the next is judged. A single
   * request or a transaction as a whole: its charges on one key are summed, so a transaction
   * reaching one key with more than the burst still passes on a full bucket.
   */
  private decide(mode: Mode, plan: Charge[][]): Decision {
    const admitted = new Set<number>();
    const refused = new Map<number, Charge>();
    if (mode === 'batch') {
      plan.forEach((charges, i) => {
        const blocked = this.blocked(charges);
        if (blocked) refused.set(i, blocked);
        else {
          this.take(charges, 1);
          admitted.add(i);
        }
      });
      return { plan, admitted, refused };
    }
    const blocked = this.blocked(plan.flat());
    const onBlockedKey = (c: Charge) => blocked && c.kind === blocked.kind && bucketKey(c) === bucketKey(blocked);
    plan.forEach((charges, i) => {
      if (!blocked) admitted.add(i);
      else if (charges.some(onBlockedKey)) refused.set(i, charges.find(onBlockedKey)!);
    });
    if (!blocked) this.take(plan.flat(), 1);
    return { plan, admitted, refused };
  }

  private count(operation: string, charge: Charge): void {
    const id = JSON.stringify([bucketKey(charge), operation, charge.kind]);
    const known = this.throttles.get(id);
    const { table, index, key, kind } = charge;
    if (known) known.count++;
    else this.throttles.set(id, { table, ...(index ? { index } : {}), key, operation, kind, count: 1 });
  }

  private verdict(operation: string, body: Json, mode: Mode, decision: Decision, shapes: Map<string, TableShape>) {
    const { plan, admitted, refused } = decision;
    if (admitted.size === 0) {
      this.totals.throttledRequests++;
      const [first] = refused.values();
      if (mode === 'transaction') return { answer: cancelled(plan.length, refused) };
      return { answer: throttled(shapes.get(first!.table)!, first!) };
    }
    if (refused.size > 0) this.totals.unprocessed += refused.size;
    const charges = [...admitted].flatMap((i) => plan[i]!);
    const sent = refused.size > 0 ? batchSubset(operation, body, admitted) : body;
    return {
      body: { ...sent, ReturnConsumedCapacity: 'INDEXES' },
      settle: ({ status, body: response }: WireAnswer) => {
        if (status === 200) this.charge(charges, response.ConsumedCapacity);
        else this.refund(charges, response.__type);
        const complete =
          refused.size > 0 ? withUnprocessed(operation, body, new Set(refused.keys()), response) : response;
        return capacityAsAsked(complete, body.ReturnConsumedCapacity);
      },
      abandon: () => this.take(charges, -1),
    } satisfies Verdict;
  }

  /** Replaces the estimates by what DynamoDB Local consumed, shared among a table's (or index's) keys by estimate. */
  private charge(charges: Charge[], consumed: unknown): void {
    const totals = consumedByGroup(consumed);
    const groups = new Map<string, Charge[]>();
    for (const charge of charges) {
      const group = groupKey(charge.table, charge.index);
      groups.set(group, [...(groups.get(group) ?? []), charge]);
    }
    for (const [group, members] of groups) {
      const reported = totals.has(groupKey(members[0]!.table));
      const total = totals.get(group) ?? (reported ? 0 : undefined);
      const estimated = members.reduce((sum, c) => sum + c.units, 0);
      for (const charge of members) {
        const share = estimated > 0 ? charge.units / estimated : 1 / members.length;
        this.settleCharge(charge, total === undefined ? charge.units : total * share);
      }
    }
  }

  private settleCharge(charge: Charge, actual: number): void {
    this.buckets(charge.kind).take(bucketKey(charge), actual - charge.units);
    if (charge.kind === 'write') this.writes.consumed(bucketKey(charge), actual);
  }

  /** A failed condition is charged on the table as DynamoDB charges it; any other error gives the units back. */
  private refund(charges: Charge[], type: unknown): void {
    const conditionFailed = typeof type === 'string' && type.endsWith('#ConditionalCheckFailedException');
    for (const charge of charges) {
      if (conditionFailed && charge.kind === 'write' && !charge.index) this.settleCharge(charge, charge.units);
      else this.buckets(charge.kind).take(bucketKey(charge), -charge.units);
    }
  }
}
