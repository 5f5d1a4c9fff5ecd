import { recordEndpointHealth } from '../endpoints/health.ts';
import { UnusableKeyError } from '../keys/keyring.ts';
import type { Webhook, WebhookEndpoint, WebhookState } from '../model.ts';
import type { PostResult } from '../ports.ts';
import { signAttempt } from './attempt-headers.ts';
import { sendToAwsDestination } from './aws-delivery.ts';
import { isArn } from '../endpoints/destinations.ts';
import { nextAttemptMessage, withPayload, type CarriedRecord, type DeliveryMessage } from './message.ts';
import { DELIVERY_ERRORS } from './outcomes.ts';
import { attemptBudgetMs, type Lane } from './policy.ts';
import { carryRecord, writeRecord } from './record.ts';
import { lagAllowanceMs, slowUntil, type SenderDeps, type TrackedAttempt } from './sender-deps.ts';
import { settle, type Settled, type Successor } from './settle.ts';
import { isoMs } from '../time.ts';

/**
 * One attempt, in five stages with typed hand-offs: `signAttempt` (the headers) → `post` (the
 * receiver's answer, timed) → `settle` (pure: the webhook's next state and its successor) →
 * `record` (the successor, then the conditional write) → `report` (endpoint health, metrics, the
 * log line). A stage before the POST that fails on our side ends the attempt as `again-later`: the
 * message comes back and nothing of the customer's round is used up. Once the POST is made, its
 * record is written whatever it takes (record.ts): never by posting again.
 */

const RESPONSE_BODY_LIMIT = 16 * 1024;
/** How long an endpoint stays in the slow lane after an attempt to it ran long. */
const SLOW_LANE_MS = 15 * 60_000;

/** An attempt a decision allowed. */
export interface AttemptPlan {
  /** The webhook as the attempt starts it (a redrive opens a new round), with its payload. */
  webhook: Webhook;
  endpoint: WebhookEndpoint;
  /** The webhook's state as read: the record is conditional on it. */
  stored: WebhookState;
  /** The lane the message came from. */
  lane: Lane;
  /** Settles once the rest of the message's batch is finished (ReceivedMessage.batchDone). */
  batchDone?: Promise<void>;
  /** The attempt as this process counts it (trackAttempt): its POST's start is set while the POST runs. */
  tracked?: TrackedAttempt;
}

/** `done`: made and recorded (or its record carried), or superseded by a newer state; `again-later`: our outage before the POST, send the message again. */
export type AttemptEnd = { kind: 'done' } | { kind: 'again-later'; error: unknown };

/** The receiver's answer, and when the attempt ran. */
interface Posted {
  result: PostResult;
  started: number;
  finished: number;
  /** The fast lane cut it at its budget. */
  cut: boolean;
}

type Recorded = { kind: 'written'; next: WebhookState; then: Successor } | { kind: 'superseded' } | { kind: 'carried' };

type LogContext = Record<string, unknown>;

export async function attemptAndRecord(deps: SenderDeps, plan: AttemptPlan): Promise<AttemptEnd> {
  const { webhook, endpoint } = plan;
  const context = {
    webhook_id: webhook.id,
    organization_id: webhook.organization_id,
    endpoint_id: webhook.endpoint_id,
  };
  // 1. Sign. It needs this service's secrets and store: when they fail, it is our outage, not the receiver's.
  // The message comes back later and no attempt of the customer's round is used up; the error line pages.
  let headers: Record<string, string>;
  try {
    headers = await signAttempt(deps, webhook, endpoint, deps.now());
  } catch (error) {
    // A retired key, or a sealed value that does not open, never comes back: the webhook fails now, saying why,
    // rather than coming back forever.
    if (error instanceof UnusableKeyError) return failUnsigned(deps, plan, error, context);
    deps.logger.error({ ...context, err: error }, 'cannot sign the webhook: delivery message sent again later');
    return { kind: 'again-later', error };
  }
  // 2. Post. 3. Settle: the webhook's next state and its successor.
  const posted = await post(deps, plan, headers, context);
  const settled = settle(
    webhook,
    { ...posted, endpointUrl: endpoint.webhook_url },
    { schedule: deps.retrySchedule, retryAfterMaxSeconds: deps.retryAfterMaxSeconds },
  );
  const { attempt } = settled;
  const attemptContext = {
    ...context,
    attempt: attempt.number,
    http_status: attempt.http_status,
    duration_ms: attempt.duration_ms,
    error: attempt.error,
  };
  // 4. Record. 5. Report, unless a newer state superseded this one (or a carried record reports once written).
  const recorded = await record(deps, plan, settled, posted.cut, attemptContext);
  if (recorded.kind === 'written') await report(deps, endpoint, posted, recorded, { context, attemptContext });
  return { kind: 'done' };
}

