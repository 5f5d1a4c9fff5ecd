import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { LocalServiceInstrument } from '#infra/local/service.ts';
import type { SecretStore } from '#shared/domain/ports.ts';

/**
 * Request accounting for the bench and tests (never wired in production): DynamoDB capacity units
 * as the emulator reports them, SQS requests as AWS bills them, secret store calls, function
 * invocations with their duration, and log bytes. One `Accounting` per stack; `reset()` between phases.
 */

export interface Units {
  read: number;
  write: number;
}

export interface Invocations {
  count: number;
  /** Sum of the invocations' wall-clock durations. */
  ms: number;
}

export interface Tally {
  dynamoDb: {
    /** Requests by operation (GetItem, PutItem, ...), including failed ones. */
    requests: Record<string, number>;
    failed: number;
    table: Units;
    /** By index name. */
    indexes: Record<string, Units>;
  };
  sqs: {
    /** API calls by operation. */
    calls: Record<string, number>;
    /** Billed requests: each 64 KB chunk of a call's payload is one. */
    billed: number;
    /** Billed requests of the sends alone (SendMessage, SendMessageBatch). */
    billedSends: number;
  };
  secretStoreCalls: number;
  invocations: Record<string, Invocations>;
  log: { lines: number; bytes: number };
}

/** The DynamoDB operations that accept ReturnConsumedCapacity. */
const CAPACITY_OPERATIONS = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactWriteItems',
  'TransactGetItems',
]);
const READ_OPERATIONS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
/** The document client's command names for the same operations. */
const DOCUMENT_OPERATIONS: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactWrite: 'TransactWriteItems',
  TransactGet: 'TransactGetItems',
};

export const SQS_CHUNK_BYTES = 64 * 1024;

/** DynamoDB's operation name for an SDK command name (`PutCommand` and `PutItemCommand` are both PutItem). */
export function dynamoDbOperation(commandName: string): string {
  const name = commandName.replace(/Command$/, '');
  return DOCUMENT_OPERATIONS[name] ?? name;
}

interface Capacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

export interface ConsumedCapacity extends Capacity {
  TableName?: string;
  Table?: Capacity;
  GlobalSecondaryIndexes?: Record<string, Capacity>;
  LocalSecondaryIndexes?: Record<string, Capacity>;
}

interface MessageAttribute {
  DataType?: string;
  StringValue?: string;
  BinaryValue?: Uint8Array;
}

export interface SqsPayload {
  MessageBody?: string;
  Body?: string;
  MessageAttributes?: Record<string, MessageAttribute>;
}

const utf8 = (value: string | undefined) => (value === undefined ? 0 : Buffer.byteLength(value, 'utf8'));

/** A message's billed size: its body plus each attribute's name, type and value. */
export function sqsPayloadBytes(message: SqsPayload): number {
  let bytes = utf8(message.MessageBody ?? message.Body);
  for (const [name, attribute] of Object.entries(message.MessageAttributes ?? {})) {
    bytes +=
      utf8(name) + utf8(attribute.DataType) + utf8(attribute.StringValue) + (attribute.BinaryValue?.byteLength ?? 0);
  }
  return bytes;
}

/** Billed SQS requests for one call carrying `bytes` of payload: one per 64 KB chunk, at least one. */
export function sqsBilledRequests(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / SQS_CHUNK_BYTES));
}

const emptyTally = (): Tally => ({
  dynamoDb: { requests: {}, failed: 0, table: { read: 0, write: 0 }, indexes: {} },
  sqs: { calls: {}, billed: 0, billedSends: 0 },
  secretStoreCalls: 0,
  invocations: {},
  log: { lines: 0, bytes: 0 },
});

export class Accounting {
  private tally: Tally = emptyTally();
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  reset(): void {
    this.tally = emptyTally();
  }

  /** A copy of the counts since the last reset. */
  snapshot(): Tally {
    return structuredClone(this.tally);
  }

