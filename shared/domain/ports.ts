import { isDrain, type DeadLetterReason, type DeliveryMessage, type LaneMessage } from './delivery/message.ts';
import type { Lane } from './delivery/policy.ts';
import type { Cidr } from './delivery/ssrf.ts';
import type { AwsTarget } from './endpoints/destinations.ts';
import type {
  Organization,
  PreviousToken,
  TokenSource,
  WebhookEndpoint,
  Webhook,
  WebhookState,
  WebhookStatus,
} from './model.ts';

/** Ports between the domain and the world. Adapters for AWS and local mode sit in shared/adapters. */

/** `conflict`: the endpoint changed between its read and this write. */
export type EndpointWriteResult = 'ok' | 'limit_reached' | 'url_taken' | 'not_found' | 'conflict';

export interface WebhookQuery {
  organizationId: string;
  endpointId?: string;
  statuses?: WebhookStatus[];
  webhookTypes?: string[];
  /** Exact codes, classes ("5xx") and "timeout" (no response). */
  httpStatuses?: string[];
  fromMs?: number;
  toMs?: number;
  /** A webhook id or an object id. */
  searchTerm?: string;
  /** Exclusive: only ids older than this one. */
  before?: string;
  limit: number;
}

export interface WebhookPage {
  items: WebhookState[];
  /** Set when more items match. */
  last?: string;
}

/** The record of a publish with an idempotency key; the store keeps it as long as the webhooks it names. */
export interface Idempotency {
  organizationId: string;
  key: string;
}

/** The webhooks one published event creates, one per subscribed endpoint. */
export interface WebhookSet {
  webhooks: Webhook[];
  idempotency?: Idempotency;
  /** Each item written only if it does not exist yet (a replay completing a publish that may still be writing). */
  onlyIfAbsent?: boolean;
}

/** A webhook's address in the store: its endpoint's partition. */
export interface WebhookRef {
  endpointId: string;
  id: string;
}

/**
 * What a publish is about to store, written before its webhooks (shared/domain/webhooks/intents.ts):
 * the sweeper finds there the webhooks of a publish killed before it queued them.
 */
export interface PublishIntent {
  /** The publishing process, and this publish's number in it. */
  publisher: string;
  seq: number;
  /** The numbers of this process's publishes that finished since its previous intent. */
  done: number[];
  atMs: number;
  webhooks: WebhookRef[];
}

export type WebhookSetOutcome = { created: true } | { existing: WebhookRef[] } | { failed: unknown };

/** Where a walk through an endpoint's parked webhooks goes on: a shard of them, after a webhook id. */
export interface ParkedCursor {
  shard: number;
  after?: string;
}

export interface ParkedPage {
  items: WebhookState[];
  next?: ParkedCursor;
}

/** Organizations: their API keys and HMAC tokens. */
export interface OrganizationStore {
  createOrganization(org: Organization, apiKeyHash: string): Promise<void>;
  getOrganization(id: string): Promise<Organization | undefined>;
  /** The organization and its endpoints in one read (publish's). */
  getOrganizationWithEndpoints(
    id: string,
  ): Promise<{ organization: Organization | undefined; endpoints: WebhookEndpoint[] }>;
  findOrganizationIdByKeyHash(hash: string): Promise<string | undefined>;
  /** Keeps a sealed token in an organization that has no token yet; false if it has. */
  sealOrganizationToken(organizationId: string, sealed: string): Promise<boolean>;
  /** Gives the organization a new token and its list of previous ones; false if its token changed since `current` was read. */
  rotateOrganizationToken(
    organizationId: string,
    current: TokenSource,
    next: { token: { token_version: number; token_root: string }; previous_tokens: PreviousToken[] },
  ): Promise<boolean>;
  /** Revokes its portal sessions: bumps its session version; false if the organization does not exist. */
  bumpPortalSessionVersion(organizationId: string): Promise<boolean>;
}

