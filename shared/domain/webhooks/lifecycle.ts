import { idTime } from '../ids.ts';
import type { WebhookState } from '../model.ts';
import type { WebhookStore } from '../ports.ts';
import { nextAttemptMessage, type DeliveryMessage } from '../delivery/message.ts';
import type { WebhookDeps } from './deps.ts';
import { rescueUnqueued } from './intents.ts';
import { enqueueOrFail } from './publish.ts';

/** When a webhook is live, stuck or reopened, and the sweeper that keeps none hanging. */

/**
 * The sweeper sends the message of a webhook waiting on a timer when it is due within this long:
 * under SQS's 15-minute delay, with a sweep (every minute) to spare.
 */
const TIMER_LOOKAHEAD_MS = 12 * 60_000;
/** Messages per SendMessageBatch call. */
const QUEUE_BATCH = 10;

const isLive = (webhook: WebhookState) => webhook.status === 'pending' || webhook.status === 'retrying';

/** A live webhook whose next attempt, held by a queue message, is long overdue: its message was lost. */
export function isStuck(webhook: WebhookState, nowMs: number, stuckAfterMs: number): boolean {
  if (!isLive(webhook) || webhook.timer || webhook.parked) return false;
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
  const written = await startRound(deps, webhook);
  if (written) await enqueueOrFail(deps, [written], payload);
  return written;
}

/** A new round, written but not queued: the caller sends its message (replay.ts sends a batch's together). */
export async function startRound(
  deps: Pick<WebhookDeps<WebhookStore>, 'store' | 'now'>,
  webhook: WebhookState,
): Promise<WebhookState | undefined> {
  const now = deps.now();
  return deps.store.updateWebhook(webhook, {
    ...webhook,
    status: 'pending',
    round_attempts: 0,
    timer: false,
    unqueued: true,
    next_attempt_at_ms: now,
    updated_at_ms: now,
  });
}

/** What a sweep did. */
export interface SweepResult {
  /** Timers stored before waits were chains of messages, sent as they fell due. */
  scheduled: number;
  /** Webhooks whose message could not be sent, sent again once overdue. */
  requeued: number;
  /** Webhooks whose round was over when found overdue, failed and dead-lettered. */
  failed: number;
  /** Webhooks of publishes that stored them and never queued them (intents.ts). */
  rescued: number;
}

type SweepDeps = Pick<
  WebhookDeps<WebhookStore>,
  'store' | 'queue' | 'logger' | 'metrics' | 'now' | 'maxAttempts' | 'stuckAfterMs'
>;

/**
 * Runs every minute. Queues the webhooks of publishes killed before they queued them (intents.ts);
 * sends the message of every timer stored before waits were chains, once it falls due within the
 * lookahead, delayed to the second (none is written any more: this drains the ones an upgrade found);
 * then finds webhooks whose message could not be sent, left pending or retrying long past their
 * schedule, and queues them again, or fails them when their round is over, so none is left hanging.
 * The due index is read shard by shard, an equal share each, so no shard waits behind another.
 */
export async function sweep(deps: SweepDeps, limit = 500): Promise<SweepResult> {
  const rescued = await rescueUnqueued(deps);
  const scheduled = await sendDueTimers(deps, limit);
  const { requeued, failed } = await requeueOverdue(deps, limit);
  if (scheduled || requeued || failed || rescued)
    deps.logger.info({ scheduled, requeued, failed, rescued }, 'sweep done');
  return { scheduled, requeued, failed, rescued };
}

async function sendDueTimers(deps: SweepDeps, limit: number): Promise<number> {
  const nowMs = deps.now();
  const due: { message: DeliveryMessage; delaySeconds: number }[] = [];
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
    const delaySeconds = Math.max(0, Math.ceil(((webhook.next_attempt_at_ms ?? nowMs) - nowMs) / 1000));
    due.push({ message: nextAttemptMessage(written), delaySeconds });
  }
  return sendAll(deps, due, "sweeper could not queue a timer's attempt");
}

/** Sends messages ten per request (each with its own delay); returns how many were sent. Those not sent stay unqueued for the next sweep. */
async function sendAll(
  deps: Pick<SweepDeps, 'queue' | 'logger'>,
  entries: { message: DeliveryMessage; delaySeconds: number }[],
  failure: string,
): Promise<number> {
  let sent = 0;
  for (let i = 0; i < entries.length; i += QUEUE_BATCH) {
    const batch = entries.slice(i, i + QUEUE_BATCH);
    try {
      await deps.queue.sendEach('fast', batch);
      sent += batch.length;
    } catch (error) {
      deps.logger.error({ err: error, webhook_ids: batch.map((e) => e.message.webhookId) }, failure);
    }
  }
  return sent;
}

async function requeueOverdue(deps: SweepDeps, limit: number): Promise<{ requeued: number; failed: number }> {
  const nowMs = deps.now();
  const again: { message: DeliveryMessage; delaySeconds: number }[] = [];
  let failed = 0;
  for (const webhook of await deps.store.findOverdue(nowMs - deps.stuckAfterMs, limit)) {
    if (!isStuck(webhook, nowMs, deps.stuckAfterMs)) continue;
    if (webhook.round_attempts >= deps.maxAttempts) {
      if (await failExhausted(deps, webhook, nowMs)) failed++;
      continue;
    }
    const written = await deps.store.updateWebhook(webhook, {
      ...webhook,
      next_attempt_at_ms: nowMs,
      updated_at_ms: nowMs,
    });
    if (written) again.push({ message: nextAttemptMessage(written), delaySeconds: 0 });
  }
  const requeued = await sendAll(deps, again, 'sweeper could not enqueue');
  return { requeued, failed };
}

/** A stuck webhook whose round is over: failed, and in the dead-letter queue once, for a redrive. */
async function failExhausted(deps: SweepDeps, webhook: WebhookState, nowMs: number): Promise<boolean> {
  const written = await deps.store.updateWebhook(webhook, {
    ...webhook,
    status: 'failed',
    error: webhook.error ?? 'retry schedule exhausted',
    unqueued: false,
    next_attempt_at_ms: null,
    updated_at_ms: nowMs,
  });
  if (!written) return false;
  deps.metrics.record('WebhooksExhausted', 1);
  await deps.queue
    .deadLetter(nextAttemptMessage(written), 'exhausted')
    .catch((error: unknown) =>
      deps.logger.error({ err: error, webhook_id: webhook.id }, 'sweeper could not dead-letter an exhausted webhook'),
    );
  return true;
}
