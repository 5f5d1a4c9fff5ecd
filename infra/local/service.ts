import type { Server } from 'node:http';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createAdminHandler } from '#functions/admin.ts';
import { createApiHandler } from '#functions/api.ts';
import { consoleHandler } from '#functions/console.ts';
import { createSenderHandler } from '#functions/sender.ts';
import { createSweeperHandler } from '#functions/sweeper.ts';
import { DynamoDbStore } from '#shared/adapters/dynamodb-store.ts';
import { LocalSecretStore } from '#shared/adapters/local-secrets.ts';
import { SqsDeadLetters, SqsDeliveryQueue } from '#shared/adapters/sqs-queue.ts';
import type { DeliveryConfig } from '#shared/runtime/config.ts';
import type { Deps } from '#shared/runtime/deps.ts';
import { LANE_MAPPINGS, LANES } from '#shared/domain/delivery/policy.ts';
import type { SecretStore } from '#shared/domain/ports.ts';
import { createLogger, type LogDestination } from '#shared/runtime/logger.ts';
import { noMetrics } from '#shared/runtime/metrics.ts';
import { localHandler } from '#shared/runtime/local.ts';
import { OrganizationTokens } from '#shared/domain/organizations/tokens.ts';
import { CachedSecrets, ensureSigningKey } from '#shared/domain/secrets.ts';
import type { AwsLimits } from './aws-limits/index.ts';
import { ensureQueues, ensureTable, type LocalQueues } from './bootstrap.ts';
import {
  connectDynamoDb,
  connectSqs,
  localCredentials,
  startDynamoDbLocal,
  startSqsLocal,
  type LocalCredentials,
} from './emulators.ts';
import { createGateway } from './gateway.ts';
import { FileOperationalEvents } from './operational-events.ts';
import { startPoller } from './poller.ts';

/** The whole service on one machine: emulators, the API gateway stand-in, the SQS poller and the sweeper. */

export const LOCAL_TABLE = 'webhooks';
export const LOCAL_SECRETS_PREFIX = 'lago-webhooks';

export interface LocalServiceOptions {
  /** API port; 0 picks a free one. */
  port: number;
  host?: string;
  dataDir: string;
  adminToken: string;
  config: DeliveryConfig;
  dynamoDbPort?: number;
  sqsPort?: number;
  /** Use the DynamoDB (Local) already running here instead of starting one; its table is created if missing. */
  dynamoDbEndpoint?: string;
  /** Use the SQS emulator already running here instead of starting one; its queues are created if missing. */
  sqsEndpoint?: string;
  logLevel?: string;
  sweepIntervalMs?: number;
  /** Where log lines go (default: stdout); tests capture them here. */
  logDestination?: LogDestination;
  /** Measurement hooks for the bench and tests; `npm start` passes none. @default - none */
  instrument?: LocalServiceInstrument;
  /** The pollers wait for `resumeSenders()` before their first receive (a backlog to drain). @default false */
  sendersPaused?: boolean;
  /** A scale model of AWS's per-key and per-queue limits (AWS_LIMITS_SCALE, docs/aws-limits.md). @default - none enforced */
  awsLimits?: AwsLimits;
}

/** What the bench wraps to count requests, calls and invocations, without a second wiring of the stack. */
export interface LocalServiceInstrument {
  /** Called once per SDK client, e.g. to add middleware to its stack. */
  dynamoDb?(client: DynamoDBClient): void;
  sqs?(client: SQSClient): void;
  secretStore?(store: SecretStore): SecretStore;
  /** Wraps a function handler: `api`, `admin`, `sender-fast` or `sender-slow`. */
  handler?<H extends (event: never) => Promise<unknown>>(name: string, handler: H): H;
  /** Where the JSON log lines go. @default stdout */
  logDestination?: LogDestination;
}

export interface LocalService {
  url: string;
  port: number;
  adminToken: string;
  deps: Deps;
  queues: LocalQueues;
  dynamoDbEndpoint: string;
  sqsEndpoint: string;
  /** What any client of the emulators needs: DynamoDB Local keeps this key id's data apart. */
  credentials: LocalCredentials;
  sweep(): Promise<{ scheduled: number; requeued: number; failed: number }>;
  /** Lets paused pollers (`sendersPaused`) start receiving; a no-op otherwise. */
  resumeSenders(): void;
  stop(): Promise<void>;
}

export class PortInUseError extends Error {}

async function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(`port ${port} is already in use`) : error),
    );
    server.listen(port, host, () => resolve((server.address() as { port: number }).port));
  });
}

