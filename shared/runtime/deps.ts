import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { STSClient } from '@aws-sdk/client-sts';
import { AwsDestinations, type AwsDestinationsOptions } from '../adapters/aws-destinations.ts';
import { DynamoDbRateCounters } from '../adapters/dynamodb-rate-limits.ts';
import { DynamoDbStore } from '../adapters/dynamodb-store.ts';
import { postWebhookAvoiding } from '../adapters/http-client.ts';
import { SqsDeadLetters, SqsDeliveryQueue, type DeadLetterOptions } from '../adapters/sqs-queue.ts';
import { laneMappings, type DeliveryConfig } from './config.ts';
import { loopLagMs } from './loop-lag.ts';
import { EndpointCache } from '../domain/endpoints/cache.ts';
import { newSenderMemory, type SenderDeps, type SenderMemory } from '../domain/delivery/sender-deps.ts';
import { hangingEndpointSlots, POISON_RECEIVE_COUNT, visibilityTimeoutSeconds } from '../domain/delivery/policy.ts';
import type { HealthDeps } from '../domain/endpoints/health.ts';
import type { EndpointPolicy } from '../domain/endpoints/endpoints.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { OrganizationTokens } from '../domain/organizations/tokens.ts';
import { RateLimits, type RateLimitPolicy } from '../domain/organizations/rate-limits.ts';
import type { AwsDestinationPolicy } from '../domain/endpoints/destinations.ts';
import type {
  DeadLetters,
  DeliverToAws,
  DeliveryQueue,
  EndpointStore,
  OperationalEvents,
  RateCounters,
  SecretStore,
  Store,
} from '../domain/ports.ts';
import { DeploymentKeys } from '../domain/keys/deployment-keys.ts';
import { CachedSecrets } from '../domain/secrets.ts';
import { parseCidrs, type OwnListeners } from '../domain/delivery/ssrf.ts';
import type { WebhookDeps } from '../domain/webhooks/deps.ts';
import { PublishJournal } from '../domain/webhooks/intents.ts';

/** Everything the handlers need, wired once per process by `buildDeps`: from env on Lambda (aws-deps.ts), from the emulators locally (local-deps.ts). */
export interface Deps {
  /** The table; its endpoint calls go through `endpointCache`, so each endpoint write made here reaches this process's sender at once. */
  store: Store;
  /** The sender's endpoint reads, kept a few seconds (shared/domain/endpoints/cache.ts); every other read is fresh. */
  endpointCache: EndpointCache;
  /** What this process's senders remember between messages, shared by its lanes. */
  senderMemory: SenderMemory;
  /** This process's publish intents (shared/domain/webhooks/intents.ts). */
  journal: PublishJournal;
  /** Called between a publish's store write and its queue send (local chaos runs only). */
  afterStore?: () => void;
  queue: DeliveryQueue;
  deadLetters: DeadLetters;
  /** The deployment's keys, each read from its own secret when first used (shared/domain/keys/). */
  keys: DeploymentKeys;
  /** Organizations' HMAC tokens (derived or sealed, cached). */
  tokens: OrganizationTokens;
  config: DeliveryConfig;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  /** Automatic disables and recoveries: EventBridge on AWS, a JSON lines file locally. */
  events: OperationalEvents;
  /** The organization routes' rate limits, counted in the table. */
  rateLimits: RateLimits;
  /** The table's fixed-window counters: the rate limits' and endpoints' max_rps (shared/domain/delivery/max-rps.ts). */
  rateCounters: RateCounters;
  /** Local mode's API and emulators, never webhook targets. @default - none (AWS) */
  ownListeners?: OwnListeners;
  /** AWS destinations: the roles that may be assumed (and locally the emulator's queues), and the delivery into them. */
  destinations: { policy: AwsDestinationPolicy; deliver: DeliverToAws };
}

/** The local SQS emulator as an AWS destination: its queues' region and account, and how to reach it. */
export interface LocalDestinations {
  endpoint: string;
  region: string;
  accountId: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The names of this service's own queues on the emulator, refused as destinations. */
  ownQueues: string[];
}

/** What differs between the two wirings: the clients and addresses, the secrets' prefix, where logs, metrics and events go. */
export interface DepsWiring {
  dynamoDb: DynamoDBClient;
  tableName: string;
  sqs: SQSClient;
  queueUrls: { fast: string; slow: string; deadLetter: string };
  /** How the dead letters are redriven: an SQS message move task (AWS, with the queues' ARNs) or message by message. */
  redrive: Pick<DeadLetterOptions, 'moveTask' | 'queueArn' | 'deadLetterArn'>;
  secretStore: SecretStore;
  secretsPrefix: string;
  config: DeliveryConfig;
  logger: Logger;
  metrics: Metrics;
  events: OperationalEvents;
  /** Called between a publish's store write and its queue send: local chaos runs kill the process there. @default - none */
  afterStore?: () => void;
  /** Local mode's API and emulators, never webhook targets. @default - none (AWS) */
  ownListeners?: OwnListeners;
  /** The client AWS destinations' roles are assumed with. */
  sts: STSClient;
  /** The local SQS emulator, whose queues are destinations that need no role. @default - none (AWS) */
  localDestinations?: LocalDestinations;
  /** Called with each client made for an AWS destination (tests). @default - none */
  onDestinationClient?: AwsDestinationsOptions['onClient'];
}