/** Webhook endpoints, and the health marks delivery keeps on them. */
export interface EndpointStore {
  createEndpoint(endpoint: WebhookEndpoint, limit: number): Promise<EndpointWriteResult>;
  getEndpoint(organizationId: string, id: string): Promise<WebhookEndpoint | undefined>;
  listEndpoints(organizationId: string): Promise<WebhookEndpoint[]>;
  updateEndpoint(previous: WebhookEndpoint, next: WebhookEndpoint): Promise<EndpointWriteResult>;
  deleteEndpoint(endpoint: WebhookEndpoint): Promise<EndpointWriteResult>;
  /** Sends the endpoint's next webhooks to the slow lane until `untilMs`; nothing if it is gone. */
  markEndpointSlow(organizationId: string, endpointId: string, untilMs: number): Promise<void>;
  /** Records the first failed attempt after a success; false if it was already failing, or is gone. */
  markEndpointFailing(organizationId: string, endpointId: string, sinceMs: number): Promise<boolean>;
  /** Clears `failing_since_ms`; true only for the call that cleared it. */
  markEndpointRecovered(organizationId: string, endpointId: string): Promise<boolean>;
  /** Disables an endpoint still enabled and failing since `failingSinceMs`; true only for the call that disabled it. */
  autoDisableEndpoint(
    organizationId: string,
    endpointId: string,
    failingSinceMs: number,
    atMs: number,
    reason: string,
  ): Promise<boolean>;
  /** Opens the endpoint's circuit breaker unless it is open already or disabled; true only for the call that opened it. */
  openBreaker(organizationId: string, endpointId: string, atMs: number): Promise<boolean>;
  /**
   * Claims the probe of the breaker opened at `openedAtMs` for a webhook, unless another webhook's probe,
   * claimed after `staleBeforeMs`, is out; true when this webhook holds it.
   */
  claimBreakerProbe(
    organizationId: string,
    endpointId: string,
    claim: { openedAtMs: number; webhookId: string; atMs: number; staleBeforeMs: number },
  ): Promise<boolean>;
  /** A failed probe: the breaker opened at `openedAtMs` opens again at `atMs`, with no probe out; true only for the call that did. */
  reopenBreaker(organizationId: string, endpointId: string, openedAtMs: number, atMs: number): Promise<boolean>;
  /** Closes the breaker opened at `openedAtMs`; true only for the call that closed it. */
  closeBreaker(organizationId: string, endpointId: string, openedAtMs: number): Promise<boolean>;
}

/** Webhooks: one per event and subscribed endpoint, with their attempts. */
export interface WebhookStore {
  /**
   * Writes each set of webhooks, after its idempotency record when it has one (sets are independent
   * of one another) and after the publish's intent when one is given (every set fails if the intent
   * cannot be written), and answers per set, in order: created, the webhooks already recorded under
   * its key, or why it could not be written.
   */
  createWebhookSets(sets: WebhookSet[], intent?: PublishIntent): Promise<WebhookSetOutcome[]>;
  /** The intents written in the minute that starts at `minuteMs`. */
  listIntents(minuteMs: number): Promise<PublishIntent[]>;
  /** A named position of the sweeper (the last minute of intents it checked), if it has one. */
  readSweepMark(name: string): Promise<number | undefined>;
  /** Moves a sweep mark from `from` (undefined: none yet) to `to`; false if another sweeper moved it first. */
  moveSweepMark(name: string, from: number | undefined, to: number): Promise<boolean>;
  /** One webhook of the organization, with its payload and last response; the endpoint, when known, saves reads. */
  getWebhook(organizationId: string, id: string, endpointId?: string): Promise<Webhook | undefined>;
  /** A webhook's state, read consistently, with its payload when it is stored inline (the sender's one read). */
  getWebhookState(ref: WebhookRef): Promise<{ state: WebhookState; payload?: string } | undefined>;
  /** Webhooks without their payloads, in the order of `refs`; those not found are left out. */
  getWebhooks(refs: WebhookRef[]): Promise<WebhookState[]>;
  queryWebhooks(query: WebhookQuery): Promise<WebhookPage>;
  /** Live webhooks whose message could not be sent (`unqueued`), due before `dueBeforeMs`. */
  findOverdue(dueBeforeMs: number, limit: number): Promise<WebhookState[]>;
  /** Webhooks whose next attempt waits in the store (`timer`, written before waits were chains of messages) and is due before `dueBeforeMs`. */
  findDueTimers(dueBeforeMs: number, limit: number): Promise<WebhookState[]>;
  /**
   * A page of an endpoint's parked webhooks, from `from` (the start when absent), read by key after
   * the index (which may lag: the caller checks `parked`); `next` while more may follow.
   */
  findParked(endpointId: string, from: ParkedCursor | undefined, limit: number): Promise<ParkedPage>;
  /**
   * Changes a webhook's state if nobody changed it since `previous` was read (optimistic, by
   * version), writing only the attributes that differ from `previous`, which must be the state as
   * read; returns what was written. The payload is never rewritten.
   */
  updateWebhook(previous: WebhookState, next: WebhookState): Promise<WebhookState | undefined>;
}

