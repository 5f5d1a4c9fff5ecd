/**
 * The AWS prices the bench's cost model uses: us-east-1, on-demand, list prices without free tiers
 * or savings plans, in US dollars. Checked on 2026-11-27.
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
  // The comparison figure: EventBridge custom events ($1.00 per million) plus API destination invocations ($0.20 per million).
  eventBridgeApiDestination: {
    usd: 1.2 / 1e6,
    per: 'event delivered through an API destination',
    source: 'https://aws.amazon.com/eventbridge/pricing/',
  },
} as const satisfies Record<string, Price>;

/** Lambda's own log lines per invocation (START, END and REPORT), which our logger does not write. */
export const LAMBDA_PLATFORM_LOG_BYTES = 350;

/** What one delivery costs in requests and time, measured by the bench. */
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
  logBytes: number;
  secretsManagerCalls: number;
}

export interface CostPerMillion {
  dynamoDb: number;
  lambda: number;
  sqs: number;
  apiGateway: number;
  logs: number;
  secretsManager: number;
  total: number;
}

/** Dollars per million deliveries, by service. */
export function costPerMillion(d: PerDelivery): CostPerMillion {
  const million = 1e6;
  const dynamoDb = million * (d.writeUnits * PRICES.dynamoDbWriteUnit.usd + d.readUnits * PRICES.dynamoDbReadUnit.usd);
  const gbSeconds = (d.invocationMs / 1000) * (d.memoryMb / 1024);
  const lambda = million * (d.invocations * PRICES.lambdaRequest.usd + gbSeconds * PRICES.lambdaArmGbSecond.usd);
  const sqs = million * d.sqsRequests * PRICES.sqsRequest.usd;
  const apiGateway = million * d.httpApiRequests * PRICES.httpApiRequest.usd;
  const logs =
    million * ((d.logBytes + d.invocations * LAMBDA_PLATFORM_LOG_BYTES) / 2 ** 30) * PRICES.logsIngestionGb.usd;
  const secretsManager = million * d.secretsManagerCalls * PRICES.secretsManagerCall.usd;
  return {
    dynamoDb,
    lambda,
    sqs,
    apiGateway,
    logs,
    secretsManager,
    total: dynamoDb + lambda + sqs + apiGateway + logs + secretsManager,
  };
}
