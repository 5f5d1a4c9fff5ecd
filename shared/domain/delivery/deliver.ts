import { continueDrain, parkWebhook } from '../endpoints/health.ts';
import type { WebhookEndpoint, WebhookState } from '../model.ts';
import { attemptAndRecord, recordCarried, trackAttempt } from './attempt.ts';
import { decide, type Decision } from './decide.ts';
import { takeSendPlace } from './max-rps.ts';
import { hop, hopOf, sendingFor } from './hops.ts';
import { decodeMessage, isDrain, type DeliveryMessage, type LaneMessage } from './message.ts';
import { isFailing, MAX_MESSAGE_DELAY_SECONDS, POISON_RECEIVE_COUNT, SUSPECT_SHARE, type Lane } from './policy.ts';
import { endpointLoad, slowThresholdMs, slowUntil, type ReceivedMessage, type SenderDeps } from './sender-deps.ts';

/**
 * Delivery's state machine: one attempt per queue message. docs/delivery.md draws it.
 *
 * Every message names the attempt it makes. The webhook's state in the store says how many were
 * made, so a message for any other attempt is a stale copy or a duplicate and is dropped. An
 * attempt's successor (a delayed message, or the dead-letter queue) is sent before the attempt is
 * recorded: a crash in between makes the attempt again (at-least-once), and the early successor,
 * finding its predecessor unrecorded, is dropped. Nothing waits by holding a received message: a
 * wait is a message's own delay, chained in hops of up to 15 minutes for longer ones (hops.ts).
 *
 * `deliver` reads the webhook and its endpoint, `decide`s (decide.ts, pure) and carries the decision
 * out; an attempt runs through attempt.ts, whose `settle` (settle.ts) is pure too. Every message is
 * finished here: whatever cannot be done now is sent again as a new message, never kept.
 */

/** Times a message ahead of its predecessor's record comes back (about 3 minutes in all) before it is dropped. */
const MAX_EARLY_REQUEUES = 12;

type LogContext = Record<string, unknown>;

export async function deliver(deps: SenderDeps, received: ReceivedMessage): Promise<void> {
  const message = decodeMessage(received.body);
  if (!message) {
    deps.logger.error({ message_id: received.messageId }, 'unreadable delivery message: dead-lettered as poison');
    return deadLetterPoison(deps, received.body);
  }
  // Back this often without being finished, it crashes or outlasts the sender: before SQS moves it, say why.
  if (received.receiveCount >= POISON_RECEIVE_COUNT - 1) {
    deps.logger.error(
      { ...contextOf(message), message_id: received.messageId, receive_count: received.receiveCount },
      'delivery message keeps failing: dead-lettered as poison',
    );
    return deadLetterPoison(deps, isDrain(message) ? received.body : message);
  }
  if (isDrain(message)) return continueDrain(deps, message.drain);
  // Not due yet and carrying its due time: it hops on, with no read.
  const next = hopOf(message, deps.now());
  if (next) return hop(deps, next);
  const context = { ...contextOf(message), message_id: received.messageId };
  const endpointRead = deps.endpoint(message.organizationId, message.endpointId);
  let found: Found;
  try {
    // The fast lane moves a slow or failing endpoint's message on before reading its webhook: no read for it here.
    if (received.lane === 'fast' && !message.record) {
      const endpoint = await endpointRead;
      if (endpoint && leavesFastLane(deps, endpoint, deps.now())) return await deps.queue.send('slow', [message]);
    }
    found = await readWebhookAndEndpoint(deps, message, endpointRead);
  } catch (error) {
    return requeue(deps, received.lane, message, error);
  }
  const { webhook, endpoint } = found;
  // It carries an attempt already made, whose record the store refused: it writes it, and makes none.
  if (message.record)
    return recordCarried(deps, { message, record: message.record, webhook, endpoint, lane: received.lane });
  const nowMs = deps.now();
  const decision = decide({
    message,
    webhook,
    endpoint,
    lane: received.lane,
    endpointSlowUntil: endpoint ? slowUntil(deps, endpoint) : 0,
    endpointLoad: loadOf(deps, message.endpointId, nowMs),
    breakerCooldownMs: deps.breakerCooldownMs,
    nowMs,
  });
  return carryOut(deps, { received, message, payload: found.payload, nowMs, context }, decision);
}

const contextOf = (message: LaneMessage): LogContext =>
  isDrain(message)
    ? { organization_id: message.drain.organizationId, endpoint_id: message.drain.endpointId, drain: true }
    : { webhook_id: message.webhookId, organization_id: message.organizationId, endpoint_id: message.endpointId };

