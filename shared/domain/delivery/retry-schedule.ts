/** When the next attempt happens, from the schedule, the jitter, and what the receiver said. */

/** Default retry schedule: seconds to wait before each retry (8 attempts over about 28 hours). */
export const DEFAULT_RETRY_SCHEDULE: readonly number[] = [5, 300, 1800, 7200, 18000, 36000, 36000];

export const JITTER = 0.2;
/** The longest a 429's or 503's Retry-After is honoured by default (WEBHOOK_RETRY_AFTER_MAX_SECONDS). */
export const DEFAULT_RETRY_AFTER_MAX_SECONDS = 3600;
/** Rate limits and timeouts get at least a minute before the next attempt. */
const SLOW_DOWN_FLOOR_SECONDS = 60;
/** The longest wait between two attempts, a schedule entry or a Retry-After: just under 12 hours. */
export const MAX_DELAY_SECONDS = 12 * 3600 - 120;
/** A whole round, jitter included, ends within a week. */
export const MAX_ROUND_SECONDS = 7 * 24 * 3600;

export interface FailureHint {
  httpStatus: number | null;
  timedOut: boolean;
  /** Seconds from a Retry-After header, if any. */
  retryAfterSeconds: number | null;
}

/** The round's waits, and the longest Retry-After honoured. */
export interface RetryPolicy {
  schedule: readonly number[];
  retryAfterMaxSeconds: number;
}

/**
 * Delay before attempt `attemptsMade + 1` of a round; undefined when the round is over. A 429 or 503
 * with Retry-After waits what the receiver asked, up to the policy's cap, instead of the schedule's step.
 */
export function nextDelaySeconds(
  { schedule, retryAfterMaxSeconds }: RetryPolicy,
  attemptsMade: number,
  hint: FailureHint,
  random: () => number = Math.random,
): number | undefined {
  const base = schedule[attemptsMade - 1];
  if (base === undefined) return undefined;
  let delay: number;
  if (hint.retryAfterSeconds !== null && (hint.httpStatus === 429 || hint.httpStatus === 503)) {
    delay = Math.min(hint.retryAfterSeconds, retryAfterMaxSeconds);
  } else {
    delay = base * (1 - JITTER + 2 * JITTER * random());
    if (hint.httpStatus === 429 || hint.timedOut) delay = Math.max(delay, SLOW_DOWN_FLOOR_SECONDS);
  }
  // At least a second: a message is always hidden between two attempts.
  return Math.min(Math.max(1, Math.round(delay)), MAX_DELAY_SECONDS);
}

/** Retry-After as seconds: a number of seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - nowMs) / 1000));
}
