import { decodeMessage, nextAttemptMessage, withPayload, type DeliveryMessage } from './message.ts';
import { attemptBudgetMs, MAX_MESSAGE_DELAY_SECONDS, POISON_RECEIVE_COUNT, type Lane } from './policy.ts';
import type { Attempt, WebhookEndpoint, Webhook, WebhookState } from '../model.ts';
import type { OrganizationTokenSet } from '../organizations/tokens.ts';
import { attemptHeaders } from '../endpoints/headers.ts';
import { parkWebhook, recordEndpointHealth, type HealthDeps } from '../endpoints/health.ts';
import type {
  DeliveryQueue,
  Logger,
  Metrics,
  OperationalEvents,
  PostResult,
  PostWebhook,
  WebhookStore,
} from '../ports.ts';
import { nextDelaySeconds, parseRetryAfter } from './retry-schedule.ts';
import { signingKeySecretName, type CachedSecrets } from '../secrets.ts';
import { signHmac, signJwt, signStandardWebhook } from './signing.ts';
import type { Cidr } from './ssrf.ts';

/**
 * Delivery's state machine: one attempt per queue message. docs/delivery.md draws it.
 *
 * Every message names the attempt it makes. The webhook's state in the store says how many were
 * made, so a message for any other attempt is a stale copy or a duplicate and is dropped. An
 * attempt's successor (a delayed message, a timer in the store, or the dead-letter queue) is sent
 * before the attempt is recorded: a crash in between makes the attempt again (at-least-once), and
 * the early successor, finding its predecessor unrecorded, is dropped. Nothing waits by holding a
 * received message: a wait is a message's own delay (up to 15 minutes) or a timer the sweeper turns
 * into a message when it is nearly due.
 *
 * `decide` and `settle` are pure; `deliver` reads, calls the receiver and writes around them.
 */

const SUCCESS_STATUSES: readonly number[] = [200, 201, 202, 204];
const RESPONSE_BODY_LIMIT = 16 * 1024;
/** Attempts kept in the webhook's state item (older ones are dropped; the count stays exact). */
const ATTEMPTS_KEPT = 50;
/** A message may arrive this early (clock skew) and still make its attempt. */
const EARLY_TOLERANCE_MS = 1000;
/** Times a message ahead of its predecessor's record comes back (about 3 minutes in all) before it is dropped. */
const MAX_EARLY_REQUEUES = 12;
/** How long an endpoint stays in the slow lane after an attempt to it ran long. */
const SLOW_LANE_MS = 15 * 60_000;

const USER_AGENT = 'lago-webhooks-aws/0.1 (+https://github.com/getlago/lago compatible)';

export interface SenderDeps {
  /** The endpoint marks and the webhook reads and writes of an attempt, with what endpoint health needs. */
  store: HealthDeps['store'] & Pick<WebhookStore, 'getWebhookState' | 'getWebhook'>;
  queue: DeliveryQueue;
  /** The receiver's side of an attempt (shared/adapters/http-client.ts). */
  post: PostWebhook;
  secrets: CachedSecrets;
  secretsPrefix: string;
  /** An endpoint, from a short-lived cache (shared/domain/endpoints/cache.ts): its changes reach the sender within seconds. */
  endpoint: (organizationId: string, endpointId: string) => Promise<WebhookEndpoint | undefined>;
  /** The organization's HMAC token, and the one before it during a rotation's overlap (shared/domain/organizations/tokens.ts). */
  organizationTokens: (organizationId: string) => Promise<OrganizationTokenSet | undefined>;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  retrySchedule: readonly number[];
  timeoutMs: number;
  /** A fast-lane attempt running longer than this is cut and moved to the slow lane. */
  fastLaneMs: number;
  /** An attempt running longer than this sends its endpoint's next webhooks to the slow lane. */
  slowAfterMs: number;
  allow: readonly Cidr[];
  allowHttp: boolean;
  issuer: string;
  /** Endpoints this process marked slow, so its own next messages move at once (the store tells the others). */
  slowEndpoints: Map<string, number>;
  /** Attempts this process is making (`<webhook id>#<attempt>`): a duplicate message for one of them is dropped. */
  attemptsInFlight: Set<string>;
  /** Where automatic disables and recoveries are announced (shared/domain/endpoints/health.ts). */
  events: OperationalEvents;
  /** An endpoint whose every attempt failed this long is disabled; 0 never. */
  autoDisableAfterMs: number;
}

export interface ReceivedMessage {
  messageId: string;
  body: string;
  receiveCount: number;
  /** The lane it was received from. */
  lane: Lane;
}