/** The webhook fails without an attempt: what it must be signed or sent with can never be had. */
async function failUnsigned(
  deps: SenderDeps,
  { webhook, stored }: AttemptPlan,
  error: UnusableKeyError,
  context: LogContext,
): Promise<AttemptEnd> {
  const { payload: _payload, ...state } = webhook;
  try {
    await deps.store.updateWebhook(stored, {
      ...state,
      status: 'failed',
      error: error.message,
      timer: false,
      next_attempt_at_ms: null,
      updated_at_ms: deps.now(),
    });
  } catch (writeError) {
    return { kind: 'again-later', error: writeError };
  }
  deps.logger.error({ ...context, err: error }, 'cannot sign the webhook: a key it needs is unusable; webhook failed');
  return { kind: 'done' };
}

/**
 * POSTs the signed webhook within the lane's budget; whatever goes wrong while sending is a failed
 * attempt, so the round always advances. A fast-lane attempt is cut at the lane's budget, or handed
 * off sooner (past WEBHOOK_SLOW_AFTER_MS, once the rest of its batch is done), so a batch never waits
 * on one hanging POST; the slow lane makes a cut attempt again with the full timeout.
 */
async function post(
  deps: SenderDeps,
  plan: AttemptPlan,
  headers: Record<string, string>,
  context: LogContext,
): Promise<Posted> {
  const { webhook, endpoint, lane } = plan;
  const budget = attemptBudgetMs(lane, deps);
  const watch = watchForSlowness(deps, endpoint, context);
  const handOff = handOffOnceBatchDone(deps, plan);
  const started = deps.now();
  if (plan.tracked) plan.tracked.postStartedMs = started;
  const timing = { timeoutMs: budget, ...(handOff.signal ? { cut: handOff.signal } : {}) };
  // An ARN is an AWS destination: the same body and signatures, through the customer's role instead of a POST.
  const result = await (
    isArn(endpoint.webhook_url)
      ? sendToAwsDestination(deps, webhook, endpoint, headers, timing)
      : deps.post(endpoint.webhook_url, headers, webhook.payload, {
          ...timing,
          allow: deps.allow,
          allowHttp: deps.allowHttp,
          maxResponseBytes: RESPONSE_BODY_LIMIT,
        })
  )
    .catch((error: unknown): PostResult => ({
      ok: false,
      kind: 'network',
      error: DELIVERY_ERRORS.internal((error as Error).message),
    }))
    .finally(() => {
      handOff.stop();
      if (plan.tracked) plan.tracked.postStartedMs = null;
    });
  const finished = deps.now();
  await watch.stop();
  deps.metrics.record('EndpointResponseTime', finished - started, 'Milliseconds');
  const timedOut = !result.ok && result.kind === 'timeout';
  // Out of its whole budget (not handed off): the endpoint hangs, and the slow lane caps it; an answer clears that.
  if (timedOut && !handOff.fired()) deps.hangingEndpoints.set(endpoint.id, finished + SLOW_LANE_MS);
  if (result.ok) deps.hangingEndpoints.delete(endpoint.id);
  return { result, started, finished, cut: timedOut && (budget < deps.timeoutMs || handOff.fired()) };
}