/** The one wiring of adapters to the domain, for Lambda and the local service alike. */
export function buildDeps(wiring: DepsWiring): Deps {
  const { config, logger, secretStore, secretsPrefix, queueUrls } = wiring;
  const now = Date.now;
  const table = new DynamoDbStore(wiring.dynamoDb, wiring.tableName, {
    retentionDays: config.webhookRetentionDays,
    webhookShards: config.webhookShards,
  });
  const endpointCache = new EndpointCache(table, now);
  const store = withEndpointStore(table, endpointCache);
  const keys = new DeploymentKeys({
    secrets: new CachedSecrets(secretStore, config.keyCacheSeconds * 1000, now),
    prefix: secretsPrefix,
    now,
  });
  const rateCounters = new DynamoDbRateCounters(wiring.dynamoDb, wiring.tableName);
  return {
    store,
    endpointCache,
    senderMemory: newSenderMemory(),
    journal: new PublishJournal(),
    ...(wiring.afterStore ? { afterStore: wiring.afterStore } : {}),
    queue: new SqsDeliveryQueue(wiring.sqs, { fast: queueUrls.fast, slow: queueUrls.slow }, queueUrls.deadLetter),
    deadLetters: new SqsDeadLetters(wiring.sqs, {
      queueUrl: queueUrls.fast,
      deadLetterUrl: queueUrls.deadLetter,
      ...wiring.redrive,
    }),
    keys,
    tokens: new OrganizationTokens({ store, keys, secretStore, secretsPrefix, logger, now }),
    config,
    logger,
    metrics: wiring.metrics,
    now,
    events: wiring.events,
    ...(wiring.ownListeners ? { ownListeners: wiring.ownListeners } : {}),
    rateLimits: new RateLimits(rateCounters, rateLimitPolicy(config), now),
    rateCounters,
    destinations: destinations(wiring),
  };
}

