import type { Attempt, WebhookState } from '../model.ts';
import type { PostResult } from '../ports.ts';
import { DELIVERY_ERRORS, isSuccessStatus } from './outcomes.ts';
import { hopDelaySeconds, MAX_MESSAGE_DELAY_SECONDS, type Lane } from './policy.ts';
import { nextDelaySeconds, parseRetryAfter, type RetryPolicy } from './retry-schedule.ts';

/** Attempts kept in the webhook's state item (older ones are dropped; the count stays exact). */
const ATTEMPTS_KEPT = 50;

/** What an attempt came to, as `settle` needs it. */
export interface AttemptOutcome {
  result: PostResult;
  started: number;
  finished: number;
  /** The fast lane cut the attempt at its budget: the webhook moves to the slow lane at once. */
  cut: boolean;
  endpointUrl: string;
}

/**
 * What follows an attempt: nothing, a delayed message on a lane (for a wait beyond 15 minutes, the
 * first hop of a chain, carrying the attempt's due time: hops.ts), or the dead-letter queue.
 */
export type Successor =
  { kind: 'none' } | { kind: 'message'; lane: Lane; delaySeconds: number; dueAtMs?: number } | { kind: 'dead-letter' };

/** The webhook after an attempt, the attempt as recorded, and its successor. */
export interface Settled {
  next: WebhookState;
  attempt: Attempt;
  then: Successor;
}

/** Pure: the webhook's next state from an attempt. */
export function settle(
  webhook: WebhookState,
  outcome: AttemptOutcome,
  policy: RetryPolicy,
  random: () => number = Math.random,
): Settled {
  const { result, started, finished, cut } = outcome;
  const httpStatus = result.ok ? result.status : null;
  const succeeded = result.ok && isSuccessStatus(result.status);
  const attempt: Attempt = {
    number: webhook.attempt_count + 1,
    at_ms: started,
    http_status: httpStatus,
    error: attemptError(outcome, succeeded),
    duration_ms: finished - started,
  };
  // A cut is recorded, but does not use up an attempt of the round: the slow lane makes it in full.
  const round = cut ? webhook.round_attempts : webhook.round_attempts + 1;
  const delay = succeeded ? undefined : cut ? 0 : retryDelay(outcome, round, policy, random);
  const { unqueued: _unqueued, parked: _parked, ...rest } = webhook;
  const next: WebhookState = {
    ...rest,
    status: succeeded ? 'succeeded' : delay === undefined ? 'failed' : 'retrying',
    attempt_count: attempt.number,
    round_attempts: round,
    attempts: [...webhook.attempts, attempt].slice(-ATTEMPTS_KEPT),
    http_status: httpStatus,
    response_body: result.ok ? result.body : null,
    error: attempt.error,
    endpoint_url: outcome.endpointUrl,
    next_attempt_at_ms: delay === undefined ? null : finished + delay * 1000,
    timer: false,
    updated_at_ms: finished,
  };
  const then: Successor = succeeded
    ? { kind: 'none' }
    : delay === undefined
      ? { kind: 'dead-letter' }
      : // A failed attempt's next one takes the slow lane (docs/delivery.md, "Lanes"); a cut one is made there at once.
        successorMessage('slow', delay, finished);
  return { next, attempt, then };
}

/** The next attempt's message: delayed to the second within SQS's 15 minutes, else the first hop of a chain on the fast lane. */
function successorMessage(lane: Lane, delaySeconds: number, finished: number): Successor {
  if (delaySeconds <= MAX_MESSAGE_DELAY_SECONDS) return { kind: 'message', lane, delaySeconds };
  const dueAtMs = finished + delaySeconds * 1000;
  return { kind: 'message', lane: 'fast', delaySeconds: hopDelaySeconds(dueAtMs - finished), dueAtMs };
}

function attemptError({ result, cut, started, finished }: AttemptOutcome, succeeded: boolean): string | null {
  if (cut) return DELIVERY_ERRORS.cutInFastLane(finished - started);
  if (!result.ok) return result.error;
  return succeeded ? null : DELIVERY_ERRORS.unexpectedStatus(result.status);
}

/** Seconds until the round's next attempt, or undefined when the round is over. */
function retryDelay(
  { result, finished }: AttemptOutcome,
  round: number,
  policy: RetryPolicy,
  random: () => number,
): number | undefined {
  return nextDelaySeconds(
    policy,
    round,
    {
      httpStatus: result.ok ? result.status : null,
      timedOut: !result.ok && result.kind === 'timeout',
      retryAfterSeconds: result.ok ? parseRetryAfter(result.retryAfter, finished) : null,
    },
    random,
  );
}