export async function startLocalService(options: LocalServiceOptions): Promise<LocalService> {
  const instrument = options.instrument ?? {};
  const wrap = <H extends (event: never) => Promise<unknown>>(name: string, handler: H): H =>
    instrument.handler?.(name, handler) ?? handler;
  const logger = createLogger(
    options.logLevel ?? 'info',
    'lago-webhooks-local',
    options.logDestination ?? instrument.logDestination,
  );
  let resumeSenders = () => undefined as void;
  const sendersStarted = options.sendersPaused ? new Promise<void>((resolve) => (resumeSenders = resolve)) : undefined;
  const host = options.host ?? '127.0.0.1';
  const stops: (() => Promise<void>)[] = [];
  // Stopped in the reverse order of starting: sweeper, poller, emulators, then the API.
  const stopAll = async () => {
    for (const stop of stops.reverse())
      await stop().catch((error: unknown) => logger.error({ err: error }, 'stop failed'));
  };
  // The port is taken first: a second `npm start` fails fast, before any emulator starts.
  let apiHandler: Parameters<typeof createGateway>[0]['handlers']['api'] = async () => ({ statusCode: 503 });
  let adminHandler = apiHandler;
  const server = createGateway({
    handlers: {
      api: (event) => apiHandler(event),
      admin: (event) => adminHandler(event),
      console: localHandler('console', consoleHandler, logger),
    },
    adminToken: options.adminToken,
    onError: (error) => logger.error({ err: error }, 'gateway error'),
    onAborted: () => logger.debug('a client aborted its request'),
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
    const credentials = await localCredentials(options.dataDir);
    const dynamo = options.dynamoDbEndpoint
      ? await connectDynamoDb(options.dynamoDbEndpoint, credentials)
      : await startDynamoDbLocal(options.dataDir, credentials, options.dynamoDbPort);
    stops.push(dynamo.stop);
    const sqs = options.sqsEndpoint
      ? await connectSqs(options.sqsEndpoint, credentials)
      : await startSqsLocal(options.dataDir, credentials, options.sqsPort);
    stops.push(sqs.stop);
    if (options.awsLimits) stops.push(options.awsLimits.apply(dynamo.client, sqs.client));
    instrument.dynamoDb?.(dynamo.client);
    instrument.sqs?.(sqs.client);
    await ensureTable(dynamo.client, LOCAL_TABLE);
    const queues = await ensureQueues(sqs.client, {
      timeoutMs: options.config.timeoutMs,
      fastLaneMs: options.config.fastLaneMs,
    });
    const fileSecrets = new LocalSecretStore(options.dataDir);
    const secretStore = instrument.secretStore?.(fileSecrets) ?? fileSecrets;
    await ensureSigningKey(secretStore, LOCAL_SECRETS_PREFIX);
    const store = new DynamoDbStore(dynamo.client, LOCAL_TABLE, { retentionDays: options.config.webhookRetentionDays });
    const secrets = new CachedSecrets(secretStore);
    const deps: Deps = {
      store,
      queue: new SqsDeliveryQueue(
        sqs.client,
        { fast: queues.lanes.fast.url, slow: queues.lanes.slow.url },
        queues.deadLetter.url,
      ),
      deadLetters: new SqsDeadLetters(sqs.client, {
        queueUrl: queues.lanes.fast.url,
        deadLetterUrl: queues.deadLetter.url,
        moveTask: false,
      }),
      secretStore,
      secrets,
      tokens: new OrganizationTokens({
        store,
        secrets,
        secretStore,
        secretsPrefix: LOCAL_SECRETS_PREFIX,
        logger,
        now: Date.now,
      }),
      secretsPrefix: LOCAL_SECRETS_PREFIX,
      config: options.config,
      logger,
      metrics: noMetrics,
      now: Date.now,
      events: new FileOperationalEvents(options.dataDir),
    };
    // Each handler runs as on Lambda, with a context of its own per call (the request id on its log lines).
    apiHandler = wrap('api', localHandler('api', createApiHandler(deps), logger));
    adminHandler = wrap('admin', localHandler('admin', createAdminHandler(deps), logger));
    // One poller per lane, with the batch size and concurrency of the lane's event source mapping on AWS.
    for (const lane of LANES) {
      const poller = startPoller({
        sqs: sqs.client,
        queueUrl: queues.lanes[lane].url,
        queueArn: queues.lanes[lane].arn,
        handler: wrap(`sender-${lane}`, localHandler(`sender-${lane}`, createSenderHandler(deps, lane), logger)),
        concurrency: LANE_MAPPINGS[lane].maxConcurrency,
        batchSize: LANE_MAPPINGS[lane].batchSize,
        onError: (error) => logger.error({ err: error, lane }, 'poller error'),
        started: sendersStarted,
      });
      stops.push(poller.stop);
    }
    const sweepOnce = localHandler('sweeper', createSweeperHandler(deps), logger);
    const sweeper = () => sweepOnce(undefined);
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
      credentials,
      sweep: sweeper,
      resumeSenders: () => resumeSenders(),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