/** done: delete the message; keep: leave it in the queue (reported as a batch item failure). */
export type Disposition = 'done' | 'keep';

type Decision =
  | { kind: 'drop'; why: string }
  | { kind: 'fail'; error: string }
  | { kind: 'forward' }
  | { kind: 'wait'; seconds: number }
  | { kind: 'early' }
  | { kind: 'paused'; redrive: boolean }
  | { kind: 'attempt'; redrive: boolean };

/** Until when the endpoint takes the slow lane, as the store or this process knows it. */
function slowUntil(deps: Pick<SenderDeps, 'slowEndpoints'>, endpoint: WebhookEndpoint): number {
  return Math.max(endpoint.slow_until ?? 0, deps.slowEndpoints.get(endpoint.id) ?? 0);
}

/** What a message may do to its webhook. */
function decide(
  webhook: WebhookState | undefined,
  message: DeliveryMessage,
  endpoint: WebhookEndpoint | undefined,
  lane: Lane,
  endpointSlowUntil: number,
  nowMs: number,
): Decision {
  if (!webhook) return { kind: 'drop', why: 'unknown webhook' };
  if (message.attempt === undefined) return { kind: 'drop', why: 'a message from before attempts were numbered' };
  if (webhook.status === 'succeeded') return { kind: 'drop', why: 'already delivered' };
  const next = webhook.attempt_count + 1;
  if (webhook.status === 'failed') {
    // A redriven dead letter starts a new round, unless the webhook moved on since it was dead-lettered.
    const redriven = message.reason !== undefined && message.attempt === next;
    if (!redriven) return { kind: 'drop', why: 'stale copy of a finished round' };
    if (!endpoint) return { kind: 'drop', why: 'the webhook endpoint was deleted' };
    if (endpoint.disabled_at) return { kind: 'paused', redrive: true };
    return { kind: 'attempt', redrive: true };
  }
  // A dead letter of a webhook someone retried meanwhile: the retry's own message makes its attempt.
  if (message.reason !== undefined) return { kind: 'drop', why: 'dead letter of a webhook that is live again' };
  if (message.attempt < next)
    return { kind: 'drop', why: `message for attempt ${message.attempt}, the webhook is at ${next}` };
  // Sent before its predecessor was recorded, it may simply be ahead of that write: it comes back later.
  if (message.attempt > next) return { kind: 'early' };
  // The sweeper sends the message of a webhook waiting on a timer, and clears the timer first.
  if (webhook.timer) return { kind: 'drop', why: 'the next attempt waits on a timer' };
  if (!endpoint) return { kind: 'fail', error: 'the webhook endpoint was deleted' };
  // A disabled endpoint's webhooks wait, without an attempt, until it is enabled.
  if (endpoint.disabled_at) return { kind: 'paused', redrive: false };
  const due = webhook.next_attempt_at ? Date.parse(webhook.next_attempt_at) : nowMs;
  if (due > nowMs + EARLY_TOLERANCE_MS)
    return { kind: 'wait', seconds: Math.min(MAX_MESSAGE_DELAY_SECONDS, Math.ceil((due - nowMs) / 1000)) };
  if (lane === 'fast' && endpointSlowUntil > nowMs) return { kind: 'forward' };
  return { kind: 'attempt', redrive: false };
}

/** What follows an attempt: nothing, a delayed message on a lane, a timer in the store, or the dead-letter queue. */
type Successor =
  | { kind: 'none' }
  | { kind: 'message'; lane: Lane; delaySeconds: number }
  | { kind: 'timer' }
  | { kind: 'dead-letter' };

interface AttemptOutcome {
  result: PostResult;
  started: number;
  finished: number;
  /** The fast lane cut the attempt at its budget: the webhook moves to the slow lane at once. */
  cut: boolean;
  /** The lane its next attempt takes. */
  retryLane: Lane;
  endpointUrl: string;
}

