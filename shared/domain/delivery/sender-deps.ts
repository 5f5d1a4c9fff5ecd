import type { WebhookEndpoint } from '../model.ts';
import type { OrganizationTokenSet } from '../organizations/tokens.ts';
import type { HealthDeps } from '../endpoints/health.ts';
import type {
  DeliverToAws,
  DeliveryQueue,
  Logger,
  Metrics,
  OperationalEvents,
  PostWebhook,
  RateCounters,
  WebhookStore,
} from '../ports.ts';
import type { AwsDestinationPolicy } from '../endpoints/destinations.ts';
import type { DeploymentKeys } from '../keys/deployment-keys.ts';
import type { Lane } from './policy.ts';
import type { Cidr } from './ssrf.ts';

/** What the sender runs on, built by shared/runtime/deps.ts's `senderDeps`. */
export interface SenderDeps extends SenderMemory {
  /** The endpoint marks and the webhook reads and writes of an attempt, with what endpoint health needs. */
  store: HealthDeps['store'] & Pick<WebhookStore, 'getWebhookState' | 'getWebhook'>;
  queue: DeliveryQueue;
  /** The receiver's side of an attempt (shared/adapters/http-client.ts). */
  post: PostWebhook;
  /** An AWS destination's side of an attempt (shared/adapters/aws-destinations.ts). */
  deliverToAws: DeliverToAws;
  /** The roles the senders may assume, and the local emulator's queues (shared/domain/endpoints/destinations.ts). */
  awsDestinations: AwsDestinationPolicy;
  /** The private key JWTs are signed with, and the seal keys that open custom header values (shared/domain/keys/). */
  keys: Pick<DeploymentKeys, 'signingKey' | 'open'>;
  /** An endpoint, from a short-lived cache (shared/domain/endpoints/cache.ts): its changes reach the sender within seconds. */
  endpoint: (organizationId: string, endpointId: string) => Promise<WebhookEndpoint | undefined>;
  /** The organization's HMAC token, and those before it while their overlap lasts (shared/domain/organizations/tokens.ts). */
  organizationTokens: (organizationId: string) => Promise<OrganizationTokenSet | undefined>;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  retrySchedule: readonly number[];
  /** The longest wait a 429's or 503's Retry-After gets (retry-schedule.ts). */
  retryAfterMaxSeconds: number;
  timeoutMs: number;
  /** A fast-lane attempt running longer than this is cut and moved to the slow lane. */
  fastLaneMs: number;
  /** An attempt running longer than this sends its endpoint's next webhooks to the slow lane. */
  slowAfterMs: number;
  /**
   * How late this process's event loop runs lately, in ms (shared/runtime/loop-lag.ts): added to the
   * slowness thresholds, so time an attempt spent waiting on this process is not the receiver's. @default 0
   */
  loopLagMs?: () => number;
  /** Attempts a hanging endpoint may have in flight at once in this process's slow lane (policy.ts `hangingEndpointSlots`). */
  hangingEndpointSlots: number;
  allow: readonly Cidr[];
  allowHttp: boolean;
  issuer: string;
  /** Where automatic disables and recoveries are announced (shared/domain/endpoints/health.ts). */
  events: OperationalEvents;
  /** An endpoint whose every attempt failed this long is disabled; 0 never. */
  autoDisableAfterMs: number;
  /** Failed attempts in a row (in this process) that open an endpoint's circuit breaker; 0 never. */
  breakerFailures: number;
  /** How long an open breaker waits before its probe. */
  breakerCooldownMs: number;
  /** A probe claimed longer ago than this never finished: another webhook may take its place. */
  breakerProbeStaleMs: number;
  /** The shared counters endpoints' max_rps is kept with (delivery/max-rps.ts). */
  rateCounters: RateCounters;
}

/** An attempt this process is making: counted from its decision; its POST's start, while the POST runs. */
export interface TrackedAttempt {
  postStartedMs: number | null;
}

/** What one sender process remembers between messages, shared by its lanes; the wiring makes one per process. */
export interface SenderMemory {
  /** Endpoints this process marked slow, so its own next messages move at once (the store tells the others). */
  slowEndpoints: Map<string, number>;
  /** Attempts this process is making (`<webhook id>#<attempt>`): a duplicate message for one of them is dropped. */
  attemptsInFlight: Set<string>;
  /** The attempts this process is making, by endpoint, each with when its POST started (null before and after the POST). */
  endpointAttempts: Map<string, Set<TrackedAttempt>>;
  /** Endpoints whose last attempt here ran out its time (or was cut at the fast lane's budget), until when: they hang. */
  hangingEndpoints: Map<string, number>;
  /** By endpoint: its failed attempts in a row here, and its `failing_since` as they saw it (the circuit breaker's count). */
  failureStreaks: Map<string, { since: number | null; count: number }>;
}

export const newSenderMemory = (): SenderMemory => ({
  slowEndpoints: new Map(),
  attemptsInFlight: new Set(),
  endpointAttempts: new Map(),
  hangingEndpoints: new Map(),
  failureStreaks: new Map(),
});

/** A queue message as the sender receives it. */
export interface ReceivedMessage {
  messageId: string;
  body: string;
  receiveCount: number;
  /** The lane it was received from. */
  lane: Lane;
  /** Settles once every other message of its batch is finished: a fast-lane attempt still running then is handed off. */
  batchDone?: Promise<void>;
}

/**
 * How late this process runs lately, as an allowance on the slowness thresholds: at most the fast
 * lane's budget past WEBHOOK_SLOW_AFTER_MS, so a slow endpoint is still marked within the fast lane.
 */
export const lagAllowanceMs = (deps: Pick<SenderDeps, 'slowAfterMs' | 'fastLaneMs' | 'loopLagMs'>): number =>
  Math.min(deps.loopLagMs?.() ?? 0, Math.max(0, deps.fastLaneMs - deps.slowAfterMs));

/** WEBHOOK_SLOW_AFTER_MS and the lag allowance: a POST this long was slow on the receiver's side. */
export const slowThresholdMs = (deps: Pick<SenderDeps, 'slowAfterMs' | 'fastLaneMs' | 'loopLagMs'>): number =>
  deps.slowAfterMs + lagAllowanceMs(deps);

/** Until when the endpoint takes the slow lane, as the store or this process knows it. */
export function slowUntil(memory: Pick<SenderMemory, 'slowEndpoints'>, endpoint: WebhookEndpoint): number {
  return Math.max(endpoint.slow_until_ms ?? 0, memory.slowEndpoints.get(endpoint.id) ?? 0);
}

/**
 * How this process sees an endpoint right now: `suspect` while one of its POSTs has run past
 * `suspectAfterMs` (the fast lane forwards its next messages instead of holding another batch on it),
 * `atCap` while it hangs and has its share of attempts in flight (the slow lane holds back the rest).
 */
export function endpointLoad(
  memory: Pick<SenderMemory, 'endpointAttempts' | 'hangingEndpoints'>,
  endpointId: string,
  { nowMs, suspectAfterMs, slots }: { nowMs: number; suspectAfterMs: number; slots: number },
): { suspect: boolean; atCap: boolean } {
  const attempts = [...(memory.endpointAttempts.get(endpointId) ?? [])];
  const hanging = (memory.hangingEndpoints.get(endpointId) ?? 0) > nowMs;
  return {
    // The POST's time only: a store write or read the model (or AWS) throttles says nothing of the receiver.
    suspect: attempts.some((a) => a.postStartedMs !== null && nowMs - a.postStartedMs > suspectAfterMs),
    atCap: hanging && attempts.length >= slots,
  };
}