/** AWS destinations, from the allow-list setting and, locally, the emulator. */
function destinations({
  config,
  sts,
  localDestinations: local,
  onDestinationClient,
}: DepsWiring): Deps['destinations'] {
  return {
    policy: {
      roles: config.awsDestinationRoles,
      ...(local ? { local: { region: local.region, accountId: local.accountId, ownQueues: local.ownQueues } } : {}),
    },
    deliver: new AwsDestinations({
      sts,
      eventBridgeSource: config.eventBridgeSource,
      ...(local ? { local } : {}),
      ...(onDestinationClient ? { onClient: onDestinationClient } : {}),
    }).deliver,
  };
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** The rate limits' settings, as the domain counts them. */
const rateLimitPolicy = (config: DeliveryConfig): RateLimitPolicy => ({
  test_event: {
    windowMs: MINUTE_MS,
    organization: config.rateLimitTestEventsPerMinute,
    endpoint: config.rateLimitEndpointTestEventsPerMinute,
  },
  redelivery: { windowMs: MINUTE_MS, organization: config.rateLimitRedeliveriesPerMinute },
  recovery: { windowMs: HOUR_MS, organization: config.rateLimitRecoveriesPerHour },
  rotation: { windowMs: HOUR_MS, organization: config.rateLimitRotationsPerHour },
});

/** `store`, with its endpoint calls made through `endpoints` instead. */
function withEndpointStore(store: Store, endpoints: EndpointStore): Store {
  return {
    createOrganization: (...args) => store.createOrganization(...args),
    getOrganization: (...args) => store.getOrganization(...args),
    getOrganizationWithEndpoints: (...args) => store.getOrganizationWithEndpoints(...args),
    findOrganizationIdByKeyHash: (...args) => store.findOrganizationIdByKeyHash(...args),
    sealOrganizationToken: (...args) => store.sealOrganizationToken(...args),
    rotateOrganizationToken: (...args) => store.rotateOrganizationToken(...args),
    bumpPortalSessionVersion: (...args) => store.bumpPortalSessionVersion(...args),
    createEndpoint: (...args) => endpoints.createEndpoint(...args),
    getEndpoint: (...args) => endpoints.getEndpoint(...args),
    listEndpoints: (...args) => endpoints.listEndpoints(...args),
    updateEndpoint: (...args) => endpoints.updateEndpoint(...args),
    deleteEndpoint: (...args) => endpoints.deleteEndpoint(...args),
    markEndpointSlow: (...args) => endpoints.markEndpointSlow(...args),
    markEndpointFailing: (...args) => endpoints.markEndpointFailing(...args),
    markEndpointRecovered: (...args) => endpoints.markEndpointRecovered(...args),
    autoDisableEndpoint: (...args) => endpoints.autoDisableEndpoint(...args),
    openBreaker: (...args) => endpoints.openBreaker(...args),
    claimBreakerProbe: (...args) => endpoints.claimBreakerProbe(...args),
    reopenBreaker: (...args) => endpoints.reopenBreaker(...args),
    closeBreaker: (...args) => endpoints.closeBreaker(...args),
    createWebhookSets: (...args) => store.createWebhookSets(...args),
    getWebhook: (...args) => store.getWebhook(...args),
    getWebhookState: (...args) => store.getWebhookState(...args),
    getWebhooks: (...args) => store.getWebhooks(...args),
    queryWebhooks: (...args) => store.queryWebhooks(...args),
    findOverdue: (...args) => store.findOverdue(...args),
    findDueTimers: (...args) => store.findDueTimers(...args),
    findParked: (...args) => store.findParked(...args),
    listIntents: (...args) => store.listIntents(...args),
    readSweepMark: (...args) => store.readSweepMark(...args),
    moveSweepMark: (...args) => store.moveSweepMark(...args),
    updateWebhook: (...args) => store.updateWebhook(...args),
  };
}

/**
 * A live webhook this long past due, whose next attempt no timer holds, has lost its message: longer
 * than a message can come back through failed receives before it counts as poison, plus margin.
 */
const stuckAfterMs = (config: DeliveryConfig) =>
  visibilityTimeoutSeconds('slow', { timeoutMs: config.timeoutMs, fastLaneMs: config.fastLaneMs }) *
    1000 *
    POISON_RECEIVE_COUNT +
  5 * 60_000;

/** The SSRF guard's exemptions, as ranges (the config keeps them as validated strings). */
const allowList = (config: DeliveryConfig) => parseCidrs(config.allowCidrs.join(','));

export function endpointPolicy(deps: Deps): EndpointPolicy {
  return {
    allow: allowList(deps.config),
    allowHttp: deps.config.allowHttp,
    sealer: deps.keys,
    ...(deps.ownListeners ? { own: deps.ownListeners } : {}),
    aws: deps.destinations.policy,
  };
}

export function healthDeps(deps: Deps): HealthDeps {
  return {
    store: deps.store,
    queue: deps.queue,
    logger: deps.logger,
    events: deps.events,
    now: deps.now,
    autoDisableAfterMs: deps.config.autoDisableAfterSeconds * 1000,
  };
}

export function webhookDeps(deps: Deps): WebhookDeps {
  return {
    store: deps.store,
    queue: deps.queue,
    logger: deps.logger,
    metrics: deps.metrics,
    now: deps.now,
    maxAttempts: deps.config.retrySchedule.length + 1,
    stuckAfterMs: stuckAfterMs(deps.config),
    journal: deps.journal,
    ...(deps.afterStore ? { afterStore: deps.afterStore } : {}),
    rateLimits: deps.rateLimits,
  };
}

export function senderDeps(deps: Deps): SenderDeps {
  return {
    store: deps.store,
    queue: deps.queue,
    post: postWebhookAvoiding(deps.ownListeners),
    deliverToAws: deps.destinations.deliver,
    awsDestinations: deps.destinations.policy,
    endpoint: (organizationId, endpointId) => deps.endpointCache.cachedEndpoint(organizationId, endpointId),
    keys: deps.keys,
    organizationTokens: (organizationId) => deps.tokens.get(organizationId),
    logger: deps.logger,
    metrics: deps.metrics,
    now: deps.now,
    retrySchedule: deps.config.retrySchedule,
    retryAfterMaxSeconds: deps.config.retryAfterMaxSeconds,
    timeoutMs: deps.config.timeoutMs,
    fastLaneMs: deps.config.fastLaneMs,
    slowAfterMs: deps.config.slowAfterMs,
    loopLagMs,
    allow: allowList(deps.config),
    allowHttp: deps.config.allowHttp,
    issuer: deps.config.issuer,
    hangingEndpointSlots: hangingEndpointSlots(laneMappings(deps.config).slow),
    ...deps.senderMemory,
    events: deps.events,
    autoDisableAfterMs: deps.config.autoDisableAfterSeconds * 1000,
    breakerFailures: deps.config.breakerFailures,
    breakerCooldownMs: deps.config.breakerCooldownSeconds * 1000,
    // A probe still unfinished after its whole timeout and a minute never will be.
    breakerProbeStaleMs: deps.config.timeoutMs + 60_000,
    rateCounters: deps.rateCounters,
  };
}
