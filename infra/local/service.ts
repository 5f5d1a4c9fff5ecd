import type { Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { createAdminHandler } from '#functions/admin.ts';
import { createApiHandler } from '#functions/api.ts';
import { consoleAssetsDir } from '#functions/console.ts';
import { createConsoleHandler } from '#shared/runtime/console-assets.ts';
import { createSenderHandler } from '#functions/sender.ts';
import { createSweeperHandler } from '#functions/sweeper.ts';
import { LocalSecretStore } from '#shared/adapters/local-secrets.ts';
import { laneMappings, type DeliveryConfig } from '#shared/runtime/config.ts';
import type { Deps, DepsWiring, LocalDestinations } from '#shared/runtime/deps.ts';
import { LOCAL_SECRETS_PREFIX, localDeps } from '#shared/runtime/local-deps.ts';
import { LANES } from '#shared/domain/delivery/policy.ts';
import type { SweepResult } from '#shared/domain/webhooks/lifecycle.ts';
import type { SecretStore } from '#shared/domain/ports.ts';
import { createLogger, type LogDestination, type RuntimeLogger } from '#shared/runtime/logger.ts';
import { localHandler } from '#shared/runtime/local.ts';
import { ensureKeys } from '#shared/domain/keys/provisioning.ts';
import { portOf, type OwnListeners } from '#shared/domain/delivery/ssrf.ts';
import type { AwsLimits } from './aws-limits/index.ts';
import { ensureQueues, ensureTable, type LocalQueues } from './bootstrap.ts';
import {
  connectDynamoDb,
  connectSqs,
  localCredentials,
  startDynamoDbLocal,
  startSqsLocal,
  type LocalCredentials,
  type RunningEmulator,
} from './emulators.ts';
import { createGateway } from './gateway.ts';
import { startPoller } from './poller.ts';

/** The whole service on one machine: emulators, the API gateway stand-in, the SQS poller and the sweeper. */

export const LOCAL_TABLE = 'webhooks';

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
  /** The client the senders assume AWS destinations' roles with (the senders' own calls). */
  sts?(client: STSClient): void;
  /** Each client made for an AWS destination: its calls are the assumed role's (or the emulator's), not the senders'. */
  awsDestination?: DepsWiring['onDestinationClient'];
  /** Wraps a function handler: `api`, `admin`, `sender-fast`, `sender-slow` or `sweeper`. */
  handler?<H extends (event: never) => Promise<unknown>>(name: string, handler: H): H;
  /** Where the JSON log lines go. @default stdout */
  logDestination?: LogDestination;
  /** Called between a publish's store write and its queue send: the chaos run kills the service there. */
  afterStore?(): void;
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
  /** The API's and the emulators' ports, which the SSRF guard refuses as webhook targets. */
  ownListeners: OwnListeners;
  sweep(): Promise<SweepResult>;
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

type AnyHandler = (event: never) => Promise<unknown>;
type Stop = () => Promise<void>;

export async function startLocalService(options: LocalServiceOptions): Promise<LocalService> {
  const instrument = options.instrument ?? {};
  const wrap = <H extends AnyHandler>(name: string, handler: H): H => instrument.handler?.(name, handler) ?? handler;
  const logger = createLogger(
    options.logLevel ?? 'info',
    'lago-webhooks-local',
    options.logDestination ?? instrument.logDestination,
  );
  const host = options.host ?? '127.0.0.1';
  const stops: Stop[] = [];
  // Stopped in the reverse order of starting: sweeper, pollers, emulators, then the API.
  const stopAll = async () => {
    for (const stop of stops.reverse())
      await stop().catch((error: unknown) => logger.error({ err: error }, 'stop failed'));
  };
  // The port is taken first: a second `npm start` fails fast, before any emulator starts.
  const gateway = createLocalGateway(options.adminToken, logger, options.config.consoleFrameAncestors);
  const port = await listen(gateway.server, options.port, host);
  stops.push(() => closeServer(gateway.server));
  try {
    const emulators = await startEmulators(options, instrument, stops);
    const { dynamo, sqs, queues } = emulators;
    const ownListeners = ownListenersOf(port, dynamo.endpoint, sqs.endpoint);
    const deps = localDeps({
      dynamoDb: dynamo.client,
      tableName: LOCAL_TABLE,
      sqs: sqs.client,
      queueUrls: { fast: queues.lanes.fast.url, slow: queues.lanes.slow.url, deadLetter: queues.deadLetter.url },
      secretStore: await localSecretStore(options.dataDir, instrument),
      dataDir: options.dataDir,
      config: options.config,
      logger,
      ...(instrument.afterStore ? { afterStore: () => instrument.afterStore?.() } : {}),
      ownListeners,
      localDestinations: localDestinations(emulators),
      ...destinationInstruments(emulators, instrument),
    });
    // Each handler runs as on Lambda, with a context of its own per call (the request id on its log lines).
    gateway.serve({
      api: wrap('api', localHandler('api', createApiHandler(deps), logger)),
      admin: wrap('admin', localHandler('admin', createAdminHandler(deps), logger)),
    });
    const senders = startSenders(deps, emulators, { logger, wrap, paused: options.sendersPaused ?? false });
    stops.push(...senders.stops);
    const sweeper = startSweeper(deps, logger, options.sweepIntervalMs ?? 60_000, wrap);
    stops.push(sweeper.stop);
    return {
      url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
      port,
      adminToken: options.adminToken,
      deps,
      queues,
      dynamoDbEndpoint: dynamo.endpoint,
      sqsEndpoint: sqs.endpoint,
      credentials: emulators.credentials,
      ownListeners,
      sweep: sweeper.sweep,
      resumeSenders: senders.resume,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The emulator's queues as AWS destinations: their region and account as fauxqs names them in its ARNs. */
function localDestinations({ sqs, queues, credentials }: Emulators): LocalDestinations {
  const [, , , region = '', accountId = ''] = queues.lanes.fast.arn.split(':');
  const ownQueues = [queues.lanes.fast, queues.lanes.slow, queues.deadLetter].map(
    (queue) => queue.arn.split(':')[5] ?? '',
  );
  return { endpoint: sqs.endpoint, region, accountId, credentials, ownQueues };
}

/** The STS client and destination clients, with the instrument's hooks on them when it has some. */
function destinationInstruments({ queues }: Emulators, instrument: LocalServiceInstrument) {
  if (!instrument.sts && !instrument.awsDestination) return {};
  const [, , , region] = queues.lanes.fast.arn.split(':');
  const sts = new STSClient({ region });
  instrument.sts?.(sts);
  return { sts, ...(instrument.awsDestination ? { onDestinationClient: instrument.awsDestination } : {}) };
}

/**
 * What listens for this service on this machine: local mode allows loopback for receivers, so these
 * are refused as webhook targets (shared/domain/delivery/ssrf.ts). fauxqs serves SQS, SNS, S3 and STS
 * on its one port; DynamoDB Local opens one port, on every interface.
 */
function ownListenersOf(apiPort: number, dynamoDbEndpoint: string, sqsEndpoint: string): OwnListeners {
  const ports = new Map<number, string>();
  for (const [port, what] of [
    [apiPort, 'the API'],
    [portOf(new URL(dynamoDbEndpoint)), 'DynamoDB Local'],
    [portOf(new URL(sqsEndpoint)), 'the SQS emulator'],
  ] as const)
    if (!ports.has(port)) ports.set(port, what);
  const localAddresses = () => Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
  return { ports, localAddresses };
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

type GatewayHandlers = Parameters<typeof createGateway>[0]['handlers'];

/** The gateway, listening before the functions exist: until `serve`, every route answers 503 `starting` (gateway.ts). */
function createLocalGateway(adminToken: string, logger: RuntimeLogger, frameAncestors: string) {
  let functions: Pick<GatewayHandlers, 'api' | 'admin'> | undefined;
  const ready = () => {
    if (!functions) throw new Error('the service is not ready');
    return functions;
  };
  const server = createGateway({
    handlers: {
      api: (event) => ready().api(event),
      admin: (event) => ready().admin(event),
      console: localHandler('console', createConsoleHandler(consoleAssetsDir(), frameAncestors), logger),
    },
    adminToken,
    starting: () => functions === undefined,
    onError: (error) => logger.error({ err: error }, 'gateway error'),
    onAborted: () => logger.debug('a client aborted its request'),
  });
  return { server, serve: (handlers: NonNullable<typeof functions>) => void (functions = handlers) };
}

interface Emulators {
  credentials: LocalCredentials;
  dynamo: RunningEmulator<DynamoDBClient>;
  sqs: RunningEmulator<SQSClient>;
  queues: LocalQueues;
}

/** DynamoDB Local and fauxqs, started here or already running, with the table and the queues the stack would create. */
async function startEmulators(
  options: LocalServiceOptions,
  instrument: LocalServiceInstrument,
  stops: Stop[],
): Promise<Emulators> {
  const credentials = await localCredentials(options.dataDir);
  const dynamo = options.dynamoDbEndpoint
    ? await connectDynamoDb(options.dynamoDbEndpoint, credentials)
    : await startDynamoDbLocal(options.dataDir, credentials, options.dynamoDbPort);
  stops.push(dynamo.stop);
  const sqs = options.sqsEndpoint
    ? await connectSqs(options.sqsEndpoint, credentials)
    : await startSqsLocal(options.dataDir, credentials, options.sqsPort);
  stops.push(sqs.stop);
  // AWS's per-key and per-queue limits, scaled (docs/aws-limits.md): below the instruments, so they count what AWS would bill.
  if (options.awsLimits) stops.push(options.awsLimits.apply(dynamo.client, sqs.client));
  instrument.dynamoDb?.(dynamo.client);
  instrument.sqs?.(sqs.client);
  await ensureTable(dynamo.client, LOCAL_TABLE);
  const queues = await ensureQueues(sqs.client, {
    timeoutMs: options.config.timeoutMs,
    fastLaneMs: options.config.fastLaneMs,
  });
  return { credentials, dynamo, sqs, queues };
}

/** The secrets in DATA_DIR, with the deployment's keys created on the first run (and the rings an upgrade adds). */
async function localSecretStore(dataDir: string, instrument: LocalServiceInstrument): Promise<SecretStore> {
  const files = new LocalSecretStore(dataDir);
  const secretStore = instrument.secretStore?.(files) ?? files;
  await ensureKeys(secretStore, LOCAL_SECRETS_PREFIX);
  return secretStore;
}

/** One poller per lane, with the batch size and concurrency of the lane's event source mapping on AWS (the lane settings). */
function startSenders(
  deps: Deps,
  { sqs, queues }: Emulators,
  {
    logger,
    wrap,
    paused,
  }: { logger: RuntimeLogger; wrap: <H extends AnyHandler>(name: string, handler: H) => H; paused: boolean },
): { stops: Stop[]; resume(): void } {
  let resume = () => undefined as void;
  const started = paused ? new Promise<void>((resolve) => (resume = resolve)) : undefined;
  const stops = LANES.map((lane) => {
    const name = `sender-${lane}`;
    const poller = startPoller({
      sqs: sqs.client,
      queueUrl: queues.lanes[lane].url,
      queueArn: queues.lanes[lane].arn,
      handler: wrap(name, localHandler(name, createSenderHandler(deps, lane), logger)),
      concurrency: laneMappings(deps.config)[lane].maxConcurrency,
      batchSize: laneMappings(deps.config)[lane].batchSize,
      onError: (error) => logger.error({ err: error, lane }, 'poller error'),
      started,
    });
    return poller.stop;
  });
  return { stops, resume: () => resume() };
}

/** The sweeper on a timer, as the EventBridge schedule runs it on AWS. */
function startSweeper(
  deps: Deps,
  logger: RuntimeLogger,
  intervalMs: number,
  wrap: <H extends AnyHandler>(name: string, handler: H) => H,
): { sweep: LocalService['sweep']; stop: Stop } {
  const sweepOnce = wrap('sweeper', localHandler('sweeper', createSweeperHandler(deps), logger));
  const sweep = () => sweepOnce(undefined);
  // One sweep at a time: a sweep slowed by a throttled store is not joined by the next tick's.
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweep()
      .catch((error: unknown) => logger.error({ err: error }, 'sweep failed'))
      .finally(() => (running = false));
  }, intervalMs);
  return { sweep, stop: async () => clearInterval(timer) };
}