/** The whole store, as the adapters implement it; the domain asks for the aggregates it uses. */
export type Store = OrganizationStore & EndpointStore & WebhookStore;

export interface PostOptions {
  timeoutMs: number;
  /** Ends the attempt early, as a timeout (the fast lane hands a hanging attempt off). */
  cut?: AbortSignal;
  allow: readonly Cidr[];
  allowHttp: boolean;
  /** Bytes of the response body kept. */
  maxResponseBytes: number;
}

export type PostResult =
  | { ok: true; status: number; body: string; retryAfter: string | undefined }
  | { ok: false; kind: 'timeout' | 'network' | 'blocked'; error: string };

/**
 * One POST to a receiver (shared/adapters/http-client.ts): pinned to the address the SSRF guard
 * checked, bounded in time and size, no redirects. It never throws for the receiver's failures.
 */
export type PostWebhook = (
  url: string,
  headers: Record<string, string>,
  body: string,
  options: PostOptions,
) => Promise<PostResult>;

/** One delivery to an AWS destination: what an SQS message or an EventBridge entry carries, and as whom. */
export interface AwsDelivery {
  target: AwsTarget;
  /** The customer's role, assumed with the organization's external id; null for a local emulator's queue. */
  role: { arn: string; externalId: string; sessionName: string } | null;
  /** The exact body an HTTP receiver gets. */
  body: string;
  /** SQS: the signature headers, as String message attributes. */
  attributes: Record<string, string>;
  /** EventBridge: the entry's `detail-type`. */
  webhookType: string;
  /** A FIFO queue's MessageGroupId and MessageDeduplicationId. */
  fifo: { groupId: string; deduplicationId: string };
  timeoutMs: number;
  /** Ends the delivery early, as a timeout. */
  cut?: AbortSignal;
}

/**
 * One delivery to an SQS queue or an EventBridge bus (shared/adapters/aws-destinations.ts), read as
 * an HTTP attempt is: a status of 200 and the MessageId or EventId as its body, or a failure with
 * AWS's error. It never throws for the destination's failures.
 */
export type DeliverToAws = (delivery: AwsDelivery) => Promise<PostResult>;

/** A message and its own delay, for a batch whose messages wait for different times. */
export interface DelayedMessage {
  message: LaneMessage;
  delaySeconds: number;
}

export interface DeliveryQueue {
  /**
   * Sends messages to a lane, delayed by up to 15 minutes. Throws when any could not be sent: an
   * UnsentMessagesError names them when the others were sent (SQS fails a batch's entries one by one).
   */
  send(lane: Lane, messages: LaneMessage[], delaySeconds?: number): Promise<void>;
  /** Sends messages to a lane, each with its own delay (up to 15 minutes), ten per request; throws as `send` does. */
  sendEach(lane: Lane, entries: DelayedMessage[]): Promise<void>;
  /** Sends a message (or a body that could not be read) to the dead-letter queue, saying why. */
  deadLetter(message: DeliveryMessage | string, reason: DeadLetterReason): Promise<void>;
}

