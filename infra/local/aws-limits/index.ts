import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError } from '#shared/runtime/config.ts';
import { settingsFromEnv } from '#shared/runtime/settings.ts';
import { DynamoDbLimits, type DynamoDbReport } from './dynamodb.ts';
import { SqsLimits, type SqsReport } from './sqs.ts';
import { installWireModel } from './wire.ts';

/**
 * A scale model of AWS's limits for local runs (docs/aws-limits.md): DynamoDB's throughput per
 * partition key, of the table and of each global secondary index, and SQS's in-flight cap, all
 * multiplied by `scale`; SQS's message retention. DynamoDB Local and fauxqs enforce none of them.
 * `AWS_LIMITS_SCALE=0.05 npm start` runs the service on it.
 */

export interface AwsLimitsOptions {
  /** AWS's per-key throughput and per-queue in-flight cap are multiplied by this: 0.05 gives 50 WCU/s a key. */
  scale: number;
  /** Every queue's retention, in seconds, instead of its own MessageRetentionPeriod. @default - each queue's own */
  retentionSeconds?: number;
  /** The clock the model reads. @default Date.now */
  now?: () => number;
}

export interface AwsLimitsReport {
  scale: number;
  dynamoDb: DynamoDbReport;
  sqs: SqsReport;
}

const REQUEST_HANDLER = { connectionTimeout: 3_000, requestTimeout: 15_000 };

export class AwsLimits {
  readonly scale: number;
  private readonly dynamoDb: DynamoDbLimits;
  private readonly sqs: SqsLimits;
  /** The model's own clients, to the same emulators as the service's (set by `apply`). */
  private own: { dynamoDb: DynamoDBClient; sqs: SQSClient } | undefined;

  constructor(options: AwsLimitsOptions) {
    if (!(options.scale > 0 && options.scale <= 1)) throw new RangeError('scale must be above 0 and at most 1');
    this.scale = options.scale;
    const now = options.now ?? Date.now;
    const own = () => {
      if (!this.own) throw new Error('the AWS limits model reads the emulators only once applied to a client');
      return this.own;
    };
    this.dynamoDb = new DynamoDbLimits(options.scale, () => own().dynamoDb, now);
    const { retentionSeconds } = options;
    this.sqs = new SqsLimits(
      { scale: options.scale, now, ...(retentionSeconds !== undefined ? { retentionSeconds } : {}) },
      () => own().sqs,
    );
  }

  /** Puts the model on the service's clients; the returned function lets go of the model's own clients. */
  apply(dynamoDb: DynamoDBClient, sqs: SQSClient): () => Promise<void> {
    const settings = (config: DynamoDBClient['config'] | SQSClient['config']) => ({
      region: config.region,
      endpoint: config.endpoint,
      credentials: config.credentials,
      requestHandler: REQUEST_HANDLER,
    });
    const own = { dynamoDb: new DynamoDBClient(settings(dynamoDb.config)), sqs: new SQSClient(settings(sqs.config)) };
    this.own = own;
    installWireModel(dynamoDb, 'awsLimitsDynamoDb', this.dynamoDb);
    installWireModel(sqs, 'awsLimitsSqs', this.sqs);
    return async () => {
      own.dynamoDb.destroy();
      own.sqs.destroy();
    };
  }

  /**
   * Turns DynamoDB's per-key limits off or back on: a bench stores its setup unthrottled, then
   * measures on the model (bench/billing.ts, a backlog). On by default.
   */
  enforceDynamoDb(on: boolean): void {
    this.dynamoDb.enforcing = on;
  }

  /** What the model saw since it started: throttles by key, the busiest key, SQS refusals. */
  report(): AwsLimitsReport {
    return { scale: this.scale, dynamoDb: this.dynamoDb.report(), sqs: this.sqs.report() };
  }
}

/** AWS_LIMITS_SCALE (and AWS_LIMITS_RETENTION_SECONDS) as a model, or undefined when unset: AWS's limits are then not enforced. */
export function awsLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): AwsLimits | undefined {
  const { awsLimitsScale: scale, awsLimitsRetentionSeconds: retentionSeconds } = settingsFromEnv('local', env);
  if (scale === undefined) {
    if (retentionSeconds !== undefined)
      throw new ConfigError('AWS_LIMITS_RETENTION_SECONDS applies to the AWS limits model: set AWS_LIMITS_SCALE too');
    return undefined;
  }
  return new AwsLimits({ scale, ...(retentionSeconds !== undefined ? { retentionSeconds } : {}) });
}