/**
 * Counts an attempt among its endpoint's in this process until the returned function is called:
 * taken the moment it is decided, so two messages decided side by side both see it.
 */
export function trackAttempt(
  deps: Pick<SenderDeps, 'endpointAttempts'>,
  endpointId: string,
): { attempt: TrackedAttempt; untrack(): void } {
  const attempt: TrackedAttempt = { postStartedMs: null };
  const attempts = deps.endpointAttempts.get(endpointId) ?? new Set();
  deps.endpointAttempts.set(endpointId, attempts.add(attempt));
  return {
    attempt,
    untrack() {
      attempts.delete(attempt);
      if (attempts.size === 0 && deps.endpointAttempts.get(endpointId) === attempts)
        deps.endpointAttempts.delete(endpointId);
    },
  };
}

/**
 * Calls `then` once an attempt has run WEBHOOK_SLOW_AFTER_MS, and longer by as much as this
 * process's event loop ran late meanwhile: a saturated sender's own delay is not the receiver's.
 */
function runningLong(deps: SenderDeps, then: () => unknown): { stop(): void } {
  let timer = setTimeout(() => {
    const lag = lagAllowanceMs(deps);
    if (lag > 0) timer = setTimeout(then, lag);
    else then();
  }, deps.slowAfterMs);
  return { stop: () => clearTimeout(timer) };
}