  /** Adds the capacity of one response (a single ConsumedCapacity or a batch's list) to the tally. */
  addCapacity(operation: string, consumed: ConsumedCapacity | ConsumedCapacity[] | undefined): void {
    const kind: keyof Units = READ_OPERATIONS.has(operation) ? 'read' : 'write';
    const units = (c: Capacity | undefined) =>
      (kind === 'read' ? c?.ReadCapacityUnits : c?.WriteCapacityUnits) ?? c?.CapacityUnits ?? 0;
    for (const entry of consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed]) {
      const indexes = { ...entry.GlobalSecondaryIndexes, ...entry.LocalSecondaryIndexes };
      let indexUnits = 0;
      for (const [name, capacity] of Object.entries(indexes)) {
        const tally = (this.tally.dynamoDb.indexes[name] ??= { read: 0, write: 0 });
        tally[kind] += units(capacity);
        indexUnits += units(capacity);
      }
      // Without a Table breakdown, the table's share is the total less the indexes'.
      this.tally.dynamoDb.table[kind] += entry.Table ? units(entry.Table) : Math.max(0, units(entry) - indexUnits);
    }
  }

  addSqsCall(operation: string, billed: number): void {
    this.tally.sqs.calls[operation] = (this.tally.sqs.calls[operation] ?? 0) + 1;
    this.tally.sqs.billed += billed;
    if (operation.startsWith('SendMessage')) this.tally.sqs.billedSends += billed;
  }

  /** Asks DynamoDB for its consumed capacity on every request that accepts it, and sums it. */
  instrumentDynamoDb(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = dynamoDbOperation(context.commandName ?? '');
        this.tally.dynamoDb.requests[operation] = (this.tally.dynamoDb.requests[operation] ?? 0) + 1;
        const input = args.input as Record<string, unknown>;
        if (CAPACITY_OPERATIONS.has(operation)) input.ReturnConsumedCapacity = 'INDEXES';
        try {
          const result = await next(args);
          this.addCapacity(
            operation,
            (result.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] }).ConsumedCapacity,
          );
          return result;
        } catch (error) {
          // A failed conditional write is billed on AWS too, but its response carries no capacity.
          this.tally.dynamoDb.failed++;
          throw error;
        }
      },
      { step: 'initialize', name: 'benchCapacityAccounting', override: true },
    );
  }

  /** Counts SQS calls and the requests AWS would bill for them (64 KB chunks of sent and received payload). */
  instrumentSqs(client: SQSClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = (context.commandName ?? '').replace(/Command$/, '');
        const input = args.input as SqsPayload & { Entries?: SqsPayload[] };
        const result = await next(args);
        let bytes = 0;
        if (operation === 'SendMessage') bytes = sqsPayloadBytes(input);
        else if (operation === 'SendMessageBatch')
          bytes = (input.Entries ?? []).reduce((sum, entry) => sum + sqsPayloadBytes(entry), 0);
        else if (operation === 'ReceiveMessage')
          bytes = ((result.output as { Messages?: SqsPayload[] }).Messages ?? []).reduce(
            (sum, m) => sum + sqsPayloadBytes(m),
            0,
          );
        this.addSqsCall(operation, sqsBilledRequests(bytes));
        return result;
      },
      { step: 'initialize', name: 'benchSqsAccounting', override: true },
    );
  }

  /** A secret store that counts calls (the local one has no SDK client to add middleware to). */
  countSecretStore(store: SecretStore): SecretStore {
    return {
      get: (name) => {
        this.tally.secretStoreCalls++;
        return store.get(name);
      },
      create: (name, value) => {
        this.tally.secretStoreCalls++;
        return store.create(name, value);
      },
      delete: (name) => {
        this.tally.secretStoreCalls++;
        return store.delete(name);
      },
    };
  }

  /** Wraps a handler to count its invocations and their duration. */
  timeHandler<H extends (event: never) => Promise<unknown>>(name: string, handler: H): H {
    const timed = async (event: never) => {
      const started = performance.now();
      this.inFlight++;
      try {
        return await handler(event);
      } finally {
        const invocations = (this.tally.invocations[name] ??= { count: 0, ms: 0 });
        invocations.count++;
        invocations.ms += performance.now() - started;
        if (--this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
    };
    return timed as H;
  }

  /** Resolves when no wrapped handler is running (a delivery's bookkeeping ends after the receiver got it). */
  async idle(): Promise<void> {
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** A pino destination that counts the lines and bytes written, and drops them but for errors, which go to stderr. */
  readonly logDestination = {
    write: (line: string) => {
      this.tally.log.lines++;
      this.tally.log.bytes += Buffer.byteLength(line, 'utf8');
      if (/"level":(40|50|60)/.test(line)) process.stderr.write(line);
    },
  };

  /** The hooks for `startLocalService({ instrument })`. */
  instrument(): LocalServiceInstrument {
    return {
      dynamoDb: (client) => this.instrumentDynamoDb(client),
      sqs: (client) => this.instrumentSqs(client),
      secretStore: (store) => this.countSecretStore(store),
      handler: (name, handler) => this.timeHandler(name, handler),
      logDestination: this.logDestination,
    };
  }
}