/** The webhook after an attempt, and its successor. */
function settle(
  webhook: WebhookState,
  outcome: AttemptOutcome,
  schedule: readonly number[],
  random: () => number = Math.random,
): { next: WebhookState; then: Successor } {
  const { result, started, finished } = outcome;
  const httpStatus = result.ok ? result.status : null;
  const succeeded = result.ok && SUCCESS_STATUSES.includes(result.status);
  const error = outcome.cut
    ? `no response within ${finished - started} ms in the fast lane; moved to the slow lane`
    : result.ok
      ? succeeded
        ? null
        : `unexpected http status ${result.status}`
      : result.error;
  const entry: Attempt = {
    number: webhook.attempt_count + 1,
    at: new Date(started).toISOString(),
    http_status: httpStatus,
    error,
    duration_ms: finished - started,
  };
  // A cut is recorded, but does not use up an attempt of the round: the slow lane makes it in full.
  const round = outcome.cut ? webhook.round_attempts : webhook.round_attempts + 1;
  const delay = succeeded
    ? undefined
    : outcome.cut
      ? 0
      : nextDelaySeconds(
          schedule,
          round,
          {
            httpStatus,
            timedOut: !result.ok && result.kind === 'timeout',
            retryAfterSeconds: result.ok ? parseRetryAfter(result.retryAfter, finished) : null,
          },
          random,
        );
  const status = succeeded ? 'succeeded' : delay === undefined ? 'failed' : 'retrying';
  const timer = delay !== undefined && delay > MAX_MESSAGE_DELAY_SECONDS;
  const { unqueued: _unqueued, ...rest } = webhook;
  const next: WebhookState = {
    ...rest,
    status,
    attempt_count: webhook.attempt_count + 1,
    round_attempts: round,
    attempts: [...webhook.attempts, entry].slice(-ATTEMPTS_KEPT),
    http_status: httpStatus,
    response_body: result.ok ? result.body : null,
    error,
    endpoint_url: outcome.endpointUrl,
    next_attempt_at: delay === undefined ? null : new Date(finished + delay * 1000).toISOString(),
    timer,
    updated_at: new Date(finished).toISOString(),
  };
  const then: Successor = succeeded
    ? { kind: 'none' }
    : delay === undefined
      ? { kind: 'dead-letter' }
      : timer
        ? { kind: 'timer' }
        : { kind: 'message', lane: outcome.cut ? 'slow' : outcome.retryLane, delaySeconds: delay };
  return { next, then };
}

export async function deliver(deps: SenderDeps, received: ReceivedMessage): Promise<Disposition> {
  const message = decodeMessage(received.body);
  if (!message) {
    deps.logger.error({ message_id: received.messageId }, 'unreadable delivery message: dead-lettered as poison');
    await deps.queue.deadLetter(received.body, 'poison');
    deps.metrics.record('PoisonMessages', 1);
    return 'done';
  }
  const context = {
    webhook_id: message.webhookId,
    organization_id: message.organizationId,
    endpoint_id: message.endpointId,
    message_id: received.messageId,
  };
  // Back this often without being finished, it crashes or outlasts the sender: before SQS moves it, say why.
  if (received.receiveCount >= POISON_RECEIVE_COUNT - 1) {
    deps.logger.error(
      { ...context, receive_count: received.receiveCount },
      'delivery message keeps failing: dead-lettered as poison',
    );
    await deps.queue.deadLetter(message, 'poison');
    deps.metrics.record('PoisonMessages', 1);
    return 'done';
  }

  let webhook: WebhookState | undefined;
  let payload = message.payload;
  let endpoint: WebhookEndpoint | undefined;
  try {
    // The message names the endpoint, whose partition holds the webhook: both reads go out at once.
    const [stored, named] = await Promise.all([
      deps.store.getWebhookState({ endpointId: message.endpointId, id: message.webhookId }),
      deps.endpoint(message.organizationId, message.endpointId),
    ]);
    webhook = stored?.state.organization_id === message.organizationId ? stored.state : undefined;
    payload ??= stored?.payload;
    endpoint = named;
  } catch (error) {
    return requeue(deps, received.lane, message, error);
  }
  const nowMs = deps.now();
  const decision = decide(webhook, message, endpoint, received.lane, endpoint ? slowUntil(deps, endpoint) : 0, nowMs);
  switch (decision.kind) {
    case 'drop':
      deps.logger.debug({ ...context, why: decision.why }, 'delivery message dropped');
      return 'done';
    case 'fail': {
      const now = new Date(nowMs).toISOString();
      try {
        await deps.store.updateWebhook(webhook!, {
          ...webhook!,
          status: 'failed',
          error: decision.error,
          timer: false,
          next_attempt_at: null,
          updated_at: now,
        });
      } catch (error) {
        return requeue(deps, received.lane, message, error);
      }
      deps.logger.info(context, 'endpoint deleted: webhook failed without an attempt');
      return 'done';
    }
    case 'forward':
      await deps.queue.send('slow', [message]);
      return 'done';
    case 'wait':
      await deps.queue.send(received.lane, [message], decision.seconds);
      return 'done';
    case 'paused':
      try {
        await parkWebhook(deps, webhook!, endpoint!, decision.redrive);
      } catch (error) {
        return requeue(deps, received.lane, message, error);
      }
      return 'done';
    case 'early':
      // Its predecessor never got recorded (a crash): that attempt is made again and sends a new successor.
      if ((message.requeues ?? 0) >= MAX_EARLY_REQUEUES) {
        deps.logger.debug(
          { ...context, attempt: message.attempt },
          'delivery message for an attempt never reached: dropped',
        );
        return 'done';
      }
      return requeue(
        deps,
        received.lane,
        message,
        new Error(`attempt ${message.attempt} is ahead of the recorded ones`),
      );
    case 'attempt': {
      // SQS may deliver a message twice at once: only one copy makes the attempt in this process.
      const key = `${webhook!.id}#${webhook!.attempt_count + 1}`;
      if (deps.attemptsInFlight.has(key)) {
        deps.logger.debug(
          { ...context, attempt: webhook!.attempt_count + 1 },
          'duplicate of an attempt in flight: dropped',
        );
        return 'done';
      }
      deps.attemptsInFlight.add(key);
      try {
        // A payload too large to ride in the message is read from the store.
        try {
          payload ??= (await deps.store.getWebhook(webhook!.organization_id, webhook!.id, webhook!.endpoint_id))
            ?.payload;
          if (payload === undefined) throw new Error('the payload could not be read');
        } catch (error) {
          return await requeue(deps, received.lane, message, error);
        }
        const state = decision.redrive ? { ...webhook!, status: 'retrying' as const, round_attempts: 0 } : webhook!;
        return await attemptAndRecord(deps, received, message, { ...state, payload }, endpoint!, webhook!);
      } finally {
        deps.attemptsInFlight.delete(key);
      }
    }
  }
}

