/**
 * How deliveries flow through SQS: the two lanes, how the sender consumes them, when a message is
 * poison, and the timeouts that follow from the attempt timeout. Domain settings: the CDK stack and
 * the local service both build their queues, event source mappings and pollers from them.
 */

/**
 * `fast`: every first attempt, unless its endpoint was slow lately or is failing. `slow`: endpoints
 * that recently answered slowly or not at all, failing ones (`isFailing`), and every failed
 * attempt's retry, with their own consumers, so they never hold the fast lane.
 */
export type Lane = 'fast' | 'slow';
export const LANES: readonly Lane[] = ['fast', 'slow'];

/**
 * The lane an endpoint's next webhooks take: slow while it is marked slow, or while it fails (no
 * success for FAILING_LANE_AFTER_MS since a failed attempt: `failing_since`, which every attempt's
 * health record keeps already, so this costs no write). A billing run's failing endpoint then spends
 * the slow lane's capacity, not the fast lane's the healthy ones need (docs/delivery.md, "Lanes").
 */
export const laneOf = (
  endpoint: { slow_until_ms?: number | null; failing_since_ms?: number | null },
  nowMs: number,
): Lane => ((endpoint.slow_until_ms ?? 0) > nowMs || isFailing(endpoint, nowMs) ? 'slow' : 'fast');

/**
 * An endpoint whose failures have lasted this long without a success fails, for the lanes: a blip
 * (a failure, then a success within it, as a busy endpoint's occasional 5xx is) moves nothing.
 */
export const FAILING_LANE_AFTER_MS = 2_000;

/** No success for FAILING_LANE_AFTER_MS since a failed attempt (`failing_since`, kept by every attempt's health record). */
export const isFailing = (endpoint: { failing_since_ms?: number | null }, nowMs: number): boolean =>
  endpoint.failing_since_ms !== undefined &&
  endpoint.failing_since_ms !== null &&
  nowMs - endpoint.failing_since_ms >= FAILING_LANE_AFTER_MS;

export interface LaneMapping {
  /** Messages per sender invocation. */
  batchSize: number;
  /** Concurrent sender invocations (the event source mapping's maximum concurrency, the local poller's loops). */
  maxConcurrency: number;
}

/**
 * Each lane's capacity by default: the lane settings (WEBHOOK_FAST_LANE_BATCH_SIZE, ...,
 * shared/runtime/settings.ts) start from it, and the CDK event source mappings and the local pollers
 * both follow the settings, so local runs predict AWS.
 */
export const LANE_MAPPINGS: Record<Lane, LaneMapping> = {
  fast: { batchSize: 10, maxConcurrency: 10 },
  slow: { batchSize: 10, maxConcurrency: 5 },
};

/**
 * Attempts one hanging endpoint may have in flight at once in a sender process's slow lane: half its
 * loops (or invocations), so the other half always serves other endpoints (docs/delivery.md, "Lanes").
 */
export const hangingEndpointSlots = (slow: LaneMapping): number => Math.max(1, Math.floor(slow.maxConcurrency / 2));

/**
 * A fast-lane attempt running this share of WEBHOOK_SLOW_AFTER_MS makes its endpoint suspect in its
 * process: its next messages go to the slow lane at once, before the slow mark is written. Less
 * than the whole threshold sent healthy endpoints of a loaded machine to the slow lane.
 */
export const SUSPECT_SHARE = 1;

/**
 * A message received this often without being finished is poison: SQS moves it to the dead-letter
 * queue (the redrive policy's maxReceiveCount). It is independent of the retry schedule: every
 * attempt is a new message, and a receive that cannot make its attempt (a store error, a duplicate)
 * is re-sent as a new message rather than left to be received again.
 */
export const POISON_RECEIVE_COUNT = 5;

/** SQS delays a message at most 15 minutes; a longer wait is a chain of such delays (hops.ts). */
export const MAX_MESSAGE_DELAY_SECONDS = 900;

/**
 * A chain's last hop lands at least this long before the attempt is due, so a hop received up to
 * this late (a lane falling behind) still makes its attempt on time.
 */
export const HOP_SLACK_SECONDS = 300;

/**
 * Seconds to delay a message whose attempt is due in `remainingMs`: to the second when SQS can
 * delay it that long; otherwise a hop of at most 15 minutes that leaves the last hop HOP_SLACK
 * before the due time.
 */
export function hopDelaySeconds(remainingMs: number): number {
  const remaining = Math.max(0, Math.ceil(remainingMs / 1000));
  if (remaining <= MAX_MESSAGE_DELAY_SECONDS) return remaining;
  return Math.min(MAX_MESSAGE_DELAY_SECONDS, remaining - HOP_SLACK_SECONDS);
}

/**
 * The delivery queues keep a message 14 days, SQS's longest: a billing run's backlog may keep
 * messages waiting for hours, and a message that outlives its queue is found again by the
 * sweeper only after the retention (docs/delivery.md, "Nothing waits forever").
 */
export const DELIVERY_RETENTION_SECONDS = 14 * 24 * 3600;
/** The dead-letter queue keeps messages for the SQS maximum, 14 days, as long as the lanes. */
export const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600;

/** Time for the sender's bookkeeping around the attempts of a batch (reads, writes, sends). */
const BOOKKEEPING_SECONDS = 15;

export interface LaneTimeouts {
  /** Attempt timeout (connect plus response), WEBHOOK_TIMEOUT_MS. */
  timeoutMs: number;
  /** How long a fast-lane attempt may run before it is cut and moved to the slow lane. */
  fastLaneMs: number;
}

/** The longest a single attempt runs in a lane. */
export function attemptBudgetMs(lane: Lane, timeouts: LaneTimeouts): number {
  return lane === 'fast' ? Math.min(timeouts.timeoutMs, timeouts.fastLaneMs) : timeouts.timeoutMs;
}

/** The sender's Lambda timeout in a lane: a batch's attempts run side by side, plus bookkeeping. */
export function senderTimeoutSeconds(lane: Lane, timeouts: LaneTimeouts): number {
  return Math.ceil(attemptBudgetMs(lane, timeouts) / 1000) + BOOKKEEPING_SECONDS;
}

/** The visibility timeout covers six sender invocations, as AWS advises for SQS event sources. */
export function visibilityTimeoutSeconds(lane: Lane, timeouts: LaneTimeouts): number {
  return senderTimeoutSeconds(lane, timeouts) * 6;
}
