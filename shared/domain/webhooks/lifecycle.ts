import { idTime } from '../ids.ts';
import type { WebhookState } from '../model.ts';
import type { WebhookStore } from '../ports.ts';
import { nextAttemptMessage } from '../delivery/message.ts';
import type { WebhookDeps } from './deps.ts';
import { enqueueOrFail } from './publish.ts';

/** When a webhook is live, stuck or reopened, and the sweeper that keeps none hanging. */

/**
 * The sweeper sends the message of a webhook waiting on a timer when it is due within this long:
 * under SQS's 15-minute delay, with a sweep (every minute) to spare.
 */
const TIMER_LOOKAHEAD_MS = 12 * 60_000;

const isLive = (webhook: WebhookState) => webhook.status === 'pending' || webhook.status === 'retrying';

/** A live webhook whose next attempt, held by a queue message, is long overdue: its message was lost. */
export function isStuck(webhook: WebhookState, nowMs: number, stuckAfterMs: number): boolean {
  if (!isLive(webhook) || webhook.timer) return false;
  const due = webhook.next_attempt_at_ms ?? idTime(webhook.id);
  return due + stuckAfterMs < nowMs;
}

/**
 * Starts a new round (fresh attempt budget, same unique key) and queues it. It is recorded as
 * unqueued until its attempt is made, so the sweeper sends it again if its message is lost.
 */
export async function reopen(
  deps: Pick<WebhookDeps<WebhookStore>, 'store' | 'queue' | 'logger' | 'now'>,
  webhook: WebhookState,
  payload?: string,
): Promise<WebhookState | undefined> {
  const now = deps.now();
  const next: WebhookState = {
    ...webhook,
    status: 'pending',
    round_attempts: 0,
    timer: false,
    unqueued: true,
    next_attempt_at_ms: now,
    updated_at_ms: now,
  };
  const written = await deps.store.updateWebhook(webhook, next);
  if (written) await enqueueOrFail(deps, [written], payload);
  return written;
}

/**
 * Runs every minute. Sends the message of every webhook whose timer falls due within the lookahead,
 * delayed to the second; then finds webhooks left pending or retrying long past their schedule (a
 * message lost with a machine, an enqueue that failed) and queues them again, or fails them when
 * their round is over, so none is left hanging.
 */
export async function sweep(
  deps: Pick<
    WebhookDeps<WebhookStore>,
    'store' | 'queue' | 'logger' | 'metrics' | 'now' | 'maxAttempts' | 'stuckAfterMs'
  >,
  limit = 500,
): Promise<{ scheduled: number; requeued: number; failed: number }> {
  const nowMs = deps.now();
  let scheduled = 0;
  for (const webhook of await deps.store.findDueTimers(nowMs + TIMER_LOOKAHEAD_MS, limit)) {
    if (!webhook.timer || !isLive(webhook)) continue;
    // The timer is cleared first (a message never meets a set timer) and the webhook stays unqueued until its attempt is made.
    const written = await deps.store.updateWebhook(webhook, {
      ...webhook,
      timer: false,
      unqueued: true,
      updated_at_ms: nowMs,
    });
    if (!written) continue;
    const due = webhook.next_attempt_at_ms ?? nowMs;
    try {
      await deps.queue.send('fast', [nextAttemptMessage(written)], Math.max(0, Math.ceil((due - nowMs) / 1000)));
      scheduled++;
    } catch (error) {
      deps.logger.error({ err: error, webhook_id: webhook.id }, "sweeper could not queue a timer's attempt");
    }
  }
  let requeued = 0;
  let failed = 0;
  for (const webhook of await deps.store.findOverdue(nowMs - deps.stuckAfterMs, limit)) {
    if (!isStuck(webhook, nowMs, deps.stuckAfterMs)) continue;
    if (webhook.round_attempts >= deps.maxAttempts) {
      const written = await deps.store.updateWebhook(webhook, {
        ...webhook,
        status: 'failed',
        error: webhook.error ?? 'retry schedule exhausted',
        unqueued: false,
        next_attempt_at_ms: null,
        updated_at_ms: nowMs,
      });
      if (written) {
        failed++;
        // Exhausted like any other: in the dead-letter queue, once, for a redrive.
        deps.metrics.record('WebhooksExhausted', 1);
        await deps.queue
          .deadLetter(nextAttemptMessage(written), 'exhausted')
          .catch((error: unknown) =>
            deps.logger.error(
              { err: error, webhook_id: webhook.id },
              'sweeper could not dead-letter an exhausted webhook',
            ),
          );
      }
      continue;
    }
    const written = await deps.store.updateWebhook(webhook, {
      ...webhook,
      next_attempt_at_ms: nowMs,
      updated_at_ms: nowMs,
    });
    if (!written) continue;
    try {
      await deps.queue.send('fast', [nextAttemptMessage(written)]);
      requeued++;
    } catch (error) {
      deps.logger.error({ err: error, webhook_id: webhook.id }, 'sweeper could not enqueue');
    }
  }
  if (scheduled || requeued || failed) deps.logger.info({ scheduled, requeued, failed }, 'sweep done');
  return { scheduled, requeued, failed };
}