async function deadLetterPoison(deps: SenderDeps, body: DeliveryMessage | string): Promise<void> {
  await deps.queue.deadLetter(body, 'poison');
  deps.metrics.record('PoisonMessages', 1);
}

interface Found {
  webhook: WebhookState | undefined;
  endpoint: WebhookEndpoint | undefined;
  /** From the message, or from the webhook's state item when it is stored inline. */
  payload: string | undefined;
}

/** How this process sees the endpoint's attempts (sender-deps.ts `endpointLoad`), at the slowness threshold of the moment. */
const loadOf = (deps: SenderDeps, endpointId: string, nowMs: number) =>
  endpointLoad(deps, endpointId, {
    nowMs,
    suspectAfterMs: slowThresholdMs(deps) * SUSPECT_SHARE,
    slots: deps.hangingEndpointSlots,
  });

/** The endpoint takes the slow lane: marked slow, failing, or one of its POSTs here runs long (decide.ts `forward`). */
const leavesFastLane = (deps: SenderDeps, endpoint: WebhookEndpoint, nowMs: number): boolean =>
  slowUntil(deps, endpoint) > nowMs || isFailing(endpoint, nowMs) || loadOf(deps, endpoint.id, nowMs).suspect;

/** The message names the endpoint, whose partition holds the webhook: both reads go out at once (the endpoint's already, cached mostly). */
async function readWebhookAndEndpoint(
  deps: SenderDeps,
  message: DeliveryMessage,
  endpointRead: Promise<WebhookEndpoint | undefined>,
): Promise<Found> {
  const [stored, endpoint] = await Promise.all([
    deps.store.getWebhookState({ endpointId: message.endpointId, id: message.webhookId }),
    endpointRead,
  ]);
  return {
    webhook: stored?.state.organization_id === message.organizationId ? stored.state : undefined,
    endpoint,
    payload: message.payload ?? stored?.payload,
  };
}

/** A received message, understood. */
interface Delivery {
  received: ReceivedMessage;
  message: DeliveryMessage;
  payload: string | undefined;
  /** When it was decided. */
  nowMs: number;
  context: LogContext;
}

async function carryOut(deps: SenderDeps, delivery: Delivery, decision: Decision): Promise<void> {
  const { received, message, context } = delivery;
  switch (decision.kind) {
    case 'drop':
      deps.logger.debug({ ...context, why: decision.why }, 'delivery message dropped');
      return;
    case 'fail':
      return orSendAgainLater(deps, delivery, () => failWithoutAttempt(deps, decision, delivery));
    case 'forward':
      return deps.queue.send('slow', [message]);
    case 'busy':
      // Back once an attempt of the endpoint's has had its time, spread a little.
      deps.logger.debug(context, 'hanging endpoint at its share of the slow lane: message sent again later');
      return deps.queue.send(
        received.lane,
        [message],
        Math.ceil(deps.timeoutMs / 1000) + Math.floor(Math.random() * 5),
      );
    case 'wait': {
      const { lane, ...next } = sendingFor(message, received.lane, decision.dueAtMs, delivery.nowMs);
      return deps.queue.sendEach(lane, [next]);
    }
    case 'paused':
      return orSendAgainLater(deps, delivery, () =>
        parkWebhook(deps, decision.webhook, decision.endpoint, decision.redrive),
      );
    case 'early':
      // Its predecessor never got recorded (a crash): that attempt is made again and sends a new successor.
      if ((message.requeues ?? 0) >= MAX_EARLY_REQUEUES) {
        deps.logger.debug(
          { ...context, attempt: decision.attempt },
          'delivery message for an attempt never reached: dropped',
        );
        return;
      }
      return requeue(
        deps,
        received.lane,
        message,
        new Error(`attempt ${decision.attempt} is ahead of the recorded ones`),
      );
    case 'probe':
      return probeOrPark(deps, delivery, decision);
    case 'attempt':
      return attemptOnce(deps, delivery, decision);
  }
}

