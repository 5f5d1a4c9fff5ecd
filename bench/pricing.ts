/**
 * The AWS prices and the cost model the bench uses: us-east-1, on-demand, list prices without free
 * tiers or savings plans, in US dollars. Checked on 2026-11-27; X-Ray, CloudWatch storage, metrics,
 * alarms and dashboards, DynamoDB storage and PITR, and KMS added on 2026-12-04.
 *
 * Confirmed in the stored AWS documentation available to us on that date: the DynamoDB on-demand
 * unit definitions (https://aws.amazon.com/dynamodb/pricing/on-demand/: 1 KB per write unit, 4 KB
 * per strongly consistent read unit, eventual reads half) and Lambda's $0.20 per million requests
 * (https://aws.amazon.com/lambda/pricing/). The other figures are the published list prices as we
 * know them from each service's pricing page named beside it, not re-read on that date: check them
 * before quoting a cost outside this project.
 */
export const PRICES_CHECKED_ON = '2026-11-27';

export interface Price {
  usd: number;
  per: string;
  source: string;
}

export const PRICES = {
  dynamoDbWriteUnit: {
    usd: 0.625 / 1e6,
    per: 'write request unit',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  dynamoDbReadUnit: {
    usd: 0.125 / 1e6,
    per: 'read request unit',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  sqsRequest: {
    usd: 0.4 / 1e6,
    per: 'standard queue request (64 KB chunk)',
    source: 'https://aws.amazon.com/sqs/pricing/',
  },
  lambdaArmGbSecond: { usd: 0.0000133334, per: 'GB-second on arm64', source: 'https://aws.amazon.com/lambda/pricing/' },
  lambdaRequest: { usd: 0.2 / 1e6, per: 'invocation', source: 'https://aws.amazon.com/lambda/pricing/' },
  httpApiRequest: {
    usd: 1.0 / 1e6,
    per: 'HTTP API request (512 KB chunk)',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
  },
  logsIngestionGb: {
    usd: 0.5,
    per: 'GB of CloudWatch Logs ingested',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  secretsManagerCall: {
    usd: 0.05 / 10_000,
    per: 'API call',
    source: 'https://aws.amazon.com/secrets-manager/pricing/',
  },
  secretsManagerSecretMonth: {
    usd: 0.4,
    per: 'secret per month',
    source: 'https://aws.amazon.com/secrets-manager/pricing/',
  },
  xrayTrace: { usd: 5.0 / 1e6, per: 'trace recorded', source: 'https://aws.amazon.com/xray/pricing/' },
  logsStorageGbMonth: {
    usd: 0.03,
    per: 'GB-month of CloudWatch Logs stored',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  customMetricMonth: {
    usd: 0.3,
    per: 'custom metric per month (EMF and log metric filters)',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  alarmMetricMonth: {
    usd: 0.1,
    per: 'metric an alarm reads, per month (standard resolution)',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  dashboardMonth: { usd: 3.0, per: 'dashboard per month', source: 'https://aws.amazon.com/cloudwatch/pricing/' },
  dynamoDbStorageGbMonth: {
    usd: 0.25,
    per: 'GB-month of DynamoDB Standard storage',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  dynamoDbPitrGbMonth: {
    usd: 0.2,
    per: 'GB-month of point-in-time recovery (continuous backups)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  kmsKeyMonth: { usd: 1.0, per: 'customer managed KMS key per month', source: 'https://aws.amazon.com/kms/pricing/' },
  // The comparison figure: EventBridge custom events ($1.00 per million) plus API destination invocations ($0.20 per million).
  eventBridgeApiDestination: {
    usd: 1.2 / 1e6,
    per: 'event delivered through an API destination',
    source: 'https://aws.amazon.com/eventbridge/pricing/',
  },
} as const satisfies Record<string, Price>;

/** Lambda's own log lines per invocation (START, END and REPORT), which our logger does not write. */
export const LAMBDA_PLATFORM_LOG_BYTES = 350;

/**
 * What the model assumes where the bench cannot measure, each with why. The stack's defaults are
 * the settings' (shared/runtime/settings.ts).
 */
export const MODEL = {
  /** One access log line per HTTP API request: the JSON of infra/constructs/api.ts's format, with typical values. */
  accessLogBytes: 330,
  /** Days the log groups keep what they ingest (logGroupRetentionDays). Storage is priced on the bytes ingested: CloudWatch Logs stores them compressed, so this is an upper bound. */
  logRetentionDays: 90,
  /** Days a webhook is kept (webhookRetentionDays): its items are stored, and backed up by point-in-time recovery, that long. */
  webhookRetentionDays: 90,
  /** DynamoDB counts 100 bytes per item on top of its attributes. */
  itemOverheadBytes: 100,
  /** The state item's own attributes besides the payload (ids, status, attempts, keys). */
  stateBytes: 250,
  /** X-Ray's sampling rule of the stack (infra/constructs/observability.ts): one trace a second, then traceSampleRate. */
  traceReservoirPerSecond: 1,
  traceSampleRate: 0.01,
  /**
   * Lambda's event source mapping for SQS long-polls each queue with 5 pollers at first (AWS's
   * documentation: it scales them up under load), each receive waiting up to 20 s when the queue
   * is empty: at idle, 5 × 3 receives a minute per lane.
   */
  pollersPerQueue: 5,
  longPollSeconds: 20,
  lanes: 2,
  /** Memory of every function, MB (infra/constructs/function.ts). */
  memoryMb: 512,
  /** The sweeper runs every minute (sweepIntervalMinutes), each run a few queries of the `due` index. */
  sweepsPerMonth: 30 * 24 * 60,
  sweepMs: 300,
  /** A failing endpoint answers an attempt with an error quickly; the sender signs, POSTs and records it. */
  failingAttemptMs: 150,
  /** A hanging endpoint holds a slow-lane attempt for the whole timeout (webhookTimeoutMs, 15 s), once the fast lane cut it at 3 s. */
  hangingAttemptMs: 15_000,
} as const;

/** What one delivery costs in requests, time and bytes, measured by the bench (or modelled). */
export interface PerDelivery {
  writeUnits: number;
  readUnits: number;
  sqsRequests: number;
  /** Lambda invocations (publish and sender) and their summed duration. */
  invocations: number;
  invocationMs: number;
  /** Memory of the invoked functions, MB. */
  memoryMb: number;
  httpApiRequests: number;
  /** Our JSON log lines. */
  logBytes: number;
  /** EMF metric documents the invocations write (Powertools' Metrics, flushed once per invocation). */
  emfBytes: number;
  secretsManagerCalls: number;
  /** Bytes the webhook keeps in the table (its items, with DynamoDB's overhead) for the retention. */
  storedBytes: number;
  /** Share of invocations X-Ray traces at the rate they come (`tracedShare`). */
  tracedShare: number;
}

export interface CostPerMillion {
  dynamoDb: number;
  dynamoDbStorage: number;
  lambda: number;
  sqs: number;
  apiGateway: number;
  logs: number;
  logStorage: number;
  xray: number;
  secretsManager: number;
  total: number;
}

/** The share of invocations the stack's sampling rule traces when they come at `perSecond`: all of them up to the reservoir. */
export function tracedShare(perSecond: number): number {
  const { traceReservoirPerSecond: reservoir, traceSampleRate: rate } = MODEL;
  if (perSecond <= reservoir) return 1;
  return (reservoir + rate * (perSecond - reservoir)) / perSecond;
}

/** Bytes ingested into CloudWatch Logs per delivery: our lines, Lambda's own, the EMF documents and the API's access log lines. */
export const ingestedLogBytes = (d: PerDelivery) =>
  d.logBytes + d.invocations * LAMBDA_PLATFORM_LOG_BYTES + d.emfBytes + d.httpApiRequests * MODEL.accessLogBytes;

const GB = 2 ** 30;

/** Dollars per million deliveries, by service: requests, storage over the retentions, tracing. */
export function costPerMillion(d: PerDelivery): CostPerMillion {
  const million = 1e6;
  const dynamoDb = million * (d.writeUnits * PRICES.dynamoDbWriteUnit.usd + d.readUnits * PRICES.dynamoDbReadUnit.usd);
  // Kept webhookRetentionDays, in the table and in its continuous backups.
  const storedGbMonths = ((million * d.storedBytes) / GB) * (MODEL.webhookRetentionDays / 30);
  const dynamoDbStorage = storedGbMonths * (PRICES.dynamoDbStorageGbMonth.usd + PRICES.dynamoDbPitrGbMonth.usd);
  const gbSeconds = (d.invocationMs / 1000) * (d.memoryMb / 1024);
  const lambda = million * (d.invocations * PRICES.lambdaRequest.usd + gbSeconds * PRICES.lambdaArmGbSecond.usd);
  const sqs = million * d.sqsRequests * PRICES.sqsRequest.usd;
  const apiGateway = million * d.httpApiRequests * PRICES.httpApiRequest.usd;
  const ingestedGb = (million * ingestedLogBytes(d)) / GB;
  const logs = ingestedGb * PRICES.logsIngestionGb.usd;
  const logStorage = ingestedGb * (MODEL.logRetentionDays / 30) * PRICES.logsStorageGbMonth.usd;
  const xray = million * d.invocations * d.tracedShare * PRICES.xrayTrace.usd;
  const secretsManager = million * d.secretsManagerCalls * PRICES.secretsManagerCall.usd;
  const parts = { dynamoDb, dynamoDbStorage, lambda, sqs, apiGateway, logs, logStorage, xray, secretsManager };
  return { ...parts, total: Object.values(parts).reduce((sum, usd) => sum + usd, 0) };
}

/**
 * SQS requests per delivery as Lambda's event source mapping makes them: one receive per batch it
 * hands to the sender and one DeleteMessageBatch for what the batch finished, so 2 per sender
 * invocation, on top of the sends. The empty receives of its long polls at idle do not follow
 * deliveries: they are in the monthly floor.
 */
export const mappingSqsRequests = (sends: number, senderInvocations: number) => sends + 2 * senderInvocations;

/** A stored webhook's bytes: the state item with the payload inline, or beside it when it does not fit in 1 KB. */
export function storedBytes(payloadBytes: number): number {
  const inline = MODEL.stateBytes + payloadBytes <= 1024;
  return inline
    ? MODEL.itemOverheadBytes + MODEL.stateBytes + payloadBytes
    : 2 * MODEL.itemOverheadBytes + MODEL.stateBytes + payloadBytes;
}

/**
 * One further attempt to an endpoint that fails it (answers an error at once) or hangs (holds it
 * until the timeout), as the sender makes it at a low rate: alone in its invocation, its message
 * received and deleted, the next one sent, the state read consistently and updated (1 RRU, 1 WRU,
 * measured by test/integration/write-budget.test.ts), each traced (under the reservoir).
 */
export function attemptPerDelivery(kind: 'failing' | 'hanging', logBytes: number, emfBytes: number): PerDelivery {
  return {
    writeUnits: 1,
    readUnits: 1,
    sqsRequests: mappingSqsRequests(1, 1),
    invocations: 1,
    invocationMs: kind === 'failing' ? MODEL.failingAttemptMs : MODEL.hangingAttemptMs,
    memoryMb: MODEL.memoryMb,
    httpApiRequests: 0,
    logBytes,
    emfBytes,
    secretsManagerCalls: 0,
    // The attempt adds to its webhook's state: already counted with the webhook.
    storedBytes: 0,
    tracedShare: 1,
  };
}

/** What the stack's deployed resources count, for the monthly floor: read from the synthesized template. */
export interface DeployedCounts {
  kmsKeys: number;
  secrets: number;
  /** Metrics the alarms read (a math expression's each count). */
  alarmMetrics: number;
  dashboards: number;
  /** EMF metric names (each with the one Stack dimension) plus the log metric filters' metrics. */
  customMetrics: number;
}

export interface MonthlyFloor {
  kms: number;
  secretsManager: number;
  alarms: number;
  dashboard: number;
  customMetrics: number;
  idlePolling: number;
  sweeper: number;
  total: number;
}

/** Dollars a month with no traffic at all: the keys, the secret, alarms, dashboard and metrics, the lanes' idle long polls, the sweeper. */
export function monthlyFloor(counts: DeployedCounts): MonthlyFloor {
  const month = 30 * 24 * 3600;
  const idleReceives = MODEL.lanes * MODEL.pollersPerQueue * (month / MODEL.longPollSeconds);
  const sweepGbSeconds = MODEL.sweepsPerMonth * (MODEL.sweepMs / 1000) * (MODEL.memoryMb / 1024);
  const parts = {
    kms: counts.kmsKeys * PRICES.kmsKeyMonth.usd,
    secretsManager: counts.secrets * PRICES.secretsManagerSecretMonth.usd,
    alarms: counts.alarmMetrics * PRICES.alarmMetricMonth.usd,
    dashboard: counts.dashboards * PRICES.dashboardMonth.usd,
    customMetrics: counts.customMetrics * PRICES.customMetricMonth.usd,
    idlePolling: idleReceives * PRICES.sqsRequest.usd,
    // One sweep a minute, each traced (under the reservoir).
    sweeper:
      MODEL.sweepsPerMonth * (PRICES.lambdaRequest.usd + PRICES.xrayTrace.usd) +
      sweepGbSeconds * PRICES.lambdaArmGbSecond.usd,
  };
  return { ...parts, total: Object.values(parts).reduce((sum, usd) => sum + usd, 0) };
}
