import type { Server } from 'node:http';
import { createAdminHandler } from '#functions/admin.ts';
import { createApiHandler } from '#functions/api.ts';
import { handler as consoleHandler } from '#functions/console.ts';
import { createSenderHandler } from '#functions/sender.ts';
import { createSweeperHandler } from '#functions/sweeper.ts';
import { DynamoDbStore } from '#shared/adapters/dynamodb-store.ts';
import { LocalSecretStore } from '#shared/adapters/local-secrets.ts';
import { SqsDeadLetters, SqsDeliveryQueue } from '#shared/adapters/sqs-queue.ts';
import type { DeliveryConfig } from '#shared/config.ts';
import type { Deps } from '#shared/deps.ts';
import { createLogger, type Logger } from '#shared/logger.ts';
import { noMetrics } from '#shared/metrics.ts';
import { CachedSecrets, ensureSigningKey } from '#shared/secrets.ts';
import { ensureQueues, ensureTable, type LocalQueues } from './bootstrap.ts';
import { startDynamoDbLocal, startSqsLocal } from './emulators.ts';
import { createGateway } from './gateway.ts';
import { startPoller } from './poller.ts';

/** The whole service on one machine: emulators, the API gateway stand-in, the SQS poller and the sweeper. */

export const LOCAL_TABLE = 'webhooks';
export const LOCAL_SECRETS_PREFIX = 'lago-webhooks';

export interface LocalStackOptions {
  /** API port; 0 picks a free one. */
  port: number;
  host?: string;
  dataDir: string;
  adminToken: string;
  config: DeliveryConfig;
  dynamoDbPort?: number;
  sqsPort?: number;
  logLevel?: string;
  sweepIntervalMs?: number;
  pollerConcurrency?: number;
}

export interface LocalStack {
  url: string;
  port: number;
  adminToken: string;
  deps: Deps;
  queues: LocalQueues;
  dynamoDbEndpoint: string;
  sqsEndpoint: string;
  sweep(): Promise<{ requeued: number; failed: number }>;
  stop(): Promise<void>;
}

export class PortInUseError extends Error {}

async function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new PortInUseError(`port ${port} is already in use`) : error));
    server.listen(port, host, () => resolve((server.address() as { port: number }).port));
  });
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const logger: Logger = createLogger(options.logLevel ?? 'info', 'lago-webhooks-local');
  const host = options.host ?? '127.0.0.1';
  const stops: (() => Promise<void>)[] = [];
  // Stopped in the reverse order of starting: sweeper, poller, emulators, then the API.
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => logger.error({ err: error }, 'stop failed'));
  };
  // The port is taken first: a second `npm start` fails fast, before any emulator starts.
  let apiHandler: Parameters<typeof createGateway>[0]['handlers']['api'] = async () => ({ statusCode: 503 });
  let adminHandler = apiHandler;
  const server = createGateway({
    handlers: { api: (event) => apiHandler(event), admin: (event) => adminHandler(event), console: consoleHandler },
    adminToken: options.adminToken,
    onError: (error) => logger.error({ err: error }, 'gateway error'),
  });
  const port = await listen(server, options.port, host);
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  try {
    const dynamo = await startDynamoDbLocal(options.dataDir, options.dynamoDbPort);
    stops.push(dynamo.stop);
    const sqs = await startSqsLocal(options.dataDir, options.sqsPort);
    stops.push(sqs.stop);
    await ensureTable(dynamo.client, LOCAL_TABLE);
    const queues = await ensureQueues(sqs.client, options.config.retrySchedule, options.config.timeoutMs);
    const secretStore = new LocalSecretStore(options.dataDir);
    await ensureSigningKey(secretStore, LOCAL_SECRETS_PREFIX);
    const deps: Deps = {
      store: new DynamoDbStore(dynamo.client, LOCAL_TABLE),
      queue: new SqsDeliveryQueue(sqs.client, queues.queueUrl, queues.deadLetterUrl),
      deadLetters: new SqsDeadLetters(sqs.client, { queueUrl: queues.queueUrl, deadLetterUrl: queues.deadLetterUrl, moveTask: false }),
      secretStore,
      secrets: new CachedSecrets(secretStore),
      secretsPrefix: LOCAL_SECRETS_PREFIX,
      config: options.config,
      logger,
      metrics: noMetrics,
      now: Date.now,
    };
    apiHandler = createApiHandler(deps);
    adminHandler = createAdminHandler(deps);
    const poller = startPoller({
      sqs: sqs.client,
      queueUrl: queues.queueUrl,
      queueArn: queues.queueArn,
      handler: createSenderHandler(deps),
      concurrency: options.pollerConcurrency ?? 2,
      batchSize: 10,
      onError: (error) => logger.error({ err: error }, 'poller error'),
    });
    stops.push(poller.stop);
    const sweeper = createSweeperHandler(deps);
    const timer = setInterval(() => {
      sweeper().catch((error: unknown) => logger.error({ err: error }, 'sweep failed'));
    }, options.sweepIntervalMs ?? 60_000);
    stops.push(async () => clearInterval(timer));
    return {
      url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
      port,
      adminToken: options.adminToken,
      deps,
      queues,
      dynamoDbEndpoint: dynamo.endpoint,
      sqsEndpoint: sqs.endpoint,
      sweep: sweeper,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