/** Some messages of a `DeliveryQueue.send` were not sent (or may not have been); every other one was. */
export class UnsentMessagesError extends Error {
  /** The webhooks' messages among those not sent (a drain message is not named: its sender sends it again whole). */
  readonly unsent: readonly DeliveryMessage[];
  constructor(unsent: readonly LaneMessage[], reason: string, options?: ErrorOptions) {
    super(`could not enqueue ${unsent.length} webhook(s): ${reason}`, options);
    this.unsent = unsent.filter((message): message is DeliveryMessage => !isDrain(message));
  }
}

export interface DeadLetterStatus {
  count: number;
  /** Age of the oldest message in seconds, when known. */
  oldestAgeSeconds: number | null;
}

export interface RedriveResult {
  /** Messages moved so far. */
  moved: number;
  /** True while SQS keeps moving messages in the background (a message move task). */
  running: boolean;
}

export interface DeadLetters {
  status(): Promise<DeadLetterStatus>;
  /** Moves every message back to the delivery queue, or starts SQS moving them. */
  redrive(): Promise<RedriveResult>;
}

/** A counter of a fixed window and the most it may reach (shared/domain/organizations/rate-limits.ts). */
export interface WindowCounter {
  name: string;
  limit: number;
}

/** An organization's counters for one action in one fixed window. */
export interface CounterWindow {
  organizationId: string;
  action: string;
  startMs: number;
  endMs: number;
}

/**
 * Rate-limit counters (shared/adapters/dynamodb-rate-limits.ts): one conditional write counts one
 * against every counter of a window, or nothing when any of them is at its limit.
 */
export interface RateCounters {
  /** The names of the counters found at their limit: none when this one was counted. */
  take(window: CounterWindow, counters: readonly WindowCounter[]): Promise<string[]>;
}

export interface SecretStore {
  get(name: string): Promise<string | undefined>;
  /** Creates the secret; resolves to the stored value (the existing one if it was created concurrently). */
  create(name: string, value: string): Promise<string>;
  /** Deletes the secret (nothing if it does not exist). */
  delete(name: string): Promise<void>;
}

/** The secret store as the operator's key rotation writes it (bin/cli.ts `keys`): a new value replaces the current one. */
export interface WritableSecretStore extends SecretStore {
  /** Replaces the value of an existing secret. */
  put(name: string, value: string): Promise<void>;
}

/** What an operator may want to hear about, beyond logs and metrics (shared/domain/endpoints/operational-events.ts). */
export interface OperationalEvent {
  type: 'endpoint.disabled' | 'endpoint.recovered' | 'endpoint.circuit_opened' | 'endpoint.circuit_closed';
  organization_id: string;
  endpoint_id: string;
  webhook_url: string;
  /** Why it was disabled, or its circuit breaker opened; null for a recovery or a close. */
  reason: string | null;
  /** Since when every attempt had failed, when known. */
  failing_since_ms: number | null;
  /** When it happened. */
  at_ms: number;
}

export interface OperationalEvents {
  /** Publishes the event; throws when it could not. */
  emit(event: OperationalEvent): Promise<void>;
}

/** One structured log call: fields first, then the message (or the message alone). */
export interface LogFn {
  (message: string): void;
  (fields: object, message?: string): void;
}

/** Structured JSON logs (shared/runtime/logger.ts on Lambda and locally). Credentials never reach them. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export type MetricName =
  | 'WebhooksPublished'
  | 'DeliveriesSucceeded'
  | 'DeliveryAttemptsFailed'
  | 'WebhooksExhausted'
  | 'PoisonMessages'
  | 'SlowLaneHandoffs'
  | 'EndpointResponseTime'
  | 'RateLimitedByMaxRps';

/** Delivery metrics (shared/runtime/metrics.ts: CloudWatch EMF with the `Stack` dimension). */
export interface Metrics {
  record(name: MetricName, value: number, unit?: 'Count' | 'Milliseconds'): void;
}