/** The message cannot make its attempt now: send it again later, so its receive count never grows towards poison. */
async function requeue(deps: SenderDeps, lane: Lane, message: DeliveryMessage, error: unknown): Promise<Disposition> {
  const requeues = (message.requeues ?? 0) + 1;
  const delay = Math.min(MAX_MESSAGE_DELAY_SECONDS, Math.round(1.5 ** (requeues - 1)));
  deps.logger.warn(
    { err: error, webhook_id: message.webhookId, requeues, retry_in_seconds: delay },
    'delivery message sent again later',
  );
  await deps.queue.send(lane, [{ ...message, requeues }], delay);
  return 'done';
}

/** `webhook` is the webhook as the attempt starts it (a redrive opens a new round); `stored`, as read: the write is guarded by it. */
async function attemptAndRecord(
  deps: SenderDeps,
  received: ReceivedMessage,
  message: DeliveryMessage,
  webhook: Webhook,
  endpoint: WebhookEndpoint,
  stored: WebhookState,
): Promise<Disposition> {
  const context = {
    webhook_id: webhook.id,
    organization_id: webhook.organization_id,
    endpoint_id: webhook.endpoint_id,
  };
  const budget = attemptBudgetMs(received.lane, deps);
  // Signing needs this service's secrets and store: when they fail, it is our outage, not the receiver's. The
  // message comes back later and no attempt of the customer's round is used up; the error line pages.
  let signed: Signed;
  try {
    signed = await sign(deps, webhook, endpoint, deps.now());
  } catch (error) {
    deps.logger.error({ ...context, err: error }, 'cannot sign the webhook: delivery message sent again later');
    return requeue(deps, received.lane, message, error);
  }
  let marking: Promise<void> | undefined;
  // Still running after slowAfterMs: the endpoint's next webhooks take the slow lane, while this attempt goes on.
  const slowTimer = setTimeout(() => {
    // Already marked for a while yet: no write for every attempt to a hanging endpoint.
    if (slowUntil(deps, endpoint) > deps.now() + SLOW_LANE_MS / 2) return;
    const until = deps.now() + SLOW_LANE_MS;
    deps.slowEndpoints.set(endpoint.id, until);
    marking = deps.store
      .markEndpointSlow(endpoint.organization_id, endpoint.id, until)
      .catch((error: unknown) => deps.logger.warn({ ...context, err: error }, 'could not mark the endpoint slow'));
  }, deps.slowAfterMs);
  const started = deps.now();
  // Whatever goes wrong while sending is a failed attempt, so the round always advances.
  const result = await deps
    .post(endpoint.webhook_url, signed.headers, webhook.payload, {
      timeoutMs: budget,
      allow: deps.allow,
      allowHttp: deps.allowHttp,
      maxResponseBytes: RESPONSE_BODY_LIMIT,
    })
    .catch((error: unknown): PostResult => ({
      ok: false,
      kind: 'network',
      error: `internal: ${(error as Error).message}`,
    }));
  clearTimeout(slowTimer);
  const finished = deps.now();
  await marking;
  const cut = !result.ok && result.kind === 'timeout' && budget < deps.timeoutMs;
  const settled = settle(
    webhook,
    {
      result,
      started,
      finished,
      cut,
      retryLane: slowUntil(deps, endpoint) > finished ? 'slow' : 'fast',
      endpointUrl: endpoint.webhook_url,
    },
    deps.retrySchedule,
  );
  const then = settled.then;
  let next = settled.next;
  const entry = next.attempts[next.attempts.length - 1]!;
  deps.metrics.record('EndpointResponseTime', entry.duration_ms, 'Milliseconds');
  const attemptContext = {
    ...context,
    attempt: entry.number,
    http_status: entry.http_status,
    duration_ms: entry.duration_ms,
    error: entry.error,
  };

  // The successor first: if recording fails or the process dies now, the attempt is made again and this successor is dropped as stale.
  const successor = withPayload(nextAttemptMessage(next), webhook.payload);
  try {
    if (then.kind === 'message') await deps.queue.send(then.lane, [successor], then.delaySeconds);
    if (then.kind === 'dead-letter') await deps.queue.deadLetter(successor, 'exhausted');
  } catch (error) {
    // Recorded as unqueued: the sweeper sends it once it is overdue.
    deps.logger.error({ ...attemptContext, err: error }, 'could not queue the next attempt');
    if (then.kind === 'message') next = { ...next, unqueued: true };
  }
  let written: WebhookState | undefined;
  try {
    written = await deps.store.updateWebhook(stored, next);
  } catch (error) {
    return requeue(deps, received.lane, message, error);
  }
  if (!written) {
    deps.logger.warn(attemptContext, 'webhook changed during the attempt; its newer state stands');
    return 'done';
  }
  // A cut attempt says nothing yet about the endpoint's health: the slow lane makes it in full.
  if (!cut)
    await recordEndpointHealth(deps, endpoint, next.status === 'succeeded', started).catch((error: unknown) =>
      deps.logger.warn({ ...context, err: error }, "could not record the endpoint's health"),
    );
  if (next.status === 'succeeded') {
    deps.metrics.record('DeliveriesSucceeded', 1);
    deps.logger.info(attemptContext, 'webhook delivered');
  } else if (cut) {
    deps.metrics.record('SlowLaneHandoffs', 1);
    deps.logger.info(attemptContext, 'attempt cut in the fast lane: webhook moved to the slow lane');
  } else if (next.status === 'retrying') {
    deps.metrics.record('DeliveryAttemptsFailed', 1);
    deps.logger.info(
      { ...attemptContext, next_attempt_at: next.next_attempt_at, waits_on: then.kind },
      'delivery attempt failed',
    );
  } else {
    deps.metrics.record('DeliveryAttemptsFailed', 1);
    deps.metrics.record('WebhooksExhausted', 1);
    deps.logger.warn(attemptContext, 'webhook failed: retry schedule exhausted; dead-lettered');
  }
  return 'done';
}