/** The signal that hands a fast-lane attempt off: past WEBHOOK_SLOW_AFTER_MS, once the rest of its batch is done. */
function handOffOnceBatchDone(
  deps: SenderDeps,
  { lane, batchDone }: AttemptPlan,
): { signal?: AbortSignal; fired(): boolean; stop(): void } {
  if (lane !== 'fast' || !batchDone) return { fired: () => false, stop: () => undefined };
  const controller = new AbortController();
  let stopped = false;
  // No allowance for this process's lag here, unlike the slow mark: a batch slot held is the whole batch's wait.
  const timer = setTimeout(
    () => void batchDone.then(() => stopped || controller.abort(new Error('handed off to the slow lane'))),
    deps.slowAfterMs,
  );
  return {
    signal: controller.signal,
    fired: () => controller.signal.aborted,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Still running after slowAfterMs: the endpoint's next webhooks take the slow lane, while this attempt goes on. */
function watchForSlowness(deps: SenderDeps, endpoint: WebhookEndpoint, context: LogContext): { stop(): Promise<void> } {
  let marking: Promise<void> | undefined;
  const late = runningLong(deps, () => {
    // Already marked for a while yet: no write for every attempt to a hanging endpoint.
    if (slowUntil(deps, endpoint) > deps.now() + SLOW_LANE_MS / 2) return;
    const until = deps.now() + SLOW_LANE_MS;
    deps.slowEndpoints.set(endpoint.id, until);
    marking = deps.store
      .markEndpointSlow(endpoint.organization_id, endpoint.id, until)
      .catch((error: unknown) => deps.logger.warn({ ...context, err: error }, 'could not mark the endpoint slow'));
  });
  return {
    async stop() {
      late.stop();
      await marking;
    },
  };
}

/**
 * The successor first, then the webhook's new state, conditional on the state as read: if the
 * process dies in between, the attempt is made again and this successor is dropped as stale. A
 * write the store keeps refusing is carried by a message (record.ts), never made by posting again.
 */
async function record(
  deps: SenderDeps,
  plan: AttemptPlan,
  { next, then }: Settled,
  cut: boolean,
  attemptContext: LogContext,
): Promise<Recorded> {
  const state = await sendSuccessor(deps, next, then, plan.webhook.payload, attemptContext);
  let written: WebhookState | undefined;
  try {
    written = await writeRecord(deps, plan.stored, state);
  } catch (error) {
    const { payload: _payload, ...bare } = state as WebhookState & { payload?: string };
    // Its successor may stop waiting for this record if it takes minutes: unqueued, the sweeper then sends it.
    const queued = then.kind === 'message' ? { ...bare, unqueued: true } : bare;
    const carried: CarriedRecord = { version: plan.stored.version, state: queued, then, cut };
    await carryRecord(deps, plan.lane, nextAttemptMessage(plan.stored), carried, error);
    return { kind: 'carried' };
  }
  if (!written) {
    deps.logger.warn(attemptContext, 'webhook changed during the attempt; its newer state stands');
    return { kind: 'superseded' };
  }
  return { kind: 'written', next: state, then };
}

/**
 * A message carrying an attempt's record (record.ts): written onto the state the attempt began
 * from, then reported as the attempt would have been; carried again while the store refuses it.
 */
export async function recordCarried(
  deps: SenderDeps,
  arrival: {
    message: DeliveryMessage;
    record: CarriedRecord;
    webhook: WebhookState | undefined;
    endpoint: WebhookEndpoint | undefined;
    lane: Lane;
  },
): Promise<void> {
  const { message, record, webhook, endpoint, lane } = arrival;
  const { state } = record;
  const attempt = state.attempts[state.attempts.length - 1];
  const context = { webhook_id: state.id, organization_id: state.organization_id, endpoint_id: state.endpoint_id };
  const attemptContext = {
    ...context,
    attempt: state.attempt_count,
    http_status: attempt?.http_status ?? null,
    duration_ms: attempt?.duration_ms ?? null,
    error: attempt?.error ?? null,
  };
  let written: WebhookState | undefined;
  try {
    written = webhook?.version === record.version ? await writeRecord(deps, webhook, state) : undefined;
  } catch (error) {
    return carryRecord(deps, lane, message, record, error);
  }
  if (!written) {
    deps.logger.warn(attemptContext, 'webhook changed during the attempt; its newer state stands');
    return;
  }
  const posted = { cut: record.cut, started: attempt?.at_ms ?? state.updated_at_ms };
  await report(deps, endpoint, posted, { next: state, then: record.then }, { context, attemptContext });
}

/** Sends the next attempt's message or the dead letter; returns the state to record, marked unqueued if a message could not be sent. */
async function sendSuccessor(
  deps: SenderDeps,
  next: WebhookState,
  then: Successor,
  payload: string,
  attemptContext: LogContext,
): Promise<WebhookState> {
  const message = withPayload(nextAttemptMessage(next), payload);
  try {
    if (then.kind === 'message') {
      const successor = then.dueAtMs === undefined ? message : { ...message, dueAtMs: then.dueAtMs };
      await deps.queue.sendEach(then.lane, [{ message: successor, delaySeconds: then.delaySeconds }]);
    }
    if (then.kind === 'dead-letter') await deps.queue.deadLetter(message, 'exhausted');
  } catch (error) {
    // Recorded as unqueued: the sweeper sends it once it is overdue.
    deps.logger.error({ ...attemptContext, err: error }, 'could not queue the next attempt');
    if (then.kind === 'message') return { ...next, unqueued: true };
  }
  return next;
}

/** The endpoint's health (unless it is gone), the delivery metrics and the attempt's log line. */
async function report(
  deps: SenderDeps,
  endpoint: WebhookEndpoint | undefined,
  { cut, started }: Pick<Posted, 'cut' | 'started'>,
  { next, then }: Omit<Extract<Recorded, { kind: 'written' }>, 'kind'>,
  { context, attemptContext }: { context: LogContext; attemptContext: LogContext },
): Promise<void> {
  // A cut attempt says nothing yet about the endpoint's health: the slow lane makes it in full.
  if (!cut && endpoint)
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
      {
        ...attemptContext,
        next_attempt_at: next.next_attempt_at_ms === null ? null : isoMs(next.next_attempt_at_ms),
        waits_on: then.kind,
      },
      'delivery attempt failed',
    );
  } else {
    deps.metrics.record('DeliveryAttemptsFailed', 1);
    deps.metrics.record('WebhooksExhausted', 1);
    deps.logger.warn(attemptContext, 'webhook failed: retry schedule exhausted; dead-lettered');
  }
}