/** The first message to claim an open breaker's probe makes its attempt (half-open); the others are parked. */
async function probeOrPark(
  deps: SenderDeps,
  delivery: Delivery,
  { webhook, endpoint, openedAtMs }: Extract<Decision, { kind: 'probe' }>,
): Promise<void> {
  let claimed: boolean;
  try {
    claimed = await deps.store.claimBreakerProbe(endpoint.organization_id, endpoint.id, {
      openedAtMs,
      webhookId: webhook.id,
      atMs: delivery.nowMs,
      staleBeforeMs: delivery.nowMs - deps.breakerProbeStaleMs,
    });
  } catch (error) {
    return requeue(deps, delivery.received.lane, delivery.message, error);
  }
  if (!claimed) return orSendAgainLater(deps, delivery, () => parkWebhook(deps, webhook, endpoint, false));
  deps.logger.info(delivery.context, 'circuit breaker half-open: probe attempt');
  return attemptOnce(deps, delivery, { kind: 'attempt', webhook, endpoint, redrive: false });
}

/** The endpoint is gone: the webhook fails without an attempt. */
async function failWithoutAttempt(
  deps: SenderDeps,
  { webhook, error }: Extract<Decision, { kind: 'fail' }>,
  { nowMs, context }: Delivery,
): Promise<void> {
  await deps.store.updateWebhook(webhook, {
    ...webhook,
    status: 'failed',
    error,
    timer: false,
    next_attempt_at_ms: null,
    updated_at_ms: nowMs,
  });
  deps.logger.info(context, 'endpoint deleted: webhook failed without an attempt');
}

/** SQS may deliver a message twice at once: only one copy makes the attempt in this process. */
async function attemptOnce(
  deps: SenderDeps,
  delivery: Delivery,
  { webhook, endpoint, redrive }: Extract<Decision, { kind: 'attempt' }>,
): Promise<void> {
  const { received, message, context } = delivery;
  const attempt = webhook.attempt_count + 1;
  const key = `${webhook.id}#${attempt}`;
  if (deps.attemptsInFlight.has(key)) {
    deps.logger.debug({ ...context, attempt }, 'duplicate of an attempt in flight: dropped');
    return;
  }
  deps.attemptsInFlight.add(key);
  const { attempt: tracked, untrack } = trackAttempt(deps, endpoint.id);
  try {
    try {
      if (!(await takeSendPlace(deps.rateCounters, endpoint, deps.now()))) return await rateLimited(deps, delivery);
    } catch (error) {
      return await requeue(deps, received.lane, message, error);
    }
    let payload: string;
    try {
      payload = delivery.payload ?? (await readPayload(deps, webhook));
    } catch (error) {
      return await requeue(deps, received.lane, message, error);
    }
    const start = redrive ? { ...webhook, status: 'retrying' as const, round_attempts: 0 } : webhook;
    const end = await attemptAndRecord(deps, {
      webhook: { ...start, payload },
      endpoint,
      stored: webhook,
      lane: received.lane,
      ...(received.batchDone ? { batchDone: received.batchDone } : {}),
      tracked,
    });
    if (end.kind === 'again-later') await requeue(deps, received.lane, message, end.error);
  } finally {
    deps.attemptsInFlight.delete(key);
    untrack();
  }
}

/**
 * The endpoint's max_rps is reached: the message comes back 1 to 4 s later, and no attempt is spent.
 * Spread, so a backlog does not come back all at once to race for the next second's places.
 */
async function rateLimited(deps: SenderDeps, { received, message, context }: Delivery): Promise<void> {
  deps.metrics.record('RateLimitedByMaxRps', 1);
  deps.logger.debug(context, 'rate limited by max_rps: message sent again later');
  await deps.queue.send(received.lane, [message], 1 + Math.floor(Math.random() * 4));
}

/** A payload too large to ride in the message is read from the store. */
async function readPayload(deps: SenderDeps, webhook: WebhookState): Promise<string> {
  const payload = (await deps.store.getWebhook(webhook.organization_id, webhook.id, webhook.endpoint_id))?.payload;
  if (payload === undefined) throw new Error('the payload could not be read');
  return payload;
}

/** Runs a step that writes to the store; if the store fails, the message comes back later. */
async function orSendAgainLater(deps: SenderDeps, delivery: Delivery, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (error) {
    await requeue(deps, delivery.received.lane, delivery.message, error);
  }
}

/** The message cannot make its attempt now: send it again later, so its receive count never grows towards poison. */
async function requeue(deps: SenderDeps, lane: Lane, message: DeliveryMessage, error: unknown): Promise<void> {
  const requeues = (message.requeues ?? 0) + 1;
  const delay = Math.min(MAX_MESSAGE_DELAY_SECONDS, Math.round(1.5 ** (requeues - 1)));
  deps.logger.warn(
    { err: error, webhook_id: message.webhookId, requeues, retry_in_seconds: delay },
    'delivery message sent again later',
  );
  await deps.queue.send(lane, [{ ...message, requeues }], delay);
}