interface Signed {
  headers: Record<string, string>;
}

/** The headers of an attempt, signed; throws when this service's token or key cannot be read. */
async function sign(deps: SenderDeps, webhook: Webhook, endpoint: WebhookEndpoint, nowMs: number): Promise<Signed> {
  const tokens = await deps.organizationTokens(webhook.organization_id);
  if (!tokens) throw new Error('the organization signing token is unavailable');
  let signature: string;
  if (endpoint.signature_algo === 'hmac') {
    signature = signHmac(tokens.current, webhook.payload);
  } else {
    const key = await deps.secrets.get(signingKeySecretName(deps.secretsPrefix));
    if (!key) throw new Error('the signing key is unavailable');
    signature = await signJwt(key, webhook.payload, deps.issuer);
  }
  const timestamp = Math.floor(nowMs / 1000);
  return {
    headers: {
      // The endpoint's custom headers come first: the service's own always win.
      ...(await attemptHeaders(endpoint, () => deps.secrets.get(signingKeySecretName(deps.secretsPrefix)))),
      'Content-Type': 'application/json',
      'User-Agent': USER_AGENT,
      'X-Lago-Signature': signature,
      'X-Lago-Signature-Algorithm': endpoint.signature_algo,
      'X-Lago-Unique-Key': webhook.id,
      'webhook-id': webhook.id,
      'webhook-timestamp': String(timestamp),
      // During a rotation's overlap both tokens sign, space-separated, as Standard Webhooks allows.
      'webhook-signature': [tokens.current, ...(tokens.previous ? [tokens.previous.token] : [])]
        .map((token) => signStandardWebhook(token, webhook.id, timestamp, webhook.payload))
        .join(' '),
    },
  };
}
