import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { deliveryConfigFromEnv } from '#shared/runtime/config.ts';
import { generateAdminToken, LOCAL_ALLOW_CIDRS } from '#infra/local/env.ts';
import { LOCAL_TABLE, startLocalService } from '#infra/local/service.ts';
import { awsLimitsFromEnv } from '#infra/local/aws-limits/index.ts';

/** Boots one local service (DynamoDB Local, fauxqs, gateway, poller, sweeper) for every integration test file. */

export interface StackInfo {
  url: string;
  adminToken: string;
  dataDir: string;
  dynamoDbEndpoint: string;
  sqsEndpoint: string;
  /** The emulators' credentials: DynamoDB Local shows the stack's table only to its key id. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  table: string;
  queueUrl: string;
  slowQueueUrl: string;
  deadLetterUrl: string;
  retrySchedule: number[];
  timeoutMs: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

/** A short schedule so retries happen within a test: 4 attempts, 1 s apart (±20%). */
export const TEST_RETRY_SCHEDULE = '1,1,1';
export const TEST_TIMEOUT_MS = 1500;

export default async function setup(project: TestProject) {
  const dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-it-'));
  const config = deliveryConfigFromEnv({
    WEBHOOK_RETRY_SCHEDULE: TEST_RETRY_SCHEDULE,
    WEBHOOK_TIMEOUT_MS: String(TEST_TIMEOUT_MS),
    WEBHOOK_ALLOW_CIDRS: LOCAL_ALLOW_CIDRS.join(','),
    WEBHOOK_ALLOW_HTTP: 'true',
    API_BASE_URL: 'http://localhost:3000',
  });
  // Off by default (docs/aws-limits.md): `AWS_LIMITS_SCALE=0.05 npm run test:integration` runs the suite on the model.
  const awsLimits = awsLimitsFromEnv();
  const stack = await startLocalService({
    awsLimits,
    port: 0,
    dataDir,
    adminToken: generateAdminToken(),
    config,
    logLevel: process.env.LOG_LEVEL ?? 'silent',
    sweepIntervalMs: 1000,
  });
  project.provide('stack', {
    url: stack.url,
    adminToken: stack.adminToken,
    dataDir,
    dynamoDbEndpoint: stack.dynamoDbEndpoint,
    sqsEndpoint: stack.sqsEndpoint,
    credentials: stack.credentials,
    table: LOCAL_TABLE,
    queueUrl: stack.queues.lanes.fast.url,
    slowQueueUrl: stack.queues.lanes.slow.url,
    deadLetterUrl: stack.queues.deadLetter.url,
    retrySchedule: config.retrySchedule,
    timeoutMs: config.timeoutMs,
  });
  return async () => {
    if (awsLimits) console.log(`AWS limits model: ${JSON.stringify(awsLimits.report())}`);
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
