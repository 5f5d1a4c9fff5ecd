import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { FileOperationalEvents } from '../adapters/file-events.ts';
import type { OwnListeners } from '../domain/delivery/ssrf.ts';
import type { SecretStore } from '../domain/ports.ts';
import type { DeliveryConfig } from './config.ts';
import { buildDeps, type Deps, type DepsWiring, type LocalDestinations } from './deps.ts';
import type { Logger } from './logger.ts';
import { noMetrics } from './metrics.ts';

/** The local service's secrets live under this prefix in DATA_DIR. */
export const LOCAL_SECRETS_PREFIX = 'lago-webhooks';

export interface LocalDepsOptions {
  dynamoDb: DynamoDBClient;
  tableName: string;
  sqs: SQSClient;
  queueUrls: DepsWiring['queueUrls'];
  /** The files in DATA_DIR (or what the bench wraps around them). */
  secretStore: SecretStore;
  /** Where the operational events file is written. */
  dataDir: string;
  config: DeliveryConfig;
  logger: Logger;
  /** Called between a publish's store write and its queue send (chaos runs kill the process there). @default - none */
  afterStore?: () => void;
  /** The API's and the emulators' ports on this machine: never webhook targets. */
  ownListeners: OwnListeners;
  /** The SQS emulator, whose queues are AWS destinations that need no role. */
  localDestinations: LocalDestinations;
  /** The client roles are assumed with for AWS destinations beyond the emulator (this machine's AWS credentials). @default - a new one */
  sts?: STSClient;
  /** Called with each client made for an AWS destination (tests). @default - none */
  onDestinationClient?: DepsWiring['onDestinationClient'];
}

/**
 * The local service's wiring (infra/local/service.ts), on the emulators: no metrics (EMF is
 * CloudWatch's), operational events as JSON lines in DATA_DIR, and dead letters redriven message by
 * message (the SQS emulator has no message move task).
 */
export function localDeps({ dataDir, sts, ...wiring }: LocalDepsOptions): Deps {
  return buildDeps({
    ...wiring,
    sts: sts ?? new STSClient({ region: wiring.localDestinations.region }),
    redrive: { moveTask: false },
    secretsPrefix: LOCAL_SECRETS_PREFIX,
    metrics: noMetrics,
    events: new FileOperationalEvents(dataDir),
  });
}
