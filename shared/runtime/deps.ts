import { postWebhook } from '../adapters/http-client.ts';
import type { DeliveryConfig } from './config.ts';
import { cachedEndpoints } from '../domain/endpoints/cache.ts';
import { newSenderMemory, type SenderDeps } from '../domain/delivery/sender-deps.ts';
import { POISON_RECEIVE_COUNT, visibilityTimeoutSeconds } from '../domain/delivery/policy.ts';
import { customHeaderKey } from '../domain/endpoints/headers.ts';
import type { HealthDeps } from '../domain/endpoints/health.ts';
import type { EndpointPolicy } from '../domain/endpoints/endpoints.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { OrganizationTokens } from '../domain/organizations/tokens.ts';
import type { DeadLetters, DeliveryQueue, OperationalEvents, SecretStore, Store } from '../domain/ports.ts';
import { signingKeySecretName, type CachedSecrets } from '../domain/secrets.ts';
import { parseCidrs } from '../domain/delivery/ssrf.ts';
import type { WebhookDeps } from '../domain/webhooks/deps.ts';

/** Everything the handlers need, wired once per process: by env on Lambda, by the local service in local mode. */
export interface Deps {
  store: Store;
  queue: DeliveryQueue;
  deadLetters: DeadLetters;
  secretStore: SecretStore;
  secrets: CachedSecrets;
  /** Organizations' HMAC tokens (derived or sealed, cached). */
  tokens: OrganizationTokens;
  secretsPrefix: string;
  config: DeliveryConfig;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  /** Automatic disables and recoveries: EventBridge on AWS, a JSON lines file locally. */
  events: OperationalEvents;
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
    headerKey: async () => {
      const pem = await deps.secrets.get(signingKeySecretName(deps.secretsPrefix));
      if (!pem) throw new Error('the deployment signing key is unavailable');
      return customHeaderKey(pem);
    },
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
    retentionDays: deps.config.webhookRetentionDays,
    maxAttempts: deps.config.retrySchedule.length + 1,
    stuckAfterMs: stuckAfterMs(deps.config),
  };
}

/** One per process, shared by its lanes: the slow endpoints it learnt about, the attempts it is making. */
const { slowEndpoints, attemptsInFlight } = newSenderMemory();
/** One endpoint cache per store (tests run several stacks in one process). */
const endpointCaches = new WeakMap<Store, SenderDeps['endpoint']>();

function endpointCache(deps: Deps): SenderDeps['endpoint'] {
  let cache = endpointCaches.get(deps.store);
  if (!cache)
    endpointCaches.set(
      deps.store,
      (cache = cachedEndpoints(
        deps.store,
        (organizationId, endpointId) => deps.store.getEndpoint(organizationId, endpointId),
        deps.now,
      )),
    );
  return cache;
}

export function senderDeps(deps: Deps): SenderDeps {
  return {
    store: deps.store,
    queue: deps.queue,
    post: postWebhook,
    endpoint: endpointCache(deps),
    secrets: deps.secrets,
    secretsPrefix: deps.secretsPrefix,
    organizationTokens: (organizationId) => deps.tokens.get(organizationId),
    logger: deps.logger,
    metrics: deps.metrics,
    now: deps.now,
    retrySchedule: deps.config.retrySchedule,
    timeoutMs: deps.config.timeoutMs,
    fastLaneMs: deps.config.fastLaneMs,
    slowAfterMs: deps.config.slowAfterMs,
    allow: allowList(deps.config),
    allowHttp: deps.config.allowHttp,
    issuer: deps.config.issuer,
    slowEndpoints,
    attemptsInFlight,
    events: deps.events,
    autoDisableAfterMs: deps.config.autoDisableAfterSeconds * 1000,
  };
}
